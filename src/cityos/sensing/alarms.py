"""Alarms: raised, refreshed and cleared by the rules; acknowledged, cleared and assigned by people.

One alarm per device + rule stays open until it is both cleared and acknowledged (`closed`); a
condition that returns meanwhile refreshes it (count, last time, value) instead of opening another.
Every change is an audit entry (subject `sensing_alarm`), which is the alarm's timeline. A new
alarm whose rule maps to a case category publishes `sensing.AlarmRaised`; handlers.py opens the
case through cases.service, and acknowledges the alarm when that case closes.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityos.core import audit, clock, events
from cityos.core.errors import Invalid, NotFound
from cityos.identity import service as identity
from cityos.identity.permissions import authorize
from cityos.identity.schemas import Principal
from cityos.sensing.models import Alarm, Device, Rule
from cityos.sensing.policy import visible
from cityos.sensing.schemas import SEVERITIES, AlarmOut

SYSTEM_ACTOR = "system:sensing"


def _open(session: Session, rule: Rule, dev: Device) -> Alarm | None:
    return session.scalar(
        select(Alarm)
        .where(Alarm.device_id == dev.id, Alarm.rule_id == rule.id, Alarm.closed.is_(False))
        .order_by(Alarm.id.desc())
        .limit(1)
    )


def _message(rule: Rule, value: float | None) -> str:
    """The rule's name and the value (or the silent minutes): names are the operators' words."""
    if rule.kind == "nodata":
        return f"{rule.name}（{rule.minutes} 分钟无数据）"[:300]
    return f"{rule.name}（{value:g}）"[:300] if value is not None else rule.name[:300]


def _record(session: Session, alarm: Alarm, action: str, actor: str = SYSTEM_ACTOR, **payload: Any) -> None:
    audit.record(
        session,
        actor=actor,
        action=f"sensing.alarm.{action}",
        subject_type="sensing_alarm",
        subject_id=alarm.id,
        payload={"device": alarm.device_id, "rule": alarm.rule_id, "status": alarm.status, **payload},
    )


def raise_alarm(session: Session, rule: Rule, dev: Device, *, value: float | None, at: datetime) -> Alarm:
    alarm = _open(session, rule, dev)
    if alarm is not None:
        alarm.status, alarm.cleared_at = "active", None
        alarm.count += 1
        alarm.last_at, alarm.value = max(at, alarm.last_at), value
        alarm.message = _message(rule, value)
        _record(session, alarm, "refresh", value=value, count=alarm.count)
        return alarm
    alarm = Alarm(
        device_id=dev.id,
        rule_id=rule.id,
        region_code=dev.region_code,
        department_id=dev.department_id,
        severity=rule.severity,
        status="active",
        acknowledged=False,
        closed=False,
        message=_message(rule, value),
        value=value,
        count=1,
        first_at=at,
        last_at=at,
    )
    session.add(alarm)
    session.flush()
    _record(session, alarm, "raise", value=value, severity=rule.severity)
    if rule.case_category:
        events.publish(session, "sensing.AlarmRaised", {"alarm_id": alarm.id, "category": rule.case_category})
    return alarm


def refresh_alarm(session: Session, rule: Rule, dev: Device, *, value: float, at: datetime) -> None:
    """The condition still holds: the open alarm's last time and value move (no audit entry per
    reading; the count and times say how long it lasted)."""
    alarm = _open(session, rule, dev)
    if alarm is not None and alarm.status == "active":
        alarm.last_at, alarm.value = max(at, alarm.last_at), value


def clear_alarm(session: Session, rule: Rule, dev: Device, *, at: datetime) -> None:
    alarm = _open(session, rule, dev)
    if alarm is None or alarm.status == "cleared":
        return
    _clear(session, alarm, at, SYSTEM_ACTOR)


def _clear(session: Session, alarm: Alarm, at: datetime, actor: str) -> None:
    alarm.status, alarm.cleared_at = "cleared", at
    alarm.closed = alarm.acknowledged
    _record(session, alarm, "clear", actor)


# ---------------------------------------------------------------- people's actions
def _visible_alarm(session: Session, actor: Principal, alarm_id: int) -> Alarm:
    a = session.scalar(select(Alarm).where(Alarm.id == alarm_id, visible(actor, Alarm)))
    if a is None:
        raise NotFound("No such alarm", code="alarm_not_found")
    return a


def acknowledge(*, session: Session, actor: Principal, alarm_id: int) -> AlarmOut:
    a = _visible_alarm(session, actor, alarm_id)
    authorize(actor, "sensing.alarms", region_code=a.region_code)
    if not a.acknowledged:
        a.acknowledged, a.acknowledged_at = True, clock.now()
        a.closed = a.status == "cleared"
        _record(session, a, "acknowledge", actor.actor)
    return out(session, a)


def clear(*, session: Session, actor: Principal, alarm_id: int) -> AlarmOut:
    a = _visible_alarm(session, actor, alarm_id)
    authorize(actor, "sensing.alarms", region_code=a.region_code)
    if a.status != "cleared":
        _clear(session, a, clock.now(), actor.actor)
    return out(session, a)


def assign(*, session: Session, actor: Principal, alarm_id: int, user_id: int | None) -> AlarmOut:
    a = _visible_alarm(session, actor, alarm_id)
    authorize(actor, "sensing.alarms", region_code=a.region_code)
    if user_id is not None:
        try:
            identity.get_user(session=session, id=user_id)
        except NotFound:
            raise Invalid("No such person", field="assignee", code="unknown_user") from None
    a.assignee_id = user_id
    _record(session, a, "assign", actor.actor, assignee=user_id)
    return out(session, a)


def acknowledge_for_case(session: Session, case_id: int) -> int:
    """The case an alarm opened was closed: acknowledge the alarm (handlers.py)."""
    n = 0
    for a in session.scalars(select(Alarm).where(Alarm.case_id == case_id, Alarm.acknowledged.is_(False))):
        a.acknowledged, a.acknowledged_at = True, clock.now()
        a.closed = a.status == "cleared"
        _record(session, a, "acknowledge", "system:cases", case_id=case_id)
        n += 1
    return n


# ---------------------------------------------------------------- reading
def out(session: Session, a: Alarm) -> AlarmOut:
    dev = session.get(Device, a.device_id)
    rule = session.get(Rule, a.rule_id)
    return AlarmOut(
        id=a.id,
        device_id=a.device_id,
        device_name=dev.name if dev else a.device_id,
        device_type=dev.type if dev else "",
        rule_id=a.rule_id,
        rule_name=rule.name if rule else "",
        severity=a.severity,
        status=a.status,
        acknowledged=a.acknowledged,
        closed=a.closed,
        message=a.message,
        value=a.value,
        count=a.count,
        first_at=a.first_at,
        last_at=a.last_at,
        cleared_at=a.cleared_at,
        acknowledged_at=a.acknowledged_at,
        assignee_id=a.assignee_id,
        case_id=a.case_id,
        case_number=a.case_number,
        lon=dev.lon if dev else None,
        lat=dev.lat if dev else None,
    )


def list_alarms(
    *,
    session: Session,
    actor: Principal,
    open_only: bool = True,
    device_id: str | None = None,
    severity: str | None = None,
    limit: int = 500,
) -> list[AlarmOut]:
    q = select(Alarm).where(visible(actor, Alarm))
    if open_only:
        q = q.where(Alarm.closed.is_(False))
    if device_id:
        q = q.where(Alarm.device_id == device_id)
    if severity in SEVERITIES:
        q = q.where(Alarm.severity == severity)
    rows = session.scalars(q.order_by(Alarm.closed, Alarm.last_at.desc()).limit(limit))
    return [out(session, a) for a in rows]


def get_alarm(*, session: Session, actor: Principal, alarm_id: int) -> AlarmOut:
    return out(session, _visible_alarm(session, actor, alarm_id))


def timeline(*, session: Session, actor: Principal, alarm_id: int) -> list[dict[str, Any]]:
    _visible_alarm(session, actor, alarm_id)
    return [
        {
            "at": r.at,
            "actor": r.actor,
            "action": r.action.removeprefix("sensing.alarm."),
            "payload": r.payload,
        }
        for r in audit.history(session, subject_type="sensing_alarm", subject_id=alarm_id)
    ]


def alarm_for_case(*, session: Session, actor: Principal, case_id: int) -> AlarmOut | None:
    """The alarm that opened a case, if the actor may see it (the case page's chart)."""
    a = session.scalar(select(Alarm).where(Alarm.case_id == case_id, visible(actor, Alarm)).limit(1))
    return out(session, a) if a else None


def window_around(alarm: AlarmOut) -> tuple[datetime, datetime]:
    """The stretch of telemetry the case page shows: 6 h before the alarm to 1 h after its end."""
    end = alarm.cleared_at or alarm.last_at
    return alarm.first_at - timedelta(hours=6), end + timedelta(hours=1)


def open_case_for_alarm(*, session: Session, alarm_id: int) -> int | None:
    """Open the case of a new alarm (category from its rule) through cases.service; idempotent
    (an alarm that already has its case is left alone). Returns the case id."""
    from cityos.cases import service as cases
    from cityos.cases.schemas import ReportIn

    a = session.get(Alarm, alarm_id)
    if a is None or a.case_id is not None:
        return a.case_id if a else None
    rule = session.get(Rule, a.rule_id)
    dev = session.get(Device, a.device_id)
    if rule is None or dev is None or not rule.case_category:
        return None
    report = ReportIn(
        category_code=rule.case_category,
        description=f"传感器告警：{dev.name}（{dev.id}）{a.message}",
        channel="sensor",
        urgency="urgent" if a.severity in ("critical", "major") else "normal",
        lon=dev.lon,
        lat=dev.lat,
        region_code=None if dev.lon is not None else dev.region_code,
        address="" if dev.lon is not None else dev.name,
    )
    case = cases.report_case(session=session, actor=identity.SYSTEM, report=report)
    a.case_id, a.case_number = case.id, case.number
    _record(session, a, "case", case_id=case.id, case_number=case.number)
    return case.id


SEVERITY_RANK = {s: i for i, s in enumerate(SEVERITIES)}


def map_points(*, session: Session, actor: Principal) -> list[dict[str, Any]]:
    """The map's points: every visible placed device, online or not, and its worst open alarm."""
    from cityos.sensing.devices import is_online

    worst: dict[str, str] = {}
    for dev_id, sev in session.execute(
        select(Alarm.device_id, Alarm.severity).where(
            visible(actor, Alarm), Alarm.closed.is_(False), Alarm.status == "active"
        )
    ):
        if dev_id not in worst or SEVERITY_RANK[sev] < SEVERITY_RANK[worst[dev_id]]:
            worst[dev_id] = sev
    out = []
    for d in session.scalars(
        select(Device).where(visible(actor), Device.lon.is_not(None)).order_by(Device.id)
    ):
        out.append(
            {
                "id": d.id,
                "name": d.name,
                "type": d.type,
                "lon": d.lon,
                "lat": d.lat,
                "online": is_online(d),
                "alarm": worst.get(d.id),
            }
        )
    return out
