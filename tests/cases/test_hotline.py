"""The 12345 hotline console and the dispatcher's map: a call is filed through report_case with
channel hotline (at a picked point, or by address and street), the caller's phone is checked and
the callback wish kept, open cases nearby show before filing, and the map's points are only the
viewer's own region's."""

from __future__ import annotations

import re

import pytest

from cityos.cases import consoles, service
from cityos.cases.schemas import ReportIn
from cityos.core.errors import Forbidden, Invalid

IN_LANSHAN = (118.3515, 35.0515)  # 金雀山社区第1网格
IN_LUOZHUANG = (118.2815, 34.9915)  # 罗庄社区第1网格


@pytest.fixture
def hotline(city, db):  # type: ignore[no-untyped-def]
    with db.transaction() as s:
        service.load_default_taxonomy(session=s, actor=city.as_role("admin"))
    return city


def _call(**kw):  # type: ignore[no-untyped-def]
    base = {
        "caller_name": "王先生",
        "caller_phone": "139 1234 5678",
        "callback": "sms",
        "category_code": "E0402",
        "description": "超市门口占道经营",
        "lon": IN_LANSHAN[0],
        "lat": IN_LANSHAN[1],
    }
    return consoles.CallIn(**{**base, **kw})


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("13912345678", "13912345678"),
        ("+86 139-1234-5678", "13912345678"),
        ("0539-8123456", "0539-8123456"),
        ("05398123456", "05398123456"),
        ("010-12345678-801", "010-12345678-801"),
    ],
)
def test_phone_numbers_are_checked(raw, clean):
    assert consoles.normalize_phone(raw) == clean


@pytest.mark.parametrize("raw", ["12345", "1391234567", "23912345678", "8123456", "phone"])
def test_bad_phone_numbers_are_refused(raw):
    with pytest.raises(Invalid) as e:
        consoles.normalize_phone(raw)
    assert e.value.field == "caller_phone"
    assert "手机号码" in e.value.text("zh_CN")


def test_a_call_is_a_hotline_report_with_the_callback_wish(hotline, db):
    op = hotline.as_role("dispatcher")
    with db.transaction() as s:
        c = consoles.take_call(session=s, actor=op, call=_call())
    assert c.channel == "hotline" and c.state == "reported" and c.grid_code == "37130200100101"
    with db.reader() as s:
        tl = service.timeline(session=s, actor=op, case_id=c.id)
        recent = consoles.recent_calls(session=s, actor=op)
    assert tl[0].action == "report" and tl[0].data == {"channel": "hotline", "callback": "sms"}
    assert [(r.case.id, r.caller_phone, r.callback) for r in recent] == [(c.id, "13912345678", "sms")]


def test_a_call_by_address_only_is_placed_in_the_chosen_street(hotline, db):
    with db.transaction() as s:
        c = consoles.take_call(
            session=s,
            actor=hotline.as_role("dispatcher"),
            call=_call(lon=None, lat=None, address="沂蒙路 88 号", region_code="371302001", callback="none"),
        )
    assert c.region_code == "371302001" and c.grid_code is None and c.address == "沂蒙路 88 号"
    with pytest.raises(Invalid) as e, db.transaction() as s:
        consoles.take_call(
            session=s, actor=hotline.as_role("dispatcher"), call=_call(lon=None, lat=None, region_code=None)
        )
    assert e.value.code == "location_required"


def test_a_callback_needs_a_phone_and_only_the_hotline_takes_calls(hotline, db):
    with pytest.raises(Invalid) as e, db.transaction() as s:
        consoles.take_call(session=s, actor=hotline.as_role("dispatcher"), call=_call(caller_phone=""))
    assert e.value.code == "phone_required"
    with db.transaction() as s:  # an anonymous caller who wants no callback
        consoles.take_call(
            session=s, actor=hotline.as_role("dispatcher"), call=_call(caller_phone="", callback="none")
        )
    for role in ("citizen", "grid_worker", "handler", "leader"):
        with pytest.raises(Forbidden), db.transaction() as s:
            consoles.take_call(session=s, actor=hotline.as_role(role), call=_call())


def test_open_cases_nearby_before_filing(hotline, db):
    with db.transaction() as s:
        first = service.report_case(
            session=s,
            actor=hotline.as_role("citizen"),
            report=ReportIn(category_code="E0402", description="店外经营", lon=118.3516, lat=35.0516),
        )
        service.report_case(  # another 大类: not a duplicate
            session=s,
            actor=hotline.as_role("citizen"),
            report=ReportIn(category_code="E0102", description="暴露垃圾", lon=118.3516, lat=35.0516),
        )
    with db.reader() as s:
        near = consoles.nearby_open_cases(
            session=s,
            actor=hotline.as_role("dispatcher"),
            category_code="E0401",
            lon=IN_LANSHAN[0],
            lat=IN_LANSHAN[1],
        )
        far = consoles.nearby_open_cases(
            session=s, actor=hotline.as_role("dispatcher"), category_code="E0402", lon=118.357, lat=35.051
        )
    assert [c.id for c, _d in near] == [first.id] and 0 < near[0][1] < 20
    assert far == []
    # once filed, the existing duplicate suggestions know it too
    with db.transaction() as s:
        call = consoles.take_call(session=s, actor=hotline.as_role("dispatcher"), call=_call())
        dupes = service.duplicate_candidates(session=s, actor=hotline.as_role("dispatcher"), case_id=call.id)
    assert [c.id for c, _d in dupes] == [first.id]


def test_hotline_console_files_a_call(hotline, client, db):
    hotline.login(client, "dispatcher")
    page = client.get("/cases/hotline")
    assert page.status_code == 200 and 'data-testid="pickmap"' in page.text
    csrf = hotline.csrf(client)
    form = {
        "csrf_token": csrf,
        "caller_name": "李女士",
        "caller_phone": "0539-8123456",
        "callback": "phone",
        "category_code": "E0402",
        "urgency": "urgent",
        "description": "门店占道",
        "lon": str(IN_LANSHAN[0]),
        "lat": str(IN_LANSHAN[1]),
    }
    bad = client.post("/cases/hotline", data={**form, "caller_phone": "12345"})
    assert bad.status_code == 422 and "11 位手机号码" in bad.text and "门店占道" in bad.text
    r = client.post("/cases/hotline", data=form, follow_redirects=False)
    assert r.status_code == 303
    case_id = int(re.search(r"filed=(\d+)", r.headers["location"]).group(1))
    page = client.get(r.headers["location"])
    assert 'data-testid="call-filed"' in page.text and "电话回访" in page.text and "0539-8123456" in page.text
    with db.reader() as s:
        c = service.get_case(session=s, actor=hotline.as_role("dispatcher"), case_id=case_id)
    assert (c.channel, c.urgency, c.grid_code) == ("hotline", "urgent", "37130200100101")
    nearby = client.get(f"/cases/hotline/nearby?category_code=E0402&lon={IN_LANSHAN[0]}&lat={IN_LANSHAN[1]}")
    assert nearby.status_code == 200 and f"/cases/{case_id}" in nearby.text
    assert client.get("/cases/hotline/nearby").status_code == 200
    api = client.get(f"/api/v1/cases/nearby?category=E0401&lon={IN_LANSHAN[0]}&lat={IN_LANSHAN[1]}").json()
    assert [x["case"]["id"] for x in api] == [case_id]


@pytest.mark.parametrize("role", ["citizen", "handler", "inspector", "grid_worker"])
def test_the_console_is_for_the_hotline_only(hotline, client, role):
    hotline.login(client, role)
    assert client.get("/cases/hotline").status_code == 403


def test_the_map_shows_open_cases_in_the_viewers_scope(hotline, client, db):
    with db.transaction() as s:
        cit = hotline.as_role("citizen")
        lanshan = service.report_case(
            session=s,
            actor=cit,
            report=ReportIn(category_code="E0402", description="兰山", lon=IN_LANSHAN[0], lat=IN_LANSHAN[1]),
        )
        luozhuang = service.report_case(
            session=s,
            actor=cit,
            report=ReportIn(
                category_code="E0102", description="罗庄", lon=IN_LUOZHUANG[0], lat=IN_LUOZHUANG[1]
            ),
        )
        by_address = service.report_case(
            session=s,
            actor=hotline.as_role("dispatcher"),
            report=ReportIn(
                category_code="E0402",
                description="地址",
                channel="hotline",
                address="兰山路 1 号",
                region_code="371302001",
            ),
        )
        rejected = service.report_case(
            session=s,
            actor=cit,
            report=ReportIn(category_code="E0402", description="驳回", lon=IN_LANSHAN[0], lat=IN_LANSHAN[1]),
        )
        service.transition(
            session=s,
            actor=hotline.as_role("dispatcher"),
            case_id=rejected.id,
            action="reject",
            reason="不属实",
        )
    hotline.login(client, "dispatcher")  # the whole city
    m = client.get("/api/v1/cases/map").json()
    assert {p["id"] for p in m["points"]} == {lanshan.id, luozhuang.id}
    assert m["total"] == 3 and m["without_location"] == 1 and m["counts"] == {"green": 2}
    assert m["points"][0]["light"] in ("green", "yellow", "red")
    only = client.get("/api/v1/cases/map?category=E0102").json()
    assert [p["id"] for p in only["points"]] == [luozhuang.id]
    assert client.get("/api/v1/cases/map?state=closed").json()["points"] == []
    assert client.get("/api/v1/cases/map?view=verify").json()["total"] == 0
    assert by_address.id not in {p["id"] for p in m["points"]}
    page = client.get("/cases/map?view=queue&category=E0402")
    assert (
        page.status_code == 200
        and 'data-points="/api/v1/cases/map?view=queue&amp;category=E0402"' in page.text
    )

    client.cookies.clear()
    hotline.login(client, "inspector")  # 兰山区 only: 罗庄区's case never loads
    m = client.get("/api/v1/cases/map").json()
    assert {p["id"] for p in m["points"]} == {lanshan.id} and m["total"] == 2
    client.cookies.clear()
    hotline.login(client, "citizen")
    assert client.get("/api/v1/cases/map").status_code == 403
    assert client.get("/cases/map").status_code == 403


def test_the_map_scope_is_applied_by_the_service(hotline, db):
    with db.transaction() as s:
        service.report_case(
            session=s,
            actor=hotline.as_role("citizen"),
            report=ReportIn(
                category_code="E0102", description="罗庄", lon=IN_LUOZHUANG[0], lat=IN_LUOZHUANG[1]
            ),
        )
    with db.reader() as s:
        assert consoles.case_map(session=s, actor=hotline.as_role("dispatcher")).total == 1
        assert consoles.case_map(session=s, actor=hotline.as_role("handler")).total == 0  # not its department
        assert consoles.case_map(session=s, actor=hotline.as_role("grid_worker")).total == 0  # another grid
