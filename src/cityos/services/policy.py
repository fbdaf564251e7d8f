"""The services module's one visibility rule for applications.

`visible(actor)` is the SQL clause of the applications an actor may see, used by every list,
detail, search, export and figure:
- the applicant's own (an online applicant, by account);
- with services.window / services.review / services.supervise: their own department's;
- the front window of the service hall (the department CITYOS_SERVICES_HALL, default zwfw: 前台综合
  受理 for every department): all of them;
- departments acting across departments (the data bureau, administrators): all of them.
Anonymous callers and API tokens without a department see none. Applicants' codes (resident ID,
credit code) are masked in every projection for anyone but the applicant (`mask_code`).
"""

from __future__ import annotations

import os

from sqlalchemy import ColumnElement, false, or_, true

from cityos.identity.permissions import CROSS_DEPARTMENT_ROLES, has
from cityos.identity.schemas import Principal
from cityos.services.models import Application

STAFF = ("services.window", "services.review", "services.supervise")


def hall_department() -> str:
    """The department whose front window accepts for all (and whose data-sharing grants fetch
    materials): the 政务服务 hall."""
    return os.environ.get("CITYOS_SERVICES_HALL", "zwfw")


def is_staff(actor: Principal) -> bool:
    return any(has(actor, p) for p in STAFF)


def visible(actor: Principal) -> ColumnElement[bool]:
    if not actor.is_authenticated:
        return false()
    if actor.kind == "user" and actor.roles & CROSS_DEPARTMENT_ROLES and is_staff(actor):
        return true()
    if has(actor, "services.window") and actor.department_code == hall_department():
        return true()
    # only people who apply (services.apply) have applications of their own; leaving the OR out
    # for staff keeps their lists one indexed range (department_id, id)
    own = Application.applicant_user_id == actor.id if actor.id and has(actor, "services.apply") else None
    if is_staff(actor) and actor.department_id is not None:
        dept: ColumnElement[bool] = Application.department_id == actor.department_id
        return dept if own is None else or_(own, dept)
    return own if own is not None else false()


def reviewable(actor: Principal) -> ColumnElement[bool]:
    """The applications whose decision is the actor's (the back-office inbox and its 待办 count):
    visible ones of the actor's own department, or of any for departments acting across them."""
    if not has(actor, "services.review"):
        return false()
    if actor.kind == "user" and actor.roles & CROSS_DEPARTMENT_ROLES:
        return visible(actor)
    if actor.department_id is None:
        return false()
    return Application.department_id == actor.department_id


def mask_code(code: str) -> str:
    """身份证号 / 统一社会信用代码 masked as everywhere in CityOS: the first 6 and last 4 kept."""
    if len(code) <= 10:
        return "*" * len(code)
    return code[:6] + "*" * (len(code) - 10) + code[-4:]
