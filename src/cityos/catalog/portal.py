"""The open-data portal's own use cases, on top of `cityos.catalog.service`: which resources the
public may see, a visitor's request for a conditionally open resource (有条件开放) and the grant
that answers it, and the portal's use counters.

What the public may see, in one place:
    open_type open          listed; metadata, public fields, preview, downloads, CKAN, DCAT
    open_type conditional   listed on the portal with its open condition; data only to a visitor
                            whose request the provider approved (public fields, never more)
    open_type closed        invisible: not found, whatever the share type
Only fields with sensitivity `public` ever leave through the portal.

Functions are keyword-only, take the caller's session and never commit (as in service.py).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityos.catalog import service
from cityos.catalog.access import file_request
from cityos.catalog.models import AccessRequest, Resource
from cityos.catalog.schemas import Access, AccessRequestOut, FieldOut, ResourceOut, unslug
from cityos.core import clock
from cityos.core.errors import Forbidden, Invalid, NotFound, Unauthorized
from cityos.identity.schemas import Principal

VISIBLE = ("open", "conditional")
PUBLIC_PERIOD_DAYS = 365


def not_found(code: str) -> NotFound:
    # the same answer for a closed resource as for a missing one: closed resources are invisible
    return NotFound("No such data resource: {code}", code="resource_not_found", params={"code": code})


def visible_resource(*, session: Session, code: str) -> ResourceOut:
    """A resource the portal lists (open or conditionally open); anything else is not found."""
    try:
        r = service.get_resource(session=session, code=code)
    except NotFound:
        raise not_found(code) from None
    if r.open_type not in VISIBLE:
        raise not_found(code)
    return r


def open_resource(*, session: Session, code: str) -> ResourceOut:
    """A resource open without condition (the CKAN API and DCAT publish only these)."""
    r = visible_resource(session=session, code=code)
    if r.open_type != "open":
        raise not_found(code)
    return r


def public_fields(r: ResourceOut) -> list[FieldOut]:
    return [f for f in r.fields if f.sensitivity == "public"]


def open_resources(
    *,
    session: Session,
    q: str | None = None,
    department: str | None = None,
    topic: str | None = None,
    tag: str | None = None,
    format_class: str | None = None,
) -> list[ResourceOut]:
    """Every resource open without condition that matches (the catalog's one filter definition,
    then the open attribute). The open catalog is hundreds of resources, not millions."""
    items, _ = service.list_resources(
        session=session,
        q=q or None,
        department=department or None,
        topic=topic or None,
        tag=tag or None,
        format_class=format_class or None,
        open_only=True,
        limit=1_000_000,
    )
    return [r for r in items if r.open_type == "open"]


def _request_out(session: Session, a: AccessRequest, r: Resource) -> AccessRequestOut:
    return service._req_out(session, a, r)


def _conditional(session: Session, code: str) -> tuple[Resource, list[str]]:
    r = session.scalar(select(Resource).where(Resource.code == unslug(code)))
    if r is None or r.open_type not in VISIBLE:
        raise not_found(code)
    if r.open_type != "conditional":
        raise Invalid("This resource is open to everyone; no request is needed", code="no_request_needed")
    names = [f.name for f in public_fields(service.get_resource(session=session, code=r.code))]
    return r, names


def request_open_access(*, session: Session, actor: Principal, code: str, purpose: str) -> AccessRequestOut:
    """A registered visitor asks for a conditionally open resource, stating the purpose. The request
    joins the provider's request inbox (no consumer department: `consumer_user_id` is the visitor)
    with the same deadline in working days as a department's request."""
    if not actor.is_authenticated or actor.kind != "user" or actor.id is None:
        raise Unauthorized("Please log in first", code="login_required")
    r, names = _conditional(session, code)
    purpose = purpose.strip()
    if len(purpose) < 2:
        raise Invalid("State the purpose of your request", field="purpose", code="purpose_required")
    if len(purpose) > 2000:
        raise Invalid("The purpose is too long (2000 characters at most)", field="purpose", code="too_long")
    return file_request(
        session=session,
        actor=actor,
        resource=r,
        department_id=None,
        purpose=purpose,
        legal_basis="",
        fields=names,
        period_days=PUBLIC_PERIOD_DAYS,
        channel="open",
    )


def my_requests(*, session: Session, actor: Principal, code: str) -> list[AccessRequestOut]:
    """The visitor's own requests for one resource, newest first."""
    if not actor.is_authenticated or actor.id is None or actor.kind != "user":
        return []
    r = session.scalar(select(Resource).where(Resource.code == unslug(code)))
    if r is None:
        return []
    rows = session.scalars(
        select(AccessRequest)
        .where(
            AccessRequest.resource_id == r.id,
            AccessRequest.consumer_user_id == actor.id,
            AccessRequest.consumer_department_id.is_(None),
        )
        .order_by(AccessRequest.id.desc())
    )
    return [_request_out(session, a, r) for a in rows]


def _current_public(session: Session, r: Resource) -> set[str] | None:
    """The public fields of the current version, read with its own schema under today's rules
    (`service.version_schema`): a field added since the last load is not in the data, and one the
    version was published with as internal or sensitive stays so even if the live schema now calls
    it public. None while there is no data (the download then says so)."""
    if r.current_version is None:
        return None
    schema = service.version_schema(session=session, code=r.code)
    return {f.name for f in schema.fields if f.sensitivity == "public"}


def granted_access(*, session: Session, actor: Principal, code: str) -> Access:
    """What a visitor with an approved, unexpired request may download of a conditionally open
    resource: the granted fields that are public (a grant never opens internal or sensitive ones)."""
    if not actor.is_authenticated or actor.id is None or actor.kind != "user":
        raise Forbidden("This resource is open on condition: request access first", code="not_granted")
    r, names = _conditional(session, code)
    now = clock.now()
    grants = session.scalars(
        select(AccessRequest)
        .where(
            AccessRequest.resource_id == r.id,
            AccessRequest.consumer_user_id == actor.id,
            AccessRequest.consumer_department_id.is_(None),
            AccessRequest.state == "approved",
        )
        .order_by(AccessRequest.decided_at.desc())
    )
    readable = _current_public(session, r)
    for g in grants:
        if g.expires_at is not None and g.expires_at <= now:
            continue
        fields = [f for f in names if f in (g.granted_fields or []) and (readable is None or f in readable)]
        if fields:
            return Access(resource_code=r.code, fields=fields, clear=fields, basis=f"grant:{g.id}")
    raise Forbidden("This resource is open on condition: request access first", code="not_granted")


def download_access(*, session: Session, actor: Principal, code: str) -> Access:
    """The portal's one read rule: an open resource's public fields for anyone; a conditionally
    open one's granted public fields for the visitor it was granted to."""
    r = visible_resource(session=session, code=code)
    if r.open_type == "open":
        return service.open_access(session=session, code=r.code)
    return granted_access(session=session, actor=actor, code=r.code)


def public_use(*, session: Session, code: str) -> dict[str, int]:
    """The portal's counters for one resource: downloads and calls by the public (consumer 0)."""
    rows = [u for u in service.usage(session=session, code=code) if u.consumer_code == "public"]
    downloads = sum(u.downloads for u in rows)
    return {
        "downloads": downloads,
        "api_calls": sum(u.calls for u in rows) - downloads,  # every download is a call too
        "rows": sum(u.rows for u in rows),
    }
