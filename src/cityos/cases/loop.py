"""The closed loop: each transition checked against the table in flows.py and the actor's scope,
its effect applied, the next stage's deadline set, and the timeline, audit record and event
written in the caller's transaction; and the reporter's rating (回访) after closing."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from cityos.cases import flows
from cityos.cases.deadlines import _stage
from cityos.cases.models import Case
from cityos.cases.queries import _category, _out
from cityos.cases.record import _timeline
from cityos.cases.routing import route
from cityos.cases.schemas import (
    CaseOut,
)
from cityos.core import audit, calendar, clock, events
from cityos.core.errors import Conflict, Forbidden, Invalid, NotFound
from cityos.identity import service as identity
from cityos.identity.permissions import authorize, department_in_scope, region_in_scope
from cityos.identity.schemas import Principal


def transition(
    *,
    session: Session,
    actor: Principal,
    case_id: int,
    action: str,
    reason: str = "",
    expected_version: int | None = None,
    department_code: str | None = None,
    hours: float | None = None,
    into_case_id: int | None = None,
) -> CaseOut:
    """Take one step of the loop. `expected_version` is the version the caller saw (pages and APIs
    send it); `department_code` for dispatch (default: the category's department); `hours` for an
    extension."""
    authorize(actor, "cases.act")
    t = flows.TRANSITIONS.get(action)
    if t is None:
        raise Invalid("Unknown action", field="action", code="unknown_action")
    case = session.get(Case, case_id)
    if case is None:
        raise NotFound("Case not found", params={"id": case_id})
    if expected_version is not None and expected_version != case.version:
        raise Conflict("The case was changed by someone else; reload it", code="stale_case")
    if case.state not in t.sources:
        raise Conflict(
            "This step is not possible in the case's current state",
            code="bad_state",
            params={"state": case.state},
        )
    if not (t.roles & actor.roles):
        raise Forbidden("Your role cannot take this step", code="role_not_allowed")
    if t.roles & actor.roles <= {"handler"}:
        if not department_in_scope(actor, case.department_id):
            raise Forbidden("This belongs to another department", code="out_of_department")
    elif not region_in_scope(actor, case.region_code):
        raise Forbidden("This region is outside your scope", code="out_of_region")
    if t.reason_required and not reason.strip():
        raise Invalid("A reason is required for this step", field="reason", code="reason_required")
    cat = _category(session, case.category_code)
    src = case.state
    dst = t.target
    data: dict[str, Any] = {}
    now = clock.now()
    if action == "dispatch":
        dept = identity.get_department(
            session=session,
            code=department_code
            or route(session=session, category_code=case.category_code, region_code=case.region_code),
        )
        case.department_id = dept.id
        data["department"] = dept.code
    elif action == "return":
        case.return_count += 1
        data["department_id"] = case.department_id
        case.department_id = None
    elif action == "report_back":
        case.closed_on_time = case.deadline is None or now <= case.deadline
    elif action == "rework":
        case.rework_count += 1
    elif action == "verify":
        case.closed_at = now
    elif action == "extend":
        if not hours or hours <= 0 or hours > 24 * 30:
            raise Invalid("Extension hours must be between 0 and 720", field="hours", code="bad_hours")
        case.deadline = calendar.get_calendar(session).add_working_hours(case.deadline or now, hours)
        case.stage_hours = (case.stage_hours or 0) + hours
        data["hours"] = hours
    elif action == "suspend":
        case.suspended_from = src
    elif action == "resume":
        dst = case.suspended_from or "filed"
        case.suspended_from = None
    elif action == "reopen":
        case.closed_at = None
        case.closed_on_time = None
    elif action == "merge":
        target = session.get(Case, into_case_id) if into_case_id else None
        if target is None or target.id == case.id or target.state not in flows.OPEN_STATES:
            raise Invalid("Merge into an open, different case", field="into_case_id", code="bad_merge_target")
        case.duplicate_of = target.id
        data["into"] = target.number
        _timeline(
            session,
            target,
            actor,
            "merged_in",
            target.state,
            target.state,
            case.number,
            {"case": case.number, "reporter": case.reporter_name, "channel": case.channel},
        )
    elif action == "unmerge":
        target = session.get(Case, case.duplicate_of) if case.duplicate_of else None
        if target is not None:
            _timeline(
                session,
                target,
                actor,
                "unmerged",
                target.state,
                target.state,
                case.number,
                {"case": case.number},
            )
        data["from"] = target.number if target else None
        case.duplicate_of = None
    assert dst is not None
    case.state = dst
    if action not in ("extend", "accept"):  # accepting keeps the handling clock that started at dispatch
        _stage(session, case, dst, cat)
    _timeline(session, case, actor, action, src, dst, reason.strip(), data)
    try:
        session.flush()
    except StaleDataError:
        raise Conflict("The case was changed by someone else; reload it", code="stale_case") from None
    if dst in ("closed", "rejected", "merged"):
        name = {"closed": "cases.CaseClosed", "rejected": "cases.CaseRejected", "merged": "cases.CaseMerged"}[
            dst
        ]
        events.publish(session, name, {"case_id": case.id, "number": case.number})
    audit.record(  # the last write: the audit chain's lock is held only until the commit
        session,
        actor=actor.actor,
        action=f"case.{action}",
        subject_type="case",
        subject_id=case.number,
        payload={"from": src, "to": dst, "reason": reason.strip(), **data},
    )
    return _out(session, case)


def actions(*, session: Session, actor: Principal, case_id: int) -> list[flows.Transition]:
    """The steps this viewer may take now (the case page shows only these buttons)."""
    case = session.get(Case, case_id)
    if case is None:
        raise NotFound("Case not found", params={"id": case_id})
    return flows.actions_for(case.state, actor.roles)


# ---------------------------------------------------------------- 回访: the reporter's satisfaction
def rate_case(*, session: Session, actor: Principal, case_id: int, score: int, note: str = "") -> CaseOut:
    """After closing, the reporter rates the handling (1–5), or a hotline operator records the answer
    of the callback. Once per case; a rating of 2 or less reopens nothing but is flagged in evaluation."""
    case = session.get(Case, case_id)
    if case is None:
        raise NotFound("Case not found", params={"id": case_id})
    is_reporter = actor.kind == "user" and actor.id is not None and actor.id == case.reporter_user_id
    if not is_reporter:
        authorize(actor, "cases.act")
        if not actor.roles & {"dispatcher", "admin"}:
            raise Forbidden("Only the reporter or the hotline records the rating", code="not_reporter")
    if case.state != "closed":
        raise Conflict("Only a closed case can be rated", code="not_closed")
    if case.satisfaction is not None:
        raise Conflict("This case has been rated already", code="already_rated")
    if not 1 <= score <= 5:
        raise Invalid("The rating is 1 to 5", field="score", code="bad_score")
    case.satisfaction = score
    _timeline(session, case, actor, "rate", case.state, case.state, note.strip()[:500], {"score": score})
    session.flush()
    audit.record(
        session,
        actor=actor.actor,
        action="case.rate",
        subject_type="case",
        subject_id=case.number,
        payload={"score": score},
    )
    return _out(session, case)
