"""Tasks sent to grid workers about a case (网格化管理): a dispatcher or an inspector asks the grid
worker covering a case to go and look — `verify_report` (核实: is the citizen's report true) while
the case waits to be filed, `recheck` (核查: was the handling done) once it was reported back.

The task lives with the case it is about: it is read under the case's visibility (`policy.visible`
on the case, see `_visible`), sent only to someone who can see that case, and each step is a line on
the case's timeline, an audit record and an event (the notify module turns `cases.TaskSent` into a
message to the worker and `cases.TaskAnswered` into one to the sender). The worker's answer flows
into the loop: a recheck that passed verifies (closes) the case, one that failed orders rework; a
verification's result is on the timeline for the dispatcher who files or rejects the report.
Functions are keyword-only and never commit.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.orm import Session

from cityos.cases.loop import transition
from cityos.cases.models import Case, CaseAttachment, CaseTask
from cityos.cases.policy import visible
from cityos.cases.queries import _category, _category_names, visible_case
from cityos.cases.record import _timeline
from cityos.cases.schemas import ID_MAX, TASK_RESULTS, TaskAnswerIn, TaskFigures, TaskIn, TaskOut
from cityos.core import audit, calendar, clock, events
from cityos.core.errors import Conflict, Forbidden, Invalid, NotFound
from cityos.identity import service as identity
from cityos.identity.permissions import authorize, has
from cityos.identity.schemas import Principal, within

# the case states a task of each kind may be sent in
TASK_STATES = {"verify_report": ("reported", "filed"), "recheck": ("handled",)}
# results that send the case back and so need the worker's note
NOTE_REQUIRED = frozenset({"not_found", "failed"})


def _visible(actor: Principal) -> ColumnElement[bool]:
    """The tasks `actor` may see: those about a case policy.visible lets them see (the one rule)."""
    return CaseTask.case_id.in_(select(Case.id).where(visible(actor)))


def _out(session: Session, rows: list[tuple[CaseTask, Case]], now: datetime) -> list[TaskOut]:
    names = {u.id: u.display_name for u in _users(session, {t.assignee_id for t, _ in rows})}
    cats = _category_names(session, {c.category_code for _, c in rows})
    return [
        TaskOut(
            id=t.id,
            case_id=c.id,
            case_number=c.number,
            case_state=c.state,
            category_name=cats.get(c.category_code, c.category_code),
            address=c.address,
            lon=c.lon,
            lat=c.lat,
            kind=t.kind,
            assignee_id=t.assignee_id,
            assignee_name=names.get(t.assignee_id, ""),
            sent_by=t.sent_by,
            instruction=t.instruction,
            sent_at=t.sent_at,
            due_at=t.due_at,
            state=t.state,
            result=t.result,
            answer=t.answer,
            attachment_id=t.attachment_id,
            answered_at=t.answered_at,
            on_time=t.on_time,
            overdue=t.state == "open" and t.due_at < now,
        )
        for t, c in rows
    ]


def _users(session: Session, ids: set[int]) -> list[Principal]:
    out = []
    for uid in sorted(ids):
        try:
            out.append(
                identity.principal_for(
                    session=session, username=identity.get_user(session=session, id=uid).username
                )
            )
        except NotFound:
            continue
    return out


def task_assignees(*, session: Session, actor: Principal, case_id: int) -> list[Principal]:
    """Who a task about this case may go to: the people who answer tasks (cases.answer_task) and
    can see the case (their region holds the case's region), by name."""
    authorize(actor, "cases.send_task")
    case = visible_case(session, actor, case_id)
    near = identity.users(session=session, region_prefix=case.region_code[:9], limit=2000)
    ids = {u.id for u in near if u.active and u.region_code and within(case.region_code, u.region_code)}
    people = [p for p in _users(session, ids) if has(p, "cases.answer_task")]
    return sorted(people, key=lambda p: (p.display_name, p.id))


def send_task(*, session: Session, actor: Principal, case_id: int, task: TaskIn) -> TaskOut:
    """Send `task.assignee_id` a task about the case; due within the category's verification limit
    (working hours). Refused when the case is not in a state the kind needs (409 bad_state), when
    the assignee cannot see the case or answers no tasks (422 bad_assignee), or when the same worker
    already has the same kind of task open on it (409 task_open)."""
    authorize(actor, "cases.send_task")
    case = visible_case(session, actor, case_id)
    if case.state not in TASK_STATES[task.kind]:
        raise Conflict(
            "This task cannot be sent in the case's current state",
            code="bad_state",
            params={"state": case.state},
        )
    assignee = next(
        (
            p
            for p in task_assignees(session=session, actor=actor, case_id=case_id)
            if p.id == task.assignee_id
        ),
        None,
    )
    if assignee is None:
        raise Invalid("Choose a grid worker who covers the case", field="assignee_id", code="bad_assignee")
    dup = session.scalar(
        select(CaseTask.id).where(
            CaseTask.case_id == case.id,
            CaseTask.kind == task.kind,
            CaseTask.assignee_id == assignee.id,
            CaseTask.state == "open",
        )
    )
    if dup is not None:
        raise Conflict("This worker already has this task open on the case", code="task_open")
    now = clock.now()
    cat = _category(session, case.category_code)
    row = CaseTask(
        case_id=case.id,
        kind=task.kind,
        assignee_id=assignee.id,
        sent_by=actor.actor,
        sent_by_user_id=actor.id if actor.kind == "user" else None,
        instruction=task.instruction.strip(),
        sent_at=now,
        due_at=calendar.get_calendar(session).add_working_hours(now, cat.verify_hours),
        state="open",
        answer="",
    )
    session.add(row)
    session.flush()
    data = {"task_id": row.id, "kind": task.kind, "assignee": f"user:{assignee.username}"}
    _timeline(session, case, actor, "task_sent", case.state, case.state, row.instruction, data)
    events.publish(
        session,
        "cases.TaskSent",
        {"task_id": row.id, "case_id": case.id, "number": case.number, "assignee_id": assignee.id},
    )
    audit.record(
        session,
        actor=actor.actor,
        action="case.task_sent",
        subject_type="case",
        subject_id=case.number,
        payload={**data, "due_at": row.due_at.isoformat()},
    )
    return _out(session, [(row, case)], now)[0]


def _own_open_task(session: Session, actor: Principal, task_id: int) -> tuple[CaseTask, Case]:
    if not 0 < task_id <= ID_MAX:
        raise NotFound("Task not found", params={"id": task_id})
    found = session.execute(
        select(CaseTask, Case)
        .join(Case, Case.id == CaseTask.case_id)
        .where(CaseTask.id == task_id, _visible(actor))
    ).first()
    if found is None:
        raise NotFound("Task not found", params={"id": task_id})
    t, case = found[0], found[1]
    if t.assignee_id != actor.id:
        raise Forbidden("Only the worker the task was sent to answers it", code="not_assignee")
    if t.state != "open":
        raise Conflict("This task was already answered", code="task_answered")
    return t, case


def answer_task(*, session: Session, actor: Principal, task_id: int, answer: TaskAnswerIn) -> TaskOut:
    """The worker's answer, and what it does to the case: a recheck that `passed` verifies the case
    (closed), one that `failed` orders rework with the note as the reason — both as the worker's own
    steps of the loop, so the loop's rules (state, scope, version) hold; if the case has meanwhile
    left `handled`, the answer is recorded without a step. A verification's result only goes on the
    timeline (the dispatcher files or rejects). `attachment_id`: a photo already on the case."""
    authorize(actor, "cases.answer_task")
    t, case = _own_open_task(session, actor, task_id)
    if answer.result not in TASK_RESULTS[t.kind]:
        raise Invalid("This result does not fit the task", field="result", code="bad_result")
    note = answer.note.strip()
    if answer.result in NOTE_REQUIRED and not note:
        raise Invalid("Say what you found", field="note", code="reason_required")
    if answer.attachment_id is not None and (
        session.scalar(
            select(CaseAttachment.id).where(
                CaseAttachment.id == answer.attachment_id, CaseAttachment.case_id == case.id
            )
        )
        is None
    ):
        raise Invalid("The photo is not one of this case's", field="attachment_id", code="bad_attachment")
    now = clock.now()
    t.state, t.result, t.answer = "answered", answer.result, note
    t.attachment_id, t.answered_at, t.on_time = answer.attachment_id, now, now <= t.due_at
    data = {"task_id": t.id, "kind": t.kind, "result": answer.result, "on_time": t.on_time}
    _timeline(session, case, actor, "task_answered", case.state, case.state, note, data)
    session.flush()
    if t.kind == "recheck" and case.state == "handled":
        action = "verify" if answer.result == "passed" else "rework"
        transition(session=session, actor=actor, case_id=case.id, action=action, reason=note)
    events.publish(
        session,
        "cases.TaskAnswered",
        {
            "task_id": t.id,
            "case_id": case.id,
            "number": case.number,
            "sent_by_user_id": t.sent_by_user_id,
            "result": answer.result,
        },
    )
    audit.record(
        session,
        actor=actor.actor,
        action="case.task_answered",
        subject_type="case",
        subject_id=case.number,
        payload={**data, "attachment_id": answer.attachment_id},
    )
    return _out(session, [(t, case)], now)[0]


def tasks(
    *,
    session: Session,
    actor: Principal,
    mine: bool = False,
    case_id: int | None = None,
    state: str | None = None,
    limit: int = 200,
) -> list[TaskOut]:
    """Tasks the actor may see (about cases they can see), open first by due time, then the most
    recently answered. `mine`: only those sent to the actor."""
    authorize(actor, "cases.read")
    q = select(CaseTask, Case).join(Case, Case.id == CaseTask.case_id).where(_visible(actor))
    if mine:
        q = q.where(CaseTask.assignee_id == (actor.id or -1))
    if case_id is not None:
        q = q.where(CaseTask.case_id == case_id)
    if state is not None:
        q = q.where(CaseTask.state == state)
    q = q.order_by(CaseTask.state != "open", CaseTask.due_at, CaseTask.answered_at.desc(), CaseTask.id)
    rows = [(r[0], r[1]) for r in session.execute(q.limit(max(1, min(limit, 1000))))]
    return _out(session, rows, clock.now())


def task_counts(*, session: Session, actor: Principal) -> dict[str, int]:
    """The actor's open tasks (all, and past their due time), for the home page's 待办."""
    if not has(actor, "cases.answer_task") or not actor.id:
        return {}
    now = clock.now()
    mine = and_(CaseTask.assignee_id == actor.id, CaseTask.state == "open", _visible(actor))
    row = session.execute(
        select(func.count(CaseTask.id), func.count(CaseTask.id).filter(CaseTask.due_at < now)).where(mine)
    ).one()
    return {"open_tasks": int(row[0] or 0), "overdue_tasks": int(row[1] or 0)}


def task_figures(
    *,
    session: Session,
    actor: Principal,
    start: datetime,
    end: datetime,
    user_ids: list[int] | None = None,
) -> dict[int, TaskFigures]:
    """Per assignee, the tasks sent in [start, end) about cases the actor may see: how many, how
    many answered before `end`, of those answered by their due time, and not answered past their
    due time (as at `end`, or now if earlier). Assignees named in `user_ids` are reported even
    with none."""
    authorize(actor, "cases.view")
    cutoff = min(end, clock.now())
    out = {uid: TaskFigures(user_id=uid) for uid in user_ids or []}
    q = select(CaseTask).where(_visible(actor), CaseTask.sent_at >= start, CaseTask.sent_at < end)
    for t in session.scalars(q):
        f = out.setdefault(t.assignee_id, TaskFigures(user_id=t.assignee_id))
        f.sent += 1
        if t.answered_at is not None and t.answered_at < end:
            f.answered += 1
            f.answered_on_time += bool(t.on_time)
        elif t.due_at < cutoff:
            f.open_overdue += 1
    return out


def report_times(
    *, session: Session, actor: Principal, user_ids: list[int], start: datetime, end: datetime
) -> dict[int, list[datetime]]:
    """When each of `user_ids` reported a case in [start, end), among the cases the actor may see
    (policy.visible): patrol matches them to the patrols open at the time (reports filed on patrol)."""
    out: dict[int, list[datetime]] = {uid: [] for uid in user_ids}
    for i in range(0, len(user_ids), 900):
        q = select(Case.reporter_user_id, Case.reported_at).where(
            visible(actor),
            Case.reporter_user_id.in_(user_ids[i : i + 900]),
            Case.reported_at >= start,
            Case.reported_at < end,
        )
        for uid, at in session.execute(q):
            if uid is not None:
                out[uid].append(at)
    return out
