"""What anyone may see of a case is one projection (cases/policy.public_projection), and the public
case page and every Open311 answer (JSON and XML requests, one request, the update feed) give the
same one: coordinates rounded to 0.001°, only the notes meant for the public, no names, no phones,
the reporter's comment only when they allowed it. And an `open311` token reaches the Open311
endpoints and nothing else."""

from __future__ import annotations

import io
from xml.etree import ElementTree as ET

import pytest
from PIL import Image

from cityos.cases import attachments, service
from cityos.cases.schemas import ReportIn
from cityos.identity import service as identity

LON, LAT = 118.351234, 35.051987  # in grid 37130200100101
INTERNAL = "内部备注:联系人王五"
RESULT = "占道摊位已清理"
COMMENT = "处理很快,谢谢"


def _close(s, city, case_id, result=RESULT):  # type: ignore[no-untyped-def]
    d, h, i = city.as_role("dispatcher"), city.as_role("handler"), city.as_role("inspector")
    for actor, action, reason in (
        (d, "file", ""),
        (d, "dispatch", ""),
        (h, "return", INTERNAL),  # a department's working note: never public
        (d, "dispatch", ""),
        (h, "accept", ""),
        (d, "extend", INTERNAL),
        (h, "report_back", result),
        (i, "verify", ""),
    ):
        service.transition(
            session=s,
            actor=actor,
            case_id=case_id,
            action=action,
            reason=reason,
            department_code="ls-cgj",
            hours=2,
        )


@pytest.fixture
def closed(city, db):  # type: ignore[no-untyped-def]
    """Two closed cases at an exact point: the first rated with a private comment, the second with
    a comment its reporter allowed to be shown. The first was taken by the hotline with a name and
    a phone."""
    with db.transaction() as s:
        service.load_default_taxonomy(session=s, actor=city.as_role("admin"))
        hot = service.report_case(
            session=s,
            actor=city.as_role("dispatcher"),
            report=ReportIn(
                category_code="E0402",
                description="店外经营占道",
                channel="hotline",
                lon=LON,
                lat=LAT,
                reporter_name="李四",
                reporter_phone="13912345678",
            ),
        )
        _close(s, city, hot.id)
        service.rate_case(session=s, actor=city.as_role("dispatcher"), case_id=hot.id, score=4, note=COMMENT)
        own = service.report_case(
            session=s,
            actor=city.as_role("citizen"),
            report=ReportIn(
                category_code="E0402", description="门前堆物", channel="citizen", lon=LON, lat=LAT
            ),
        )
        _close(s, city, own.id, result="堆物已清走")
        service.rate_case(
            session=s, actor=city.as_role("citizen"), case_id=own.id, score=5, note="满意,公开", public=True
        )
    return hot, own


def _anonymous_texts(client, number):  # type: ignore[no-untyped-def]
    return {
        "page": client.get(f"/p/cases/{number}").text,
        "json": client.get(f"/open311/v2/requests/{number}.json", params={"extensions": "true"}).text,
        "xml": client.get(f"/open311/v2/requests/{number}.xml", params={"extensions": "true"}).text,
        "list": client.get("/open311/v2/requests.json", params={"extensions": "true"}).text,
        "updates": client.get("/open311/v2/servicerequestupdates.json").text,
        "updates_xml": client.get("/open311/v2/servicerequestupdates.xml").text,
    }


def test_nothing_private_reaches_the_public(closed, client):  # type: ignore[no-untyped-def]
    hot, own = closed
    for number in (hot.number, own.number):
        for where, text in _anonymous_texts(client, number).items():
            for secret in (INTERNAL, COMMENT, "李四", "13912345678", "测试", str(LON), str(LAT), "118.35123"):
                assert secret not in text, (where, secret)


def test_open311_json_xml_and_the_public_page_give_the_same_projection(closed, client):  # type: ignore[no-untyped-def]
    hot, own = closed
    for case, public_notes in ((hot, [RESULT]), (own, ["堆物已清走", "满意,公开"])):
        js = client.get(f"/open311/v2/requests/{case.number}.json", params={"extensions": "true"}).json()[0]
        xml = ET.fromstring(
            client.get(f"/open311/v2/requests/{case.number}.xml", params={"extensions": "true"}).content
        ).find("request")
        assert xml is not None
        assert (js["lat"], js["long"]) == (35.052, 118.351)
        assert (float(xml.findtext("lat") or 0), float(xml.findtext("long") or 0)) == (35.052, 118.351)
        notes = [n["summary"] for n in js["extended_attributes"]["notes"] if n["summary"]]
        assert notes == public_notes
        xml_notes = [n.findtext("summary") for n in xml.iter("item") if n.findtext("summary")]
        assert xml_notes == public_notes
        assert js["status_notes"] == public_notes[-1] == xml.findtext("status_notes")
        assert js["agency_responsible"] == "兰山区城市管理局" == xml.findtext("agency_responsible")
        page = client.get(f"/p/cases/{case.number}").text
        assert "(35.052, 118.351)" in page
        assert [n for n in public_notes if f"<q>{n}</q>" in page] == public_notes
        # the same steps in the same order, with the same notes, on the page and in Open311
        feed = [
            u
            for u in client.get("/open311/v2/servicerequestupdates.json").json()
            if u["service_request_id"] == case.number
        ]
        assert [u["update_id"] for u in feed] == [x.split('"')[0] for x in page.split('data-update="')[1:]]
        assert [u["description"] for u in feed if u["description"] in public_notes] == public_notes


def test_an_open311_token_reaches_open311_and_nothing_else(closed, city, db, client):  # type: ignore[no-untyped-def]
    hot, _own = closed
    with db.transaction() as s:
        key = identity.create_token(
            session=s, actor=city.as_role("admin"), client="市民通", scopes=["open311"]
        ).token
        photo = io.BytesIO()
        Image.new("RGB", (40, 30), "red").save(photo, format="JPEG")
        att = attachments.add_attachment(
            session=s,
            actor=city.as_role("dispatcher"),
            case_id=hot.id,
            stage="before",
            filename="a.jpg",
            data=photo.getvalue(),
        )
    bearer = {"Authorization": f"Bearer {key}"}
    for path in (
        "/api/v1/cases",
        f"/api/v1/cases/{hot.id}",
        f"/api/v1/cases/{hot.id}/timeline",
        f"/api/v1/cases/{hot.id}/attachments",
        f"/api/v1/cases/{hot.id}/attachments/{att.id}/file",
        f"/api/v1/cases/{hot.id}/attachments/{att.id}/file?rendition=public",
    ):
        r = client.get(path, headers=bearer)
        assert r.status_code == 403, (path, r.status_code)
    assert client.post("/api/v1/cases", json={}, headers=bearer).status_code in (403, 422)
    r = client.post(
        "/api/v1/cases",
        headers=bearer,
        json={"category_code": "E0402", "description": "x", "channel": "api", "lon": LON, "lat": LAT},
    )
    assert r.status_code == 403
    # what the token is for still works, photo included
    r = client.post(
        "/open311/v2/requests.json",
        data={
            "api_key": key,
            "service_code": "E0402",
            "lat": str(LAT),
            "long": str(LON),
            "description": "占道",
        },
        files={"media": ("p.jpg", photo.getvalue(), "image/jpeg")},
    )
    assert r.status_code == 200, r.text
    number = r.json()[0]["service_request_id"]
    row = client.get(f"/open311/v2/requests/{number}.json").json()[0]
    assert row["media_url"].endswith(f"/p/cases/{number}/photos/{att.id + 1}")
    assert (row["lat"], row["long"]) == (35.052, 118.351)


def test_open311_numbers_and_dates_past_the_limits_are_400(closed, client):  # type: ignore[no-untyped-def]
    huge = str(2**63)
    for params in (
        {"page": huge},
        {"page_size": huge},
        {"page": str(2**62), "page_size": "1000"},  # an offset past 64 bits
        {"start_date": "0001-01-01T00:00:00Z"},
        {"end_date": "0001-01-01T00:00:00Z"},
        {"end_date": "9999-12-31T23:59:59+08:00"},
    ):
        for path in ("/open311/v2/requests.json", "/open311/v2/servicerequestupdates.json"):
            r = client.get(path, params=params)
            if path.endswith("updates.json") and set(params) & {"page", "page_size"}:
                continue  # the update feed has no pages
            assert r.status_code == 400, (path, params, r.status_code)
            assert r.json()[0]["code"] == 400
