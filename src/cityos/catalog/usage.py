"""The record of every use: data-API calls and public downloads on the audit trail and in daily
counters, and the data bureau's overview.

Part of the catalog's service; other modules call `cityos.catalog.service`, which re-exports this.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from cityos.catalog import permissions as _permissions  # noqa: F401  (grants catalog.* to roles)
from cityos.catalog.models import AccessRequest, Resource, Usage, Version
from cityos.catalog.resources import _get, is_stale
from cityos.catalog.schemas import (
    SHARE_TYPES,
    UsageRow,
    unslug,
)
from cityos.core import audit, calendar, clock
from cityos.identity import service as identity
from cityos.identity.schemas import Principal


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


@dataclass(frozen=True)
class CallRecord:
    """One data-API call as the audit log and the counters keep it."""

    actor: Principal
    code: str
    kind: str
    fields: list[str]
    filters: dict[str, Any]
    rows: int
    latency_ms: float
    outcome: str
    version: int | None = None


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
    """One data-API call, allowed or refused, into the signed audit log and the counters."""
    record_calls(
        session=session,
        calls=[CallRecord(actor, code, kind, fields, filters, rows, latency_ms, outcome, version)],
    )


def record_calls(*, session: Session, calls: Sequence[CallRecord]) -> None:
    """Many calls in one unit of work (the data API's group commit, catalog/api.py): an audit entry
    each, and the day's counters added up per resource and consumer first, so that calls written
    together update each counter row once instead of queueing on its lock one by one."""
    codes = {unslug(c.code) for c in calls}
    resources = {
        r.code: r.id
        for r in session.execute(select(Resource.code, Resource.id).where(Resource.code.in_(codes)))
    }
    totals: dict[tuple[int, int], list[int]] = {}
    for c in calls:
        code = unslug(c.code)
        audit.record(
            session,
            actor=c.actor.actor,
            action="catalog.data." + c.kind,
            subject_type="catalog_resource",
            subject_id=code if code in resources else c.code,
            payload={
                "department": c.actor.department_code,
                "fields": c.fields,
                "filter": c.filters,
                "rows": c.rows,
                "latency_ms": round(c.latency_ms, 3),
                "outcome": c.outcome,
                "version": c.version,
            },
        )
        if code in resources:
            refused = c.outcome != "ok"
            t = totals.setdefault((resources[code], c.actor.department_id or 0), [0, 0, 0, 0])
            t[0] += 1
            t[1] += 1 if refused else 0
            t[2] += 0 if refused else c.rows
            t[3] += 1 if c.kind == "export" and not refused else 0
    for (resource_id, consumer), (n, refused_n, rows, downloads) in sorted(totals.items()):
        _upsert_usage(
            session,
            resource_id=resource_id,
            consumer=consumer,
            calls=n,
            refused=refused_n,
            rows=rows,
            downloads=downloads,
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
