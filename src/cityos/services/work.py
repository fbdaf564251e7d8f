"""What waits for a person in 一网通办 (the home page's 待办): the window's applications to accept
and results to issue, the back office's decisions, the regulator's supervision tasks and 差评
rectifications (to rectify and to call back), and for the data bureau the appeals to rule on. Each
count is the row count of the list its link opens, under the same clause (policy.visible /
policy.reviewable / the department rule of the supervision page), and
`next_in_queue` names the oldest row of that list."""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, exists, func, or_, select
from sqlalchemy.orm import Session

from cityos.core import clock
from cityos.identity.permissions import CROSS_DEPARTMENT_ROLES, has
from cityos.identity.schemas import Principal
from cityos.services.models import Application, Rectification, ServiceItem, SupervisionTask
from cityos.services.policy import hall_department, reviewable, visible

DEPT_RECT = ("open", "rectified")  # the department's part: rectify, then call back


def _queues(actor: Principal) -> dict[str, ColumnElement[bool]]:
    """The application queues the actor works on, as SQL clauses."""
    out: dict[str, ColumnElement[bool]] = {}
    if has(actor, "services.window"):
        out["to_accept"] = and_(visible(actor), Application.state.in_(("submitted", "sent_back")))
        out["to_issue"] = and_(visible(actor), Application.state == "approved")
    if has(actor, "services.review"):
        out["to_decide"] = and_(reviewable(actor), Application.state == "accepted")
    return out


def takes_part(*, session: Session, actor: Principal) -> bool:
    """Is 一网通办 part of this person's work: the data bureau and other city-wide roles, the hall's
    window, and the departments that own or regulate a service item. Others (a district's city
    management handler, say) hold the handler's services permissions but have no queue here, and
    their home page shows no empty services 待办."""
    if actor.kind == "user" and actor.roles & CROSS_DEPARTMENT_ROLES:
        return True
    if actor.department_id is None:
        return False
    if has(actor, "services.window") and actor.department_code == hall_department():
        return True
    d = actor.department_id
    return bool(
        session.scalar(
            select(
                exists().where(or_(ServiceItem.department_id == d, ServiceItem.regulator_department_id == d))
            )
        )
    )


def work_counts(*, session: Session, actor: Principal) -> dict[str, int]:
    out: dict[str, int] = {}
    if not takes_part(session=session, actor=actor):
        return out
    for key, clause in _queues(actor).items():
        out[key] = int(session.scalar(select(func.count()).select_from(Application).where(clause)) or 0)
    if not has(actor, "services.supervise"):
        return out
    rects = select(func.count()).select_from(Rectification)
    overdue = rects.where(Rectification.state == "open", Rectification.due_at < clock.now())
    if has(actor, "services.manage"):  # the data bureau: the appeals to rule on, overdue city-wide
        out["appeals"] = int(session.scalar(rects.where(Rectification.state == "appealed")) or 0)
        out["rectify_overdue"] = int(session.scalar(overdue) or 0)
        return out
    own = actor.department_id or -1
    tasks = select(func.count()).select_from(SupervisionTask).where(SupervisionTask.state == "open")
    out["supervision"] = int(session.scalar(tasks.where(SupervisionTask.department_id == own)) or 0)
    mine = Rectification.department_id == own
    out["rectify"] = int(session.scalar(rects.where(mine, Rectification.state.in_(DEPT_RECT))) or 0)
    out["rectify_overdue"] = int(session.scalar(overdue.where(mine)) or 0)
    return out


def next_in_queue(*, session: Session, actor: Principal, queue: str) -> str | None:
    """The number of the oldest application in one of the actor's queues (first come, first served)."""
    clause = _queues(actor).get(queue)
    if clause is None:
        return None
    return session.scalar(select(Application.number).where(clause).order_by(Application.id).limit(1))
