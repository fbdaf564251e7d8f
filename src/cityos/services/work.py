"""What waits for a person in 一网通办 (the home page's 待办): the window's applications to accept
and results to issue, the back office's decisions, the regulator's supervision tasks and 差评
rectifications. Each count is the row count of the list its link opens, under the same clause
(policy.visible / policy.reviewable / the department rule of the supervision page), and
`next_in_queue` names the oldest row of that list."""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.orm import Session

from cityos.core import clock
from cityos.identity.permissions import has
from cityos.identity.schemas import Principal
from cityos.services.models import Application, Rectification, SupervisionTask
from cityos.services.policy import reviewable, visible

OPEN_RECT = ("open", "appealed")


def _queues(actor: Principal) -> dict[str, ColumnElement[bool]]:
    """The application queues the actor works on, as SQL clauses."""
    out: dict[str, ColumnElement[bool]] = {}
    if has(actor, "services.window"):
        out["to_accept"] = and_(visible(actor), Application.state.in_(("submitted", "sent_back")))
        out["to_issue"] = and_(visible(actor), Application.state == "approved")
    if has(actor, "services.review"):
        out["to_decide"] = and_(reviewable(actor), Application.state == "accepted")
    return out


def _own_department(actor: Principal, column: ColumnElement[int]) -> ColumnElement[bool] | None:
    """The supervision page's rule: a department's own tasks, all of them with services.manage."""
    return None if has(actor, "services.manage") else column == (actor.department_id or -1)


def work_counts(*, session: Session, actor: Principal) -> dict[str, int]:
    out: dict[str, int] = {}
    for key, clause in _queues(actor).items():
        out[key] = int(session.scalar(select(func.count()).select_from(Application).where(clause)) or 0)
    if has(actor, "services.supervise"):
        tasks = select(func.count()).select_from(SupervisionTask).where(SupervisionTask.state == "open")
        dept = _own_department(actor, SupervisionTask.department_id)
        out["supervision"] = int(session.scalar(tasks if dept is None else tasks.where(dept)) or 0)
        rects = select(func.count()).select_from(Rectification).where(Rectification.state.in_(OPEN_RECT))
        dept = _own_department(actor, Rectification.department_id)
        if dept is not None:
            rects = rects.where(dept)
        out["rectify"] = int(session.scalar(rects) or 0)
        out["rectify_overdue"] = int(session.scalar(rects.where(Rectification.due_at < clock.now())) or 0)
    return out


def next_in_queue(*, session: Session, actor: Principal, queue: str) -> str | None:
    """The number of the oldest application in one of the actor's queues (first come, first served)."""
    clause = _queues(actor).get(queue)
    if clause is None:
        return None
    return session.scalar(select(Application.number).where(clause).order_by(Application.id).limit(1))
