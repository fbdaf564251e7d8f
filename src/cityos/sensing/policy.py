"""The sensing module's one visibility rule.

`visible(actor, table)` is the SQL clause of the devices (or alarms: both carry `region_code` and
the owner `department_id`) an actor may see:
- city-wide roles (admin, data bureau, leaders): everything;
- a person with `sensing.view`: what lies in their region scope, and what their department owns;
- an API token with the `sensing` scope: its department's devices, or all when it names none;
- anybody else: nothing.
Lists, details, series, the map, the alarm console, NGSI-LD queries and the case page's chart all
read through it. Nothing of a device is public (`public_projection`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, false, or_, true

from cityos.identity.permissions import CITYWIDE_ROLES, has
from cityos.identity.schemas import Principal, division_prefix
from cityos.sensing.models import Alarm, Device


def visible(actor: Principal, table: type[Device] | type[Alarm] = Device) -> ColumnElement[bool]:
    if not actor.is_authenticated or not has(actor, "sensing.view"):
        return false()
    if actor.kind == "token":
        return table.department_id == actor.department_id if actor.department_id else true()
    if actor.roles & CITYWIDE_ROLES:
        return true()
    clauses: list[ColumnElement[bool]] = []
    if actor.region_code:
        clauses.append(table.region_code.startswith(division_prefix(actor.region_code), autoescape=True))
    if actor.department_id:
        clauses.append(table.department_id == actor.department_id)
    return or_(*clauses) if clauses else false()


def public_projection(obj: Any) -> None:
    """Devices, readings and alarms are operational data: the public sees none of them."""
    return None
