"""回访: the reporter rates a closed case once; the public case page hides personal data."""

from __future__ import annotations

import pytest

from cityos.cases import service
from cityos.cases.schemas import ReportIn
from cityos.core.errors import Conflict, Forbidden, Invalid


@pytest.fixture
def closed_case(city, db):  # type: ignore[no-untyped-def]
    with db.transaction() as s:
        service.load_default_taxonomy(session=s, actor=city.as_role("admin"))
        c = service.report_case(
            session=s,
            actor=city.as_role("citizen"),
            report=ReportIn(
                category_code="E0402",
                description="店外经营",
                lon=118.3515,
                lat=35.0515,
                reporter_name="王小明",
                reporter_phone="13912345678",
            ),
        )
        for role, action, kw in [
            ("dispatcher", "file", {}),
            ("dispatcher", "dispatch", {"department_code": "ls-cgj"}),
            ("handler", "accept", {}),
            ("handler", "report_back", {"reason": "已清理"}),
        ]:
            service.transition(session=s, actor=city.as_role(role), case_id=c.id, action=action, **kw)
    return c


def test_reporter_rates_once_after_closing(city, db, closed_case):
    with pytest.raises(Conflict) as e, db.transaction() as s:
        service.rate_case(session=s, actor=city.as_role("citizen"), case_id=closed_case.id, score=5)
    assert e.value.code == "not_closed"
    with db.transaction() as s:
        service.transition(
            session=s, actor=city.as_role("inspector"), case_id=closed_case.id, action="verify"
        )
    with pytest.raises(Forbidden), db.transaction() as s:
        service.rate_case(session=s, actor=city.as_role("handler"), case_id=closed_case.id, score=5)
    with pytest.raises(Invalid), db.transaction() as s:
        service.rate_case(session=s, actor=city.as_role("citizen"), case_id=closed_case.id, score=6)
    with db.transaction() as s:
        c = service.rate_case(
            session=s, actor=city.as_role("citizen"), case_id=closed_case.id, score=4, note="很快"
        )
    assert c.satisfaction == 4
    with pytest.raises(Conflict), db.transaction() as s:
        service.rate_case(session=s, actor=city.as_role("dispatcher"), case_id=closed_case.id, score=1)


def test_public_page_hides_personal_data(city, client, closed_case):
    r = client.get(f"/p/cases/{closed_case.number}")  # no login
    assert r.status_code == 200 and closed_case.number in r.text and "已清理" in r.text
    for secret in ("王小明", "13912345678", "citizen1", "handler1", "118.3515", "网格"):
        assert secret not in r.text
    assert "兰山街道" in r.text
    assert client.get("/p/cases/000").status_code == 404


def test_rating_through_the_case_page(city, client, db, closed_case):
    with db.transaction() as s:
        service.transition(
            session=s, actor=city.as_role("inspector"), case_id=closed_case.id, action="verify"
        )
    city.login(client, "citizen")
    page = client.get(f"/cases/{closed_case.id}")
    assert 'data-testid="rate-form"' in page.text
    r = client.post(
        f"/cases/{closed_case.id}/rate",
        data={"csrf_token": city.csrf(client), "score": "5"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert "★★★★★" in client.get(f"/cases/{closed_case.id}").text


def test_report_page_names_bad_input_and_keeps_the_form(city, client, db):
    with db.transaction() as s:
        service.load_default_taxonomy(session=s, actor=city.as_role("admin"))
    city.login(client, "citizen")
    csrf = city.csrf(client)
    r = client.post(
        "/cases/report",
        data={
            "csrf_token": csrf,
            "category_code": "E0402",
            "description": "占道",
            "lon": "东经118度",
            "lat": "35.05",
        },
    )
    assert r.status_code == 422 and "经纬度必须是数字" in r.text and "占道" in r.text
    r = client.post(
        "/cases/report",
        data={
            "csrf_token": csrf,
            "category_code": "E0402",
            "description": "占道",
            "lon": "100.0",
            "lat": "30.0",
        },
    )
    assert r.status_code == 422 and "该位置不在本市网格范围内" in r.text
    r = client.post(
        "/cases/report",
        data={
            "csrf_token": csrf,
            "category_code": "E0402",
            "description": "占道",
            "lon": "118.3515",
            "lat": "35.0515",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303 and "reported=1" in r.headers["location"]
