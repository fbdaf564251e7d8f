"""The catalog's part of the home page and of the notifications: counts of the work waiting for an
actor (requests to answer, stale resources, versions to review; for the bureau, overdue requests
and the day's data calls) and what a message about an access request is addressed by.

Whose work it is follows the same rules as the pages: a department's stewards (`catalog.decide`,
`catalog.manage`) see their own department's requests and resources, the bureau (`catalog.admin`)
every department's."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cityos.catalog.models import AccessRequest, Resource, Usage, Version
from cityos.catalog.resources import is_stale
from cityos.core import calendar, clock
from cityos.identity.permissions import has
from cityos.identity.schemas import Principal


def _own(actor: Principal) -> Any:
    """The resources whose work is the actor's: all for the bureau, else their department's."""
    if has(actor, "catalog.admin"):
        return select(Resource.id)
    return select(Resource.id).where(Resource.provider_department_id == (actor.department_id or -1))


def work_counts(*, session: Session, actor: Principal, today: date | None = None) -> dict[str, int]:
    """The catalog's 待办 of `actor`, as counts: zero for what their permissions do not cover."""
    out = {"to_answer": 0, "stale": 0, "to_review": 0, "overdue": 0, "calls_today": 0}
    if not has(actor, "catalog.view"):
        return out
    now = clock.now()
    own = _own(actor)
    if has(actor, "catalog.decide"):
        out["to_answer"] = int(
            session.scalar(
                select(func.count(AccessRequest.id)).where(
                    AccessRequest.state == "pending",
                    AccessRequest.resource_id.in_(
                        select(Resource.id).where(
                            Resource.provider_department_id == (actor.department_id or -1)
                        )
                    ),
                )
            )
            or 0
        )
    if has(actor, "catalog.manage"):
        # freshness depends on each resource's update cycle: the rule is resources.is_stale
        out["stale"] = sum(
            1 for r in session.scalars(select(Resource).where(Resource.id.in_(own))) if is_stale(r, now)
        )
        out["to_review"] = int(
            session.scalar(
                select(func.count(Version.id)).where(Version.state == "staged", Version.resource_id.in_(own))
            )
            or 0
        )
    if has(actor, "catalog.admin"):
        out["overdue"] = int(
            session.scalar(
                select(func.count(AccessRequest.id)).where(
                    AccessRequest.state == "pending", AccessRequest.due_at < now
                )
            )
            or 0
        )
        day = today or now.astimezone(calendar.get_calendar(session).tz).date()  # as usage counts days
        out["calls_today"] = int(session.scalar(select(func.sum(Usage.calls)).where(Usage.day == day)) or 0)
    return out


def request_notice(*, session: Session, request_id: int) -> dict[str, Any] | None:
    """Who asked for an access request and what became of it (the notification to the requester)."""
    a = session.get(AccessRequest, request_id)
    if a is None:
        return None
    r = session.get(Resource, a.resource_id)
    return {
        "id": a.id,
        "state": a.state,
        "resource_code": r.code if r else "",
        "resource_name": r.name if r else "",
        "consumer_user_id": a.consumer_user_id,
        "consumer_department_id": a.consumer_department_id,
        "provider_department_id": r.provider_department_id if r else None,
        "reason": a.reason,
    }
