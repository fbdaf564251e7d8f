"""A case reported with an address only lands on the whole city; the dispatcher reads the address
and moves it down the region tree — district, street, grid — on both databases: each move on the
timeline and in the audit trail, the case then in that region's scopes (the grid's worker sees
it), and its dispatch following the new region's dispatch rules."""

from __future__ import annotations

import re

import pytest

from cityos.cases import service
from cityos.cases.schemas import ReportIn
from cityos.core import audit
from cityos.core.errors import Conflict, Forbidden, Invalid


@pytest.fixture
def placed(city, db):  # type: ignore[no-untyped-def]
    admin = city.as_role("admin")
    with db.transaction() as s:
        service.load_default_taxonomy(session=s, actor=admin)
        service.add_dispatch_rule(
            session=s,
            actor=admin,
            category_prefix="E04",
            region_prefix="371302",
            basis="territory",
            department_code="ls-cgj",
        )
        case = service.report_case(
            session=s,
            actor=city.as_role("citizen"),
            report=ReportIn(category_code="E0402", description="店外经营占道", address="金雀山路12号门前"),
        )
    assert case.region_code == "371300" and case.grid_code is None
    return city, case


def test_the_dispatcher_moves_an_address_only_case_down_to_its_grid(placed, db):  # type: ignore[no-untyped-def]
    city, case = placed
    dispatcher, worker = city.as_role("dispatcher"), city.as_role("grid_worker")
    steps = [
        ("371302", "兰山区"),
        ("371302001", "兰山街道"),
        ("371302001001", "金雀山社区"),
        ("37130200100101", "金雀山社区第1网格"),
    ]
    with db.reader() as s:
        assert service.route(session=s, category_code="E0402", region_code=case.region_code) != "ls-cgj"
        assert service.list_cases(session=s, actor=worker, limit=10).items == []
    for code, name in steps:
        with db.transaction() as s:
            choices = dict(service.region_choices(session=s, actor=dispatcher, case_id=case.id))
            assert choices.get(code) == name, choices
            case = service.place_case(
                session=s, actor=dispatcher, case_id=case.id, region_code=code, expected_version=case.version
            )
        assert case.region_code == code
    with db.reader() as s:
        assert case.grid_code == "37130200100101"
        assert service.region_choices(session=s, actor=dispatcher, case_id=case.id) == []  # in a grid
        places = [
            e for e in service.timeline(session=s, actor=dispatcher, case_id=case.id) if e.action == "place"
        ]
        assert [(e.data["from_region"], e.data["to_region"]) for e in places] == [
            ("371300", "371302"),
            ("371302", "371302001"),
            ("371302001", "371302001001"),
            ("371302001001", "37130200100101"),
        ]
        assert places[0].data["suggested"] == "ls-cgj" and places[0].actor == "user:dispatcher1"
        assert [r.action for r in audit.history(s, subject_type="case", subject_id=case.number)].count(
            "case.place"
        ) == 4
        # now in the grid worker's scope, and the 兰山区 dispatch rule routes it
        assert [c.id for c in service.list_cases(session=s, actor=worker, limit=10).items] == [case.id]
    with db.transaction() as s:
        service.transition(session=s, actor=dispatcher, case_id=case.id, action="file")
        out = service.transition(session=s, actor=dispatcher, case_id=case.id, action="dispatch")
    assert out.department_id == city.departments["ls-cgj"]


def test_placing_is_refused_outside_the_case_after_dispatch_and_without_the_permission(placed, db):  # type: ignore[no-untyped-def]
    city, case = placed
    dispatcher = city.as_role("dispatcher")
    with db.transaction() as s:
        case = service.place_case(session=s, actor=dispatcher, case_id=case.id, region_code="371302")
    for code, err in (("371311", "not_finer"), ("371302", "not_finer"), ("3713029", "unknown_region")):
        with pytest.raises(Invalid) as e, db.transaction() as s:
            service.place_case(session=s, actor=dispatcher, case_id=case.id, region_code=code)
        assert e.value.code == err, code
    with pytest.raises(Conflict) as c, db.transaction() as s:  # someone acted since this version
        service.place_case(
            session=s, actor=dispatcher, case_id=case.id, region_code="371302001", expected_version=1
        )
    assert c.value.code == "stale_case"
    with pytest.raises(Forbidden), db.transaction() as s:
        service.place_case(
            session=s, actor=city.as_role("inspector"), case_id=case.id, region_code="371302001"
        )
    with db.transaction() as s:
        service.transition(session=s, actor=dispatcher, case_id=case.id, action="file")
        service.transition(session=s, actor=dispatcher, case_id=case.id, action="dispatch")
    with pytest.raises(Conflict) as c, db.transaction() as s:
        service.place_case(session=s, actor=dispatcher, case_id=case.id, region_code="371302001")
    assert c.value.code == "bad_state"


def test_the_case_page_places_the_case(placed, db, client):  # type: ignore[no-untyped-def]
    city, case = placed
    city.login(client, "dispatcher")
    page = client.get(f"/cases/{case.id}").text
    assert 'data-testid="place-form"' in page and '<option value="371302">兰山区</option>' in page
    r = client.post(
        f"/cases/{case.id}/place",
        data={
            "csrf_token": city.csrf(client),
            "region_code": "371302",
            "expected_version": str(case.version),
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    page = client.get(f"/cases/{case.id}").text
    assert re.search(r"定位到：兰山区 · 推荐（派遣规则）（兰山区城市管理局）", page), page[
        page.find("timeline") :
    ][:1500]
    assert '<option value="371302001">兰山街道</option>' in page
