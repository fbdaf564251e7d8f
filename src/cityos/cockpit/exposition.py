"""The cockpit's live figures on the platform's one Prometheus endpoint (`GET /metrics`): a
collector registered with prometheus_client's default registry reads the stored numbers at each
scrape (as `cityos_events_abandoned` is read from the outbox), so every app process serves the
same values and no scrape runs a source's query.

  cityos_cockpit_metric_value{metric}            latest stored city value of each metric
  cityos_cockpit_metric_age_seconds{metric}      age of its source's data
  cityos_cockpit_metric_status{metric,status}    1 for ok | refused | error | pending
  cityos_cockpit_metric_stale{metric}            1 when shown stale on the screens
  cityos_cockpit_alerts_open{rule}               warnings raised and not cleared
  cityos_cockpit_cases_open{light}               open cases by traffic light (the last snapshot)
  cityos_cockpit_snapshot_age_seconds            age of the case figures' snapshot
  cityos_cockpit_devices{state}                  placed devices online / offline (the last snapshot)
  cityos_cockpit_device_alarms_open              their open alarms
  cityos_cockpit_devices_snapshot_age_seconds    age of the devices' snapshot
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from datetime import datetime

from prometheus_client import REGISTRY
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.orm import Session

from cityos.cockpit import alerts, store
from cityos.cockpit.compute import city_code
from cityos.cockpit.service import freshness
from cityos.core import clock
from cityos.core.db import get_db

log = logging.getLogger("cityos.cockpit")


class CockpitCollector(Collector):
    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            with get_db().reader() as s:
                yield from _families(s)
        except Exception:  # a scrape reports what it can; the database may not be there yet
            log.debug("cockpit exposition skipped", exc_info=True)


def _families(s: Session) -> Iterator[GaugeMetricFamily]:
    now = clock.now()
    city = city_code(s)
    value = GaugeMetricFamily("cityos_cockpit_metric_value", "Latest stored city value", labels=["metric"])
    age = GaugeMetricFamily(
        "cityos_cockpit_metric_age_seconds", "Age of the source's data", labels=["metric"]
    )
    status = GaugeMetricFamily(
        "cityos_cockpit_metric_status", "Metric source status", labels=["metric", "status"]
    )
    stale = GaugeMetricFamily("cityos_cockpit_metric_stale", "1 when shown stale", labels=["metric"])
    sts = store.statuses(s)
    for d in store.definitions(s):
        f = freshness(d, sts.get(d.code), now)
        status.add_metric([d.code, f["status"]], 1)
        stale.add_metric([d.code], 1 if f["stale"] else 0)
        if f["age_s"] is not None:
            age.add_metric([d.code], f["age_s"])
        series = store.series(s, d.code, city)
        if f["status"] == "ok" and series:
            last = series[max(series)]
            if last.value is not None:
                value.add_metric([d.code], last.value)
    yield from (value, age, status, stale)
    open_ = GaugeMetricFamily("cityos_cockpit_alerts_open", "Warnings raised, not cleared", labels=["rule"])
    per: dict[str, int] = {}
    for a in alerts.open_alerts(s):
        per[a.rule] = per.get(a.rule, 0) + 1
    for rule in ("yoy", "schedule", "below", "above"):
        open_.add_metric([rule], per.get(rule, 0))
    yield open_
    snap = store.snapshot(s, "cases")
    if snap is not None:
        fig, at = snap
        lights = GaugeMetricFamily(
            "cityos_cockpit_cases_open", "Open cases by traffic light", labels=["light"]
        )
        tot: dict[str, int] = {}
        for per_region in fig.get("open", {}).values():
            for k, n in per_region.items():
                tot[k] = tot.get(k, 0) + n
        for k in ("green", "yellow", "red", "none"):
            lights.add_metric([k], tot.get(k, 0))
        yield lights
        yield GaugeMetricFamily(
            "cityos_cockpit_snapshot_age_seconds", "Age of the case figures", value=(now - at).total_seconds()
        )
    yield from _devices(s, now)


def _devices(s: Session, now: datetime) -> Iterator[GaugeMetricFamily]:
    """The placed devices by state, their open alarms, and the age of that snapshot."""
    snap = store.snapshot(s, "sensing")
    if snap is None:
        return
    got, at = snap
    devs = got.get("devices", [])
    state = GaugeMetricFamily("cityos_cockpit_devices", "Placed devices by state", labels=["state"])
    online = sum(1 for d in devs if d["online"])
    state.add_metric(["online"], online)
    state.add_metric(["offline"], len(devs) - online)
    yield state
    yield GaugeMetricFamily(
        "cityos_cockpit_device_alarms_open",
        "Open alarms of the placed devices",
        value=sum(d["alarms"] for d in devs),
    )
    yield GaugeMetricFamily(
        "cityos_cockpit_devices_snapshot_age_seconds",
        "Age of the devices' snapshot",
        value=(now - at).total_seconds(),
    )


_COLLECTOR = CockpitCollector()


def register() -> None:
    """Once per process (the API module calls it on import)."""
    with contextlib.suppress(ValueError):  # already registered
        REGISTRY.register(_COLLECTOR)
