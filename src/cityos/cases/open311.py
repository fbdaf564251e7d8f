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
- GET  servicerequestupdates.{fmt}        the update feed (mySociety's extension): every timeline entry
- GET  discovery.{fmt}                    service discovery

jurisdiction_id is the city's division code. `extensions=true` adds `extended_attributes` with the
channel and the notes history. Errors are a list of {code, description} (XML: <errors><error>…).
A request's `media_url` is its first photo's public rendition (no EXIF, so no GPS) or the link it
was posted with.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from xml.etree import ElementTree as ET
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from cityos.cases import attachments, service, taxonomy
from cityos.cases.schemas import AttachmentOut, CaseOut, ReportIn
from cityos.core import clock
from cityos.core.errors import CityOSError
from cityos.core.settings import get_settings
from cityos.identity import service as identity
from cityos.identity.schemas import Principal

router = APIRouter(prefix="/open311/v2", tags=["open311"])
TZ = ZoneInfo("Asia/Shanghai")
MAX_SPAN = timedelta(days=90)
ROOTS = {
    "services": ("services", "service"),
    "requests": ("service_requests", "request"),
    "updates": ("service_request_updates", "request_update"),
    "errors": ("errors", "error"),
}


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
    j = request.query_params.get("jurisdiction_id")
    city = identity.city(session=session)
    if j and (city is None or j != city.code):
        raise Open311Error(
            404, f"jurisdiction_id {j} not found; this endpoint serves {city.code if city else ''}"
        )


def _reader() -> Principal:
    # Reading requests is public in GeoReport v2; personal data is never part of the answer.
    return Principal(kind="user", id=0, username="open311", roles=frozenset({"leader"}))


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
        # the spec knows 400/403/404: our 422 (invalid input) is its 400
        return error(fmt, e.status if e.status in (401, 403, 404, 409) else 400, e.text("en"))


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


def request_row(
    session: Session,
    c: CaseOut,
    extensions: bool = False,
    media: str | None = None,
    last: tuple[str, datetime | None] | None = None,
    departments: dict[int, str] | None = None,
) -> dict[str, Any]:
    """One request; a page passes its cases' last notes and department names, read once."""
    note, updated = last if last is not None else service.last_note(session=session, case_id=c.id)
    dept = None
    if c.department_id:
        if departments is None or c.department_id not in departments:
            departments = {c.department_id: identity.get_department(session=session, id=c.department_id).name}
        dept = departments[c.department_id]
    row: dict[str, Any] = {
        "service_request_id": c.number,
        "status": "closed" if c.state in ("closed", "rejected", "merged") else "open",
        "status_notes": note or None,
        "service_name": c.category_name,
        "service_code": c.category_code,
        "description": c.description,
        "agency_responsible": dept,
        "service_notice": None,
        "requested_datetime": w3(c.reported_at),
        "updated_datetime": w3(updated or c.reported_at),
        "expected_datetime": w3(c.deadline),
        "address": c.address or None,
        "address_id": None,
        "zipcode": None,
        "lat": c.lat,
        "long": c.lon,
        "media_url": media,
    }
    if extensions:
        tl = service.timeline(session=session, actor=_reader(), case_id=c.id)
        row["extended_attributes"] = {
            "channel": c.channel,
            "state": c.state,
            "notes": [{"datetime": w3(e.at), "type": e.action, "summary": e.note} for e in tl],
        }
    return row


@router.get("/requests.{fmt}")
def get_requests(request: Request, fmt: str) -> Response:
    qp = request.query_params

    def go(s: Session, f: str) -> Response:
        ids = [x.strip() for x in (qp.get("service_request_id") or "").split(",") if x.strip()]
        page = _int(qp.get("page"), 1, "page")
        size = min(_int(qp.get("page_size"), 1000, "page_size"), 1000)
        if ids:
            cases = service.list_cases(
                session=s, actor=_reader(), numbers=ids, limit=len(ids), count_cap=0
            ).items
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
            cases = service.list_cases(
                session=s,
                actor=_reader(),
                category_code=qp.get("service_code"),
                states=states,
                since=start,
                until=end,
                limit=size,
                offset=(page - 1) * size,
                count_cap=0,  # GeoReport v2 has no total
            ).items
        ext = qp.get("extensions") == "true"
        case_ids = [c.id for c in cases]
        first = attachments.first_public_media(session=s, case_ids=case_ids)
        notes = service.last_notes(session=s, case_ids=case_ids)
        depts = {
            d: identity.get_department(session=s, id=d).name
            for d in {c.department_id for c in cases if c.department_id}
        }
        return render(
            f,
            "requests",
            [
                request_row(
                    s,
                    c,
                    ext,
                    media_url(request, c.number, first.get(c.id)),
                    notes.get(c.id, ("", None)),
                    depts,
                )
                for c in cases
            ],
        )

    return handle(request, fmt, go)


def _int(value: str | None, default: int, field: str) -> int:
    if value is None:
        return default
    try:
        n = int(value)
    except ValueError:
        raise Open311Error(400, f"{field} must be a positive integer") from None
    if n < 1:
        raise Open311Error(400, f"{field} must be a positive integer")
    return n


@router.get("/requests/{service_request_id}.{fmt}")
def get_request(request: Request, service_request_id: str, fmt: str) -> Response:
    def go(s: Session, f: str) -> Response:
        try:
            c = service.find_by_number(session=s, actor=_reader(), number=service_request_id)
        except CityOSError:
            raise Open311Error(404, f"service_request_id {service_request_id} not found") from None
        first = attachments.first_public_media(session=s, case_ids=[c.id]).get(c.id)
        ext = request.query_params.get("extensions") == "true"
        return render(f, "requests", [request_row(s, c, ext, media_url(request, c.number, first))])

    return handle(request, fmt, go)


@router.get("/tokens/{token}.{fmt}")
def get_token(request: Request, token: str, fmt: str) -> Response:
    """Requests are created in real time: the token a client may hold is the request id itself."""

    def go(s: Session, f: str) -> Response:
        try:
            c = service.find_by_number(session=s, actor=_reader(), number=token)
        except CityOSError:
            raise Open311Error(404, f"token {token} not found") from None
        return render(f, "requests", [{"service_request_id": c.number, "token": token}])

    return handle(request, fmt, go)


@router.post("/requests.{fmt}")
async def post_request(request: Request, fmt: str) -> Response:
    photo: tuple[str, bytes] | None = None
    async with request.form() as form:  # closes the spooled upload, if any
        data = {k: v for k, v in form.items() if isinstance(v, str)}
        upload = form.get("media")
        if isinstance(upload, UploadFile) and (upload.filename or upload.size):
            photo = (upload.filename or "", await upload.read(get_settings().max_upload_bytes + 1))

    def go(s: Session, f: str) -> Response:
        key = data.get("api_key") or request.query_params.get("api_key") or ""
        p = identity.verify_token(session=s, token=key) if key else None
        if p is None or "open311" not in p.scopes:
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
                raise Open311Error(
                    400, f"attribute[{a_code}] must be one of {', '.join(k for k, _n in vals)}"
                )
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
        c = service.report_case(
            session=s,
            actor=p,
            report=ReportIn(
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
            ),
        )
        if data.get("media_url", "").strip():
            attachments.add_link(session=s, actor=p, case_id=c.id, url=data["media_url"])
        if photo is not None:
            attachments.add_attachment(
                session=s, actor=p, case_id=c.id, stage="before", filename=photo[0], data=photo[1]
            )
        return render(
            f, "requests", [{"service_request_id": c.number, "service_notice": None, "account_id": None}]
        )

    return handle(request, fmt, go)


@router.get("/servicerequestupdates.{fmt}")
def updates(request: Request, fmt: str) -> Response:
    qp = request.query_params

    def go(s: Session, f: str) -> Response:
        end = parse_w3(qp["end_date"], "end_date") if qp.get("end_date") else clock.now()
        start = parse_w3(qp["start_date"], "start_date") if qp.get("start_date") else end - timedelta(days=1)
        if end < start:
            raise Open311Error(400, "end_date is before start_date")
        rows = []
        for entry, number, update_id in service.updates_since(
            session=s, actor=_reader(), since=start.astimezone(UTC), until=end.astimezone(UTC)
        ):
            rows.append(
                {
                    "update_id": str(update_id),
                    "service_request_id": number,
                    "status": "CLOSED" if entry.to_state in ("closed", "rejected", "merged") else "OPEN",
                    "updated_datetime": w3(entry.at),
                    "description": entry.note or entry.action,
                    "media_url": None,
                }
            )
        return render(f, "updates", rows)

    return handle(request, fmt, go)
