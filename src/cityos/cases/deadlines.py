"""Time limits on the working calendar: each stage's deadline, the traffic light, and the worker's
reminders (80 % of the stage used) and escalation (grid → street → district → city)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityos.cases import flows
from cityos.cases.models import Case, CaseCategory
from cityos.cases.record import _SYSTEM, _timeline
from cityos.core import audit, calendar, clock, events

YELLOW_AT = 0.8  # share of the stage's time used at which a case turns yellow
LEVELS = ("grid", "street", "district", "city")  # 微循环 → 小循环 → 大循环 → city


def _light(case: Case, now: datetime, cal: calendar.WorkingCalendar) -> str | None:
    if case.state not in flows.OPEN_STATES or case.deadline is None or not case.stage_hours:
        return None
    used = cal.working_hours_between(case.stage_started_at, now) / case.stage_hours
    return "green" if used <= YELLOW_AT else ("yellow" if used <= 1.0 else "red")


def _stage(session: Session, case: Case, state: str, cat: CaseCategory) -> None:
    """Start the stage the case enters: its clock and its deadline on the working calendar.
    dispatched and handling share the handling limit; closed, rejected and suspended have none
    (suspension stops the clock; resuming starts the stage's full limit again)."""
    now = clock.now()
    handle = cat.handle_hours_urgent if case.urgency == "urgent" else cat.handle_hours_normal
    hours: float | None = {
        "reported": cat.file_hours,
        "filed": cat.dispatch_hours,
        "dispatched": handle,
        "handling": handle,
        "handled": cat.verify_hours,
    }.get(state)
    case.stage_started_at = now
    case.stage_hours = hours
    case.deadline = calendar.get_calendar(session).add_working_hours(now, hours) if hours else None


def check_deadlines(*, session: Session, now: datetime | None = None) -> dict[str, int]:
    """Remind when a stage has used 80 % of its time, and escalate an overdue case one level up
    (grid → street → district → city) for each further stage limit it overruns. Both go to the
    timeline; escalations also to the audit trail and as cases.CaseEscalated."""
    now = now or clock.now()
    cal = calendar.get_calendar(session)
    reminded = escalated = 0
    rows = session.scalars(
        select(Case).where(Case.state.in_(flows.OPEN_STATES), Case.deadline.is_not(None))
    ).all()
    for case in rows:
        if not case.stage_hours or case.deadline is None:
            continue
        used = cal.working_hours_between(case.stage_started_at, now)
        if used >= YELLOW_AT * case.stage_hours and (
            case.reminded_at is None or case.reminded_at < case.stage_started_at
        ):
            case.reminded_at = now
            _timeline(
                session,
                case,
                _SYSTEM,
                "remind",
                case.state,
                case.state,
                "",
                {"used": round(used, 2), "limit": case.stage_hours},
            )
            events.publish(session, "cases.CaseReminded", {"case_id": case.id, "state": case.state})
            reminded += 1
        if now > case.deadline:
            over = cal.working_hours_between(case.deadline, now)
            due = min(3, 1 + int(over // max(case.stage_hours, 0.5)))
            if due > case.escalation_level:
                case.escalation_level = due
                _timeline(
                    session,
                    case,
                    _SYSTEM,
                    "escalate",
                    case.state,
                    case.state,
                    "",
                    {"level": LEVELS[due], "overdue_hours": round(over, 2)},
                )
                audit.record(
                    session,
                    actor=_SYSTEM.actor,
                    action="case.escalate",
                    subject_type="case",
                    subject_id=case.number,
                    payload={"level": LEVELS[due]},
                )
                events.publish(session, "cases.CaseEscalated", {"case_id": case.id, "level": LEVELS[due]})
                escalated += 1
    session.flush()
    return {"reminded": reminded, "escalated": escalated}
