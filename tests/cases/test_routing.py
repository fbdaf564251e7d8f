"""Dispatch rules: components by owner first, events by territory first, the most specific rule
wins, the category's default otherwise; channels that file and dispatch by themselves."""

from __future__ import annotations

import pytest

from cityos.cases import service
from cityos.cases.schemas import ReportIn
from cityos.core.errors import Forbidden, Invalid


@pytest.fixture
def rules(city, db):  # type: ignore[no-untyped-def]
    admin = city.as_role("admin")
    with db.transaction() as s:
        service.load_default_taxonomy(session=s, actor=admin)
        for cat, region, basis, dept in [
            ("", "371302", "territory", "ls-cgj"),  # everything in 兰山区 → its 城管局
            ("C01", "", "owner", "cgj"),  # 公用设施 are owned citywide by 城管局
            ("C0101", "", "owner", "gaj"),  # a more specific owner rule (test data, not real practice)
            ("E04", "371302001", "territory", "gaj"),  # a street with its own arrangement
        ]:
            service.add_dispatch_rule(
                session=s,
                actor=admin,
                category_prefix=cat,
                region_prefix=region,
                basis=basis,
                department_code=dept,
            )
    return city


def test_precedence(rules, db):
    with db.reader() as s:

        def r(code: str, region: str) -> str:
            return service.route(session=s, category_code=code, region_code=region)

        assert r("C0103", "37130200100101") == "cgj"  # component: owner before territory
        assert r("C0101", "37130200100101") == "gaj"  # the longest category prefix wins
        assert r("E0402", "37130200100101") == "gaj"  # event: territory, the street's rule is more specific
        assert r("E0102", "37130200100101") == "ls-cgj"  # event: the district's territory rule
        assert r("C0402", "37130200100101") == "ls-cgj"  # component without owner rule: territory
        assert r("E0102", "37131100100101") == "cgj"  # no rule in 罗庄区: the category's default (城管局)


def test_dispatch_without_department_follows_the_rules(rules, db):
    with db.transaction() as s:
        c = service.report_case(
            session=s,
            actor=rules.as_role("citizen"),
            report=ReportIn(category_code="E0102", description="暴露垃圾", lon=118.3515, lat=35.0515),
        )
        service.transition(session=s, actor=rules.as_role("dispatcher"), case_id=c.id, action="file")
        c = service.transition(session=s, actor=rules.as_role("dispatcher"), case_id=c.id, action="dispatch")
    assert c.department_id == rules.departments["ls-cgj"]


def test_auto_file_and_dispatch_per_channel(rules, db):
    with db.transaction() as s:
        service.set_channel(
            session=s, actor=rules.as_role("admin"), channel="grid_worker", auto_file=True, auto_dispatch=True
        )
        c = service.report_case(
            session=s,
            actor=rules.as_role("grid_worker"),
            report=ReportIn(
                category_code="E0102",
                description="暴露垃圾",
                lon=118.3515,
                lat=35.0515,
                channel="grid_worker",
            ),
        )
        tl = service.timeline(session=s, actor=rules.as_role("dispatcher"), case_id=c.id)
    assert c.state == "dispatched" and c.department_id == rules.departments["ls-cgj"]
    assert [e.action for e in tl] == ["report", "file", "dispatch"] and tl[1].actor == "user:system"


def test_rules_are_validated_and_admin_only(rules, db):
    with pytest.raises(Invalid), db.transaction() as s:
        service.add_dispatch_rule(
            session=s,
            actor=rules.as_role("admin"),
            category_prefix="",
            region_prefix="",
            basis="nearest",
            department_code="cgj",
        )
    with pytest.raises(Forbidden), db.transaction() as s:
        service.add_dispatch_rule(
            session=s,
            actor=rules.as_role("dispatcher"),
            category_prefix="",
            region_prefix="",
            basis="owner",
            department_code="cgj",
        )
