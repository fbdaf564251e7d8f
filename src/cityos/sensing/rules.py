"""Rules over telemetry, evaluated as readings are stored (and by a timer for "no data").

threshold  value > high, < low, or between low and high; the condition must hold `duration_s`
           (measured on the readings' own times) and for `repeat` readings before the alarm is
           raised. It clears when the clear condition holds (hysteresis: clear_op/clear_low/
           clear_high), or, without one, when the condition no longer holds.
rate       the change per minute between consecutive readings, compared as a threshold is
nodata     no reading from the device for `minutes` (checked by the worker's sensing.nodata job
           against the clock); the next reading clears it
A rule applies to one device (`device_id`) or to every device of a type (`device_type`). What a
rule has seen of a device (since when the condition holds, how many readings, active or not, the
last value for rates) is a row in sensing_rule_state, written in the same transaction as the
readings, so it survives restarts. Readings older than the last one a rule saw are not evaluated
again (a redelivered message changes nothing).
"""

from __future__ import annotations

import bisect
import math
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from cityos.cases import service as cases
from cityos.core import audit, clock
from cityos.core.errors import Invalid, NotFound
from cityos.identity.permissions import authorize
from cityos.identity.schemas import Principal
from cityos.sensing import alarms
from cityos.sensing.models import Device, Rule, RuleState
from cityos.sensing.schemas import DEVICE_TYPES, OPS, RULE_KINDS, SEVERITIES, RuleIn, RuleOut
from cityos.sensing.storage import Row


def holds(op: str | None, v: float, low: float | None, high: float | None) -> bool:
    if op == "gt":
        return high is not None and v > high
    if op == "lt":
        return low is not None and v < low
    if op == "between":
        return low is not None and high is not None and low <= v <= high
    return False


def _rules_for(session: Session, devices: dict[str, Device]) -> list[Rule]:
    types = {d.type for d in devices.values()}
    return list(
        session.scalars(
            select(Rule).where(
                Rule.enabled.is_(True),
                Rule.kind != "nodata",
                or_(
                    Rule.device_id.in_(list(devices)),
                    (Rule.device_id.is_(None) & Rule.device_type.in_(types)),
                ),
            )
        )
    )


def evaluate(session: Session, devices: dict[str, Device], rows: Sequence[Row]) -> int:
    """Run the rules over a stored batch; returns alarms raised or refreshed."""
    if not devices:
        return 0
    series: dict[tuple[str, str], list[tuple[datetime, float]]] = defaultdict(list)
    for d, a, at, v, _t in rows:
        if v is not None:
            series[(d, a)].append((at, v))
    fired = _clear_nodata(session, devices, {d for d, *_ in rows})
    if not series:
        return fired
    rules = _rules_for(session, devices)
    if not rules:
        return fired
    pairs = [
        (r, devices[d])
        for r in rules
        for d in devices
        if (r.device_id == d or (r.device_id is None and r.device_type == devices[d].type))
        and (d, r.attr) in series
    ]
    if not pairs:
        return fired
    states = {
        (s.rule_id, s.device_id): s
        for s in session.scalars(
            select(RuleState).where(
                RuleState.rule_id.in_({r.id for r, _ in pairs}),
                RuleState.device_id.in_({d.id for _, d in pairs}),
            )
        )
    }
    for key in series:
        series[key].sort()
    for rule, dev in pairs:
        st = states.get((rule.id, dev.id))
        if st is None:
            st = RuleState(rule_id=rule.id, device_id=dev.id, hits=0, active=False)
            session.add(st)
        fired += _run(session, rule, dev, st, series[(dev.id, rule.attr)])
    return fired


def _run(
    session: Session, rule: Rule, dev: Device, st: RuleState, points: list[tuple[datetime, float]]
) -> int:
    """One rule over one device's new readings (sorted by time). A threshold rule that is not
    active and that no new reading meets only moves its state to the last reading: the common
    case of a batch is decided by one min/max instead of a step per reading."""
    if st.last_at is not None:
        points = points[bisect.bisect_right(points, (st.last_at, math.inf)) :]
    if not points:
        return 0
    if rule.kind != "rate" and not st.active and not _any_holds(rule, points):
        if st.since is not None or st.hits:
            st.since, st.hits = None, 0
        st.last_at, st.last_value = points[-1]
        return 0
    return sum(_step(session, rule, dev, st, at, v) for at, v in points)


def _any_holds(rule: Rule, points: list[tuple[datetime, float]]) -> bool:
    values = [v for _at, v in points]
    if rule.op == "gt":
        return rule.high is not None and max(values) > rule.high
    if rule.op == "lt":
        return rule.low is not None and min(values) < rule.low
    return any(holds(rule.op, v, rule.low, rule.high) for v in values)


def _step(session: Session, rule: Rule, dev: Device, st: RuleState, at: datetime, v: float) -> int:
    if st.last_at is not None and at <= st.last_at:
        return 0  # already seen (or older than what was seen): rules move forward only
    measured = v
    if rule.kind == "rate":
        prev_v, prev_at = st.last_value, st.last_at
        st.last_value, st.last_at = v, at
        if prev_v is None or prev_at is None:
            return 0
        measured = (v - prev_v) / max((at - prev_at).total_seconds() / 60.0, 1e-9)
    else:
        st.last_value, st.last_at = v, at
    met = holds(rule.op, measured, rule.low, rule.high)
    if not st.active:
        if not met:
            st.since, st.hits = None, 0
            return 0
        if st.since is None:
            st.since, st.hits = at, 0
        st.hits += 1
        if at - st.since >= timedelta(seconds=rule.duration_s) and st.hits >= rule.repeat:
            st.active = True
            alarms.raise_alarm(session, rule, dev, value=v, at=at)
            return 1
        return 0
    cleared = holds(rule.clear_op, measured, rule.clear_low, rule.clear_high) if rule.clear_op else not met
    if cleared:
        st.active, st.since, st.hits = False, None, 0
        alarms.clear_alarm(session, rule, dev, at=at)
        return 0
    if met:
        alarms.refresh_alarm(session, rule, dev, value=v, at=at)
        return 1
    return 0


def _clear_nodata(session: Session, devices: dict[str, Device], heard: set[str]) -> int:
    """A device that speaks again clears its active no-data alarms."""
    if not heard:
        return 0
    q = (
        select(RuleState, Rule)
        .join(Rule, Rule.id == RuleState.rule_id)
        .where(Rule.kind == "nodata", RuleState.active.is_(True), RuleState.device_id.in_(heard))
    )
    for st, rule in session.execute(q):
        st.active = False
        alarms.clear_alarm(session, rule, devices[st.device_id], at=clock.now())
    return 0


def check_nodata(session: Session) -> int:
    """The worker's timer: raise "no data for N minutes" alarms. Returns alarms raised."""
    now = clock.now()
    raised = 0
    for rule in session.scalars(select(Rule).where(Rule.kind == "nodata", Rule.enabled.is_(True))):
        cutoff = now - timedelta(minutes=rule.minutes or 60)
        q = select(Device).where(
            or_(Device.last_seen_at < cutoff, Device.last_seen_at.is_(None) & (Device.created_at < cutoff))
        )
        q = (
            q.where(Device.id == rule.device_id)
            if rule.device_id
            else q.where(Device.type == rule.device_type)
        )
        for dev in session.scalars(q):
            st = session.get(RuleState, (rule.id, dev.id))
            if st is None:
                st = RuleState(rule_id=rule.id, device_id=dev.id, hits=0, active=False)
                session.add(st)
            if st.active:
                continue
            st.active, st.since = True, now
            alarms.raise_alarm(session, rule, dev, value=None, at=now)
            raised += 1
    return raised


# ---------------------------------------------------------------- the rule editor
def _validate(r: RuleIn) -> None:
    if r.kind not in RULE_KINDS:
        raise Invalid("Unknown rule kind", field="kind", code="bad_rule")
    if r.severity not in SEVERITIES:
        raise Invalid("Unknown severity", field="severity", code="bad_rule")
    if not r.device_id and r.device_type not in DEVICE_TYPES:
        raise Invalid("A rule applies to a device or a device type", field="device_type", code="bad_rule")
    if r.kind == "nodata":
        if not r.minutes:
            raise Invalid("A no-data rule needs the minutes", field="minutes", code="bad_rule")
        return
    if r.op not in OPS or not holds_shape(r.op, r.low, r.high):
        raise Invalid(
            "The condition needs its bounds (> high, < low, between low and high)",
            field="op",
            code="bad_rule",
        )
    if r.clear_op and (r.clear_op not in OPS or not holds_shape(r.clear_op, r.clear_low, r.clear_high)):
        raise Invalid("The clear condition needs its bounds", field="clear_op", code="bad_rule")


def holds_shape(op: str, low: float | None, high: float | None) -> bool:
    return {"gt": high is not None, "lt": low is not None, "between": low is not None and high is not None}[
        op
    ]


def _rule_out(r: Rule) -> RuleOut:
    return RuleOut.model_validate(r, from_attributes=True)


def save_rule(*, session: Session, actor: Principal, rule: RuleIn, rule_id: int | None = None) -> RuleOut:
    authorize(actor, "sensing.manage")
    _validate(rule)
    if rule.case_category and not cases.category_exists(session=session, code=rule.case_category):
        raise Invalid("Unknown case category", field="case_category", code="bad_rule")
    row = session.get(Rule, rule_id) if rule_id else Rule()
    if row is None:
        raise NotFound("No such rule", code="rule_not_found")
    for k, v in rule.model_dump().items():
        setattr(row, k, v)
    if rule_id is None:
        session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor.actor,
        action="sensing.rule.save",
        subject_type="sensing_rule",
        subject_id=row.id,
        payload=rule.model_dump(mode="json"),
    )
    return _rule_out(row)


def list_rules(*, session: Session, actor: Principal) -> list[RuleOut]:
    authorize(actor, "sensing.view")
    return [_rule_out(r) for r in session.scalars(select(Rule).order_by(Rule.id))]


def get_rule(*, session: Session, actor: Principal, rule_id: int) -> RuleOut:
    authorize(actor, "sensing.view")
    r = session.get(Rule, rule_id)
    if r is None:
        raise NotFound("No such rule", code="rule_not_found")
    return _rule_out(r)
