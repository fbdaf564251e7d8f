"""The patrol module's one visibility rule.

`visible(actor, table)` is a SQL clause over `Patrol` or `Attendance` (both carry `user_id` and the
worker's home `region_code`). An actor sees the union of:
- their own patrols and attendance (a grid worker);
- with `patrol.supervise`: everything whose region lies in their region scope, decided as
  identity.permissions.region_in_scope decides it (city-wide roles: the whole city).
Track points are read only through a patrol that passed this clause, so another worker's track is
"not found" (404), the same as a patrol that does not exist.
Nothing of a patrol is public: `public_projection` says so explicitly.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, false, or_, true

from cityos.identity.permissions import CITYWIDE_ROLES, has
from cityos.identity.schemas import Principal, division_prefix
from cityos.patrol.models import Attendance, Patrol


def region_scope(actor: Principal) -> str | None:
    """The division-code prefix a supervisor sees ("" = the whole city), or None without the
    permission."""
    if actor.kind != "user" or not has(actor, "patrol.supervise"):
        return None
    if actor.roles & CITYWIDE_ROLES:
        return ""
    return division_prefix(actor.region_code) if actor.region_code else None


def visible(actor: Principal, table: type[Patrol] | type[Attendance] = Patrol) -> ColumnElement[bool]:
    if actor.kind != "user" or not actor.id:
        return false()
    prefix = region_scope(actor)
    if prefix == "":
        return true()
    own: ColumnElement[bool] = table.user_id == actor.id
    if prefix is None:
        return own
    return or_(own, table.region_code.startswith(prefix, autoescape=True))


def public_projection(obj: Any) -> None:
    """A patrol's track and a worker's attendance are personal data of staff: the public sees none."""
    return None
