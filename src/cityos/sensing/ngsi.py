"""The NGSI-LD subset at /ngsi-ld/v1/ (ETSI GS CIM 009): devices are the entities.

POST   entities                      201 + Location; 409 AlreadyExists
GET    entities/{id}                 normalized (options=keyValues: simplified); attrs=
GET    entities?type=&q=&attrs=&georel=near;maxDistance==M&geometry=Point&coordinates=[lon,lat]
                                     &limit=&offset=&count=true (NGSILD-Results-Count)
PATCH  entities/{id}/attrs           204, or 207 with the attributes the entity does not have
DELETE entities/{id}                 204
POST   entityOperations/upsert       up to 1,000 entities: 201 + created ids, 204 when all existed,
                                     207 BatchOperationResult when some failed
GET    temporal/entities/{id}?attrs=&timerel=before|after|between&timeAt=&endTimeAt=&lastN=
                                     (options=temporalValues: the simplified temporal form)
Every call needs a bearer token with the `sensing` scope. Requests: `application/json` (the
@context, if any, in a Link header; an @context in the body is BadRequestData) or
`application/ld+json` (the @context in the body, required; a Link header as well is
BadRequestData). Responses: `application/ld+json` with an inline @context when the client accepts
it first, else `application/json` with the context in a Link header. Errors are ProblemDetails
with the specification's type URIs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from cityos.core.errors import CityOSError, Conflict, Invalid, NotFound
from cityos.geo import service as geo
from cityos.identity import service as identity
from cityos.identity.permissions import authorize, has
from cityos.identity.schemas import Principal
from cityos.sensing import entities
from cityos.sensing.entities import CORE_CONTEXT
from cityos.sensing.models import Device
from cityos.sensing.policy import visible

router = APIRouter(prefix="/ngsi-ld/v1", tags=["ngsi-ld"])
ERRORS = "https://uri.etsi.org/ngsi-ld/errors/"
TITLES = {
    "BadRequestData": "Bad request data",
    "InvalidRequest": "Invalid request",
    "ResourceNotFound": "Resource not found",
    "AlreadyExists": "Already exists",
    "OperationNotSupported": "Operation not supported",
}
LINK_REL = 'rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"'
MAX_BATCH = 1000
MAX_LIMIT = 1000


class Problem(Exception):
    def __init__(self, kind: str, detail: str, status: int = 400) -> None:
        super().__init__(detail)
        self.kind, self.detail, self.status = kind, detail, status


def problem(kind: str, detail: str, status: int) -> dict[str, Any]:
    if kind in TITLES:
        return {"type": ERRORS + kind, "title": TITLES[kind], "detail": detail}
    return {"type": "about:blank", "title": kind, "detail": detail}


def _as_problem(e: CityOSError) -> Problem:
    if isinstance(e, NotFound):
        return Problem("ResourceNotFound", e.text("en"), 404)
    if isinstance(e, Conflict):
        return Problem("AlreadyExists", e.text("en"), 409)
    if e.status in (401, 403):
        return Problem("Unauthorized" if e.status == 401 else "Forbidden", e.text("en"), e.status)
    return Problem("BadRequestData", e.text("en") + (f" ({e.field})" if e.field else ""), 400)


def _context_link(request: Request) -> str | None:
    for part in request.headers.getlist("link"):
        if "json-ld#context" in part:
            m = re.match(r"\s*<([^>]+)>", part)
            if m:
                return m.group(1)
    return None


async def _body(request: Request) -> Any:
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype not in ("application/json", "application/ld+json"):
        raise Problem("InvalidRequest", "Content-Type must be application/json or application/ld+json", 415)
    try:
        body = json.loads(await request.body())
    except ValueError:
        raise Problem("InvalidRequest", "The body is not valid JSON", 400) from None
    items = body if isinstance(body, list) else [body]
    if not all(isinstance(i, dict) for i in items):
        raise Problem("BadRequestData", "Entities are JSON objects", 400)
    if ctype == "application/ld+json":
        if _context_link(request):
            raise Problem(
                "BadRequestData", "application/ld+json carries its @context in the body, not a Link header"
            )
        if any("@context" not in i for i in items):
            raise Problem("BadRequestData", "application/ld+json requires an @context in the body")
    elif any("@context" in i for i in items):
        raise Problem("BadRequestData", "application/json must not carry an @context; use a Link header")
    return body


def _principal(request: Request, session: Session) -> Principal:
    auth = request.headers.get("authorization", "")
    p = (
        identity.verify_token(session=session, token=auth[7:].strip())
        if auth.lower().startswith("bearer ")
        else None
    )
    if p is None:
        raise Problem("Unauthorized", "A bearer token with the sensing scope is required", 401)
    if not has(p, "sensing.ingest"):
        raise Problem("Forbidden", "The token lacks the sensing scope", 403)
    return p


def _wants_ld(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    for part in accept.split(","):
        t = part.split(";")[0].strip().lower()
        if t == "application/ld+json":
            return True
        if t in ("application/json", "*/*", "application/*"):
            return False
    return False


def _reply(request: Request, body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    ctx = _context_link(request) or CORE_CONTEXT
    h = dict(headers or {})
    if _wants_ld(request):
        body = [{**b, "@context": ctx} for b in body] if isinstance(body, list) else {**body, "@context": ctx}
        return JSONResponse(body, status, headers=h, media_type="application/ld+json")
    h["Link"] = f"<{ctx}>; {LINK_REL}"
    return JSONResponse(body, status, headers=h)


async def _run(
    request: Request, fn: Callable[[Session, Principal, Any], Response], *, body: bool = False
) -> Response:
    db = request.app.state.db
    try:
        payload = await _body(request) if body else None
        with db.transaction(read_only=request.method == "GET") as s:
            return fn(s, _principal(request, s), payload)
    except Problem as e:
        return JSONResponse(problem(e.kind, e.detail, e.status), e.status)
    except CityOSError as e:
        p = _as_problem(e)
        return JSONResponse(problem(p.kind, p.detail, p.status), p.status)


# ---------------------------------------------------------------- entities
@router.post("/entities")
async def create_entity(request: Request) -> Response:
    def go(s: Session, p: Principal, entity: Any) -> Response:
        if isinstance(entity, list):
            raise Problem("BadRequestData", "POST /entities takes one entity")
        eid, _ = entities.create(s, p, entity)
        return Response(status_code=201, headers={"Location": f"/ngsi-ld/v1/entities/{eid}"})

    return await _run(request, go, body=True)


@router.get("/entities/{entity_id}")
async def get_entity(request: Request, entity_id: str) -> Response:
    def go(s: Session, p: Principal, _b: Any) -> Response:
        d = entities.find(s, p, entity_id)
        attrs = _attrs(request)
        return _reply(request, entities.normalized(d, attrs, _key_values(request)))

    return await _run(request, go)


def _attrs(request: Request) -> set[str] | None:
    raw = request.query_params.get("attrs")
    return {a.strip() for a in raw.split(",") if a.strip()} if raw else None


def _key_values(request: Request) -> bool:
    return "keyValues" in request.query_params.get("options", "").split(",")


Q_TERM = re.compile(r"^([A-Za-z][A-Za-z0-9_]*)(==|!=|>=|<=|>|<)(.+)$")


def _q(expr: str) -> Callable[[dict[str, Any]], bool]:
    """q: terms joined by ';' (AND) or '|' (OR), each attr op value (numbers, "text", true/false)."""
    ors = []
    for alt in expr.split("|"):
        ands = []
        for term in alt.split(";"):
            m = Q_TERM.match(term.strip())
            if not m:
                raise Problem("BadRequestData", f"Cannot parse the q term {term!r}")
            attr, op, raw = m.groups()
            try:
                value: Any = json.loads(raw)
            except ValueError:
                value = raw.strip("'\"")
            ands.append((attr, op, value))
        ors.append(ands)

    def test(values: dict[str, Any]) -> bool:
        def one(attr: str, op: str, v: Any) -> bool:
            if attr not in values:
                return False
            x = values[attr][0]
            try:
                return {
                    "==": x == v, "!=": x != v, ">": x > v, "<": x < v, ">=": x >= v, "<=": x <= v,
                }[op]  # fmt: skip
            except TypeError:
                return False

        return any(all(one(*t) for t in ands) for ands in ors)

    return test


def _near(request: Request) -> tuple[float, float, float | None, float | None] | None:
    georel = request.query_params.get("georel")
    if not georel:
        return None
    parts = georel.split(";")
    if parts[0] != "near":
        raise Problem("OperationNotSupported", "Only georel=near is supported", 400)
    if request.query_params.get("geometry") != "Point":
        raise Problem("BadRequestData", "georel=near needs geometry=Point")
    try:
        lon, lat = json.loads(request.query_params.get("coordinates", ""))
        lon, lat = float(lon), float(lat)
    except (ValueError, TypeError):
        raise Problem("BadRequestData", "coordinates must be [longitude,latitude]") from None
    max_d = min_d = None
    for p in parts[1:]:
        m = re.match(r"^(maxDistance|minDistance)==(\d+(\.\d+)?)$", p)
        if not m:
            raise Problem("BadRequestData", f"Cannot parse the georel modifier {p!r}")
        if m.group(1) == "maxDistance":
            max_d = float(m.group(2))
        else:
            min_d = float(m.group(2))
    if max_d is None and min_d is None:
        raise Problem("BadRequestData", "georel=near needs maxDistance or minDistance")
    return lon, lat, max_d, min_d


@router.get("/entities")
async def query_entities(request: Request) -> Response:
    def go(s: Session, p: Principal, _b: Any) -> Response:
        qp = request.query_params
        types = [t for t in (qp.get("type") or "").split(",") if t]
        q = _q(qp["q"]) if qp.get("q") else None
        near = _near(request)
        attrs = _attrs(request)
        if not (types or q or near or attrs or qp.get("id")):
            raise Problem("BadRequestData", "Give at least one of type, attrs, q or a geo-query")
        try:
            limit = int(qp.get("limit", "20"))
            offset = int(qp.get("offset", "0"))
        except ValueError:
            raise Problem("BadRequestData", "limit and offset are whole numbers") from None
        if not (0 <= limit <= MAX_LIMIT) or offset < 0:
            raise Problem("BadRequestData", f"limit is 0 … {MAX_LIMIT}, offset ≥ 0")
        sel = select(Device).where(visible(p)).order_by(Device.id)
        if types:
            sel = sel.where(Device.type.in_(types))
        if qp.get("id"):
            sel = sel.where(Device.id.in_([entities.device_id_of(i) for i in qp["id"].split(",")]))
        found = []
        for d in s.scalars(sel):
            if q and not q(d.last_values or {}):
                continue
            if attrs and not (attrs & {"name", "location", *(d.last_values or {})}):
                continue
            if near:
                if d.lon is None or d.lat is None:
                    continue
                dist = geo.distance_m(near[0], near[1], d.lon, d.lat)
                if (near[2] is not None and dist > near[2]) or (near[3] is not None and dist < near[3]):
                    continue
            found.append(d)
        page = found[offset : offset + limit]
        headers = {"NGSILD-Results-Count": str(len(found))} if qp.get("count") == "true" else None
        kv = _key_values(request)
        return _reply(request, [entities.normalized(d, attrs, kv) for d in page], headers=headers)

    return await _run(request, go)


@router.patch("/entities/{entity_id}/attrs")
async def update_attrs(request: Request, entity_id: str) -> Response:
    def go(s: Session, p: Principal, fragment: Any) -> Response:
        if isinstance(fragment, list):
            raise Problem("BadRequestData", "PATCH …/attrs takes one object of attributes")
        d = entities.find(s, p, entity_id)
        not_updated = entities.update(s, p, d, fragment, only_existing=True)
        if not not_updated:
            return Response(status_code=204)
        updated = [
            a
            for a in fragment
            if a not in entities.SKIP and a not in {n["attributeName"] for n in not_updated}
        ]
        return JSONResponse({"updated": updated, "notUpdated": not_updated}, 207)

    return await _run(request, go, body=True)


@router.delete("/entities/{entity_id}")
async def delete_entity(request: Request, entity_id: str) -> Response:
    def go(s: Session, p: Principal, _b: Any) -> Response:
        d = entities.find(s, p, entity_id)
        authorize(p, "sensing.manage", region_code=d.region_code, department_id=d.department_id)
        from cityos.sensing import devices

        devices.delete_device(session=s, actor=p, device_id=d.id)
        return Response(status_code=204)

    return await _run(request, go)


# ---------------------------------------------------------------- batch
@router.post("/entityOperations/upsert")
async def upsert(request: Request) -> Response:
    def go(s: Session, p: Principal, batch: Any) -> Response:
        if not isinstance(batch, list):
            raise Problem("BadRequestData", "entityOperations/upsert takes an array of entities")
        if len(batch) > MAX_BATCH:
            raise Problem("BadRequestData", f"At most {MAX_BATCH} entities in one batch")
        created, success, errors = [], [], []
        for entity in batch:
            eid = entity.get("id")
            try:
                with s.begin_nested():
                    dev_id = entities.device_id_of(eid)
                    existing = s.get(Device, dev_id)
                    if existing is None:
                        entities.create(s, p, entity)
                        created.append(eid)
                    else:
                        d = entities.find(s, p, eid)
                        if entity.get("type") not in (None, d.type):
                            raise Invalid("The entity's type cannot change", field="type")
                        entities.update(s, p, d, entity, only_existing=False)
                success.append(eid)
            except (CityOSError, Problem) as e:
                pr = e if isinstance(e, Problem) else _as_problem(e)
                errors.append({"entityId": eid, "error": problem(pr.kind, pr.detail, pr.status)})
        if errors:
            return JSONResponse({"success": success, "errors": errors}, 207)
        if created:
            return JSONResponse(created, 201)
        return Response(status_code=204)

    return await _run(request, go, body=True)


# ---------------------------------------------------------------- temporal
def _time(raw: str | None, name: str) -> datetime:
    if not raw:
        raise Problem("BadRequestData", f"{name} is required for this timerel")
    try:
        at = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise Problem("BadRequestData", f"{name} is not an ISO 8601 DateTime") from None
    if at.tzinfo is None:
        raise Problem("BadRequestData", f"{name} needs a time zone (Z)")
    return at


@router.get("/temporal/entities/{entity_id}")
async def temporal_entity(request: Request, entity_id: str) -> Response:
    def go(s: Session, p: Principal, _b: Any) -> Response:
        qp = request.query_params
        d = entities.find(s, p, entity_id)
        start = end = None
        timerel = qp.get("timerel")
        if timerel == "before":
            end = _time(qp.get("timeAt"), "timeAt")
        elif timerel == "after":
            start = _time(qp.get("timeAt"), "timeAt")
        elif timerel == "between":
            start, end = _time(qp.get("timeAt"), "timeAt"), _time(qp.get("endTimeAt"), "endTimeAt")
            if end <= start:
                raise Problem("BadRequestData", "endTimeAt must come after timeAt")
        elif timerel is not None:
            raise Problem("BadRequestData", "timerel is before, after or between")
        elif qp.get("timeAt"):
            raise Problem("BadRequestData", "timeAt needs timerel")
        last_n = None
        if qp.get("lastN"):
            if not qp["lastN"].isdigit() or int(qp["lastN"]) < 1:
                raise Problem("BadRequestData", "lastN is a positive whole number")
            last_n = int(qp["lastN"])
        attrs = sorted(_attrs(request) or []) or None
        tv = "temporalValues" in qp.get("options", "").split(",")
        return _reply(request, entities.temporal(s, d, attrs, start, end, last_n, tv))

    return await _run(request, go)
