"""Reads and writes of the cockpit's own tables: definitions in force, per-metric status, the
screens' snapshots and the stored series."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityos.cockpit import definitions as defs
from cityos.cockpit.models import Definition, MetricValue, Snapshot
from cityos.identity import service as identity

_CACHE: dict[tuple[tuple[str, str], ...], list[defs.MetricDef]] = {}


def overrides(session: Session) -> dict[str, str]:
    return {d.theme: d.body for d in session.scalars(select(Definition))}


def definitions(session: Session) -> list[defs.MetricDef]:
    """The metrics in force (an admin's YAML per theme, else the packaged one); parsed once per
    distinct set of files."""
    ov = overrides(session)
    key = tuple(sorted(ov.items()))
    if key not in _CACHE:
        _CACHE.clear()
        _CACHE[key] = defs.load_all(ov)
    return _CACHE[key]


def set_snapshot(session: Session, key: str, payload: dict[str, Any], now: datetime) -> None:
    row = session.get(Snapshot, key)
    if row is None:
        session.add(Snapshot(key=key, payload=payload, computed_at=now))
    else:
        row.payload = payload
        row.computed_at = now
    session.flush()


def snapshot(session: Session, key: str) -> tuple[dict[str, Any], datetime] | None:
    row = session.get(Snapshot, key)
    return None if row is None else (row.payload, row.computed_at)


def read_places(session: Session) -> dict[str, Any]:
    """The city's code and name and its districts' names, read from identity now."""
    c = identity.city(session=session)
    return {
        "city": c.code if c else "000000",
        "city_name": c.name if c else "",
        "districts": {r.code: r.name for r in identity.regions(session=session, level="district")},
    }


def places(session: Session) -> dict[str, Any]:
    """The city and its districts' names as the worker stored them with its last computation
    (a screen then reads one row instead of scanning the region table), else read now; once per
    unit of work."""
    if "cockpit.places" not in session.info:
        got = snapshot(session, "places")
        session.info["cockpit.places"] = got[0] if got is not None else read_places(session)
    return dict(session.info["cockpit.places"])


def set_status(session: Session, code: str, payload: dict[str, Any], now: datetime) -> None:
    set_snapshot(session, f"metric:{code}", payload, now)


def status(session: Session, code: str) -> dict[str, Any] | None:
    got = snapshot(session, f"metric:{code}")
    return None if got is None else {**got[0], "computed_at": got[1]}


def statuses(session: Session) -> dict[str, dict[str, Any]]:
    out = {}
    for row in session.scalars(select(Snapshot).where(Snapshot.key.like("metric:%"))):
        out[row.key[7:]] = {**row.payload, "computed_at": row.computed_at}
    return out


def series(session: Session, metric: str, region: str) -> dict[str, MetricValue]:
    return {
        v.period: v
        for v in session.scalars(
            select(MetricValue).where(MetricValue.metric == metric, MetricValue.region == region)
        )
    }


def latest(session: Session, metric: str) -> list[MetricValue]:
    """Every region's rows of a metric (for rankings and the latest period)."""
    return list(session.scalars(select(MetricValue).where(MetricValue.metric == metric)))


def values_by_metric(session: Session, metrics: list[str], region: str) -> dict[str, dict[str, float | None]]:
    """{metric: {period: value}} of one region, in one light query (no ORM objects): the screens."""
    out: dict[str, dict[str, float | None]] = {m: {} for m in metrics}
    rows = session.execute(
        select(MetricValue.metric, MetricValue.period, MetricValue.value).where(
            MetricValue.metric.in_(metrics), MetricValue.region == region
        )
    )
    for metric, period, value in rows:
        out[metric][period] = value
    return out


def by_region(session: Session, metric: str) -> dict[str, dict[str, float | None]]:
    """{region: {period: value}} of one metric, in one light query: rankings and alerts."""
    out: dict[str, dict[str, float | None]] = {}
    rows = session.execute(
        select(MetricValue.region, MetricValue.period, MetricValue.value).where(MetricValue.metric == metric)
    )
    for region, period, value in rows:
        out.setdefault(region, {})[period] = value
    return out
