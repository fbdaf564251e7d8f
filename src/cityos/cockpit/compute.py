"""The worker's part: recompute the metrics that are due, store the values with their lineage,
keep the screens' snapshots (the case figures; the placed devices and their open alarms), and
raise or clear the alerts.

One metric is one unit of work: a source that fails or is refused leaves the others computed.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityos.cases import service as cases
from cityos.cockpit import alerts, store
from cityos.cockpit.definitions import MetricDef
from cityos.cockpit.models import MetricValue
from cityos.cockpit.sources import (
    QueryContext,
    Reading,
    cockpit_principal,
    devices,
    read_catalog,
    read_query,
)
from cityos.core import clock
from cityos.core.db import Database

log = logging.getLogger("cityos.cockpit")


def city_code(session: Session) -> str:
    """The city's division code (read once per unit of work)."""
    return str(store.places(session)["city"])


def _due(session: Session, d: MetricDef, now: datetime) -> bool:
    st = store.status(session, d.code)
    if st is None:
        return True
    return bool(st["computed_at"] <= now - timedelta(seconds=d.m.refresh))


def _write(session: Session, d: MetricDef, r: Reading, now: datetime) -> int:
    have = {
        (v.region, v.period): v
        for v in session.scalars(select(MetricValue).where(MetricValue.metric == d.code))
    }
    n = 0
    for (region, period), value in r.points.items():
        row = have.get((region, period))
        if row is None:
            row = MetricValue(metric=d.code, region=region, period=period)
            session.add(row)
        row.value = value
        row.status = "ok"
        row.source_kind = d.m.source.kind
        row.source_ref = r.ref
        row.source_version = r.version
        row.source_at = r.source_at
        row.computed_at = now
        row.detail = r.detail
        n += 1
    return n


def refresh_metric(session: Session, d: MetricDef, ctx: QueryContext) -> Reading:
    if d.m.source.kind == "catalog":
        r = read_catalog(session, ctx.actor, d.m, ctx.city)
    else:
        r = read_query(ctx, d.m)
    if r.status == "ok":
        _write(session, d, r, ctx.now)
    if r.status == "ok" and d.m.province is not None:  # the province's figures, for comparison
        p = read_catalog(session, ctx.actor, d.m, ctx.city, src=d.m.province)
        if p.status == "ok":
            _write(session, d, p, ctx.now)
        r.detail = {**r.detail, "province": {"status": p.status, "ref": p.ref, "version": p.version}}
    store.set_status(
        session,
        d.code,
        {
            "status": r.status,
            "kind": d.m.source.kind,
            "ref": r.ref,
            "version": r.version,
            "source_at": r.source_at.isoformat() if r.source_at else None,
            "stale": r.stale,
            "detail": r.detail,
            "points": len(r.points),
        },
        ctx.now,
    )
    return r


def refresh(db: Database, *, force: bool = False, codes: list[str] | None = None) -> int:
    """Recompute every metric that is due (all with force; only `codes` if given), then the
    screen snapshot and the alerts. Returns the metrics computed."""
    now = clock.now()
    with db.reader() as s:
        defs = store.definitions(s)
    todo = [d for d in defs if (codes is None or d.code in codes)]
    memo: dict[str, Any] = {}
    n = 0
    for d in todo:
        t0 = time.perf_counter()
        try:
            with db.transaction() as s:
                if not force and not _due(s, d, now):
                    continue
                ctx = QueryContext(
                    session=s, actor=cockpit_principal(s), now=now, city=city_code(s), memo=memo
                )
                r = refresh_metric(s, d, ctx)
                alerts.evaluate(s, d, now=now, city=ctx.city)
            n += 1
            log.debug("metric %s: %s in %.0f ms", d.code, r.status, (time.perf_counter() - t0) * 1000)
        except Exception:
            log.exception("metric %s failed", d.code)
    if n or force:
        with db.transaction() as s:
            ctx = QueryContext(session=s, actor=cockpit_principal(s), now=now, city=city_code(s), memo=memo)
            figures = memo.get("cases") or cases.figures(session=s, actor=ctx.actor, now=now)
            store.set_snapshot(s, "cases", figures, now)
            here = store.read_places(s)
            if here["city"] != "000000":  # names as of now, for the screens (one row to read)
                store.set_snapshot(s, "places", here, now)
        try:  # the map's devices and alarms: a failure leaves the last snapshot (shown stale)
            with db.transaction() as s:
                ctx = QueryContext(
                    session=s, actor=cockpit_principal(s), now=now, city=city_code(s), memo=memo
                )
                store.set_snapshot(s, "sensing", {"devices": devices(ctx)}, now)
        except Exception:
            log.exception("the devices' snapshot failed")
    return n
