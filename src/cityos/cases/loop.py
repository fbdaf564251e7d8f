"""The closed loop: each transition checked against the table in flows.py and the actor's scope,
its effect applied, the next stage's deadline set, and the timeline, audit record and event
written in the caller's transaction; and the reporter's rating (回访) after closing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from cityos.cases import flows
from cityos.cases.deadlines import _stage
from cityos.cases.models import Case
from cityos.cases.policy import visible
from cityos.cases.queries import _category, _out, visible_case
from cityos.cases.record import _timeline
from cityos.cases.routing import route
from cityos.cases.schemas import ID_MAX, CaseOut
from cityos.core import audit, calendar, clock, events
from cityos.core.errors import Conflict, Forbidden, Invalid
from cityos.identity import service as identity
from cityos.identity.permissions import authorize, department_in_scope, has, region_in_scope
from cityos.identity.schemas import Principal


@dataclass
class Step:
    """One transition under way: what its effect may read and change. `target` starts as the
    table's target; an effect may decide it (resume)."""

    session: Session
    actor: Principal
    case: Case
    now: datetime
    target: str | None
    department_code: str | None = None
    hours: float | None = None
    into_case_id: int | None = None
    data: dict[str, Any] = field(default_factory=dict)  # goes to the timeline and the audit record


EFFECTS: dict[str, Callable[[Step], None]] = {}


def effect(action: str) -> Callable[[Callable[[Step], None]], Callable[[Step], None]]:
    """Register what `action` (a row of flows.TRANSITIONS) does beyond moving the state."""
    assert action in flows.TRANSITIONS, action

    def register(fn: Callable[[Step], None]) -> Callable[[Step], None]:
        EFFECTS[action] = fn
        return fn

    return register


# The effects, in the order of the rows of flows.TRANSITIONS (action: sources → target, permission).


@effect("file")  # reported → filed, cases.dispatch
def _file(s: Step) -> None:
    """Filing only starts the dispatch stage."""


@effect("reject")  # reported → rejected, cases.dispatch, reason
def _reject(s: Step) -> None:
    """The reason is the public answer to the reporter (policy.PUBLIC_NOTE_ACTIONS)."""


@effect("dispatch")  # filed → dispatched, cases.dispatch
def _dispatch(s: Step) -> None:
    dept = identity.get_department(
        session=s.session,
        code=s.department_code
        or route(session=s.session, category_code=s.case.category_code, region_code=s.case.region_code),
    )
    s.case.department_id = dept.id
    s.data["department"] = dept.code


@effect("accept")  # dispatched → handling, cases.handle
def _accept(s: Step) -> None:
    """Accepting keeps the handling clock that started at dispatch (see KEEPS_CLOCK)."""


@effect("return")  # dispatched/handling → filed, cases.handle, reason
def _return(s: Step) -> None:
    s.case.return_count += 1
    s.data["department_id"] = s.case.department_id
    s.case.department_id = None  # no department's any more: its handlers no longer see it


@effect("report_back")  # handling → handled, cases.handle, reason
def _report_back(s: Step) -> None:
    s.case.closed_on_time = s.case.deadline is None or s.now <= s.case.deadline


@effect("verify")  # handled → closed, cases.verify
def _verify(s: Step) -> None:
    s.case.closed_at = s.now


@effect("rework")  # handled → handling, cases.verify, reason
def _rework(s: Step) -> None:
    s.case.rework_count += 1


@effect("extend")  # handling → handling, cases.dispatch, reason
def _extend(s: Step) -> None:
    if not s.hours or not 0 < s.hours <= 24 * 30:  # also refuses NaN, which compares false to all
        raise Invalid("Extension hours must be between 0 and 720", field="hours", code="bad_hours")
    s.case.deadline = calendar.get_calendar(s.session).add_working_hours(s.case.deadline or s.now, s.hours)
    s.case.stage_hours = (s.case.stage_hours or 0) + s.hours
    s.data["hours"] = s.hours


@effect("suspend")  # filed/dispatched/handling → suspended, cases.dispatch, reason
def _suspend(s: Step) -> None:
    s.case.suspended_from = s.case.state


@effect("resume")  # suspended → where it was, cases.dispatch
def _resume(s: Step) -> None:
    s.target = s.case.suspended_from or "filed"
    s.case.suspended_from = None


@effect("reopen")  # closed/rejected → filed, cases.dispatch, reason
def _reopen(s: Step) -> None:
    s.case.closed_at = None
    s.case.closed_on_time = None


@effect("merge")  # reported/filed → merged, cases.dispatch
def _merge(s: Step) -> None:
    target = (
        s.session.scalar(select(Case).where(Case.id == s.into_case_id, visible(s.actor)))
        if s.into_case_id and 0 < s.into_case_id <= ID_MAX
        else None
    )
    if target is None or target.id == s.case.id or target.state not in flows.OPEN_STATES:
        raise Invalid("Merge into an open, different case", field="into_case_id", code="bad_merge_target")
    s.case.duplicate_of = target.id
    s.data["into"] = target.number
    _timeline(
        s.session,
        target,
        s.actor,
        "merged_in",
        target.state,
        target.state,
        s.case.number,
        {"case": s.case.number, "reporter": s.case.reporter_name, "channel": s.case.channel},
    )


@effect("unmerge")  # merged → reported, cases.dispatch, reason
def _unmerge(s: Step) -> None:
    target = s.session.get(Case, s.case.duplicate_of) if s.case.duplicate_of else None
    if target is not None:
        _timeline(
            s.session,
            target,
            s.actor,
            "unmerged",
            target.state,
            target.state,
            s.case.number,
            {"case": s.case.number},
        )
    s.data["from"] = target.number if target else None
    s.case.duplicate_of = None


KEEPS_CLOCK = ("extend", "accept")  # steps that do not start a new stage clock
CLOSING_EVENTS = {
    "closed": "cases.CaseClosed",
    "rejected": "cases.CaseRejected",
    "merged": "cases.CaseMerged",
}
# Steps that put work on someone's desk: the notifications (cityos.notify) address them.
STEP_EVENTS = {
    "dispatch": "cases.CaseDispatched",
    "rework": "cases.CaseReworked",
    "return": "cases.CaseReturned",
}


def _check_step(actor: Principal, case: Case, t: flows.Transition) -> None:
    """May `actor` take step `t` on a case they can see: the step's permission, then the department
    (a handler's steps) or the region (everyone else's)."""
    if not has(actor, t.permission):
        raise Forbidden("Your role cannot take this step", code="role_not_allowed")
    if t.permission == flows.HANDLE:
        if not department_in_scope(actor, case.department_id):
            raise Forbidden("This belongs to another department", code="out_of_department")
    elif not region_in_scope(actor, case.region_code):
        raise Forbidden("This region is outside your scope", code="out_of_region")


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
    extension.

    Scope comes first: a case the actor cannot see is not found (404), and only then are the step's
    permission, the version (409 stale_case) and the state (409 bad_state) checked."""
    authorize(actor, "cases.act")
    t = flows.TRANSITIONS.get(action)
    if t is None:
        raise Invalid("Unknown action", field="action", code="unknown_action")
    case = visible_case(session, actor, case_id)
    _check_step(actor, case, t)
    if expected_version is not None and expected_version != case.version:
        raise Conflict("The case was changed by someone else; reload it", code="stale_case")
    if case.state not in t.sources:
        raise Conflict(
            "This step is not possible in the case's current state",
            code="bad_state",
            params={"state": case.state},
        )
    if t.reason_required and not reason.strip():
        raise Invalid("A reason is required for this step", field="reason", code="reason_required")
    cat = _category(session, case.category_code)
    src = case.state
    step = Step(session, actor, case, clock.now(), t.target, department_code, hours, into_case_id)
    EFFECTS[action](step)
    dst = step.target
    assert dst is not None
    case.state = dst
    if action not in KEEPS_CLOCK:
        _stage(session, case, dst, cat)
    _timeline(session, case, actor, action, src, dst, reason.strip(), step.data)
    try:
        session.flush()
    except StaleDataError:
        raise Conflict("The case was changed by someone else; reload it", code="stale_case") from None
    if dst in CLOSING_EVENTS:
        events.publish(session, CLOSING_EVENTS[dst], {"case_id": case.id, "number": case.number})
    if action in STEP_EVENTS:
        events.publish(
            session,
            STEP_EVENTS[action],
            {"case_id": case.id, "number": case.number, "department_id": case.department_id, **step.data},
        )
    audit.record(  # the last write: the audit chain's lock is held only until the commit
        session,
        actor=actor.actor,
        action=f"case.{action}",
        subject_type="case",
        subject_id=case.number,
        payload={"from": src, "to": dst, "reason": reason.strip(), **step.data},
    )
    return _out(session, case)


def actions(*, session: Session, actor: Principal, case_id: int) -> list[flows.Transition]:
    """The steps this viewer may take now (the case page shows only these buttons)."""
    case = visible_case(session, actor, case_id)
    return [t for t in flows.actions_for(case.state, actor) if _may(actor, case, t)]


def _may(actor: Principal, case: Case, t: flows.Transition) -> bool:
    try:
        _check_step(actor, case, t)
    except Forbidden:
        return False
    return True


# ---------------------------------------------------------------- 回访: the reporter's satisfaction
def rate_case(
    *, session: Session, actor: Principal, case_id: int, score: int, note: str = "", public: bool = False
) -> CaseOut:
    """After closing, the reporter rates the handling (1–5), or a hotline operator records the answer
    of the callback. Once per case; a rating of 2 or less reopens nothing but is flagged in evaluation.
    The comment is shown to the public only when the reporter allows it (`public`)."""
    case = visible_case(session, actor, case_id)
    is_reporter = actor.kind == "user" and actor.id is not None and actor.id == case.reporter_user_id
    if not is_reporter and not has(actor, "cases.hotline"):
        raise Forbidden("Only the reporter or the hotline records the rating", code="not_reporter")
    if case.state != "closed":
        raise Conflict("Only a closed case can be rated", code="not_closed")
    if case.satisfaction is not None:
        raise Conflict("This case has been rated already", code="already_rated")
    if not 1 <= score <= 5:
        raise Invalid("The rating is 1 to 5", field="score", code="bad_score")
    case.satisfaction = score
    _timeline(
        session,
        case,
        actor,
        "rate",
        case.state,
        case.state,
        note.strip()[:500],
        {"score": score, "public": public},
    )
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
