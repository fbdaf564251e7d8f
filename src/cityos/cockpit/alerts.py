"""Alert rules per metric, with hysteresis: a warning is raised when the latest period crosses a
limit and cleared only when it is back past the limit by `hysteresis` — a value wobbling on the
line does not flap. Raising notifies the owner department's people and writes the audit trail;
clearing writes the audit trail.

rules: yoy        (累计)同比 below thresholds.yoy_below
       schedule   目标完成率 more than thresholds.behind_schedule points behind 序时进度
       below      value below thresholds.value_below;  above: value above thresholds.value_above
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityos.cockpit import indicators, store
from cityos.cockpit.definitions import MetricDef
from cityos.cockpit.models import Alert
from cityos.core import audit
from cityos.core.errors import NotFound
from cityos.identity import service as identity
from cityos.notify import service as notify


def _checks(d: MetricDef, row: indicators.Row) -> list[tuple[str, float | None, float, bool, bool]]:
    """(rule, observed, limit, crossed, back) for the rules this metric has."""
    t = d.m.thresholds
    h = t.hysteresis
    out: list[tuple[str, float | None, float, bool, bool]] = []
    if t.yoy_below is not None:
        x = row.ytd_yoy_pct if row.ytd_yoy_pct is not None else row.yoy_pct
        if x is not None:
            out.append(("yoy", x, t.yoy_below, x < t.yoy_below, x >= t.yoy_below + h))
    if t.behind_schedule is not None and row.target_pct is not None and row.schedule_pct is not None:
        gap = row.schedule_pct - row.target_pct
        out.append(
            (
                "schedule",
                row.target_pct,
                row.schedule_pct,
                gap > t.behind_schedule,
                gap <= t.behind_schedule - h,
            )
        )
    if t.value_below is not None and row.value is not None:
        out.append(
            ("below", row.value, t.value_below, row.value < t.value_below, row.value >= t.value_below + h)
        )
    if t.value_above is not None and row.value is not None:
        out.append(
            ("above", row.value, t.value_above, row.value > t.value_above, row.value <= t.value_above - h)
        )
    return out


def evaluate(session: Session, d: MetricDef, *, now: datetime, city: str) -> int:
    """Check the latest period of every region of the metric; returns alerts raised or cleared."""
    if d.m.thresholds == type(d.m.thresholds)():
        return 0
    from cityos.cockpit.service import indicator_rows  # the one computation of the indicators

    by_region = store.by_region(session, d.code)
    live = {
        (a.region, a.rule): a
        for a in session.scalars(select(Alert).where(Alert.metric == d.code, Alert.state == "raised"))
    }
    changed = 0
    for region, values in by_region.items():
        if not region.startswith(city[:4]):  # the province's figures: compared with, not watched
            continue
        last = max(values)
        rows = indicator_rows(session, d, region, [last], values)
        if not rows:
            continue
        for rule, observed, limit, crossed, back in _checks(d, rows[0]):
            a = live.get((region, rule))
            if a is None and crossed:
                _raise(session, d, region, rule, last, observed, limit, now)
                changed += 1
            elif a is not None and back:
                a.state, a.cleared_at = "cleared", now
                audit.record(
                    session,
                    actor="system:cockpit",
                    action="cockpit.alert.cleared",
                    subject_type="cockpit_alert",
                    subject_id=a.id,
                    payload={
                        "metric": d.code,
                        "region": region,
                        "rule": rule,
                        "period": last,
                        "value": observed,
                    },
                )
                changed += 1
    return changed


def _raise(
    session: Session,
    d: MetricDef,
    region: str,
    rule: str,
    period: str,
    observed: float | None,
    limit: float,
    now: datetime,
) -> None:
    a = Alert(
        metric=d.code,
        region=region,
        rule=rule,
        state="raised",
        period=period,
        value=observed,
        limit=limit,
        raised_at=now,
    )
    session.add(a)
    session.flush()
    audit.record(
        session,
        actor="system:cockpit",
        action="cockpit.alert.raised",
        subject_type="cockpit_alert",
        subject_id=a.id,
        payload={
            "metric": d.code,
            "region": region,
            "rule": rule,
            "period": period,
            "value": observed,
            "limit": limit,
        },
    )
    try:
        dept = identity.get_department(session=session, code=d.m.owner)
    except NotFound:
        return
    try:
        name = identity.get_region(session=session, code=region).name
    except NotFound:
        name = region
    people = notify.people_with(session=session, permission="geo.view", department_id=dept.id)
    notify.post(
        session=session,
        user_ids=people,
        kind="cockpit.alert",
        title="Warning: {metric} in {region}",
        body="{metric}, {region}, {period}: {value} (limit {limit})",
        params={"metric": d.m.name, "region": name, "period": period, "value": observed, "limit": limit},
        link=f"/cockpit/metrics/{d.code}?region={region}",
        dedupe_key=f"cockpit.alert:{a.id}",
    )


def open_alerts(session: Session) -> list[Alert]:
    return list(
        session.scalars(select(Alert).where(Alert.state == "raised").order_by(Alert.raised_at.desc()))
    )
