"""The citizen's report form: no coordinate system to choose (the phone's GPS is WGS84; staff keep
the choice), the browser's refusal of the location said in Chinese with what to do next, an
address alone is enough (a district or street may be picked, or the dispatcher places it), and
the category starts empty with the most reported 小类 first and a search box over all 82."""

from __future__ import annotations

import re

import pytest

from cityos.cases import service
from cityos.cases.schemas import ReportIn

LANSHAN = {"lon": 118.351234, "lat": 35.051987}


@pytest.fixture
def reported(city, db):  # type: ignore[no-untyped-def]
    """Three reports of E0102, one of E0402: E0102 is the most reported."""
    with db.transaction() as s:
        service.load_default_taxonomy(session=s, actor=city.as_role("admin"))
        for code in ("E0102", "E0402", "E0102", "E0102"):
            service.report_case(
                session=s,
                actor=city.as_role("citizen"),
                report=ReportIn(category_code=code, description="测试", channel="citizen", **LANSHAN),
            )


def _post(city, client, **fields):  # type: ignore[no-untyped-def]
    data = {"csrf_token": city.csrf(client), "category_code": "E0402", "description": "门前堆物", **fields}
    return client.post("/cases/report", data=data, follow_redirects=False)


def test_the_form_for_a_citizen(reported, city, client):  # type: ignore[no-untyped-def]
    city.login(client, "citizen")
    page = client.get("/cases/report").text
    assert '<select name="crs"' not in page and '<input type="hidden" name="crs" value="wgs84">' in page
    assert "未获得定位权限" in page and "User denied" not in page
    assert 'data-testid="category-search"' in page
    select = page[page.index('data-testid="category-select"') :]
    first = re.search(r'<option value="([^"]*)"', select)
    assert first and first.group(1) == ""  # nothing chosen for the citizen
    common = select[select.index('data-testid="common-categories"') : select.index("</optgroup>")]
    assert re.findall(r'<option value="([^"]+)"', common) == ["E0102", "E0402"]
    options = re.findall(r'<option value="(\w+)"', select[: select.index("</select>")])
    assert len(options) == 82 + 2  # every 小类, and the two common ones again on top
    assert "区划代码" not in page
    assert 'data-testid="report-region"' in page and "371302001" in page


def test_staff_keep_the_coordinate_system(reported, city, client):  # type: ignore[no-untyped-def]
    city.login(client, "dispatcher")
    assert '<select name="crs"' in client.get("/cases/report").text


def test_an_address_alone_is_a_report(reported, city, client, db):  # type: ignore[no-untyped-def]
    city.login(client, "citizen")
    r = _post(city, client, address="沂蒙路88号门前")
    assert r.status_code == 303, r.text
    case_id = int(re.search(r"/cases/(\d+)", r.headers["location"]).group(1))
    with db.reader() as s:
        case = service.get_case(session=s, actor=city.as_role("dispatcher"), case_id=case_id)
    assert case.region_code == "371300" and case.lon is None  # the whole city: the dispatcher places it
    r = _post(city, client, address="银雀山路1号", region_code="371302002")
    assert r.status_code == 303, r.text
    case_id = int(re.search(r"/cases/(\d+)", r.headers["location"]).group(1))
    with db.reader() as s:
        assert service.get_case(session=s, actor=city.as_role("dispatcher"), case_id=case_id).region_code == (
            "371302002"
        )
    r = _post(city, client)  # no position and no address: still refused, in Chinese
    assert r.status_code == 422 and "位置" in r.text
