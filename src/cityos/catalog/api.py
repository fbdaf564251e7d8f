"""Catalog JSON API (/api/v1/catalog) and the data API (/api/v1/data).

Resource codes contain a slash (301001/000001); in URLs write it with a dash (301001-000001).
Every data-API call — allowed or refused — is written to the hash-chained audit trail with who,
which resource, fields, filter, rows returned, latency and outcome, in its own unit of work, so a
refusal is on record even though the request fails.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel
from sqlalchemy.orm import Session

from cityos.catalog import excel, infer, reader, service
from cityos.catalog.schemas import (
    Access,
    AccessRequestIn,
    AccessRequestOut,
    DecisionIn,
    ResourceIn,
    ResourceOut,
    UsageRow,
    VersionOut,
)
from cityos.catalog.tableschema import Schema
from cityos.core.batch import GroupCommit
from cityos.core.db import Database
from cityos.core.errors import CityOSError, Invalid, NotFound, Unauthorized
from cityos.identity.permissions import authorize
from cityos.identity.schemas import Principal
from cityos.web.deps import (
    ANONYMOUS,
    Require,
    allow_upload,
    current_principal,
    get_database,
    get_session,
)

router = APIRouter(tags=["catalog"])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_UPLOAD = 2 << 30  # 2 GiB
# a data delivery is capped by this limit, not by the photo limit of forms
allow_upload(r"/api/v1/catalog/resources/[^/]+/versions", MAX_UPLOAD)
EXPORT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "ndjson": "application/x-ndjson",
    "parquet": "application/vnd.apache.parquet",
}
MAX_INT = 2**31 - 1  # ids, offsets and versions beyond the columns' range are the caller's mistake, not a 500


class ResourcePage(BaseModel):
    total: int
    items: list[ResourceOut]


class RevokeIn(BaseModel):
    reason: str


S = Depends(get_session, scope="function")


@router.get("/api/v1/catalog/resources", response_model=ResourcePage)
def list_resources(
    q: str | None = None,
    department: str | None = None,
    topic: str | None = None,
    tag: str | None = None,
    format_class: str | None = None,
    share_type: str | None = None,
    stale: bool = False,
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0, le=MAX_INT),
    session: Session = S,
    _p: Principal = Depends(Require("catalog.view")),
) -> ResourcePage:
    items, total = service.list_resources(
        session=session,
        q=q,
        department=department,
        topic=topic,
        tag=tag,
        format_class=format_class,
        share_type=share_type,
        stale_only=stale,
        limit=limit,
        offset=offset,
    )
    return ResourcePage(total=total, items=items)


@router.post("/api/v1/catalog/resources", response_model=ResourceOut, status_code=201)
def create_resource(
    body: ResourceIn, session: Session = S, p: Principal = Depends(Require("catalog.manage"))
) -> ResourceOut:
    return service.create_resource(session=session, actor=p, data=body)


@router.get("/api/v1/catalog/resources/{code}", response_model=ResourceOut)
def get_resource(
    code: str, session: Session = S, _p: Principal = Depends(Require("catalog.view"))
) -> ResourceOut:
    return service.get_resource(session=session, code=code)


@router.put("/api/v1/catalog/resources/{code}", response_model=ResourceOut)
def update_resource(
    code: str, body: ResourceIn, session: Session = S, p: Principal = Depends(Require("catalog.manage"))
) -> ResourceOut:
    return service.update_resource(session=session, actor=p, code=code, data=body)


@router.get("/api/v1/catalog/resources/{code}/schema")
def get_schema(
    code: str, session: Session = S, _p: Principal = Depends(Require("catalog.view"))
) -> dict[str, Any]:
    """The resource's Table Schema (https://specs.frictionlessdata.io/table-schema/)."""
    return service.schema_of(session=session, code=code).to_json()


@router.put("/api/v1/catalog/resources/{code}/schema", response_model=ResourceOut)
def put_schema(
    code: str, body: dict[str, Any], session: Session = S, p: Principal = Depends(Require("catalog.manage"))
) -> ResourceOut:
    return service.set_schema(session=session, actor=p, code=code, table_schema=body)


# routes that resolve their caller through `loader` show no dependency to the OpenAPI document,
# so they declare the 401/403 they answer themselves
CALLER_RESOLVED: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not logged in, or an invalid, expired or revoked token"},
    403: {"description": "The caller may not manage this resource"},
}


def loader(request: Request, perm: str) -> Principal:
    """The caller of a long request (a data load), resolved in a short unit of work of its own so
    that no transaction stays open while the file is validated."""
    with get_database(request).transaction() as s:
        p = current_principal(request, s)
    return authorize(p, perm)


def spool(upload: UploadFile) -> Path:
    """The uploaded file on disk (the engine reads files), refused when empty or over the limit."""
    name = Path(upload.filename or "upload").name
    fd, raw = tempfile.mkstemp(suffix="-" + name)
    path = Path(raw)
    size = 0
    with os.fdopen(fd, "wb") as out:
        upload.file.seek(0)
        while chunk := upload.file.read(1 << 20):
            size += len(chunk)
            if size > MAX_UPLOAD:
                out.close()
                path.unlink(missing_ok=True)
                raise Invalid("The file is larger than 2 GB", code="file_too_large", field="file")
            out.write(chunk)
    if size == 0:
        path.unlink(missing_ok=True)
        raise Invalid("The file is empty", code="empty_file", field="file")
    return path


@router.post("/api/v1/catalog/schema/infer", responses=CALLER_RESOLVED)
def infer_schema(request: Request, file: UploadFile = File(...)) -> dict[str, Any]:
    """A Table Schema proposed from a sample of the data (header names or Chinese titles, types,
    resident ID / USCC / mobile / division code / dates, required, short value lists, sensitivity,
    primary key), for a steward to review before creating the resource. Nothing is stored."""
    loader(request, "catalog.manage")
    path = spool(file)
    try:
        doc, n = infer.infer(path, filename=file.filename or "")
    finally:
        path.unlink(missing_ok=True)
    return {"table_schema": doc, "sampled_rows": n}


@router.post(
    "/api/v1/catalog/resources/{code}/versions",
    response_model=VersionOut,
    status_code=201,
    responses=CALLER_RESOLVED,
)
def upload_version(
    code: str,
    request: Request,
    file: UploadFile = File(...),
    mode: str = Form("replace"),
    policy: str | None = Form(None),
    accept: bool = Form(True),
    confirm_drop: bool = Form(False),
) -> Any:
    """Load a version (CSV/XLSX/JSON/NDJSON/Parquet). With accept=true (default) an acceptable
    version is accepted at once; accept=false stages it for review. A rejected load answers 422
    with the validation report; the attempt stays on record. A `replace` that drops more than
    half of the current rows is staged, not accepted, unless confirm_drop=true: 409
    `replace_drops_rows` with details {version_id, before, after, dropped} (accept that version
    with …/versions/{version_id}/accept once the file is checked). The file is validated with no
    database transaction open (see service.load)."""
    p = loader(request, "catalog.manage")
    path = spool(file)
    try:
        v = service.load(
            db=get_database(request),
            actor=p,
            code=code,
            path=path,
            filename=file.filename or "",
            mode=mode,
            policy=policy,
            accept=accept,
            confirm_drop=confirm_drop,
        )
    finally:
        path.unlink(missing_ok=True)
    if v.state == "rejected":
        err = Invalid("The data was rejected: see the validation report", code="version_rejected")
        body = err.payload()
        body["error"]["details"] = v.model_dump(mode="json")
        return JSONResponse(body, status_code=422)
    return v


@router.get("/api/v1/catalog/resources/{code}/versions", response_model=list[VersionOut])
def list_versions(
    code: str, session: Session = S, p: Principal = Depends(Require("catalog.view"))
) -> list[VersionOut]:
    """The versions and their validation reports; sample values follow the share rules."""
    return service.versions(session=session, actor=p, code=code)


@router.get("/api/v1/catalog/resources/{code}/versions/{version_id}", response_model=VersionOut)
def get_version(
    code: str,
    version_id: Annotated[int, PathParam(ge=1, le=MAX_INT)],
    session: Session = S,
    p: Principal = Depends(Require("catalog.view")),
) -> VersionOut:
    return service.get_version(session=session, actor=p, code=code, version_id=version_id)


@router.post("/api/v1/catalog/resources/{code}/versions/{version_id}/accept", response_model=VersionOut)
def accept_version(
    code: str,
    version_id: Annotated[int, PathParam(ge=1, le=MAX_INT)],
    session: Session = S,
    p: Principal = Depends(Require("catalog.manage")),
) -> VersionOut:
    return service.accept_version(session=session, actor=p, code=code, version_id=version_id)


@router.post("/api/v1/catalog/resources/{code}/versions/{version_id}/discard", response_model=VersionOut)
def discard_version(
    code: str,
    version_id: Annotated[int, PathParam(ge=1, le=MAX_INT)],
    session: Session = S,
    p: Principal = Depends(Require("catalog.manage")),
) -> VersionOut:
    return service.discard_version(session=session, actor=p, code=code, version_id=version_id)


@router.get("/api/v1/catalog/resources/{code}/versions/{version_id}/quarantine.{fmt}")
def quarantine(
    code: str,
    version_id: Annotated[int, PathParam(ge=1, le=MAX_INT)],
    fmt: str,
    session: Session = S,
    p: Principal = Depends(Require("catalog.manage")),
) -> Response:
    """The rows kept out of a version, as sent, with `__row` and `__errors`; fix and load them again
    (the loader ignores those two columns)."""
    path = service.quarantine_path(session=session, actor=p, code=code, version_id=version_id)
    data, media = excel.quarantine_file(path, fmt)
    return Response(
        data,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="quarantine-{code}-{version_id}.{fmt}"'},
    )


@router.post("/api/v1/catalog/resources/{code}/requests", response_model=AccessRequestOut, status_code=201)
def request_access(
    code: str, body: AccessRequestIn, session: Session = S, p: Principal = Depends(Require("catalog.request"))
) -> AccessRequestOut:
    return service.request_access(session=session, actor=p, code=code, data=body)


@router.get("/api/v1/catalog/requests", response_model=list[AccessRequestOut])
def list_requests(
    box: str = Query("incoming", pattern="^(incoming|outgoing|all|escalated)$"),
    state: str | None = None,
    resource: str | None = None,
    session: Session = S,
    p: Principal = Depends(Require("catalog.view")),
) -> list[AccessRequestOut]:
    return service.requests(session=session, actor=p, box=box, state=state, code=resource)


@router.post("/api/v1/catalog/requests/{request_id}/decision", response_model=AccessRequestOut)
def decide(
    request_id: Annotated[int, PathParam(le=MAX_INT)],
    body: DecisionIn,
    session: Session = S,
    p: Principal = Depends(Require("catalog.decide")),
) -> AccessRequestOut:
    return service.decide_request(session=session, actor=p, request_id=request_id, decision=body)


@router.post("/api/v1/catalog/requests/{request_id}/revoke", response_model=AccessRequestOut)
def revoke(
    request_id: Annotated[int, PathParam(le=MAX_INT)],
    body: RevokeIn,
    session: Session = S,
    p: Principal = Depends(Require("catalog.decide")),
) -> AccessRequestOut:
    return service.revoke_grant(session=session, actor=p, request_id=request_id, reason=body.reason)


@router.get("/api/v1/catalog/usage", response_model=list[UsageRow])
def usage(
    resource: str | None = None,
    provider: str | None = None,
    consumer: str | None = None,
    start: date | None = None,
    end: date | None = None,
    session: Session = S,
    _p: Principal = Depends(Require("catalog.view")),
) -> list[UsageRow]:
    return service.usage(
        session=session, code=resource, provider=provider, consumer=consumer, start=start, end=end
    )


@router.get("/api/v1/catalog/usage.xlsx")
def usage_xlsx(
    resource: str | None = None,
    provider: str | None = None,
    consumer: str | None = None,
    start: date | None = None,
    end: date | None = None,
    session: Session = S,
    _p: Principal = Depends(Require("catalog.view")),
) -> Response:
    rows = service.usage(
        session=session, code=resource, provider=provider, consumer=consumer, start=start, end=end
    )
    return Response(
        excel.usage_xlsx(rows),
        media_type=XLSX,
        headers={"Content-Disposition": 'attachment; filename="catalog-usage.xlsx"'},
    )


@router.get("/api/v1/catalog/export.xlsx")
def export_catalog(
    department: str | None = None, session: Session = S, _p: Principal = Depends(Require("catalog.view"))
) -> Response:
    """The catalog as the 编制指南 Excel: sheet 信息资源 (one row per resource), sheet 信息项 (fields)."""
    data = excel.export_catalog(session=session, department=department)
    return Response(
        data, media_type=XLSX, headers={"Content-Disposition": 'attachment; filename="catalog.xlsx"'}
    )


@router.post("/api/v1/catalog/import")
def import_catalog(
    file: UploadFile = File(...), session: Session = S, p: Principal = Depends(Require("catalog.manage"))
) -> dict[str, Any]:
    """Import a catalog Excel: all rows or none; every bad row is named with its sheet, row and column."""
    file.file.seek(0)
    return excel.import_catalog(session=session, actor=p, data=file.file.read())


@router.get("/api/v1/catalog/overview")
def overview(session: Session = S, _p: Principal = Depends(Require("catalog.admin"))) -> dict[str, Any]:
    return service.overview(session=session)


# ------------------------------------------------------------------------------------ data API


def _int(raw: str | None, name: str, *, default: int | None, lo: int, hi: int) -> int | None:
    """A whole-number query parameter, parsed here (not by FastAPI) so that a bad one is answered
    400 `bad_integer` *and* recorded on the audit trail like every other outcome of the call."""
    if raw is None or raw == "":
        return default
    text = raw.strip()
    n: int | None = None
    if len(text) <= 20 and text.lstrip("+-").isdigit():
        n = int(text)
    if n is None or not lo <= n <= hi:
        raise CityOSError(
            "{field} must be a whole number from {lo} to {hi}",
            code="bad_integer",
            field=name,
            params={"field": name, "lo": lo, "hi": hi},
        )
    return n


_CALL_LOG_LOCK = threading.Lock()


def _call_log(app: Any, db: Database) -> GroupCommit[service.CallRecord, None]:
    with _CALL_LOG_LOCK:
        log = getattr(app.state, "data_call_log", None)
        if log is None:

            def write(calls: Sequence[service.CallRecord]) -> list[None]:
                try:
                    with db.transaction() as w:
                        service.record_calls(session=w, calls=calls)
                except Exception:
                    if len(calls) == 1:
                        raise
                    for call in calls:  # each alone: one that cannot be written fails only itself
                        write([call])
                return [None] * len(calls)

            log = GroupCommit(write, max_batch=128, name="data-call-log")
            app.state.data_call_log = log
        return log


class Call:
    """One data-API call in three short steps, never holding two database connections at once:
    (1) a read-only unit of work resolves the caller, the share rules and the version; (2) DuckDB
    reads the rows with no database connection held; (3) a unit of work of its own writes the
    audit record and the counters — whatever the outcome, a refusal, a bad parameter and an
    unexpected failure included."""

    def __init__(self, request: Request, code: str, kind: str) -> None:
        self.request, self.code, self.kind = request, code, kind
        self.t0 = time.perf_counter()
        self.actor: Principal = ANONYMOUS
        self.fields: list[str] = []
        self.filters: dict[str, Any] = {}
        self.version: int | None = None

    def prepare(
        self, fields: str | None, version: str | None, filters: list[tuple[str, str]]
    ) -> tuple[Path, Schema, Access, list[reader.Filter]]:
        wanted = _fields_param(fields)
        self.fields = wanted or []
        for name, value in filters:  # a field given twice is recorded with both conditions
            seen = self.filters.get(name)
            self.filters[name] = (
                value if seen is None else [*(seen if isinstance(seen, list) else [seen]), value]
            )
        with get_database(self.request).transaction(read_only=True) as s:
            self.actor = current_principal(self.request, s)
            if not self.actor.is_authenticated:
                raise Unauthorized("Please log in first", code="login_required")
            number = _int(version, "version", default=None, lo=1, hi=MAX_INT)
            plan = service.read_plan(
                session=s, actor=self.actor, code=self.code, fields=wanted, version=number
            )
        self.fields = plan.access.fields
        self.version = plan.version
        return plan.path, plan.schema, plan.access, reader.parse_filters(filters, plan.schema, plan.access)

    def done(self, rows: int, outcome: str = "ok") -> None:
        """The call on the record before it is answered: written with the calls that finish
        meanwhile in one unit of work (core/batch.py)."""
        record = service.CallRecord(
            actor=self.actor,
            code=self.code,
            kind=self.kind,
            fields=self.fields,
            filters=self.filters,
            rows=rows,
            latency_ms=(time.perf_counter() - self.t0) * 1000,
            outcome=outcome,
            version=self.version,
        )
        _call_log(self.request.app, get_database(self.request)).submit(record).result()

    def refused(self, exc: Exception) -> JSONResponse:
        """Record the refusal and answer it (returned, not raised: nothing can roll it back). An
        unexpected failure is recorded as `error` and raised on, to be logged and answered 500."""
        if not isinstance(exc, CityOSError):
            self.done(0, outcome="error")
            raise exc
        self.done(0, outcome=exc.code)
        return JSONResponse(exc.payload(), status_code=exc.status)


def _fields_param(fields: str | None) -> list[str] | None:
    if not fields:
        return None
    return [f.strip() for f in fields.split(",") if f.strip()]


def _filters(request: Request, reserved: set[str]) -> list[tuple[str, str]]:
    """Every filter condition of the query string, a field named twice included."""
    return [(k, v) for k, v in request.query_params.multi_items() if k not in reserved]


def _masked(acc: Access) -> list[str]:
    return [f for f in acc.fields if f not in acc.clear]


# the data API's own 400s (web/openapi.py documents the 401/403/404/422 every route may give)
BAD_REQUEST: dict[int | str, dict[str, Any]] = {
    400: {
        "description": "A parameter out of range (`bad_integer`) or a page cursor not of this listing "
        "(`bad_cursor`)",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
}
ROWS_PARAMS = {"fields", "limit", "after", "version"}
EXPORT_PARAMS = {"fields", "version"}


@router.get("/api/v1/data/{code}/rows", tags=["data"], responses=BAD_REQUEST)
def data_rows(
    code: str,
    request: Request,
    fields: str | None = None,
    limit: str | None = Query(None, description="rows per page, 1 to 10000 (default 100)"),
    after: str | None = Query(None, description="the previous page's `next` (opaque)"),
    version: str | None = Query(None, description="a version number (default: the current version)"),
) -> Any:
    """Rows with filters on key/index fields the caller holds in clear (`?field=eq.V`, `in.(a,b)`,
    `gte.V`, `lte.V`, `prefix.V`; a field named twice meets both), `fields=a,b`, keyset pages
    (`after=` the previous page's opaque `next`)."""
    call = Call(request, code, "rows")
    try:
        path, schema, acc, flt = call.prepare(fields, version, _filters(request, ROWS_PARAMS))
        n = _int(limit, "limit", default=100, lo=1, hi=10_000)
        assert n is not None
        rows, nxt = reader.page(path, schema, acc, filters=flt, limit=n, after=after)
    except Exception as exc:
        return call.refused(exc)
    call.done(len(rows))
    return {
        "resource": acc.resource_code,
        "version": call.version,
        "fields": acc.fields,
        "masked": _masked(acc),
        "rows": rows,
        "next": nxt,
    }


@router.get("/api/v1/data/{code}/rows/{key}", tags=["data"], responses=BAD_REQUEST)
def data_lookup(
    code: str,
    key: str,
    request: Request,
    fields: str | None = None,
    version: str | None = Query(None, description="a version number (default: the current version)"),
) -> Any:
    """One row by its primary key (parts of a composite key separated by commas); the key's
    fields must be ones the caller holds in clear."""
    call = Call(request, code, "lookup")
    call.filters = {"key": key}
    try:
        path, schema, acc, _ = call.prepare(fields, version, [])
        row = reader.lookup(path, schema, acc, key.split(","))
        if row is None:
            raise NotFound("No row with key {key}", code="row_not_found", params={"key": key})
    except Exception as exc:
        return call.refused(exc)
    call.done(1)
    return {"resource": acc.resource_code, "version": call.version, "row": row, "masked": _masked(acc)}


@router.get("/api/v1/data/{code}/export.{fmt}", tags=["data"], responses=BAD_REQUEST)
def data_export(
    code: str,
    fmt: str,
    request: Request,
    fields: str | None = None,
    version: str | None = Query(None, description="a version number (default: the current version)"),
) -> Any:
    """The whole (filtered) resource, streamed: csv (formula-looking text cells neutralised),
    ndjson or parquet."""
    call = Call(request, code, "export")
    try:
        if fmt not in EXPORT_TYPES:
            raise Invalid("Export format must be csv, ndjson or parquet", code="bad_format", field="fmt")
        path, schema, acc, flt = call.prepare(fields, version, _filters(request, EXPORT_PARAMS))
        n = reader.count(path, schema, flt)
    except Exception as exc:
        return call.refused(exc)
    call.done(n)
    stream: Iterator[bytes] = reader.export(path, schema, acc, fmt, filters=flt)
    name = f"{acc.resource_code.replace('/', '-')}-v{call.version}.{fmt}"
    return StreamingResponse(
        stream,
        media_type=EXPORT_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}"', "X-Row-Count": str(n)},
    )


@router.get("/api/v1/data/{code}/changes", tags=["data"], responses=BAD_REQUEST)
def data_changes(
    code: str,
    request: Request,
    since: str | None = Query(None, description="the version to compare with (0: none)"),
    fields: str | None = None,
    version: str | None = Query(None, description="a version number (default: the current version)"),
) -> Any:
    """Rows added or changed, and keys removed, between version `since` and the current (or `version`)."""
    call = Call(request, code, "changes")
    call.filters = {"since": since}
    try:
        path, schema, acc, _ = call.prepare(fields, version, [])
        old_number = _int(since or "-", "since", default=None, lo=0, hi=MAX_INT)  # required
        assert old_number is not None
        old, old_schema = None, None
        if old_number > 0:  # the older version is read with its own schema, as any version is
            with get_database(request).transaction(read_only=True) as s:
                old, _v = service.version_path(session=s, code=code, number=old_number)
                old_schema = service.version_schema(session=s, code=code, number=old_number)
        out = reader.changes(old, path, schema, acc, old_schema=old_schema)
    except Exception as exc:
        return call.refused(exc)
    call.done(len(out["upserted"]) + len(out["removed"]))
    return {"resource": acc.resource_code, "since": old_number, "version": call.version, **out}
