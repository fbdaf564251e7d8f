"""The share rules (共享类型, requests and grants): who may read which fields of a resource, and
which in clear. `access`/`read_plan` are the only place that decides; readers, exports and reports ask it.

Part of the catalog's service; other modules call `cityos.catalog.service`, which re-exports this.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from cityos.catalog import masking
from cityos.catalog import permissions as _permissions  # noqa: F401  (grants catalog.* to roles)
from cityos.catalog.engine import SAMPLE_CHARS
from cityos.catalog.models import AccessRequest, Resource, ResourceField, Version
from cityos.catalog.resources import _fields_of, _get, _schema_from_rows, _version_schema
from cityos.catalog.schemas import (
    Access,
    AccessRequestIn,
    AccessRequestOut,
    DecisionIn,
)
from cityos.catalog.tableschema import FieldSpec, Schema
from cityos.core import audit, calendar, clock, events
from cityos.core.errors import CityOSError, Forbidden, Invalid, NotFound
from cityos.core.settings import get_settings
from cityos.identity import service as identity
from cityos.identity.permissions import authorize, has
from cityos.identity.schemas import Principal

REQUEST_DAYS_DEFAULT = 10  # 国发〔2016〕51号: conditional requests answered within 10 working days


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
    return file_request(
        session=session,
        actor=actor,
        resource=r,
        department_id=actor.department_id,
        purpose=data.purpose,
        legal_basis=data.legal_basis,
        fields=list(dict.fromkeys(data.fields or names)),
        period_days=data.period_days,
    )


def file_request(
    *,
    session: Session,
    actor: Principal,
    resource: Resource,
    department_id: int | None,
    purpose: str,
    legal_basis: str,
    fields: list[str],
    period_days: int | None,
    channel: str | None = None,
) -> AccessRequestOut:
    """What every access request does once its asker was checked — a department's
    (request_access) and a registered visitor's for conditionally open data (portal, no
    department): one pending request per asker and resource, the answer due in working days
    (request_days), the audit record and the catalog.AccessRequested event."""
    r = resource
    mine = (
        AccessRequest.consumer_department_id == department_id
        if department_id is not None
        else and_(AccessRequest.consumer_user_id == actor.id, AccessRequest.consumer_department_id.is_(None))
    )
    pending = session.scalar(
        select(AccessRequest.id).where(
            AccessRequest.resource_id == r.id, mine, AccessRequest.state == "pending"
        )
    )
    if pending is not None:
        raise Invalid(
            "Your department has a pending request for this resource already"
            if department_id is not None
            else "You have a pending request for this resource already",
            code="request_pending",
        )
    now = clock.now()
    due = calendar.get_calendar(session).add_working_days(now, request_days())
    a = AccessRequest(
        resource_id=r.id,
        consumer_department_id=department_id,
        consumer_user_id=actor.id if actor.kind == "user" else None,
        requested_by=actor.actor,
        purpose=purpose,
        legal_basis=legal_basis,
        fields=fields,
        period_days=period_days,
        state="pending",
        created_at=now,
        due_at=due,
    )
    session.add(a)
    session.flush()
    payload: dict[str, Any] = {"resource": r.code, "fields": a.fields, "due_at": due.isoformat()}
    if channel:
        payload["channel"] = channel
    audit.record(
        session,
        actor=actor.actor,
        action="catalog.request.create",
        subject_type="catalog_request",
        subject_id=a.id,
        payload=payload,
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
    session: Session,
    actor: Principal,
    r: Resource,
    rows: Sequence[ResourceField | FieldSpec],
    fields: list[str] | None,
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
    granted = [f for f in g.granted_fields or [] if f in names]  # a version may lack a granted field
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
    """The share rules (`access`), the schema and the version's file for one call. Each version is
    read with its own schema (`_version_schema`): a schema changed since it was loaded neither
    breaks reading it nor shows a field it does not have; the share rules are decided on the
    fields that version holds (a refusal still comes before any word on the version)."""
    authorize(actor, "catalog.data")
    r = _get(session, code)
    n = version if version is not None else r.current_version
    v = (
        session.scalar(select(Version).where(Version.resource_id == r.id, Version.number == n))
        if n is not None
        else None
    )
    found = v is not None and v.path is not None
    schema = _version_schema(session, r, v.schema if found and v is not None else None)
    acc = _access(session, actor, r, list(schema.fields), fields)
    if n is None:
        raise NotFound("{code} has no data yet", code="no_data", params={"code": r.code})
    if v is None or v.path is None:
        raise NotFound(
            "Version {n} of {code} does not exist", code="version_not_found", params={"n": n, "code": r.code}
        )
    return ReadPlan(access=acc, schema=schema, path=get_settings().datastore / v.path, version=n)


def open_access(*, session: Session, code: str) -> Access:
    """What the public portal shows of an open resource: its public fields, in clear — those of
    the current version (read with its own schema, under today's rules), so a schema changed
    since the last load never names a field the data does not have."""
    r = _get(session, code)
    if r.open_type != "open":
        raise Forbidden("This resource is not open to the public", code="not_open")
    current = (
        session.scalar(
            select(Version).where(Version.resource_id == r.id, Version.number == r.current_version)
        )
        if r.current_version is not None
        else None
    )
    fields = _version_schema(session, r, current.schema if current is not None else None).fields
    names = [f.name for f in fields if f.sensitivity == "public"]
    if not names:
        raise Forbidden("This resource has no public fields", code="no_public_fields")
    return Access(resource_code=r.code, fields=names, clear=names, basis="open")


# ---------------------------------------------------------------------------- report samples
def may_manage(*, actor: Principal, department_id: int) -> bool:
    """Whether `actor` manages the resources of `department_id` (its stewards; the data bureau
    and admins everywhere): the permission check, never a role name."""
    try:
        authorize(actor, "catalog.manage", department_id=department_id)
    except CityOSError:
        return False
    return True


def _cut(value: str) -> str:
    return value if len(value) <= SAMPLE_CHARS else value[:SAMPLE_CHARS] + "…"


def shown_report(
    session: Session, actor: Principal, r: Resource, schema: dict[str, Any], report: dict[str, Any]
) -> dict[str, Any]:
    """A validation report as `actor` may see it. Its sample values are data, so they follow the
    share rules: the provider's stewards (and whoever manages every department) see them in clear;
    anyone else sees what `_access` would give them of each field — in clear, masked by the field's
    rule, or not at all (value None) when the field, or the resource, is not theirs to read.
    Values are cut to SAMPLE_CHARS whoever reads them (reports stored before the cut included)."""
    samples = report.get("samples") or []
    if not samples:
        return report
    try:  # the version's own fields, under today's share rules, as its data is read
        specs = _version_schema(session, r, schema)
    except CityOSError:
        specs = _schema_from_rows(_fields_of(session, r.id))
    if may_manage(actor=actor, department_id=r.provider_department_id):
        clear: set[str] | None = None  # everything
        readable: set[str] = set()
    else:
        clear, readable = set(), set()
        if has(actor, "catalog.data"):
            try:
                acc = _access(session, actor, r, list(specs.fields), None)
                clear, readable = set(acc.clear), set(acc.fields)
            except CityOSError:
                pass
    out = []
    for s in samples:
        names = str(s.get("field", "")).split("+")
        parts = s.get("values")
        if not isinstance(parts, list):  # reports from before "values": one field, or an even split
            sent = str(s.get("value") or "")
            parts = [sent] if len(names) == 1 else sent.split(" | ")
        if len(parts) != len(names):
            parts = [None] * len(names)
        shown: list[str | None] = []
        for name, raw in zip(names, parts, strict=True):
            spec = specs.get(name)
            if raw is None or spec is None:
                shown.append(None)
            elif clear is None or name in clear:
                shown.append(_cut(str(raw)))
            elif name in readable:  # read masked, as the data API's select_sql shows it
                shown.append(masking.mask_value(spec.mask_kind(), _cut(str(raw))))
            else:
                shown.append(None)
        visible = [x for x in shown if x is not None]
        value = " | ".join(visible) if len(visible) == len(shown) else None
        out.append({**s, "value": value, "values": shown})
    return {**report, "samples": out}
