"""Sensing fixtures: a small city with the case taxonomy, a drainage sensor and its rule."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from cityos import registry
from cityos.cases import service as cases
from cityos.core import clock, events
from cityos.identity import service as identity
from cityos.sensing import service
from cityos.sensing.schemas import DeviceIn, RuleIn

NOW = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)
LON, LAT = 118.3515, 35.0515  # inside 金雀山社区第1网格 (37130200100101)
G1 = "37130200100101"


@pytest.fixture
def sensed(city, db):  # type: ignore[no-untyped-def]
    """The small city, a drainage level sensor dr-1 owned by 城管局 (cgj) in G1, and the rule
    "level above 0.5 m for 10 minutes and 3 readings, clears below 0.3 m" opening 道路积水 cases."""
    clock.set_now(NOW)
    before = events.knows_all_subscribers()
    registry.load_handlers()  # as in the app and the worker (restored afterwards)
    with db.transaction() as s:
        cases.load_default_taxonomy(session=s, actor=identity.SYSTEM)
        service.register_device(
            session=s,
            actor=identity.SYSTEM,
            device=DeviceIn(
                id="dr-1",
                type="FloodMonitoring",
                name="解放路积水监测点",
                lon=LON,
                lat=LAT,
                department_code="cgj",
            ),
        )
        rule = service.save_rule(
            session=s,
            actor=identity.SYSTEM,
            rule=RuleIn(
                name="积水超警戒",
                device_type="FloodMonitoring",
                attr="currentLevel",
                kind="threshold",
                op="gt",
                high=0.5,
                duration_s=600,
                repeat=3,
                clear_op="lt",
                clear_low=0.3,
                severity="critical",
                case_category="E0505",
            ),
        )
    yield city, rule
    events.all_subscribers_loaded(before)
