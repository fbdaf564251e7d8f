"""Case search (number, keyword, caller phone, dates, region, category) through the one filter the
list page, the API and the Excel export share, under policy.visible; the export of a filtered list
is that list (same cases, same order); the phone search is for the 12345 centre only; the current
tab is marked; the case sheet and the evaluation print."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook

from cityos.cases import service
from cityos.cases.schemas import ReportIn
from cityos.core import clock

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 10:00 in 临沂
JQS = (118.351234, 35.051987)  # 兰山区, 金雀山社区第1网格
LZ = (118.281, 34.991)  # 罗庄区
PHONE = "13912345678"
FORMULA = "=1+2 井盖缺失"


@pytest.fixture
def cases(city, db):  # type: ignore[no-untyped-def]
    """Eight cases over four days: two districts, two categories, two with a caller's phone."""
    made = []
    with db.transaction() as s:
        service.load_default_taxonomy(session=s, actor=city.as_role("admin"))
    specs = [
        ("E0402", "店外经营占道", JQS, "", "hotline"),
        ("E0102", "井盖缺失，有危险", JQS, PHONE, "hotline"),
        ("E0402", "门前堆物", LZ, "", "citizen"),
        ("E0102", FORMULA, LZ, "", "citizen"),
        ("E0402", "占道摆摊", JQS, "13800001111", "hotline"),
        ("E0102", "井盖松动", JQS, "", "citizen"),
        ("E0402", "流动摊贩占道", LZ, "", "citizen"),
        ("E0102", "雨水井盖破损", JQS, "", "citizen"),
    ]
    for i, (cat, desc, (lon, lat), phone, channel) in enumerate(specs):
        with clock.frozen(T0 + timedelta(hours=12 * i)), db.transaction() as s:
            actor = city.as_role("dispatcher" if channel == "hotline" else "citizen")
            made.append(
                service.report_case(
                    session=s,
                    actor=actor,
                    report=ReportIn(
                        category_code=cat,
                        description=desc,
                        channel=channel,
                        lon=lon,
                        lat=lat,
                        address=f"测试路{i + 1}号",
                        reporter_name="李四" if phone else "",
                        reporter_phone=phone,
                    ),
                )
            )
    return made


def _api(client, **params):  # type: ignore[no-untyped-def]
    r = client.get("/api/v1/cases", params={"limit": 500, **params})
    assert r.status_code == 200, r.text
    return [c["number"] for c in r.json()["items"]]


def _xlsx_numbers(content: bytes) -> list[str]:
    ws = load_workbook(io.BytesIO(content)).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][:3] == ("案件编号", "问题类别", "状态")
    return [r[0] for r in rows[1:]]


def test_search_fields(cases, city, client):  # type: ignore[no-untyped-def]
    by_no = {c.description: c.number for c in cases}
    city.login(client, "dispatcher")
    newest_first = [c.number for c in reversed(cases)]
    assert _api(client) == newest_first
    assert _api(client, number=cases[3].number[-6:]) == [cases[3].number]
    wells = [by_no["雨水井盖破损"], by_no["井盖松动"], by_no[FORMULA], by_no["井盖缺失，有危险"]]
    assert _api(client, q="井盖") == wells
    assert _api(client, q="测试路3号") == [cases[2].number]  # the address too
    assert _api(client, phone="139-1234-5678") == [cases[1].number]
    assert _api(client, region="371311") == [cases[6].number, cases[3].number, cases[2].number]
    assert _api(client, category="E0102", region="371302") == [w for w in wells if w != by_no[FORMULA]]
    # local days: case i is reported at 10:00 or 22:00 on 03-02 + i//2, so 03-03 holds cases 2 and 3
    assert _api(client, date_from="2026-03-03", date_to="2026-03-03") == [cases[3].number, cases[2].number]
    assert _api(client, date_from="2026-03-05") == [cases[7].number, cases[6].number]


def test_a_filter_never_widens_visibility(cases, city, client):  # type: ignore[no-untyped-def]
    city.login(client, "inspector")  # 兰山区 only
    assert _api(client, region="371311") == []
    assert _api(client, q="门前堆物") == []
    assert _api(client) == [c.number for c in reversed(cases) if c.region_code.startswith("371302")]


def test_only_the_centre_searches_by_phone(cases, city, client):  # type: ignore[no-untyped-def]
    city.login(client, "inspector")
    r = client.get("/api/v1/cases", params={"phone": PHONE})
    assert r.status_code == 403
    assert r.json()["error"]["field"] == "phone"
    assert 'name="phone"' not in client.get("/cases").text
    assert client.get("/cases/export.xlsx", params={"phone": PHONE}).status_code == 403
    client.post("/logout")
    city.login(client, "dispatcher")
    assert 'name="phone"' in client.get("/cases").text
    # the public has no phone filter: Open311 answers its list without the phone or the name
    public = client.get("/open311/v2/requests.json", params={"phone": PHONE, "extensions": "true"}).text
    assert PHONE not in public and "李四" not in public


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"q": "占道"},
        {"category": "E0102", "region": "371302"},
        {"date_from": "2026-03-03", "date_to": "2026-03-04"},
        {"state": "reported"},
    ],
)
def test_the_export_of_a_filtered_list_is_the_list(cases, city, client, params):  # type: ignore[no-untyped-def]
    city.login(client, "dispatcher")
    listed = _api(client, **params)
    api = client.get("/api/v1/cases/export.xlsx", params=params)
    assert api.status_code == 200, api.text
    assert _xlsx_numbers(api.content) == listed
    page = client.get("/cases", params={"view": "all", **params}).text
    assert [n for n in listed if n in page] == listed
    export = client.get("/cases/export.xlsx", params={"view": "all", **params})
    assert export.status_code == 200
    assert _xlsx_numbers(export.content) == listed
    assert 'href="/cases/export.xlsx?' in page


def test_the_export_writes_typed_text_as_text(cases, city, client):  # type: ignore[no-untyped-def]
    city.login(client, "dispatcher")
    r = client.get("/api/v1/cases/export.xlsx", params={"q": "=1+2"})
    ws = load_workbook(io.BytesIO(r.content)).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[1][5] == "'" + FORMULA
    # names, not codes: the state, channel and region as a person reads them
    assert rows[1][2] == "已上报" and rows[1][4] == "市民上报" and rows[1][7].startswith("罗庄")


def test_the_current_tab_is_marked_and_pages_print(cases, city, client):  # type: ignore[no-untyped-def]
    city.login(client, "dispatcher")
    page = client.get("/cases").text  # a dispatcher starts on the queue
    assert 'class="active" aria-current="page" data-testid="view-queue"' in page
    assert page.count('aria-current="page" data-testid="view-') == 1
    page = client.get("/cases", params={"view": "all", "q": "占道"}).text
    assert 'aria-current="page" data-testid="view-all"' in page
    assert 'value="占道"' in page
    sheet = client.get(f"/cases/{cases[0].id}").text
    assert 'data-testid="sheet-title"' in sheet and "派遣单" in sheet and "data-print" in sheet
    city.login(client, "leader")
    ev = client.get("/cases/evaluation").text
    assert "/static/css/cases.css" in ev and "data-print" in ev
    css = (Path(__file__).parents[2] / "src/cityos/web/static/css/cases.css").read_text()
    assert "@media print" in css
