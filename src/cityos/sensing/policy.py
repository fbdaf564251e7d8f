"""The sensing module's one visibility rule.

`visible(actor, table)` is the SQL clause of the devices (or alarms: both carry `region_code` and
the owner `department_id`) an actor may see:
- city-wide roles (admin, data bureau, leaders): everything;
- a person with `sensing.view`: what lies in their region scope, and what their department owns;
- an API token with the `sensing` scope: its department's devices, or all when it names none;
- anybody else: nothing.
Lists, details, series, the map, the alarm console, NGSI-LD queries and the case page's chart all
read through it. Nothing of a device is public (`public_projection`).

Cameras (devices of type `Camera`, the shared video network) are shared as data is: a department
sees the cameras it owns and those granted to it (`sensing_camera_grants`); city-wide roles see all;
an API token sees its department's and those granted to it (all when it names no department). The
region scope alone shows no camera. Video events are visible exactly when their camera is.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_, select, true

from cityos.identity.permissions import CITYWIDE_ROLES, has
from cityos.identity.schemas import Principal, division_prefix
from cityos.sensing.models import Alarm, CameraGrant, Device, VideoEvent

CAMERA = "Camera"


def visible(actor: Principal, table: type[Device] | type[Alarm] = Device) -> ColumnElement[bool]:
    if table is Device:
        return or_(
            and_(Device.type != CAMERA, _scoped(actor, Device)),
            and_(Device.type == CAMERA, _cameras(actor)),
        )
    return _scoped(actor, table)


def visible_events(actor: Principal) -> ColumnElement[bool]:
    """The video events of the cameras the actor sees."""
    return VideoEvent.device_id.in_(select(Device.id).where(Device.type == CAMERA, _cameras(actor)))


def sees_everything(actor: Principal) -> bool:
    """Whether `visible` shows this actor every device and camera of the city (city-wide roles, a
    token of no department): what other modules ask before showing device names and positions."""
    return (
        actor.is_authenticated
        and has(actor, "sensing.view")
        and bool(actor.roles & CITYWIDE_ROLES or (actor.kind == "token" and not actor.department_id))
    )


def _cameras(actor: Principal) -> ColumnElement[bool]:
    if not actor.is_authenticated or not has(actor, "sensing.view"):
        return false()
    if sees_everything(actor):
        return true()
    if not actor.department_id:
        return false()
    granted = select(CameraGrant.device_id).where(CameraGrant.department_id == actor.department_id)
    return or_(Device.department_id == actor.department_id, Device.id.in_(granted))


def _scoped(actor: Principal, table: type[Device] | type[Alarm]) -> ColumnElement[bool]:
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
