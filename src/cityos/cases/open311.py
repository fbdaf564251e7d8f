"""Open311 GeoReport v2 at /open311/v2/, in XML and JSON exactly as the specification writes them.

- GET  services.{fmt}                     the 小类 as services (metadata=true where attributes exist)
- GET  services/{service_code}.{fmt}      a service definition with its attributes
- POST requests.{fmt}                     form-encoded; api_key (a token with scope open311) required;
                                          lat+long or address_string; answers service_request_id;
                                          media_url (kept as a link) or, multipart, a `media` photo
- GET  requests.{fmt}                     service_request_id (comma list, overrides the rest),
                                          service_code, start_date, end_date (≤ 90 days), status,
                                          and the common page / page_size extension
- GET  requests/{id}.{fmt}                one request (as a one-element list)
- GET  tokens/{token}.{fmt}               requests are created in real time, so a token is the id
- GET  servicerequestupdates.{fmt}        the update feed (mySociety's extension): every timeline entry,
                                          internal notes blanked
- GET  discovery.{fmt}                    service discovery

Every answer about a case is its public projection (policy.public_projection, the same as the public
case page): coordinates rounded, only public notes, no names, no phones. An `open311` token posts
requests and can do nothing else in CityOS. jurisdiction_id is the city's division code.
`extensions=true` adds `extended_attributes` with the channel and the public notes history.
Errors are a list of {code, description} (XML: <errors><error>…). A request's `media_url` is its
first photo's public rendition (no EXIF, so no GPS) or the link it was posted with.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any
from xml.etree import ElementTree as ET
from zoneinfo import ZoneInfo

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from cityos.cases import attachments, service, taxonomy
from cityos.cases.policy import CLOSED_STATES
from cityos.cases.schemas import AttachmentOut, PublicCase, ReportIn
from cityos.core import clock
from cityos.core.batch import GroupCommit
from cityos.core.db import Database
from cityos.core.errors import CityOSError
from cityos.core.settings import get_settings
from cityos.identity import service as identity
from cityos.identity.permissions import has
from cityos.identity.schemas import Principal

router = APIRouter(prefix="/open311/v2", tags=["open311"])
TZ = ZoneInfo("Asia/Shanghai")
MAX_SPAN = timedelta(days=90)
MAX_INT = 2**63 - 1  # the largest integer PostgreSQL and SQLite store
ROOTS = {
    "services": ("services", "service"),
    "requests": ("service_requests", "request"),
    "updates": ("service_request_updates", "request_update"),
    "errors": ("errors", "error"),
}


_POSTS = anyio.CapacityLimiter(4)  # reports with media in their unit of work at once, per process
_INTAKE_LOCK = threading.Lock()
log = logging.getLogger("cityos.open311")


class Open311Error(Exception):
    def __init__(self, status: int, description: str) -> None:
        self.status, self.description = status, description


def w3(t: datetime | None) -> str | None:
    return t.astimezone(TZ).isoformat(timespec="seconds") if t else None


def parse_w3(value: str, field: str) -> datetime:
    try:
        t = datetime.fromisoformat(
            value.replace("Z", "+00:00").replace(" ", "+", 1) if "T" in value else value
        )
    except ValueError:
        raise Open311Error(400, f"{field} must be a W3C date/time (e.g. 2026-11-23T09:00:00+08:00)") from None
    if not 1970 <= t.year <= 9998:  # a window 90 days before year 1 or in year 9999 cannot be counted
        raise Open311Error(400, f"{field} must be between 1970 and 9998")
    return t if t.tzinfo else t.replace(tzinfo=TZ)


def _xml_value(parent: ET.Element, key: str, value: Any) -> None:
    el = ET.SubElement(parent, key)
    if isinstance(value, bool):
        el.text = "true" if value else "false"
    elif isinstance(value, list):
        inner = {"attributes": "attribute", "values": "value"}.get(key, "item")
        for v in value:
            item = ET.SubElement(el, inner)
            for k2, v2 in v.items():
                _xml_value(item, k2, v2)
    elif isinstance(value, dict):
        for k2, v2 in value.items():
            _xml_value(el, k2, v2)
    elif value is not None:
        el.text = str(value)


def render(fmt: str, kind: str, rows: list[dict[str, Any]] | dict[str, Any], status: int = 200) -> Response:
    if fmt == "json":
        import json

        return Response(
            json.dumps(rows, ensure_ascii=False),
            status_code=status,
            media_type="application/json; charset=utf-8",
        )
    if isinstance(rows, dict):  # a service definition
        root = ET.Element("service_definition")
        for k, v in rows.items():
            _xml_value(root, k, v)
    else:
        root_name, item_name = ROOTS[kind]
        root = ET.Element(root_name)
        for row in rows:
            item = ET.SubElement(root, item_name)
            for k, v in row.items():
                _xml_value(item, k, v)
    body = '<?xml version="1.0" encoding="utf-8"?>' + ET.tostring(root, encoding="unicode")
    return Response(body, status_code=status, media_type="text/xml; charset=utf-8")


def error(fmt: str, status: int, description: str) -> Response:
    return render(
        fmt if fmt in ("xml", "json") else "xml",
        "errors",
        [{"code": status, "description": description}],
        status,
    )


def _fmt(fmt: str) -> str:
    if fmt not in ("xml", "json"):
        raise Open311Error(400, "format must be xml or json")
    return fmt


def _jurisdiction(request: Request, session: Session) -> None:
    _check_jurisdiction(session, request.query_params.get("jurisdiction_id"))


def _check_jurisdiction(session: Session, j: str | None) -> None:
    if not j:  # optional in the specification: nothing to check, nothing to read
        return
    city = identity.city(session=session)
    if city is None or j != city.code:
        raise Open311Error(
            404, f"jurisdiction_id {j} not found; this endpoint serves {city.code if city else ''}"
        )


def handle(request: Request, fmt: str, fn: Any) -> Response:
    db = request.app.state.db
    try:
        fmt = _fmt(fmt)
        with db.transaction(read_only=request.method == "GET") as session:
            _jurisdiction(request, session)
            return fn(session, fmt)
    except Open311Error as e:
        return error(fmt, e.status, e.description)
    except CityOSError as e:
        return _refused(fmt, e)


def service_row(c: Any) -> dict[str, Any]:
    return {
        "service_code": c.code,
        "service_name": c.name,
        "description": f"{c.major_name} · {c.name}({'部件' if c.case_class == 'component' else '事件'})",
        "metadata": c.code in taxonomy.ATTRIBUTES,
        "type": "realtime",
        "keywords": f"{'部件' if c.case_class == 'component' else '事件'}, {c.major_name}",
        "group": c.major_name,
    }


@router.get("/discovery.{fmt}")
def discovery(request: Request, fmt: str) -> Response:
    base = str(request.base_url).rstrip("/") + "/open311/v2/"
    row: dict[str, Any] = {
        "changeset": "2026-11-23T00:00:00+08:00",
        "contact": "大数据局",
        "key_service": "cityos token create",
        "endpoints": [
            {
                "specification": "http://wiki.open311.org/GeoReport_v2",
                "url": base,
                "changeset": "2026-11-23T00:00:00+08:00",
                "type": "production",
                "formats": ["text/xml", "application/json"],
            }
        ],
    }
    if fmt == "json":
        import json

        return Response(json.dumps(row, ensure_ascii=False), media_type="application/json; charset=utf-8")
    root = ET.Element("discovery")
    for k, v in row.items():
        if k == "endpoints":
            eps = ET.SubElement(root, "endpoints")
            for ep in v:
                e = ET.SubElement(eps, "endpoint")
                for k2, v2 in ep.items():
                    if k2 == "formats":
                        f = ET.SubElement(e, "formats")
                        for x in v2:
                            ET.SubElement(f, "format").text = x
                    else:
                        ET.SubElement(e, k2).text = v2
        else:
            ET.SubElement(root, k).text = str(v)
    return Response(
        '<?xml version="1.0" encoding="utf-8"?>' + ET.tostring(root, encoding="unicode"),
        media_type="text/xml; charset=utf-8",
    )


@router.get("/services.{fmt}")
def services(request: Request, fmt: str) -> Response:
    return handle(
        request,
        fmt,
        lambda s, f: render(f, "services", [service_row(c) for c in service.categories(session=s)]),
    )


@router.get("/services/{service_code}.{fmt}")
def service_definition(request: Request, service_code: str, fmt: str) -> Response:
    def go(s: Session, f: str) -> Response:
        codes = {c.code for c in service.categories(session=s)}
        if service_code not in codes:
            raise Open311Error(404, f"service_code {service_code} not found")
        attrs = [
            {
                "variable": True,
                "code": code,
                "datatype": dt,
                "required": req,
                "datatype_description": None,
                "order": i,
                "description": desc,
                **({"values": [{"key": k, "name": n} for k, n in vals]} if vals else {}),
            }
            for i, (code, dt, req, desc, vals) in enumerate(
                taxonomy.ATTRIBUTES.get(service_code, []), start=1
            )
        ]
        return render(f, "services", {"service_code": service_code, "attributes": attrs})

    return handle(request, fmt, go)


def media_url(request: Request, number: str, media: AttachmentOut | None) -> str | None:
    """The link a request was posted with, or the address of its photo's public rendition."""
    if media is None:
        return None
    return media.url or f"{request.base_url}p/cases/{number}/photos/{media.id}"


def request_row(c: PublicCase, extensions: bool = False, media: str | None = None) -> dict[str, Any]:
    """One request, from the case's public projection (the public case page shows the same)."""
    row: dict[str, Any] = {
        "service_request_id": c.number,
        "status": c.status,
        "status_notes": c.status_note or None,
        "service_name": c.category_name,
        "service_code": c.category_code,
        "description": c.description,
        "agency_responsible": c.agency,
        "service_notice": None,
        "requested_datetime": w3(c.reported_at),
        "updated_datetime": w3(c.updated_at),
        "expected_datetime": w3(c.deadline),
        "address": c.address or None,
        "address_id": None,
        "zipcode": None,
        "lat": c.lat,
        "long": c.lon,
        "media_url": media,
    }
    if extensions:
        row["extended_attributes"] = {
            "channel": c.channel,
            "state": c.state,
            "notes": [{"datetime": w3(n.at), "type": n.action, "summary": n.note} for n in c.notes],
        }
    return row


def _rows(request: Request, s: Session, cases: list[PublicCase], ext: bool) -> list[dict[str, Any]]:
    first = attachments.first_public_media(session=s, numbers=[c.number for c in cases])
    return [request_row(c, ext, media_url(request, c.number, first.get(c.number))) for c in cases]


@router.get("/requests.{fmt}")
def get_requests(request: Request, fmt: str) -> Response:
    qp = request.query_params

    def go(s: Session, f: str) -> Response:
        ids = [x.strip() for x in (qp.get("service_request_id") or "").split(",") if x.strip()]
        page = _int(qp.get("page"), 1, "page")
        size = min(_int(qp.get("page_size"), 1000, "page_size"), 1000)
        if ids:
            cases = service.public_cases(session=s, numbers=ids, limit=len(ids))
        else:
            end = parse_w3(qp["end_date"], "end_date") if qp.get("end_date") else clock.now()
            start = parse_w3(qp["start_date"], "start_date") if qp.get("start_date") else end - MAX_SPAN
            if end < start:
                raise Open311Error(400, "end_date is before start_date")
            if end - start > MAX_SPAN:
                raise Open311Error(400, "start_date and end_date may not span more than 90 days")
            status = qp.get("status")
            states: tuple[str, ...] | None = None
            if status:
                wanted = {x.strip() for x in status.split(",")}
                if not wanted <= {"open", "closed"}:
                    raise Open311Error(400, "status must be open or closed")
                states = tuple(
                    st
                    for st in (
                        "reported",
                        "filed",
                        "dispatched",
                        "handling",
                        "handled",
                        "suspended",
                        "closed",
                        "rejected",
                        "merged",
                    )
                    if ("closed" if st in ("closed", "rejected", "merged") else "open") in wanted
                )
            cases = service.public_cases(
                session=s,
                category_code=qp.get("service_code"),
                states=states,
                since=start,
                until=end,
                limit=size,
                offset=_offset(page, size),
            )
        return render(f, "requests", _rows(request, s, cases, qp.get("extensions") == "true"))

    return handle(request, fmt, go)


def _int(value: str | None, default: int, field: str) -> int:
    if value is None:
        return default
    try:
        n = int(value)
    except ValueError:
        raise Open311Error(400, f"{field} must be a positive integer") from None
    if not 1 <= n <= MAX_INT:
        raise Open311Error(400, f"{field} must be a positive integer")
    return n


def _offset(page: int, size: int) -> int:
    offset = (page - 1) * size
    if offset > MAX_INT:  # the databases' 64-bit integers: a page beyond it is not an error of ours
        raise Open311Error(400, "page is too large")
    return offset


@router.get("/requests/{service_request_id}.{fmt}")
def get_request(request: Request, service_request_id: str, fmt: str) -> Response:
    def go(s: Session, f: str) -> Response:
        cases = service.public_cases(session=s, numbers=[service_request_id], limit=1)
        if not cases:
            raise Open311Error(404, f"service_request_id {service_request_id} not found")
        return render(
            f, "requests", _rows(request, s, cases, request.query_params.get("extensions") == "true")
        )

    return handle(request, fmt, go)


@router.get("/tokens/{token}.{fmt}")
def get_token(request: Request, token: str, fmt: str) -> Response:
    """Requests are created in real time: the token a client may hold is the request id itself."""

    def go(s: Session, f: str) -> Response:
        if not service.public_cases(session=s, numbers=[token], limit=1):
            raise Open311Error(404, f"token {token} not found")
        return render(f, "requests", [{"service_request_id": token, "token": token}])

    return handle(request, fmt, go)


@dataclass(frozen=True)
class _Post:
    """A POST requests.{fmt} as read from the wire (before any database work)."""

    fmt: str
    data: dict[str, str]
    query_key: str
    jurisdiction: str | None


def _checked(
    s: Session, post: _Post, tokens: dict[str, Principal | None] | None = None
) -> tuple[Principal, ReportIn]:
    """Open311's own checks of a new request (the key, service_code, its attributes, a location),
    answered in the specification's words; what they leave becomes our report. `tokens` keeps the
    keys already checked in this unit of work (an app's POSTs mostly carry the same key)."""
    _check_jurisdiction(s, post.jurisdiction)
    data = post.data
    key = data.get("api_key") or post.query_key
    if tokens is not None and key in tokens:
        p = tokens[key]
    else:
        p = identity.verify_token(session=s, token=key) if key else None
        if tokens is not None:
            tokens[key] = p
    if p is None or not has(p, "cases.open311"):
        raise Open311Error(403, "Invalid api_key received -- can't proceed with create_request.")
    code = data.get("service_code", "").strip()
    if not code:
        raise Open311Error(400, "service_code was not provided")
    if not service.category_exists(session=s, code=code):
        raise Open311Error(404, f"service_code {code} not found")
    lat, lon = data.get("lat"), data.get("long")
    address = data.get("address_string", "").strip()
    if not (lat and lon) and not address:
        raise Open311Error(400, "lat & long, or address_string, is required")
    attrs = {
        k[len("attribute[") : -1]: v
        for k, v in data.items()
        if k.startswith("attribute[") and k.endswith("]")
    }
    for a_code, _dt, required, _d, vals in taxonomy.ATTRIBUTES.get(code, []):
        if required and not attrs.get(a_code):
            raise Open311Error(400, f"attribute[{a_code}] is required for service_code {code}")
        if vals and attrs.get(a_code) and attrs[a_code] not in {k for k, _n in vals}:
            raise Open311Error(400, f"attribute[{a_code}] must be one of {', '.join(k for k, _n in vals)}")
    try:
        coords = (float(lon), float(lat)) if lat and lon else None
    except ValueError:
        raise Open311Error(400, "lat and long must be numbers") from None
    region = None
    if coords is None:
        city = identity.city(session=s)
        region = city.code if city else None
    name = " ".join(x for x in (data.get("last_name", ""), data.get("first_name", "")) if x).strip()
    description = data.get("description", "").strip() or code
    if attrs:
        description += "\n" + "; ".join(f"{k}={v}" for k, v in sorted(attrs.items()))
    return p, ReportIn(
        category_code=code,
        description=description[:2000],
        channel="api",
        lon=coords[0] if coords else None,
        lat=coords[1] if coords else None,
        crs=data.get("crs", "wgs84"),
        address=address[:200],
        region_code=region,
        reporter_name=name[:60],
        reporter_phone=data.get("phone", "")[:20],
    )


def _created(fmt: str, number: str) -> Response:
    return render(
        fmt, "requests", [{"service_request_id": number, "service_notice": None, "account_id": None}]
    )


def _refused(fmt: str, e: CityOSError) -> Response:
    # the spec knows 400/403/404: our 422 (invalid input) is its 400
    return error(fmt, e.status if e.status in (401, 403, 404, 409) else 400, e.text("en"))


def _post_batch(db: Database, posts: Sequence[_Post]) -> list[Response]:
    """Many POSTs in one unit of work (core/batch.py): each is checked and answered by itself — a
    refused one writes nothing and refuses no other — and the reports go in together
    (cases.service.report_cases). Should the unit itself fail, each POST is retried alone."""
    try:
        with db.transaction() as s:
            answers: list[Response | None] = []
            reports: list[tuple[Principal, ReportIn, str]] = []
            tokens: dict[str, Principal | None] = {}
            for post in posts:
                try:
                    p, report = _checked(s, post, tokens)
                except Open311Error as e:
                    answers.append(error(post.fmt, e.status, e.description))
                    continue
                except CityOSError as e:
                    answers.append(_refused(post.fmt, e))
                    continue
                reports.append((p, report, "cases.open311"))
                answers.append(None)
            outcomes = iter(service.report_cases(session=s, reports=reports))
            out: list[Response] = []
            for post, answer in zip(posts, answers, strict=True):
                if answer is None:
                    o = next(outcomes)
                    answer = (
                        _refused(post.fmt, o) if isinstance(o, CityOSError) else _created(post.fmt, o.number)
                    )
                out.append(answer)
        return out
    except Exception:
        if len(posts) == 1:
            raise
        log.warning("open311: a unit of %d reports failed; each is retried alone", len(posts), exc_info=True)
        return [_post_batch(db, [post])[0] for post in posts]


def _intake(app: Any) -> GroupCommit[_Post, Response]:
    with _INTAKE_LOCK:
        batcher = getattr(app.state, "open311_intake", None)
        if batcher is None:
            batcher = GroupCommit(partial(_post_batch, app.state.db), max_batch=64, name="open311-intake")
            app.state.open311_intake = batcher
        return batcher


@router.post("/requests.{fmt}")
async def post_request(request: Request, fmt: str) -> Response:
    photo: tuple[str, bytes] | None = None
    async with request.form() as form:  # closes the spooled upload, if any
        data = {k: v for k, v in form.items() if isinstance(v, str)}
        upload = form.get("media")
        if isinstance(upload, UploadFile) and (upload.filename or upload.size):
            photo = (upload.filename or "", await upload.read(get_settings().max_upload_bytes + 1))
    try:
        fmt = _fmt(fmt)
    except Open311Error as e:
        return error(fmt, e.status, e.description)
    post = _Post(
        fmt=fmt,
        data=data,
        query_key=request.query_params.get("api_key") or "",
        jurisdiction=request.query_params.get("jurisdiction_id") or None,
    )
    if photo is None and not data.get("media_url", "").strip():
        # the common request: checked and written with the others that arrive meanwhile, one
        # commit for all (the event loop goes on reading requests while they are written)
        return await asyncio.wrap_future(_intake(request.app).submit(post))

    def go(s: Session, f: str) -> Response:
        p, report = _checked(s, post)
        c = service.report_case(session=s, actor=p, report=report, permission="cases.open311")
        if data.get("media_url", "").strip():
            attachments.add_link(session=s, actor=p, case_id=c.id, url=data["media_url"], with_report=True)
        if photo is not None:
            attachments.add_attachment(
                session=s,
                actor=p,
                case_id=c.id,
                stage="before",
                filename=photo[0],
                data=photo[1],
                with_report=True,
            )
        return _created(f, c.number)

    # a report with media is written alone, in a worker thread (its attachment is file I/O), a few
    # at a time, as more threads would only take turns at the GIL (bench/RESULTS.md)
    return await anyio.to_thread.run_sync(handle, request, fmt, go, limiter=_POSTS)


@router.get("/servicerequestupdates.{fmt}")
def updates(request: Request, fmt: str) -> Response:
    qp = request.query_params

    def go(s: Session, f: str) -> Response:
        end = parse_w3(qp["end_date"], "end_date") if qp.get("end_date") else clock.now()
        start = parse_w3(qp["start_date"], "start_date") if qp.get("start_date") else end - timedelta(days=1)
        if end < start:
            raise Open311Error(400, "end_date is before start_date")
        rows = [
            {
                "update_id": str(note.id),
                "service_request_id": number,
                "status": "CLOSED" if note.to_state in CLOSED_STATES else "OPEN",
                "updated_datetime": w3(note.at),
                "description": note.note or note.action,  # internal notes are blank: the step's name
                "media_url": None,
            }
            for number, note in service.public_updates(
                session=s, since=start.astimezone(UTC), until=end.astimezone(UTC)
            )
        ]
        return render(f, "updates", rows)

    return handle(request, fmt, go)
