"""The demo city's defaults: its dispatch rules send a district's cases to the district's own
bodies, its cases are dated from the build's clock with a realistic mix of traffic lights, and
every demo account finds work in its queue (asked through cases.service, under policy.visible,
and catalog.service for the data steward)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from cityos.cases import service
from cityos.cases.flows import OPEN_STATES
from cityos.catalog import service as catalog
from cityos.core import clock
from cityos.demo import builder
from cityos.identity import service as identity

LANSHAN = "371302"


# the module-scoped demo city is built once: every test of the module on one worker
pytestmark = pytest.mark.xdist_group("demo-work")


@pytest.fixture(scope="module")
def demo(demo_template: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The small demo city built at the real clock, as `cityos demo` builds it (a private copy)."""
    with demo_template.copy(tmp_path_factory.mktemp("demo-work") / "home") as (_config, ctx):
        yield ctx


def _all(demo: Any) -> list[Any]:
    with clock.frozen(demo.now), demo.db.reader() as s:
        return service.list_cases(session=s, actor=demo.user("leader"), limit=100_000, count_cap=None).items


def test_a_lanshan_city_appearance_case_goes_to_a_lanshan_body(demo: Any) -> None:
    with demo.db.reader() as s:
        grid = next(g[0] for g in demo.extra["grids"] if g[0].startswith(LANSHAN))
        for code in ("E0102", "E0104", "C0302"):  # 市容环境: 暴露垃圾, 道路不洁, 垃圾箱
            dept = identity.get_department(
                session=s, code=service.route(session=s, category_code=code, region_code=grid)
            )
            assert dept.region_code == LANSHAN and dept.name.startswith("兰山区"), (code, dept)
        lanshan = {d.id for d in identity.departments(session=s) if d.region_code == LANSHAN}
    # and the built demo's own cases: every 兰山区 市容环境 case that reached a department is there
    dispatched = [
        c
        for c in _all(demo)
        if c.region_code.startswith(LANSHAN)
        and c.category_code[:3] in ("E01", "C03")
        and c.department_id is not None
    ]
    assert dispatched and all(c.department_id in lanshan for c in dispatched)


def test_cases_are_dated_from_the_build_clock_with_a_realistic_mix_of_lights(demo: Any) -> None:
    cases = _all(demo)
    lit = [c for c in cases if c.state in OPEN_STATES and c.light]
    lights = Counter(c.light for c in lit)
    share = {k: lights[k] / len(lit) for k in ("green", "yellow", "red")}
    assert len(lit) >= 40
    assert share["green"] >= 0.5, share
    assert 0.08 <= share["yellow"] <= 0.35, share
    assert 0.03 <= share["red"] <= 0.25, share
    closed = [c for c in cases if c.state == "closed"]
    assert sum(1 for c in closed if c.closed_on_time) / len(closed) >= 0.75
    # recent activity, not last year's queue
    assert max(c.reported_at for c in cases) >= demo.now - timedelta(days=1)
    assert max(c.reported_at for c in cases) <= demo.now
    assert any(c.closed_at and c.closed_at >= demo.now - timedelta(days=1) for c in closed)
    assert min(c.reported_at for c in lit) >= demo.now - timedelta(days=60)


def test_every_demo_account_finds_work(demo: Any) -> None:
    with clock.frozen(demo.now), demo.db.reader() as s:

        def open_cases(p: Any) -> int:
            return len(service.list_cases(session=s, actor=p, states=OPEN_STATES, limit=5).items)

        staff = [demo.user(role) for role in builder.ACCOUNTS if role not in ("citizen", "data_steward")]
        staff += demo.users["handler"] + demo.users["inspector"]
        empty = [p.username for p in staff if not open_cases(p)]
        assert not empty
        handled_bodies = {p.department_id for p in demo.users["handler"]}
        assert len(handled_bodies) == 6 * 3  # six bodies in each of the three districts, each with work
        citizen = demo.user("citizen")
        assert any(c.state in OPEN_STATES for c in service.my_reports(session=s, actor=citizen))
        # every grid worker sees cases of their own grid (the printed one also open work to verify)
        idle = [
            p.username
            for p in demo.users["grid_worker"]
            if not service.list_cases(session=s, actor=p, limit=1).items
        ]
        assert not idle
        gw = demo.user("grid_worker")
        assert service.list_cases(session=s, actor=gw, state="handled", limit=1).items
        # the data steward (税务局): a request for their department's data to answer
        steward = demo.user("data_steward")
        queue = catalog.work_counts(session=s, actor=steward)
        assert queue["to_answer"] + queue["stale"] + queue["to_review"] > 0, queue
        assert queue["to_answer"] >= 1
        # the printed grid worker: a task sent to them (核实 / 核查), open in their 待办
        assert service.task_counts(session=s, actor=gw)["open_tasks"] >= 1
