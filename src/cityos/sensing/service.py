"""城市感知 use cases: what other modules, routes, jobs, the CLI and tests call.

devices.py  the registry: register/import/list devices, credentials, the broker's files
ingest.py   telemetry in (MQTT, HTTP batches, NGSI-LD): parse, store, rules
storage.py  readings (COPY on PostgreSQL), roll-ups, retention, series
rules.py    threshold / rate / no-data rules and their persisted state; the rule editor
video.py    cameras, their grants, snapshots through the OpenCV detectors, video events → cases
alarms.py   the alarm lifecycle, the case an alarm opens, the case page's chart
Who sees which device or alarm is decided once, in policy.py.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from cityos.core import clock
from cityos.core.errors import Invalid, Unauthorized
from cityos.identity.permissions import authorize
from cityos.identity.schemas import Principal
from cityos.sensing import alarms, devices, ingest, partitions, rules, storage
from cityos.sensing.alarms import (
    acknowledge,
    alarm_for_case,
    assign,
    clear,
    get_alarm,
    list_alarms,
    map_points,
    open_case_for_alarm,
    timeline,
)
from cityos.sensing.devices import (
    credentials,
    credentials_fingerprint,
    delete_device,
    device_count,
    get_device,
    import_devices,
    list_devices,
    register_device,
    topic_of,
    write_broker_files,
)
from cityos.sensing.devices import (
    service_password as mqtt_service_password,
)
from cityos.sensing.policy import sees_everything
from cityos.sensing.rules import check_nodata, get_rule, list_rules, save_rule
from cityos.sensing.schemas import IngestResult, SeriesOut
from cityos.sensing.video import (
    get_camera,
    grant_camera,
    list_cameras,
    list_video_events,
    list_video_rules,
    revoke_camera,
    save_video_rule,
    snapshot,
    upload_snapshot,
)


def acknowledge_for_case(*, session: Session, case_id: int) -> int:
    return alarms.acknowledge_for_case(session, case_id)


def ingest_http(*, session: Session, actor: Principal, items: list[dict[str, Any]]) -> IngestResult:
    """An HTTP batch from a system holding `sensing.ingest`: each item names its device_id."""
    authorize(actor, "sensing.ingest")
    msgs = [(str(it.get("device_id", "")) if isinstance(it, dict) else "", it) for it in items]
    batch = ingest.ingest(session, msgs)
    return IngestResult(accepted=len(batch.rows), rejected=batch.rejected)


def ingest_device(*, session: Session, token: str, device_id: str, payload: Any) -> IngestResult:
    """A device posting its own telemetry with its token (X-Device-Token)."""
    dev = devices.device_for_token(session, token)
    if dev is None or dev.id != device_id:
        raise Unauthorized("Invalid device token", code="invalid_device_token")
    batch = ingest.ingest(session, [(device_id, payload)])
    return IngestResult(accepted=len(batch.rows), rejected=batch.rejected)


def series(
    *,
    session: Session,
    actor: Principal,
    device_id: str,
    attr: str,
    start: datetime,
    end: datetime,
    resolution: str = "auto",
) -> SeriesOut:
    dev = devices.visible_device(session, actor, device_id)
    if end <= start:
        raise Invalid("The end must come after the start", field="end", code="bad_range")
    if resolution not in ("auto", "raw", "hour", "day"):
        raise Invalid("Resolution is raw, hour, day or auto", field="resolution", code="bad_resolution")
    res, points = storage.series(session, dev.id, attr, start, end, resolution)
    return SeriesOut(
        device_id=dev.id, attr=attr, resolution=res, unit=(dev.units or {}).get(attr, ""), points=points
    )


def case_telemetry(*, session: Session, actor: Principal, case_id: int) -> dict[str, Any] | None:
    """The hook the case page calls: the alarm that opened the case and its device's series around
    it (None when the case came from no alarm, or the actor may not see the device)."""
    alarm = alarm_for_case(session=session, actor=actor, case_id=case_id)
    if alarm is None:
        return None
    rule = get_rule(session=session, actor=actor, rule_id=alarm.rule_id)
    start, end = alarms.window_around(alarm)
    s = series(session=session, actor=actor, device_id=alarm.device_id, attr=rule.attr, start=start, end=end)
    return {"alarm": alarm, "rule": rule, "series": s}


def rollup(*, session: Session, since: datetime | None = None) -> int:
    return storage.rollup(session, since=since)


def purge(*, session: Session) -> int:
    return storage.purge(session)


def ensure_partitions(*, session: Session) -> int:
    """PostgreSQL: this month's and the next months' reading partitions exist (the worker, hourly)."""
    return partitions.ensure(session, clock.now())


def placed_devices(*, session: Session, actor: Principal) -> list[dict[str, Any]]:
    """Every placed device the actor sees (policy.visible), where it is (region, grid, lon/lat),
    whether it is online, and its open alarms (count and worst severity): read-only, for the
    cockpit's map layers and its drill-down to the device."""
    from sqlalchemy import select

    from cityos.sensing.alarms import SEVERITY_RANK
    from cityos.sensing.models import Alarm, Device
    from cityos.sensing.policy import visible

    open_alarms: dict[str, list[str]] = {}
    for dev_id, sev in session.execute(
        select(Alarm.device_id, Alarm.severity).where(visible(actor, Alarm), Alarm.closed.is_(False))
    ):
        open_alarms.setdefault(dev_id, []).append(sev)
    return [
        {
            "id": d.id,
            "name": d.name,
            "type": d.type,
            "lon": d.lon,
            "lat": d.lat,
            "region": d.region_code,
            "grid": d.grid_code,
            "online": devices.is_online(d),
            "alarms": len(open_alarms.get(d.id, [])),
            "severity": min(open_alarms.get(d.id, []), key=SEVERITY_RANK.__getitem__, default=None),
        }
        for d in session.scalars(
            select(Device).where(visible(actor), Device.lon.is_not(None)).order_by(Device.id)
        )
    ]


__all__ = [
    "acknowledge",
    "acknowledge_for_case",
    "alarm_for_case",
    "assign",
    "case_telemetry",
    "check_nodata",
    "clear",
    "credentials",
    "credentials_fingerprint",
    "delete_device",
    "device_count",
    "ensure_partitions",
    "get_alarm",
    "get_camera",
    "get_device",
    "get_rule",
    "grant_camera",
    "import_devices",
    "ingest_device",
    "ingest_http",
    "list_alarms",
    "list_cameras",
    "list_devices",
    "list_rules",
    "list_video_events",
    "list_video_rules",
    "map_points",
    "mqtt_service_password",
    "open_case_for_alarm",
    "purge",
    "register_device",
    "revoke_camera",
    "rollup",
    "rules",
    "save_rule",
    "save_video_rule",
    "sees_everything",
    "series",
    "snapshot",
    "timeline",
    "topic_of",
    "upload_snapshot",
    "write_broker_files",
]
