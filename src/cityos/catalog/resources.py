"""Catalog entries (目录): describe a data resource, its fields (Table Schema) and its freshness.

Part of the catalog's service; other modules call `cityos.catalog.service`, which re-exports this.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from cityos.catalog import permissions as _permissions  # noqa: F401  (grants catalog.* to roles)
from cityos.catalog.models import Resource, ResourceField, Version
from cityos.catalog.schemas import (
    CLASSES,
    CYCLE_DAYS,
    FORMAT_CLASSES,
    OPEN_TYPES,
    SHARE_METHODS,
    SHARE_TYPES,
    UPDATE_CYCLES,
    FieldOut,
    ResourceIn,
    ResourceOut,
    unslug,
)
from cityos.catalog.tableschema import FieldSpec, Schema, parse
from cityos.core import audit, clock, events
from cityos.core.errors import Invalid, NotFound
from cityos.identity import service as identity
from cityos.identity.permissions import ROLE_PERMISSIONS, authorize
from cityos.identity.schemas import Principal


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


_STRICTNESS = {"public": 0, "internal": 1, "sensitive": 2}


def _version_schema(session: Session, r: Resource, stored: dict[str, Any] | None) -> Schema:
    """The schema a version is read with: the one it was validated with (its fields and types are
    what its Parquet file holds), so a later schema change never breaks reading it — under today's
    share rules: a field the live schema marks more sensitive is read as such, never less, and a
    sensitive field is masked by its current rule."""
    live = {f.name: f for f in _fields_of(session, r.id)}
    if not stored or not stored.get("fields"):  # versions recorded before schemas were kept with them
        return _schema_from_rows(list(live.values()))
    own = parse(stored)
    fields = []
    for f in own.fields:
        cur = live.get(f.name)
        if cur is not None and _STRICTNESS[cur.sensitivity] >= _STRICTNESS[f.sensitivity]:
            f = replace(
                f, sensitivity=cur.sensitivity, mask=cur.mask if cur.sensitivity == "sensitive" else f.mask
            )
        fields.append(f)
    return replace(own, fields=tuple(fields))


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
        # whoever in the department may load its data (a permission, not a role name)
        stewards = [
            u
            for u in identity.users(session=session, department_id=r.provider_department_id)
            if any("catalog.manage" in ROLE_PERMISSIONS.get(role, ()) for role in u.roles)
        ]
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
