"""The work the registries create: 核查任务 for a check's owner, discrepancy items for the holder of
a wrong copy, and the figures on both.

Task outcome: confirmed (the hit is real), not_confirmed (the situation is lawful), data_error (a
source is wrong: a discrepancy goes to that resource's provider, with the task as evidence).
Discrepancy answers: corrected (closed by the next build that finds the copy agreeing), disputed
(with a reason; the data bureau decides: upheld → open again, or accepted), accepted (a known
difference, never reopened).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select, true
from sqlalchemy.orm import Session

from cityos.catalog import service as catalog
from cityos.core import audit, calendar, clock, events
from cityos.core.errors import Forbidden, Invalid, NotFound
from cityos.identity.permissions import authorize, department_in_scope, has
from cityos.identity.schemas import Principal
from cityos.registries.build import DISCREPANCY_DAYS
from cityos.registries.models import Discrepancy, Task

OUTCOMES = ("confirmed", "not_confirmed", "data_error")
ANSWERS = ("corrected", "disputed", "accepted")


# ------------------------------------------------------------------------------ the one rule
def visible_tasks(actor: Principal) -> ColumnElement[bool]:
    """Tasks an actor sees: its own department's; every department's with registries.admin."""
    if has(actor, "registries.admin"):
        return true()
    return Task.owner_department_id == (actor.department_id or -1)


def visible_discrepancies(actor: Principal) -> ColumnElement[bool]:
    """Discrepancies an actor sees: those sent to its own department; all with registries.admin;
    and, for anyone, the objections (数据异议) they raised themselves."""
    if has(actor, "registries.admin"):
        return true()
    own = and_(Discrepancy.origin == "objection", Discrepancy.raised_by == actor.actor)
    if actor.department_id is None:
        return own
    return or_(Discrepancy.holder_department_id == actor.department_id, own)


# ------------------------------------------------------------------------------------- tasks
def tasks(
    *, session: Session, actor: Principal, state: str | None = None, check: str | None = None
) -> list[Task]:
    authorize(actor, "registries.tasks")
    stmt = select(Task).where(visible_tasks(actor)).order_by(Task.due_at, Task.id)
    if state:
        stmt = stmt.where(Task.state == state)
    if check:
        stmt = stmt.where(Task.check_code == check)
    return list(session.scalars(stmt.limit(1000)))


def get_task(session: Session, actor: Principal, task_id: int) -> Task:
    authorize(actor, "registries.tasks")
    t = session.scalar(select(Task).where(Task.id == task_id, visible_tasks(actor)))
    if t is None:
        raise NotFound("No such task", code="task_not_found")
    return t


def assign(*, session: Session, actor: Principal, task_id: int, assignee: str) -> Task:
    t = get_task(session, actor, task_id)
    authorize(actor, "registries.tasks", department_id=t.owner_department_id)
    t.assignee = assignee.strip() or None
    audit.record(
        session,
        actor=actor.actor,
        action="crosscheck.task.assigned",
        subject_type="crosscheck_task",
        subject_id=t.id,
        payload={"assignee": t.assignee},
    )
    return t


def decide(
    *,
    session: Session,
    actor: Principal,
    task_id: int,
    outcome: str,
    note: str = "",
    wrong_binding_code: str | None = None,
    wrong_field: str | None = None,
) -> Task:
    """Record a task's outcome. data_error names the wrong resource (catalog code) and field: a
    discrepancy goes to its provider."""
    t = get_task(session, actor, task_id)
    authorize(actor, "registries.tasks", department_id=t.owner_department_id)
    if t.state != "open":
        raise Invalid(
            "This task was already decided ({state})", code="already_decided", params={"state": t.state}
        )
    if outcome not in OUTCOMES:
        raise Invalid("Outcome: confirmed, not_confirmed or data_error", field="outcome", code="bad_outcome")
    if outcome != "confirmed" and not note.strip():
        raise Invalid("Say what was found", field="note", code="note_required")
    now = clock.now()
    if outcome == "data_error":
        if not wrong_binding_code or not wrong_field:
            raise Invalid(
                "Name the resource and field that are wrong", field="resource", code="wrong_source_required"
            )
        r = catalog.get_resource(session=session, code=wrong_binding_code)
        if wrong_field not in [f.name for f in catalog.schema_of(session=session, code=r.code).fields]:
            raise Invalid(
                "Unknown field {field}", field="field", code="unknown_field", params={"field": wrong_field}
            )
        d = open_discrepancy(
            session=session,
            actor=actor,
            origin="check",
            subject_key=t.subject_key,
            field=wrong_field,
            holder_code=r.code,
            holder_department_id=r.provider_department_id,
            evidence={"task": t.id, "check": t.check_code, "note": note, **t.evidence},
        )
        t.discrepancy_id = d.id
    t.state, t.note, t.decided_by, t.decided_at = outcome, note, actor.actor, now
    audit.record(
        session,
        actor=actor.actor,
        action=f"crosscheck.task.{outcome}",
        subject_type="crosscheck_task",
        subject_id=t.id,
        payload={"check": t.check_code, "note": note, "discrepancy": t.discrepancy_id},
    )
    events.publish(session, "registries.TaskDecided", {"id": t.id, "outcome": outcome})
    return t


# ----------------------------------------------------------------------------- discrepancies
def open_discrepancy(
    *,
    session: Session,
    actor: Principal,
    origin: str,
    subject_key: str,
    field: str,
    holder_code: str,
    holder_department_id: int,
    evidence: dict[str, Any],
    holder_value: str | None = None,
) -> Discrepancy:
    d = Discrepancy(
        origin=origin,
        registry_code=None,
        subject_key=subject_key,
        field=field,
        holder_code=holder_code,
        holder_field=field,
        holder_department_id=holder_department_id,
        holder_value=holder_value,
        evidence=evidence,
        state="open",
        opened_at=clock.now(),
        due_at=calendar.get_calendar(session).add_working_days(clock.now(), DISCREPANCY_DAYS),
        raised_by=actor.actor,
        answer="",
    )
    session.add(d)
    session.flush()
    audit.record(
        session,
        actor=actor.actor,
        action="registries.discrepancy.opened",
        subject_type="registry_discrepancy",
        subject_id=d.id,
        payload={"origin": origin, "field": field, "holder": holder_code},
    )
    events.publish(session, "registries.DiscrepancyOpened", {"id": d.id})
    return d


def discrepancies(
    *, session: Session, actor: Principal, state: str | None = None, department_id: int | None = None
) -> list[Discrepancy]:
    authorize(actor, "registries.view")
    stmt = (
        select(Discrepancy).where(visible_discrepancies(actor)).order_by(Discrepancy.due_at, Discrepancy.id)
    )
    if state:
        stmt = stmt.where(Discrepancy.state == state)
    if department_id:
        stmt = stmt.where(Discrepancy.holder_department_id == department_id)
    return list(session.scalars(stmt.limit(1000)))


def get_discrepancy(session: Session, actor: Principal, discrepancy_id: int) -> Discrepancy:
    authorize(actor, "registries.view")
    d = session.scalar(
        select(Discrepancy).where(Discrepancy.id == discrepancy_id, visible_discrepancies(actor))
    )
    if d is None:
        raise NotFound("No such discrepancy", code="discrepancy_not_found")
    return d


def answer(
    *, session: Session, actor: Principal, discrepancy_id: int, answer: str, reason: str = ""
) -> Discrepancy:
    """The holder's answer: corrected, disputed (with the reason) or accepted as a known difference."""
    d = get_discrepancy(session, actor, discrepancy_id)
    authorize(actor, "registries.answer")
    if not department_in_scope(actor, d.holder_department_id):
        raise Forbidden("This belongs to another department", code="out_of_department")
    if d.state != "open":
        raise Invalid(
            "Only an open discrepancy can be answered ({state})", code="not_open", params={"state": d.state}
        )
    if answer not in ANSWERS:
        raise Invalid("Answer: corrected, disputed or accepted", field="answer", code="bad_answer")
    if answer in ("disputed", "accepted") and not reason.strip():
        raise Invalid("Give the reason", field="reason", code="reason_required")
    d.state, d.answer, d.answered_by, d.answered_at = answer, reason, actor.actor, clock.now()
    if answer == "corrected" and d.origin != "build":
        d.state, d.closed_at = "closed", clock.now()  # nothing re-reads it: the holder's word closes it
    audit.record(
        session,
        actor=actor.actor,
        action=f"registries.discrepancy.{answer}",
        subject_type="registry_discrepancy",
        subject_id=d.id,
        payload={"reason": reason},
    )
    events.publish(session, "registries.DiscrepancyAnswered", {"id": d.id, "answer": answer})
    return d


def arbitrate(
    *, session: Session, actor: Principal, discrepancy_id: int, uphold: bool, reason: str
) -> Discrepancy:
    """The data bureau on a disputed item: uphold the authority (open again, new deadline) or accept
    the difference."""
    authorize(actor, "registries.admin")
    d = get_discrepancy(session, actor, discrepancy_id)
    if d.state != "disputed":
        raise Invalid("Only a disputed discrepancy is arbitrated", code="not_disputed")
    if not reason.strip():
        raise Invalid("Give the reason", field="reason", code="reason_required")
    if uphold:
        d.state = "open"
        d.due_at = calendar.get_calendar(session).add_working_days(clock.now(), DISCREPANCY_DAYS)
    else:
        d.state = "accepted"
    d.answer = f"{d.answer}\n{reason}".strip()
    audit.record(
        session,
        actor=actor.actor,
        action="registries.discrepancy.arbitrated",
        subject_type="registry_discrepancy",
        subject_id=d.id,
        payload={"uphold": uphold, "reason": reason},
    )
    return d


def statistics(*, session: Session, actor: Principal) -> list[dict[str, Any]]:
    """Per holder department: discrepancies opened, closed, pending, overdue, and the average
    days from opening to closing; 核查任务 open and decided."""
    authorize(actor, "registries.view")
    now = clock.now()
    out: dict[int, dict[str, Any]] = {}
    for d in session.scalars(select(Discrepancy).where(visible_discrepancies(actor))):
        row = out.setdefault(
            d.holder_department_id,
            {
                "department_id": d.holder_department_id,
                "opened": 0,
                "closed": 0,
                "pending": 0,
                "overdue": 0,
                "days": [],
            },
        )
        row["opened"] += 1
        if d.state == "closed" and d.closed_at is not None:
            row["closed"] += 1
            row["days"].append((d.closed_at - d.opened_at).total_seconds() / 86400)
        elif d.state in ("open", "corrected", "disputed"):
            row["pending"] += 1
            row["overdue"] += 1 if d.due_at < now else 0
    counts = dict(
        session.execute(
            select(Task.owner_department_id, func.count())
            .where(visible_tasks(actor), Task.state == "open")
            .group_by(Task.owner_department_id)
        ).all()
    )
    for dept, n in counts.items():
        out.setdefault(
            dept, {"department_id": dept, "opened": 0, "closed": 0, "pending": 0, "overdue": 0, "days": []}
        )["open_tasks"] = n
    for row in out.values():
        days = row.pop("days")
        row["avg_days_to_close"] = round(sum(days) / len(days), 1) if days else None
        row.setdefault("open_tasks", 0)
    return sorted(out.values(), key=lambda r: r["department_id"])
