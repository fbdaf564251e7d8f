"""好差评 (GB/T 39734-2020): the applicant rates a completed application on five levels with the
standard's rating items; 不满意 and 非常不满意 open a rectification task due in the item's
configured working days (5 or 15); the department answers, the applicant is called back (回访)
and may appeal (申诉) to the data bureau, which upholds the appeal (the department rectifies
again, with a new deadline) or dismisses it (closed). Statistics per department and item, and a
public summary with no person in it.

States: open → rectified (the department's response) → closed (a satisfied callback) | appealed
(the applicant) → open again (upheld) | closed (dismissed).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cityos.core import audit, clock, events
from cityos.core.calendar import get_calendar
from cityos.core.errors import Conflict, Forbidden, Invalid, NotFound
from cityos.identity import service as identity
from cityos.identity.permissions import authorize, has
from cityos.identity.schemas import Principal
from cityos.services.models import Application, Rating, Rectification, ServiceItem
from cityos.services.schemas import LEVELS, RatingIn, RatingOut, RectificationOut

DONE = ("issued", "rejected")
BAD = (1, 2)


def _rect_out(r: Rectification) -> RectificationOut:
    return RectificationOut.model_validate(r, from_attributes=True)


def rate(
    *, session: Session, actor: Principal, number: str, data: RatingIn, channel: str = "online"
) -> RatingOut:
    """The applicant's one rating of a completed application."""
    authorize(actor, "services.apply")
    a = session.scalar(select(Application).where(Application.number == number))
    if a is None or a.applicant_user_id != actor.id:
        raise NotFound(
            "Application {number} not found", code="application_not_found", params={"number": number}
        )
    if a.state not in DONE:
        raise Conflict("Only a completed application can be rated", code="not_completed")
    if session.scalar(select(Rating.id).where(Rating.application_id == a.id)):
        raise Conflict("This application is already rated", code="already_rated")
    if data.level in BAD and not data.comment.strip() and not data.aspects:
        raise Invalid("Say what was wrong", field="comment", code="comment_required")
    item = session.get(ServiceItem, a.item_id)
    assert item is not None
    now = clock.now()
    r = Rating(
        application_id=a.id,
        item_id=a.item_id,
        department_id=a.department_id,
        level=data.level,
        aspects=data.aspects,
        comment=data.comment,
        channel=channel,
        created_at=now,
    )
    session.add(r)
    session.flush()
    rect = None
    if data.level in BAD:
        rect = Rectification(
            rating_id=r.id,
            department_id=a.department_id,
            state="open",
            due_at=rectification_due(session, now, item.rectify_days),
            response="",
            callback="",
            appeal="",
            ruling="",
            created_at=now,
            updated_at=now,
        )
        session.add(rect)
        session.flush()
        events.publish(session, "services.RectificationOpened", {"id": rect.id})
    audit.record(
        session,
        actor=actor.actor,
        action="services.rating",
        subject_type="svc_application",
        subject_id=a.number,
        payload={"level": data.level, "aspects": data.aspects, "rectification": rect.id if rect else None},
    )
    return _rating_out(r, a.number, item.name, rect)


def rectification_due(session: Session, start: Any, days: int) -> Any:
    """Close of business on the `days`-th working day after the rating (5 or 15 per item)."""
    return get_calendar(session).add_working_days(start, days)


def _rating_out(r: Rating, number: str, item_name: str, rect: Rectification | None) -> RatingOut:
    return RatingOut(
        id=r.id,
        application_number=number,
        item_name=item_name,
        level=r.level,
        level_name=LEVELS[r.level],
        aspects=list(r.aspects or []),
        comment=r.comment,
        created_at=r.created_at,
        rectification=_rect_out(rect) if rect else None,
    )


def _rect(session: Session, rect_id: int) -> Rectification:
    r = session.get(Rectification, rect_id)
    if r is None:
        raise NotFound("Rectification not found", code="rectification_not_found")
    return r


def respond(*, session: Session, actor: Principal, rect_id: int, response: str) -> RectificationOut:
    """The department's rectification (整改) of a 差评."""
    r = _rect(session, rect_id)
    authorize(actor, "services.supervise", department_id=r.department_id)
    if r.state != "open":
        raise Conflict("This rectification is not open", code="bad_state")
    if not response.strip():
        raise Invalid("Say what was done", field="response", code="response_required")
    r.state, r.response, r.updated_at = "rectified", response, clock.now()
    audit.record(
        session,
        actor=actor.actor,
        action="services.rectify",
        subject_type="svc_rectification",
        subject_id=r.id,
        payload={"response": response},
    )
    return _rect_out(r)


def call_back(
    *, session: Session, actor: Principal, rect_id: int, note: str, satisfied: bool
) -> RectificationOut:
    """回访: the department calls the applicant back; a satisfied applicant closes it."""
    r = _rect(session, rect_id)
    authorize(actor, "services.supervise", department_id=r.department_id)
    if r.state != "rectified":
        raise Conflict("Call back after the rectification", code="bad_state")
    r.callback, r.updated_at = note, clock.now()
    if satisfied:
        r.state = "closed"
    audit.record(
        session,
        actor=actor.actor,
        action="services.callback",
        subject_type="svc_rectification",
        subject_id=r.id,
        payload={"note": note, "satisfied": satisfied},
    )
    return _rect_out(r)


def appeal(*, session: Session, actor: Principal, rect_id: int, reason: str) -> RectificationOut:
    """申诉: the applicant, unhappy with the rectification, appeals; it opens again."""
    r = _rect(session, rect_id)
    rating = session.get(Rating, r.rating_id)
    a = session.get(Application, rating.application_id) if rating else None
    if a is None or a.applicant_user_id != actor.id:
        raise Forbidden("Only the applicant may appeal", code="not_applicant")
    if r.state not in ("rectified", "closed"):
        raise Conflict("Appeal after the rectification", code="bad_state")
    if not reason.strip():
        raise Invalid("State the reason", field="reason", code="reason_required")
    r.state, r.appeal, r.updated_at = "appealed", reason, clock.now()
    audit.record(
        session,
        actor=actor.actor,
        action="services.appeal",
        subject_type="svc_rectification",
        subject_id=r.id,
        payload={"reason": reason},
    )
    return _rect_out(r)


def rule_appeal(
    *, session: Session, actor: Principal, rect_id: int, uphold: bool, ruling: str
) -> RectificationOut:
    """The data bureau rules on an appeal: upheld, the department rectifies again within the item's
    working days from now; dismissed, the rectification is closed. The ruling is kept and audited."""
    authorize(actor, "services.manage")
    r = _rect(session, rect_id)
    if r.state != "appealed":
        raise Conflict("Only an appealed rectification can be ruled on", code="bad_state")
    if not ruling.strip():
        raise Invalid("State the ruling", field="ruling", code="reason_required")
    now = clock.now()
    if uphold:
        rating = session.get(Rating, r.rating_id)
        item = session.get(ServiceItem, rating.item_id) if rating else None
        r.state, r.due_at = "open", rectification_due(session, now, item.rectify_days if item else 5)
    else:
        r.state = "closed"
    r.ruling, r.updated_at = ruling.strip(), now
    audit.record(
        session,
        actor=actor.actor,
        action="services.appeal.ruling",
        subject_type="svc_rectification",
        subject_id=r.id,
        payload={"uphold": uphold, "ruling": ruling.strip(), "due_at": r.due_at.isoformat()},
    )
    return _rect_out(r)


PENDING = ("open", "rectified", "appealed")  # open: to rectify; rectified: to call back; appealed: to rule


def rectifications(*, session: Session, actor: Principal, open_only: bool = True) -> list[dict[str, Any]]:
    authorize(actor, "services.supervise")
    stmt = (
        select(Rectification, Rating, Application.number, ServiceItem.name)
        .join(Rating, Rating.id == Rectification.rating_id)
        .join(Application, Application.id == Rating.application_id)
        .join(ServiceItem, ServiceItem.id == Rating.item_id)
        .order_by(Rectification.due_at)
        .limit(200)
    )
    if open_only:
        stmt = stmt.where(Rectification.state.in_(PENDING))
    if not has(actor, "services.manage"):
        stmt = stmt.where(Rectification.department_id == (actor.department_id or -1))
    now = clock.now()
    return [
        {
            "rect": _rect_out(r),
            "level": LEVELS[rt.level],
            "comment": rt.comment,
            "aspects": rt.aspects,
            "number": n,
            "item": name,
            "overdue": r.due_at < now and r.state == "open",
        }
        for r, rt, n, name in session.execute(stmt)
    ]


def my_ratings(*, session: Session, actor: Principal) -> list[RatingOut]:
    stmt = (
        select(Rating, Application.number, ServiceItem.name, Rectification)
        .join(Application, Application.id == Rating.application_id)
        .join(ServiceItem, ServiceItem.id == Rating.item_id)
        .outerjoin(Rectification, Rectification.rating_id == Rating.id)
        .where(Application.applicant_user_id == (actor.id or -1))
        .order_by(Rating.id.desc())
    )
    return [_rating_out(r, n, name, rect) for r, n, name, rect in session.execute(stmt)]


def statistics(*, session: Session) -> dict[str, Any]:
    """Per department and per item: ratings by level, the satisfaction rate ((非常满意+满意+基本满意)
    / all) and open rectifications — aggregates only, fit for the public summary."""
    names = {d.id: d.name for d in identity.departments(session=session)}
    by_dept: dict[int, dict[str, Any]] = {}
    for dept, level, n in session.execute(
        select(Rating.department_id, Rating.level, func.count()).group_by(Rating.department_id, Rating.level)
    ):
        d = by_dept.setdefault(
            dept, {"department": names.get(dept, str(dept)), "levels": dict.fromkeys(LEVELS, 0)}
        )
        d["levels"][level] = int(n)
    by_item: dict[str, dict[str, Any]] = {}
    for code, name, level, n in session.execute(
        select(ServiceItem.code, ServiceItem.name, Rating.level, func.count())
        .join(ServiceItem, ServiceItem.id == Rating.item_id)
        .group_by(ServiceItem.code, ServiceItem.name, Rating.level)
    ):
        d = by_item.setdefault(code, {"code": code, "item": name, "levels": dict.fromkeys(LEVELS, 0)})
        d["levels"][level] = int(n)
    for d in [*by_dept.values(), *by_item.values()]:
        total = sum(d["levels"].values())
        d["total"] = total
        d["satisfaction"] = round(100 * sum(d["levels"][k] for k in (3, 4, 5)) / total, 1) if total else 0.0
    open_rect = int(
        session.scalar(
            select(func.count()).select_from(Rectification).where(Rectification.state.in_(PENDING))
        )
        or 0
    )
    total = sum(d["total"] for d in by_dept.values())
    good = sum(sum(d["levels"][k] for k in (3, 4, 5)) for d in by_dept.values())
    return {
        "departments": sorted(by_dept.values(), key=lambda d: d["department"]),
        "items": sorted(by_item.values(), key=lambda d: d["code"]),
        "total": total,
        "satisfaction": round(100 * good / total, 1) if total else 0.0,
        "open_rectifications": open_rect,
    }
