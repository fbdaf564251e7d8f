"""The dispatcher picks a department from groups made for the case: the dispatch rules' candidates
first (what routing would pick selected), then the departments serving the case's region (its
district's before the city's), then the rest — never a flat list of every department."""

from __future__ import annotations

import re

import pytest

from cityos.cases import service
from cityos.cases.schemas import ReportIn
from cityos.identity import service as identity
from cityos.identity.schemas import DepartmentIn

LANSHAN = (118.351234, 35.051987)
LUOZHUANG = (118.281, 34.991)


@pytest.fixture
def filed(city, db):  # type: ignore[no-untyped-def]
    admin, d = city.as_role("admin"), city.as_role("dispatcher")
    with db.transaction() as s:
        service.load_default_taxonomy(session=s, actor=admin)
        identity.add_department(
            session=s,
            actor=admin,
            department=DepartmentIn(
                code="lz-cgj", name="罗庄区城市管理局", kind="bureau", region_code="371311"
            ),
        )
        service.add_dispatch_rule(
            session=s,
            actor=admin,
            category_prefix="E04",
            region_prefix="371302",
            basis="territory",
            department_code="ls-cgj",
        )
        out = {}
        for name, (lon, lat) in (("lanshan", LANSHAN), ("luozhuang", LUOZHUANG)):
            case = service.report_case(
                session=s,
                actor=d,
                report=ReportIn(
                    category_code="E0402", description="占道经营", channel="hotline", lon=lon, lat=lat
                ),
            )
            service.transition(session=s, actor=d, case_id=case.id, action="file")
            out[name] = case
    return out


def _groups(html: str) -> dict[str, list[str]]:
    select = html[html.index('data-testid="dispatch-department"') :]
    select = select[: select.index("</select>")]
    return {
        g: re.findall(r'<option value="([^"]+)"', body)
        for g, body in re.findall(r'data-group="(\w+)">(.*?)</optgroup>', select)
    }


def test_the_rules_candidates_come_first_then_the_region(filed, city, client):  # type: ignore[no-untyped-def]
    city.login(client, "dispatcher")
    html = client.get(f"/cases/{filed['lanshan'].id}").text
    groups = _groups(html)
    assert list(groups) == ["suggested", "region", "other"]
    assert groups["suggested"][0] == "ls-cgj"  # the territory rule for 兰山区
    assert re.search(r'<option value="ls-cgj" selected>', html)
    assert "lz-cgj" in groups["other"] and "lz-cgj" not in groups["region"]
    assert "hotline" not in str(groups)
    every = [c for g in groups.values() for c in g]
    assert len(every) == len(set(every))  # each department once

    html = client.get(f"/cases/{filed['luozhuang'].id}").text
    groups = _groups(html)
    assert "ls-cgj" not in groups["suggested"]  # the rule is for 兰山区 only
    assert groups["region"][0] == "lz-cgj"  # 罗庄区's own bureau before the city's
    assert "ls-cgj" in groups["other"]


def test_choices_without_the_dispatch_step_are_not_computed(filed, city, client):  # type: ignore[no-untyped-def]
    city.login(client, "inspector")
    html = client.get(f"/cases/{filed['lanshan'].id}").text
    assert 'data-testid="dispatch-department"' not in html
