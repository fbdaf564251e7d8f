"""数据共享交换 use cases: describe resources, load and validate their data into immutable versions,
decide who may read what (share type, access requests, grants), and keep the record of every use.

Other modules call these functions (never the tables). Functions are keyword-only, take the
caller's session and never commit. The data itself is read by `cityos.catalog.reader` over the
versions' Parquet files; this module decides whether a read may happen and records it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from cityos.catalog import engine, reader
from cityos.catalog import permissions as _permissions  # noqa: F401  (grants catalog.* to roles)
from cityos.catalog.models import AccessRequest, Resource, ResourceField, Usage, Version
from cityos.catalog.schemas import (
    CLASSES,
    CYCLE_DAYS,
    FORMAT_CLASSES,
    OPEN_TYPES,
    SHARE_METHODS,
    SHARE_TYPES,
    UPDATE_CYCLES,
    Access,
    AccessRequestIn,
    AccessRequestOut,
    DecisionIn,
    FieldOut,
    ResourceIn,
    ResourceOut,
    UsageRow,
    VersionOut,
    unslug,
)
from cityos.catalog.tableschema import FieldSpec, Schema, parse
from cityos.core import audit, calendar, clock, events
from cityos.core.db import Database
from cityos.core.errors import Conflict, Forbidden, Invalid, NotFound
from cityos.core.settings import get_settings
from cityos.identity import service as identity
from cityos.identity.permissions import authorize
from cityos.identity.schemas import Principal

REQUEST_DAYS_DEFAULT = 10  # 国发〔2016〕51号: conditional requests answered within 10 working days


# ------------------------------------------------------------------------------------ resources
def _fields_of(session: Session, resource_id: int) -> list[ResourceField]:
    return list(
        session.scalars(
            select(ResourceField)
            .where(ResourceField.resource_id == resource_id)
            .order_by(ResourceField.position)
        )
    )


def _schema_from_rows(rows: list[ResourceField]) -> Schema:
    return Schema(
        fields=tuple(
            FieldSpec(
                name=f.name,
                type=f.type,
                format=f.format,
                title=f.title,
                description=f.description,
                constraints=dict(f.constraints or {}),
                sensitivity=f.sensitivity,
                mask=f.mask,
                index=f.is_index,
            )
            for f in rows
        ),
        primary_key=tuple(f.name for f in rows if f.is_key),
    )


def is_stale(r: Resource, now: datetime | None = None) -> bool:
    days = CYCLE_DAYS.get(r.update_cycle)
    if days is None:
        return False
    now = now or clock.now()
    since = r.last_loaded_at or r.created_at
    return now - since > timedelta(days=days)


def _out(session: Session, r: Resource) -> ResourceOut:
    return _outs(session, [r])[0]


def _get(session: Session, code: str) -> Resource:
    r = session.scalar(select(Resource).where(Resource.code == unslug(code)))
    if r is None:
        raise NotFound("No such data resource: {code}", code="resource_not_found", params={"code": code})
    return r


def _check_meta(data: ResourceIn) -> None:
    def bad(field: str, message: str, **params: Any) -> Invalid:
        return Invalid(message, field=field, code=f"bad_{field}", params=params)

    if data.class_code[0] not in CLASSES:
        raise bad("class_code", "Classification must start with 1, 2 or 3 (basic, thematic, departmental)")
    if data.format_class not in FORMAT_CLASSES:
        raise bad("format_class", "Unknown format class {value}", value=data.format_class)
    if data.share_type not in SHARE_TYPES:
        raise bad("share_type", "Share type must be unconditional, conditional or none")
    if data.share_type in ("conditional", "none") and not data.legal_basis.strip():
        raise bad("legal_basis", "Conditional and non-shared resources must state their legal basis")
    if data.share_type == "conditional" and not data.share_condition.strip():
        raise bad("share_condition", "A conditional resource must state its share condition")
    for m in data.share_methods:
        if m not in SHARE_METHODS:
            raise bad("share_methods", "Unknown share method {value}", value=m)
    if data.open_type not in OPEN_TYPES:
        raise bad("open_type", "Open attribute must be open, conditional or closed")
    if data.open_type == "conditional" and not data.open_condition.strip():
        raise bad("open_condition", "A conditionally open resource must state its open condition")
    if data.update_cycle not in UPDATE_CYCLES:
        raise bad("update_cycle", "Unknown update cycle {value}", value=data.update_cycle)
    if data.policy not in ("reject", "quarantine"):
        raise bad("policy", "Policy must be reject or quarantine")


def _may_manage(actor: Principal, department_id: int) -> None:
    authorize(actor, "catalog.manage", department_id=department_id)


def _next_code(session: Session, class_code: str) -> str:
    codes = session.scalars(select(Resource.code).where(Resource.code.like(f"{class_code}/%"))).all()
    seq = max((int(c.rsplit("/", 1)[1]) for c in codes), default=0) + 1
    return f"{class_code}/{seq:06d}"


def _set_fields(session: Session, r: Resource, schema: Schema) -> None:
    for old in _fields_of(session, r.id):
        session.delete(old)
    session.flush()
    for i, f in enumerate(schema.fields):
        session.add(
            ResourceField(
                resource_id=r.id,
                position=i,
                name=f.name,
                title=f.title,
                type=f.type,
                format=f.format,
                description=f.description,
                sensitivity=f.sensitivity,
                mask=f.mask,
                constraints=dict(f.constraints),
                is_key=f.name in schema.primary_key,
                is_index=f.index,
            )
        )
    session.flush()


def create_resource(*, session: Session, actor: Principal, data: ResourceIn) -> ResourceOut:
    dept = identity.get_department(session=session, code=data.provider)
    _may_manage(actor, dept.id)
    _check_meta(data)
    code = data.code or _next_code(session, data.class_code)
    if not code.startswith(data.class_code + "/"):
        raise Invalid(
            "The resource code must start with its classification code", field="code", code="bad_code"
        )
    if session.scalar(select(Resource.id).where(Resource.code == code)) is not None:
        raise Invalid(
            "Resource code {code} is already used", field="code", code="duplicate_code", params={"code": code}
        )
    schema = parse(data.table_schema) if data.table_schema is not None else None
    now = clock.now()
    r = Resource(
        code=code,
        class_code=data.class_code,
        name=data.name.strip(),
        provider_department_id=dept.id,
        summary=data.summary,
        format_class=data.format_class,
        share_type=data.share_type,
        share_condition=data.share_condition,
        legal_basis=data.legal_basis,
        share_methods=list(dict.fromkeys(data.share_methods)),
        open_type=data.open_type,
        open_condition=data.open_condition,
        update_cycle=data.update_cycle,
        publish_date=data.publish_date or now.date(),
        related_codes=data.related_codes,
        tags=[t.strip() for t in data.tags if t.strip()],
        topics=[t.strip() for t in data.topics if t.strip()],
        policy=data.policy,
        created_at=now,
        updated_at=now,
    )
    session.add(r)
    session.flush()
    if schema is not None:
        _set_fields(session, r, schema)
    audit.record(
        session,
        actor=actor.actor,
        action="catalog.resource.create",
        subject_type="catalog_resource",
        subject_id=code,
        payload={"name": r.name, "provider": dept.code, "share_type": r.share_type, "open_type": r.open_type},
    )
    return _out(session, r)


def update_resource(*, session: Session, actor: Principal, code: str, data: ResourceIn) -> ResourceOut:
    r = _get(session, code)
    _may_manage(actor, r.provider_department_id)
    dept = identity.get_department(session=session, code=data.provider)
    if dept.id != r.provider_department_id:
        _may_manage(actor, dept.id)
    _check_meta(data)
    before = {"share_type": r.share_type, "open_type": r.open_type, "name": r.name}
    r.name = data.name.strip()
    r.provider_department_id = dept.id
    r.summary = data.summary
    r.format_class = data.format_class
    r.share_type = data.share_type
    r.share_condition = data.share_condition
    r.legal_basis = data.legal_basis
    r.share_methods = list(dict.fromkeys(data.share_methods))
    r.open_type = data.open_type
    r.open_condition = data.open_condition
    r.update_cycle = data.update_cycle
    r.publish_date = data.publish_date or r.publish_date
    r.related_codes = data.related_codes
    r.tags = [t.strip() for t in data.tags if t.strip()]
    r.topics = [t.strip() for t in data.topics if t.strip()]
    r.policy = data.policy
    r.updated_at = clock.now()
    if data.table_schema is not None:
        _set_fields(session, r, parse(data.table_schema))
    audit.record(
        session,
        actor=actor.actor,
        action="catalog.resource.update",
        subject_type="catalog_resource",
        subject_id=r.code,
        payload={
            "before": before,
            "after": {"share_type": r.share_type, "open_type": r.open_type, "name": r.name},
        },
    )
    return _out(session, r)


def set_schema(*, session: Session, actor: Principal, code: str, table_schema: dict[str, Any]) -> ResourceOut:
    r = _get(session, code)
    _may_manage(actor, r.provider_department_id)
    schema = parse(table_schema)
    _set_fields(session, r, schema)
    r.updated_at = clock.now()
    audit.record(
        session,
        actor=actor.actor,
        action="catalog.resource.schema",
        subject_type="catalog_resource",
        subject_id=r.code,
        payload={"fields": schema.names(), "primaryKey": list(schema.primary_key)},
    )
    return _out(session, r)


def get_resource(*, session: Session, code: str) -> ResourceOut:
    return _out(session, _get(session, code))


def schema_of(*, session: Session, code: str) -> Schema:
    return _schema_from_rows(_fields_of(session, _get(session, code).id))


def _stale_clause(now: datetime) -> Any:
    """SQL for "older than its update cycle" (the same rule as is_stale)."""
    since = func.coalesce(Resource.last_loaded_at, Resource.created_at)
    return or_(
        *[
            (Resource.update_cycle == cycle) & (since < now - timedelta(days=days))
            for cycle, days in CYCLE_DAYS.items()
            if days is not None
        ]
    )


def _outs(session: Session, rows: list[Resource]) -> list[ResourceOut]:
    """Many resources in three queries (fields, current versions, departments), not 2 per row."""
    if not rows:
        return []
    ids = [r.id for r in rows]
    fields: dict[int, list[ResourceField]] = {}
    for f in session.scalars(
        select(ResourceField).where(ResourceField.resource_id.in_(ids)).order_by(ResourceField.position)
    ):
        fields.setdefault(f.resource_id, []).append(f)
    current = {
        v.resource_id: v
        for v in session.scalars(
            select(Version).where(Version.resource_id.in_(ids), Version.state == "accepted")
        )
        if any(r.id == v.resource_id and r.current_version == v.number for r in rows)
    }
    depts = {d.id: d for d in identity.departments(session=session)}
    now = clock.now()
    out = []
    for r in rows:
        d = depts[r.provider_department_id]
        v = current.get(r.id)
        frows = fields.get(r.id, [])
        out.append(
            ResourceOut(
                id=r.id,
                code=r.code,
                class_code=r.class_code,
                name=r.name,
                provider_department_id=r.provider_department_id,
                provider_code=d.code,
                provider_name=d.name,
                summary=r.summary,
                format_class=r.format_class,
                share_type=r.share_type,
                share_condition=r.share_condition,
                legal_basis=r.legal_basis,
                share_methods=list(r.share_methods or []),
                open_type=r.open_type,
                open_condition=r.open_condition,
                update_cycle=r.update_cycle,
                publish_date=r.publish_date,
                related_codes=list(r.related_codes or []),
                tags=list(r.tags or []),
                topics=list(r.topics or []),
                policy=r.policy,
                current_version=r.current_version,
                last_loaded_at=r.last_loaded_at,
                created_at=r.created_at,
                updated_at=r.updated_at,
                fields=[FieldOut.model_validate(f) for f in frows],
                primary_key=[f.name for f in frows if f.is_key],
                row_count=v.row_count if v else None,
                stale=is_stale(r, now),
                quality=v.validity if v else None,
            )
        )
    return out


def list_resources(
    *,
    session: Session,
    q: str | None = None,
    department: str | None = None,
    topic: str | None = None,
    tag: str | None = None,
    format_class: str | None = None,
    share_type: str | None = None,
    open_only: bool = False,
    open_types: tuple[str, ...] | None = None,
    stale_only: bool = False,
    sort: str = "code",
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[ResourceOut], int]:
    """One filter definition for the catalog browser, the API, the portal and the CKAN search.
    Filters, count and page run in SQL; tags and topics (JSON lists) are matched on the narrowed
    id list, which reads two short columns, not whole rows."""
    conds: list[Any] = []
    if q:
        like = f"%{q.strip()}%"
        conds.append(or_(Resource.name.like(like), Resource.summary.like(like), Resource.code.like(like)))
    if department:
        dept = identity.get_department(session=session, code=department)
        conds.append(Resource.provider_department_id == dept.id)
    if format_class:
        conds.append(Resource.format_class == format_class)
    if share_type:
        conds.append(Resource.share_type == share_type)
    if open_only:
        conds.append(Resource.open_type.in_(("open", "conditional")))
    if open_types:
        conds.append(Resource.open_type.in_(open_types))
    if stale_only:
        conds.append(_stale_clause(clock.now()))
    if topic or tag:
        ids = [
            rid
            for rid, topics, tags in session.execute(
                select(Resource.id, Resource.topics, Resource.tags).where(*conds)
            )
            if (not topic or topic in (topics or [])) and (not tag or tag in (tags or []))
        ]
        conds = [Resource.id.in_(ids)] if ids else [Resource.id == -1]
    orders: dict[str, Any] = {
        "code": Resource.code.asc(),
        "name": Resource.name.asc(),
        "updated": Resource.updated_at.asc(),
        "-updated": Resource.updated_at.desc(),
        "loaded": func.coalesce(Resource.last_loaded_at, Resource.created_at).asc(),
        "-loaded": func.coalesce(Resource.last_loaded_at, Resource.created_at).desc(),
    }
    total = session.scalar(select(func.count()).select_from(Resource).where(*conds)) or 0
    rows = list(
        session.scalars(
            select(Resource)
            .where(*conds)
            .order_by(orders.get(sort, orders["code"]), Resource.id)
            .limit(limit)
            .offset(offset)
        )
    )
    return _outs(session, rows), int(total)


def facets(*, session: Session, open_only: bool = False) -> dict[str, dict[str, int]]:
    """Counts per department, topic, tag and format class (the portal's and CKAN's facets)."""
    stmt = select(Resource)
    if open_only:
        stmt = stmt.where(Resource.open_type.in_(("open", "conditional")))
    depts = {d.id: d.code for d in identity.departments(session=session)}
    out: dict[str, dict[str, int]] = {"department": {}, "topic": {}, "tag": {}, "format_class": {}}
    for r in session.scalars(stmt):
        code = depts.get(r.provider_department_id, "")
        out["department"][code] = out["department"].get(code, 0) + 1
        out["format_class"][r.format_class] = out["format_class"].get(r.format_class, 0) + 1
        for t in r.topics or []:
            out["topic"][t] = out["topic"].get(t, 0) + 1
        for t in r.tags or []:
            out["tag"][t] = out["tag"].get(t, 0) + 1
    return out


# ------------------------------------------------------------------------------------- versions
def _store_dir(code: str) -> Path:
    return get_settings().datastore / code.replace("/", "-")


def _vout(v: Version, code: str) -> VersionOut:
    out = VersionOut.model_validate(v)
    out.resource_code = code
    return out


def version_path(*, session: Session, code: str, number: int | None = None) -> tuple[Path, VersionOut]:
    """The Parquet file of an accepted version (the current one by default)."""
    r = _get(session, code)
    n = number if number is not None else r.current_version
    if n is None:
        raise NotFound("{code} has no data yet", code="no_data", params={"code": r.code})
    v = session.scalar(select(Version).where(Version.resource_id == r.id, Version.number == n))
    if v is None or v.path is None:
        raise NotFound(
            "Version {n} of {code} does not exist", code="version_not_found", params={"n": n, "code": r.code}
        )
    return get_settings().datastore / v.path, _vout(v, r.code)


@dataclass(frozen=True)
class LoadPlan:
    """What a load needs, read in one short unit of work; the validation then runs with no
    database transaction open, so a long load never holds a lock other requests wait on."""

    code: str
    schema: Schema
    new_schema: bool  # the load brings a schema that replaces the resource's fields
    mode: str
    policy: str
    previous: Path | None
    out_dir: Path


def plan_load(
    *,
    session: Session,
    actor: Principal,
    code: str,
    mode: str = "replace",
    policy: str | None = None,
    table_schema: dict[str, Any] | None = None,
) -> LoadPlan:
    r = _get(session, code)
    _may_manage(actor, r.provider_department_id)
    if mode not in ("replace", "append", "upsert"):
        raise Invalid("Mode must be replace, append or upsert", code="bad_mode", field="mode")
    schema = parse(table_schema) if table_schema is not None else _schema_from_rows(_fields_of(session, r.id))
    if not schema.fields:
        raise Invalid(
            "{code} has no schema yet: give its Table Schema first", code="no_schema", params={"code": r.code}
        )
    policy = policy or r.policy
    if policy not in ("reject", "quarantine"):
        raise Invalid("Policy must be reject or quarantine", field="policy", code="bad_policy")
    previous = None
    if mode != "replace" and r.current_version is not None:
        previous, prev_v = version_path(session=session, code=r.code)
        if prev_v.report.get("schema_fields") and prev_v.report["schema_fields"] != schema.names():
            raise Invalid(
                "The schema changed since the last version; load the whole data with mode replace",
                field="mode",
                code="schema_changed",
            )
    return LoadPlan(
        code=r.code,
        schema=schema,
        new_schema=table_schema is not None,
        mode=mode,
        policy=policy,
        previous=previous,
        out_dir=_store_dir(r.code),
    )


def run_load(
    plan: LoadPlan, path: Path, *, filename: str = "", progress: engine.Progress | None = None
) -> engine.Outcome:
    """Read and validate the file and write its Parquet files (no database work)."""
    return engine.run(
        path,
        plan.schema,
        name=filename or path.name,
        mode=plan.mode,
        previous=plan.previous,
        out_dir=plan.out_dir,
        progress=progress,
    )


def record_load(
    *, session: Session, actor: Principal, plan: LoadPlan, outcome: engine.Outcome, filename: str
) -> VersionOut:
    """Record a validated load as a staged (or rejected) version. Re-checks what may have changed
    while the file was validated: permission, and the current version an append/upsert built on."""
    r = _get(session, plan.code)
    _may_manage(actor, r.provider_department_id)
    if plan.mode != "replace" and plan.previous is not None:
        now_path, _ = version_path(session=session, code=r.code)
        if now_path != plan.previous:
            raise Conflict(
                "A new version of {code} was accepted while this file was validated; load it again",
                code="version_moved",
                params={"code": r.code},
            )
    if plan.new_schema:
        _set_fields(session, r, plan.schema)
    schema, policy, mode = plan.schema, plan.policy, plan.mode
    rep = outcome.report
    report = rep.to_json()
    report["schema_fields"] = schema.names()
    state = "staged"
    if rep.fatal or (policy == "reject" and rep.invalid_rows) or (rep.rows and rep.valid_rows == 0):
        state = "rejected"
    store = get_settings().datastore
    v = Version(
        resource_id=r.id,
        state=state,
        mode=mode,
        policy=policy,
        sha256=outcome.sha256,
        path=str(outcome.snapshot.relative_to(store)) if outcome.snapshot else None,
        quarantine_path=str(outcome.quarantine.relative_to(store)) if outcome.quarantine else None,
        row_count=outcome.snapshot_rows,
        loaded_rows=rep.rows,
        valid_rows=rep.valid_rows,
        quarantined_rows=rep.invalid_rows if not rep.fatal else 0,
        completeness=rep.completeness,
        validity=rep.validity,
        uniqueness=rep.uniqueness,
        schema=schema.to_json(),
        report=report,
        source_name=filename[:200],
        source_format=rep.source.get("format", ""),
        source_encoding=rep.source.get("encoding", "") or "",
        created_by=actor.actor,
        created_at=clock.now(),
        decided_at=clock.now() if state == "rejected" else None,
    )
    if state == "staged" and r.current_version is not None:
        cur = session.scalar(
            select(Version).where(Version.resource_id == r.id, Version.number == r.current_version)
        )
        if cur is not None and cur.sha256 == outcome.sha256:
            v.report = {**report, "unchanged": True}
    session.add(v)
    session.flush()
    audit.record(
        session,
        actor=actor.actor,
        action="catalog.version.stage" if state == "staged" else "catalog.version.reject",
        subject_type="catalog_resource",
        subject_id=r.code,
        payload={
            "version_id": v.id,
            "file": v.source_name,
            "rows": rep.rows,
            "valid": rep.valid_rows,
            "invalid": rep.invalid_rows,
            "fatal": [f["code"] for f in rep.fatal],
            "sha256": v.sha256,
        },
    )
    return _vout(v, r.code)


def stage_version(
    *,
    session: Session,
    actor: Principal,
    code: str,
    path: Path,
    filename: str = "",
    mode: str = "replace",
    policy: str | None = None,
    table_schema: dict[str, Any] | None = None,
    progress: engine.Progress | None = None,
) -> VersionOut:
    """Validate a delivered file and keep the result as a staged version for the steward to accept.
    Nothing is readable until accepted. A file with fatal problems (wrong columns, unreadable) or,
    under the reject policy, any invalid row, is recorded as rejected. (All in the caller's unit of
    work; `load_file` does the same in three short steps.)"""
    plan = plan_load(
        session=session, actor=actor, code=code, mode=mode, policy=policy, table_schema=table_schema
    )
    outcome = run_load(plan, path, filename=filename, progress=progress)
    return record_load(
        session=session, actor=actor, plan=plan, outcome=outcome, filename=filename or path.name
    )


def load_file(
    *,
    db: Database,
    actor: Principal,
    code: str,
    path: Path,
    filename: str = "",
    mode: str = "replace",
    policy: str | None = None,
    table_schema: dict[str, Any] | None = None,
    accept: bool = True,
    progress: engine.Progress | None = None,
) -> VersionOut:
    """A load in three units of work — plan (read-only), validate (none), record — for the CLI,
    the API and the upload page. With accept=True an acceptable version is accepted at once."""
    with db.transaction(read_only=True) as s:
        plan = plan_load(
            session=s, actor=actor, code=code, mode=mode, policy=policy, table_schema=table_schema
        )
    outcome = run_load(plan, path, filename=filename, progress=progress)
    if accept and outcome.snapshot is not None:  # the slow part of accepting, outside any transaction
        reader.build_serving(outcome.snapshot, list(plan.schema.primary_key))
    with db.transaction() as s:
        v = record_load(session=s, actor=actor, plan=plan, outcome=outcome, filename=filename or path.name)
        if accept and v.state == "staged":
            v = accept_version(session=s, actor=actor, code=code, version_id=v.id)
    return v


def _staged(session: Session, r: Resource, version_id: int) -> Version:
    v = session.get(Version, version_id)
    if v is None or v.resource_id != r.id:
        raise NotFound("No such staged version", code="version_not_found")
    if v.state != "staged":
        raise Invalid(
            "This version is {state}, not waiting for a decision",
            code="not_staged",
            params={"state": v.state},
        )
    return v


def accept_version(*, session: Session, actor: Principal, code: str, version_id: int) -> VersionOut:
    r = _get(session, code)
    _may_manage(actor, r.provider_department_id)
    v = _staged(session, r, version_id)
    if v.path:  # before any write: building the keyed serving copy of a big version takes seconds
        reader.build_serving(get_settings().datastore / v.path, list(v.schema.get("primaryKey") or []))
    n = (session.scalar(select(func.max(Version.number)).where(Version.resource_id == r.id)) or 0) + 1
    now = clock.now()
    v.number = n
    v.state = "accepted"
    v.decided_at = now
    r.current_version = n
    r.last_loaded_at = now
    r.stale_reminded_at = None
    r.updated_at = now
    session.flush()
    audit.record(
        session,
        actor=actor.actor,
        action="catalog.version.accept",
        subject_type="catalog_resource",
        subject_id=r.code,
        payload={"version": n, "sha256": v.sha256, "rows": v.row_count, "quarantined": v.quarantined_rows},
    )
    events.publish(session, "catalog.VersionAccepted", {"code": r.code, "version": n, "rows": v.row_count})
    return _vout(v, r.code)


def discard_version(*, session: Session, actor: Principal, code: str, version_id: int) -> VersionOut:
    r = _get(session, code)
    _may_manage(actor, r.provider_department_id)
    v = _staged(session, r, version_id)
    v.state = "discarded"
    v.decided_at = clock.now()
    audit.record(
        session,
        actor=actor.actor,
        action="catalog.version.discard",
        subject_type="catalog_resource",
        subject_id=r.code,
        payload={"version_id": v.id},
    )
    return _vout(v, r.code)


def load(
    *,
    session: Session,
    actor: Principal,
    code: str,
    path: Path,
    filename: str = "",
    mode: str = "replace",
    policy: str | None = None,
    table_schema: dict[str, Any] | None = None,
    progress: engine.Progress | None = None,
) -> VersionOut:
    """Validate and, when acceptable, accept in one step (the CLI and systems pushing data)."""
    v = stage_version(
        session=session,
        actor=actor,
        code=code,
        path=path,
        filename=filename,
        mode=mode,
        policy=policy,
        table_schema=table_schema,
        progress=progress,
    )
    if v.state == "staged":
        return accept_version(session=session, actor=actor, code=code, version_id=v.id)
    return v


def versions(*, session: Session, code: str) -> list[VersionOut]:
    r = _get(session, code)
    rows = session.scalars(select(Version).where(Version.resource_id == r.id).order_by(Version.id.desc()))
    return [_vout(v, r.code) for v in rows]


def get_version(*, session: Session, code: str, version_id: int) -> VersionOut:
    r = _get(session, code)
    v = session.get(Version, version_id)
    if v is None or v.resource_id != r.id:
        raise NotFound("No such version", code="version_not_found")
    return _vout(v, r.code)


def quarantine_path(*, session: Session, actor: Principal, code: str, version_id: int) -> Path:
    """The rows a version kept out, as sent, with their reasons (provider's stewards only)."""
    r = _get(session, code)
    _may_manage(actor, r.provider_department_id)
    v = session.get(Version, version_id)
    if v is None or v.resource_id != r.id or not v.quarantine_path:
        raise NotFound("This version has no quarantined rows", code="no_quarantine")
    return get_settings().datastore / v.quarantine_path


def purge_rejected_files(*, session: Session, older_than_days: int = 30) -> int:
    """Files of rejected or discarded versions are kept for a while for the report, then removed."""
    cutoff = clock.now() - timedelta(days=older_than_days)
    n = 0
    store = get_settings().datastore
    for v in session.scalars(
        select(Version).where(Version.state.in_(("rejected", "discarded")), Version.decided_at < cutoff)
    ):
        used = session.scalar(
            select(func.count())
            .select_from(Version)
            .where(Version.path == v.path, Version.state == "accepted")
        )
        if v.path and not used:
            (store / v.path).unlink(missing_ok=True)
        if v.quarantine_path:
            (store / v.quarantine_path).unlink(missing_ok=True)
        v.path = None
        v.quarantine_path = None
        n += 1
    return n


# ------------------------------------------------------------------------------------ freshness
def stale_resources(*, session: Session, department: str | None = None) -> list[ResourceOut]:
    items, _ = list_resources(session=session, department=department, stale_only=True, limit=100_000)
    return items


def remind_stale(*, session: Session) -> int:
    """Remind each stale resource's data stewards, once per update cycle (the worker calls this)."""
    now = clock.now()
    n = 0
    for r in session.scalars(select(Resource)):
        if not is_stale(r, now):
            continue
        days = CYCLE_DAYS.get(r.update_cycle) or 1
        if r.stale_reminded_at is not None and now - r.stale_reminded_at < timedelta(days=days):
            continue
        stewards = identity.users(
            session=session, role="data_steward", department_id=r.provider_department_id
        )
        r.stale_reminded_at = now
        payload = {
            "code": r.code,
            "name": r.name,
            "update_cycle": r.update_cycle,
            "last_loaded_at": r.last_loaded_at.isoformat() if r.last_loaded_at else None,
            "stewards": [u.username for u in stewards],
        }
        audit.record(
            session,
            actor="system:worker",
            action="catalog.resource.stale_reminder",
            subject_type="catalog_resource",
            subject_id=r.code,
            payload=payload,
        )
        events.publish(session, "catalog.ResourceStale", payload)
        n += 1
    return n


# -------------------------------------------------------------------------------- access rules
def _req_out(
    session: Session, a: AccessRequest, r: Resource | None = None, depts: dict[int, Any] | None = None
) -> AccessRequestOut:
    r = r or session.get(Resource, a.resource_id)
    assert r is not None
    depts = depts if depts is not None else {d.id: d for d in identity.departments(session=session)}
    prov = depts.get(r.provider_department_id)
    cons = depts.get(a.consumer_department_id or -1)
    return AccessRequestOut(
        id=a.id,
        resource_code=r.code,
        resource_name=r.name,
        provider_code=prov.code if prov else "",
        consumer_department_id=a.consumer_department_id,
        consumer_code=cons.code if cons else None,
        consumer_name=cons.name if cons else None,
        requested_by=a.requested_by,
        purpose=a.purpose,
        legal_basis=a.legal_basis,
        fields=list(a.fields or []),
        period_days=a.period_days,
        state=a.state,
        created_at=a.created_at,
        due_at=a.due_at,
        overdue=a.state == "pending" and clock.now() > a.due_at,
        escalated_at=a.escalated_at,
        decided_by=a.decided_by,
        decided_at=a.decided_at,
        reason=a.reason,
        granted_fields=list(a.granted_fields or []),
        clear_fields=list(a.clear_fields or []),
        expires_at=a.expires_at,
    )


def request_days() -> int:
    """Working days a provider has to answer (CITYOS_CATALOG_REQUEST_DAYS, default 10)."""
    import os

    raw = get_settings().extra.get("catalog_request_days") or os.environ.get(
        "CITYOS_CATALOG_REQUEST_DAYS", ""
    )
    return int(raw) if raw.isdigit() and int(raw) > 0 else REQUEST_DAYS_DEFAULT


def request_access(
    *, session: Session, actor: Principal, code: str, data: AccessRequestIn
) -> AccessRequestOut:
    authorize(actor, "catalog.request")
    r = _get(session, code)
    if actor.department_id is None:
        raise Forbidden("Only a department can ask for shared data", code="no_department")
    if actor.department_id == r.provider_department_id:
        raise Invalid("Your department provides this resource already", code="own_resource")
    if r.share_type == "none":
        raise Forbidden("This resource is not shared", code="share_none")
    if r.share_type == "unconditional":
        raise Invalid(
            "This resource is shared unconditionally; no request is needed", code="no_request_needed"
        )
    names = [f.name for f in _fields_of(session, r.id)]
    unknown = [f for f in data.fields if f not in names]
    if unknown:
        raise Invalid(
            "Unknown fields: {fields}",
            field="fields",
            code="unknown_fields",
            params={"fields": ", ".join(unknown)},
        )
    if not data.legal_basis.strip() and not data.purpose.strip():
        raise Invalid("State the purpose and legal basis", field="legal_basis", code="basis_required")
    pending = session.scalar(
        select(AccessRequest.id).where(
            AccessRequest.resource_id == r.id,
            AccessRequest.consumer_department_id == actor.department_id,
            AccessRequest.state == "pending",
        )
    )
    if pending is not None:
        raise Invalid(
            "Your department has a pending request for this resource already", code="request_pending"
        )
    now = clock.now()
    due = calendar.get_calendar(session).add_working_days(now, request_days())
    a = AccessRequest(
        resource_id=r.id,
        consumer_department_id=actor.department_id,
        consumer_user_id=actor.id if actor.kind == "user" else None,
        requested_by=actor.actor,
        purpose=data.purpose,
        legal_basis=data.legal_basis,
        fields=list(dict.fromkeys(data.fields or names)),
        period_days=data.period_days,
        state="pending",
        created_at=now,
        due_at=due,
    )
    session.add(a)
    session.flush()
    audit.record(
        session,
        actor=actor.actor,
        action="catalog.request.create",
        subject_type="catalog_request",
        subject_id=a.id,
        payload={"resource": r.code, "fields": a.fields, "due_at": due.isoformat()},
    )
    events.publish(session, "catalog.AccessRequested", {"id": a.id, "resource": r.code})
    return _req_out(session, a, r)


def decide_request(
    *, session: Session, actor: Principal, request_id: int, decision: DecisionIn
) -> AccessRequestOut:
    a = session.get(AccessRequest, request_id)
    if a is None:
        raise NotFound("No such access request", code="request_not_found")
    r = session.get(Resource, a.resource_id)
    assert r is not None
    authorize(actor, "catalog.decide", department_id=r.provider_department_id)
    if a.state != "pending":
        raise Invalid(
            "This request was already answered ({state})", code="already_decided", params={"state": a.state}
        )
    now = clock.now()
    if decision.approve:
        names = [f.name for f in _fields_of(session, r.id)]
        fields = decision.fields if decision.fields is not None else list(a.fields)
        bad = [f for f in fields + decision.clear_fields if f not in names]
        if bad:
            raise Invalid(
                "Unknown fields: {fields}",
                field="fields",
                code="unknown_fields",
                params={"fields": ", ".join(bad)},
            )
        if not fields:
            raise Invalid("Grant at least one field", field="fields", code="no_fields")
        a.state = "approved"
        a.granted_fields = fields
        a.clear_fields = [f for f in decision.clear_fields if f in fields]
        a.expires_at = now + timedelta(days=decision.period_days or a.period_days)
    else:
        if not decision.reason.strip():
            raise Invalid("A refusal must give its reason", field="reason", code="reason_required")
        a.state = "refused"
    a.reason = decision.reason
    a.decided_by = actor.actor
    a.decided_at = now
    session.flush()
    audit.record(
        session,
        actor=actor.actor,
        action=f"catalog.request.{a.state}",
        subject_type="catalog_request",
        subject_id=a.id,
        payload={
            "resource": r.code,
            "fields": a.granted_fields,
            "clear": a.clear_fields,
            "expires_at": a.expires_at.isoformat() if a.expires_at else None,
            "reason": a.reason,
        },
    )
    events.publish(session, "catalog.AccessDecided", {"id": a.id, "state": a.state})
    return _req_out(session, a, r)


def revoke_grant(*, session: Session, actor: Principal, request_id: int, reason: str) -> AccessRequestOut:
    a = session.get(AccessRequest, request_id)
    if a is None:
        raise NotFound("No such access request", code="request_not_found")
    r = session.get(Resource, a.resource_id)
    assert r is not None
    authorize(actor, "catalog.decide", department_id=r.provider_department_id)
    if a.state != "approved":
        raise Invalid("Only an approved request can be revoked", code="not_approved")
    if not reason.strip():
        raise Invalid("A revocation must give its reason", field="reason", code="reason_required")
    a.state = "revoked"
    a.reason = reason
    audit.record(
        session,
        actor=actor.actor,
        action="catalog.request.revoked",
        subject_type="catalog_request",
        subject_id=a.id,
        payload={"resource": r.code, "reason": reason},
    )
    return _req_out(session, a, r)


def requests(
    *,
    session: Session,
    actor: Principal,
    box: str = "incoming",
    state: str | None = None,
    code: str | None = None,
) -> list[AccessRequestOut]:
    """incoming: requests for my department's resources; outgoing: my department's requests;
    all / escalated: the data bureau's view."""
    authorize(actor, "catalog.view")
    stmt = select(AccessRequest).order_by(AccessRequest.id.desc())
    if box == "incoming":
        stmt = stmt.where(
            AccessRequest.resource_id.in_(
                select(Resource.id).where(Resource.provider_department_id == (actor.department_id or -1))
            )
        )
    elif box == "outgoing":
        stmt = stmt.where(AccessRequest.consumer_department_id == (actor.department_id or -1))
    else:
        authorize(actor, "catalog.admin")
        if box == "escalated":
            stmt = stmt.where(AccessRequest.escalated_at.is_not(None), AccessRequest.state == "pending")
    if state:
        stmt = stmt.where(AccessRequest.state == state)
    if code:
        stmt = stmt.where(AccessRequest.resource_id == _get(session, code).id)
    depts = {d.id: d for d in identity.departments(session=session)}
    return [_req_out(session, a, depts=depts) for a in session.scalars(stmt.limit(1000))]


def escalate_overdue_requests(*, session: Session) -> int:
    """Pending requests past their working-day deadline go to the data bureau (the worker)."""
    now = clock.now()
    n = 0
    for a in session.scalars(
        select(AccessRequest).where(
            AccessRequest.state == "pending", AccessRequest.due_at < now, AccessRequest.escalated_at.is_(None)
        )
    ):
        a.escalated_at = now
        r = session.get(Resource, a.resource_id)
        audit.record(
            session,
            actor="system:worker",
            action="catalog.request.escalated",
            subject_type="catalog_request",
            subject_id=a.id,
            payload={"resource": r.code if r else "", "due_at": a.due_at.isoformat()},
        )
        events.publish(session, "catalog.AccessRequestOverdue", {"id": a.id})
        n += 1
    return n


def access(*, session: Session, actor: Principal, code: str, fields: list[str] | None = None) -> Access:
    """The share rules, in one place: who may read which fields of a resource, and which in clear.

    provider's own department   every field, in clear
    不予共享 none                  refused
    无条件共享 unconditional       every field; sensitive fields masked
    有条件共享 conditional         only with an approved, unexpired grant: the granted fields;
                                  sensitive fields masked unless the grant gives them in clear
    A field asked for outside what the rule allows is refused (403), never silently dropped.
    """
    authorize(actor, "catalog.data")
    r = _get(session, code)
    return _access(session, actor, r, _fields_of(session, r.id), fields)


def _access(
    session: Session, actor: Principal, r: Resource, rows: list[ResourceField], fields: list[str] | None
) -> Access:
    names = [f.name for f in rows]
    sensitive = {f.name for f in rows if f.sensitivity == "sensitive"}
    asked = fields or []
    unknown = [f for f in asked if f not in names]
    if unknown:
        raise Invalid(
            "Unknown fields: {fields}",
            field="fields",
            code="unknown_fields",
            params={"fields": ", ".join(unknown)},
        )
    own = actor.department_id is not None and actor.department_id == r.provider_department_id
    if own:
        return Access(resource_code=r.code, fields=asked or names, clear=asked or names, basis="provider")
    if actor.department_id is None:
        raise Forbidden("Only a department can read shared data", code="no_department")
    if r.share_type == "none":
        raise Forbidden("This resource is not shared", code="share_none")
    if r.share_type == "unconditional":
        allowed = asked or names
        return Access(
            resource_code=r.code,
            fields=allowed,
            clear=[f for f in allowed if f not in sensitive],
            basis="unconditional",
        )
    now = clock.now()
    grants = list(
        session.scalars(
            select(AccessRequest)
            .where(
                AccessRequest.resource_id == r.id,
                AccessRequest.consumer_department_id == actor.department_id,
                AccessRequest.state == "approved",
            )
            .order_by(AccessRequest.decided_at.desc())
        )
    )
    live = [g for g in grants if g.expires_at is None or g.expires_at > now]
    if not live:
        if grants:
            raise Forbidden("Your department's grant for this resource has expired", code="grant_expired")
        raise Forbidden(
            "This resource is shared on condition: request access first", code="access_not_granted"
        )
    g = live[0]
    granted = list(g.granted_fields or [])
    outside = [f for f in asked if f not in granted]
    if outside:
        raise Forbidden(
            "Fields outside your grant: {fields}",
            code="field_not_granted",
            params={"fields": ", ".join(outside)},
        )
    allowed = asked or granted
    clear = [f for f in allowed if f not in sensitive or f in (g.clear_fields or [])]
    return Access(resource_code=r.code, fields=allowed, clear=clear, basis=f"grant:{g.id}")


@dataclass(frozen=True)
class ReadPlan:
    """Everything a data-API read needs, from one resource read and one fields read."""

    access: Access
    schema: Schema
    path: Path
    version: int


def read_plan(
    *,
    session: Session,
    actor: Principal,
    code: str,
    fields: list[str] | None = None,
    version: int | None = None,
) -> ReadPlan:
    """The share rules (`access`), the schema and the version's file for one call."""
    authorize(actor, "catalog.data")
    r = _get(session, code)
    rows = _fields_of(session, r.id)
    acc = _access(session, actor, r, rows, fields)
    n = version if version is not None else r.current_version
    if n is None:
        raise NotFound("{code} has no data yet", code="no_data", params={"code": r.code})
    v = session.scalar(select(Version).where(Version.resource_id == r.id, Version.number == n))
    if v is None or v.path is None:
        raise NotFound(
            "Version {n} of {code} does not exist", code="version_not_found", params={"n": n, "code": r.code}
        )
    return ReadPlan(
        access=acc, schema=_schema_from_rows(rows), path=get_settings().datastore / v.path, version=n
    )


def open_access(*, session: Session, code: str) -> Access:
    """What the public portal shows of an open resource: its public fields, in clear."""
    r = _get(session, code)
    if r.open_type != "open":
        raise Forbidden("This resource is not open to the public", code="not_open")
    names = [f.name for f in _fields_of(session, r.id) if f.sensitivity == "public"]
    if not names:
        raise Forbidden("This resource has no public fields", code="no_public_fields")
    return Access(resource_code=r.code, fields=names, clear=names, basis="open")


# ------------------------------------------------------------------------------- use and audit
def _upsert_usage(
    session: Session, *, resource_id: int, consumer: int, calls: int, refused: int, rows: int, downloads: int
) -> None:
    day = clock.now().astimezone(calendar.get_calendar(session).tz).date()
    values = {
        "resource_id": resource_id,
        "consumer_department_id": consumer,
        "day": day,
        "calls": calls,
        "refused": refused,
        "rows": rows,
        "downloads": downloads,
    }
    dialect = session.get_bind().dialect.name
    ins: Any = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(Usage).values(**values)
    ins = ins.on_conflict_do_update(
        index_elements=["resource_id", "consumer_department_id", "day"],
        set_={
            "calls": Usage.calls + calls,
            "refused": Usage.refused + refused,
            "rows": Usage.rows + rows,
            "downloads": Usage.downloads + downloads,
        },
    )
    session.execute(ins)


def record_call(
    *,
    session: Session,
    actor: Principal,
    code: str,
    kind: str,
    fields: list[str],
    filters: dict[str, Any],
    rows: int,
    latency_ms: float,
    outcome: str,
    version: int | None = None,
) -> None:
    """One data-API call, allowed or refused, into the hash-chained audit trail and the counters."""
    r = session.scalar(select(Resource).where(Resource.code == unslug(code)))
    audit.record(
        session,
        actor=actor.actor,
        action="catalog.data." + kind,
        subject_type="catalog_resource",
        subject_id=r.code if r else code,
        payload={
            "department": actor.department_code,
            "fields": fields,
            "filter": filters,
            "rows": rows,
            "latency_ms": round(latency_ms, 3),
            "outcome": outcome,
            "version": version,
        },
    )
    if r is not None:
        refused = outcome != "ok"
        _upsert_usage(
            session,
            resource_id=r.id,
            consumer=actor.department_id or 0,
            calls=1,
            refused=1 if refused else 0,
            rows=0 if refused else rows,
            downloads=1 if kind == "export" and not refused else 0,
        )


def usage(
    *,
    session: Session,
    code: str | None = None,
    provider: str | None = None,
    consumer: str | None = None,
    start: date | None = None,
    end: date | None = None,
) -> list[UsageRow]:
    stmt = select(
        Usage.resource_id,
        Usage.consumer_department_id,
        func.sum(Usage.calls),
        func.sum(Usage.refused),
        func.sum(Usage.rows),
        func.sum(Usage.downloads),
    ).group_by(Usage.resource_id, Usage.consumer_department_id)
    if code:
        stmt = stmt.where(Usage.resource_id == _get(session, code).id)
    if provider:
        pid = identity.get_department(session=session, code=provider).id
        stmt = stmt.where(
            Usage.resource_id.in_(select(Resource.id).where(Resource.provider_department_id == pid))
        )
    if consumer:
        stmt = stmt.where(
            Usage.consumer_department_id == identity.get_department(session=session, code=consumer).id
        )
    if start:
        stmt = stmt.where(Usage.day >= start)
    if end:
        stmt = stmt.where(Usage.day <= end)
    depts = {d.id: d for d in identity.departments(session=session)}
    res = {r.id: r for r in session.scalars(select(Resource))}
    out = []
    for rid, cid, calls, refused, rows, downloads in session.execute(stmt):
        r = res[rid]
        c = depts.get(cid)
        p = depts.get(r.provider_department_id)
        out.append(
            UsageRow(
                resource_code=r.code,
                resource_name=r.name,
                provider_code=p.code if p else "",
                consumer_code=c.code if c else ("public" if cid == 0 else None),
                consumer_name=c.name if c else None,
                calls=int(calls or 0),
                refused=int(refused or 0),
                rows=int(rows or 0),
                downloads=int(downloads or 0),
            )
        )
    out.sort(key=lambda u: (-u.calls, u.resource_code))
    return out


def record_public_download(
    *, session: Session, code: str, kind: str, rows: int, actor: Principal | None = None
) -> None:
    """A portal download or CKAN datastore call (the visitor, when logged in, is named)."""
    r = _get(session, code)
    audit.record(
        session,
        actor=actor.actor if actor is not None and actor.is_authenticated else "anonymous",
        action="catalog.open." + kind,
        subject_type="catalog_resource",
        subject_id=r.code,
        payload={"rows": rows},
    )
    _upsert_usage(
        session,
        resource_id=r.id,
        consumer=0,
        calls=1,
        refused=0,
        rows=rows,
        downloads=1 if kind == "download" else 0,
    )


def overview(*, session: Session) -> dict[str, Any]:
    """The data bureau's overview: per department, resources, share types, freshness, quality, use."""
    now = clock.now()
    depts = {d.id: d for d in identity.departments(session=session)}
    per: dict[int, dict[str, Any]] = {}
    res = list(session.scalars(select(Resource)))
    cur = {
        (v.resource_id, v.number): v
        for v in session.scalars(select(Version).where(Version.state == "accepted"))
    }
    for r in res:
        d = per.setdefault(
            r.provider_department_id,
            {
                "resources": 0,
                "with_data": 0,
                "stale": 0,
                "quality": [],
                "open": 0,
                "unconditional": 0,
                "conditional": 0,
                "none": 0,
                "calls": 0,
                "rows": 0,
            },
        )
        d["resources"] += 1
        d[r.share_type] += 1
        if r.open_type != "closed":
            d["open"] += 1
        if r.current_version is not None:
            d["with_data"] += 1
            v = cur.get((r.id, r.current_version))
            if v is not None and v.validity is not None:
                d["quality"].append(v.validity)
        if is_stale(r, now):
            d["stale"] += 1
    for rid, calls, rows in session.execute(
        select(Usage.resource_id, func.sum(Usage.calls), func.sum(Usage.rows)).group_by(Usage.resource_id)
    ):
        owner = next((x for x in res if x.id == rid), None)
        if owner is not None:
            per[owner.provider_department_id]["calls"] += int(calls or 0)
            per[owner.provider_department_id]["rows"] += int(rows or 0)
    rows_out = []
    for did, d in sorted(per.items(), key=lambda kv: -kv[1]["resources"]):
        dept = depts.get(did)
        q = d.pop("quality")
        rows_out.append(
            {
                "code": dept.code if dept else "",
                "name": dept.name if dept else "",
                **d,
                "quality": round(sum(q) / len(q), 4) if q else None,
            }
        )
    pending = (
        session.scalar(
            select(func.count()).select_from(AccessRequest).where(AccessRequest.state == "pending")
        )
        or 0
    )
    overdue = (
        session.scalar(
            select(func.count())
            .select_from(AccessRequest)
            .where(AccessRequest.state == "pending", AccessRequest.due_at < now)
        )
        or 0
    )
    return {
        "departments": rows_out,
        "total": len(res),
        "with_data": sum(d["with_data"] for d in rows_out),
        "stale": sum(d["stale"] for d in rows_out),
        "open": sum(d["open"] for d in rows_out),
        "calls": sum(d["calls"] for d in rows_out),
        "pending_requests": int(pending),
        "overdue_requests": int(overdue),
        "share_types": {k: sum(d[k] for d in rows_out) for k in SHARE_TYPES},
        "departments_total": len(depts),
    }
