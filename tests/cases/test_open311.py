"""Open311 GeoReport v2, XML and JSON, field by field as the specification writes them, with its
errors (missing service_code, bad api_key, bad dates), extensions and the update feed."""

from __future__ import annotations

import re
from xml.etree import ElementTree as ET

import pytest

from cityos.cases import service
from cityos.identity import service as identity

REQUEST_FIELDS = [
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
]
W3 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$")


@pytest.fixture
def o311(city, db, client):  # type: ignore[no-untyped-def]
    with db.transaction() as s:
        service.load_default_taxonomy(session=s, actor=city.as_role("admin"))
        key = identity.create_token(
            session=s, actor=city.as_role("admin"), client="市民通 App", scopes=["open311"]
        ).token
    return client, key


def post(client, key, **fields):  # type: ignore[no-untyped-def]
    data = {
        "api_key": key,
        "service_code": "E0402",
        "lat": "35.0515",
        "long": "118.3515",
        "description": "店外经营占道",
        **fields,
    }
    return client.post("/open311/v2/requests.json", data={k: v for k, v in data.items() if v is not None})


def test_services_in_json_and_xml(o311):
    client, _ = o311
    js = client.get("/open311/v2/services.json")
    assert js.headers["content-type"].startswith("application/json")
    rows = js.json()
    assert len(rows) >= 60
    row = next(r for r in rows if r["service_code"] == "E0505")
    assert set(row) == {
        "service_code",
        "service_name",
        "description",
        "metadata",
        "type",
        "keywords",
        "group",
    }
    assert row["service_name"] == "道路积水" and row["metadata"] is True and row["type"] == "realtime"
    assert next(r for r in rows if r["service_code"] == "E0402")["metadata"] is False
    xml = client.get("/open311/v2/services.xml")
    assert xml.headers["content-type"].startswith("text/xml") and xml.text.startswith(
        '<?xml version="1.0" encoding="utf-8"?>'
    )
    root = ET.fromstring(xml.content)
    assert root.tag == "services" and root[0].tag == "service"
    first = {c.tag: c.text for c in root[0]}
    assert first["metadata"] in ("true", "false") and first["type"] == "realtime"


def test_service_definition_with_attributes(o311):
    client, _ = o311
    d = client.get("/open311/v2/services/E0505.json").json()
    assert d["service_code"] == "E0505"
    a = d["attributes"][0]
    assert {k: a[k] for k in ("variable", "code", "datatype", "required", "order")} == {
        "variable": True,
        "code": "DEPTH",
        "datatype": "singlevaluelist",
        "required": True,
        "order": 1,
    }
    assert [v["key"] for v in a["values"]] == ["lt10", "10to30", "gt30"]
    root = ET.fromstring(client.get("/open311/v2/services/E0505.xml").content)
    assert root.tag == "service_definition"
    assert root.find("attributes/attribute/values/value/key").text == "lt10"
    r = client.get("/open311/v2/services/X9999.json")
    assert r.status_code == 404 and r.json() == [{"code": 404, "description": "service_code X9999 not found"}]


def test_post_a_request_and_read_it_back(o311, db):
    client, key = o311
    r = post(client, key, first_name="伟", last_name="张", phone="13800000000")
    assert r.status_code == 200, r.text
    [created] = r.json()
    assert set(created) == {"service_request_id", "service_notice", "account_id"}
    rid = created["service_request_id"]
    [req] = client.get("/open311/v2/requests.json", params={"service_request_id": rid}).json()
    assert list(req) == REQUEST_FIELDS
    assert req["status"] == "open" and req["service_code"] == "E0402" and req["service_name"] == "店外经营"
    # the public projection: rounded to 0.001° (about 100 m), never the exact point
    assert (req["lat"], req["long"]) == (round(35.0515, 3), round(118.3515, 3))
    assert W3.match(req["requested_datetime"]) and req["requested_datetime"].endswith("+08:00")
    assert W3.match(req["expected_datetime"])
    assert "13800000000" not in client.get(f"/open311/v2/requests/{rid}.json").text  # no personal data
    root = ET.fromstring(client.get(f"/open311/v2/requests/{rid}.xml").content)
    assert root.tag == "service_requests" and root[0].tag == "request"
    assert [c.tag for c in root[0]] == REQUEST_FIELDS
    assert client.get(f"/open311/v2/tokens/{rid}.json").json() == [{"service_request_id": rid, "token": rid}]
    ext = client.get(f"/open311/v2/requests/{rid}.json", params={"extensions": "true"}).json()[0]
    assert ext["extended_attributes"]["channel"] == "api"
    assert ext["extended_attributes"]["notes"][0]["type"] == "report"


def test_post_errors_as_the_spec_writes_them(o311):
    client, key = o311
    r = post(client, key, service_code=None)
    assert r.status_code == 400 and r.json() == [
        {"code": 400, "description": "service_code was not provided"}
    ]
    r = post(client, "cos_nope_nope")
    assert r.status_code == 403
    assert r.json() == [
        {"code": 403, "description": "Invalid api_key received -- can't proceed with create_request."}
    ]
    r = client.post(
        "/open311/v2/requests.xml", data={"service_code": "E0402", "lat": "35.05", "long": "118.35"}
    )
    root = ET.fromstring(r.content)
    assert r.status_code == 403 and root.tag == "errors" and root[0].find("code").text == "403"
    r = post(client, key, lat=None, long=None)
    assert r.status_code == 400 and "address_string" in r.json()[0]["description"]
    r = post(client, key, service_code="E0505")
    assert r.status_code == 400 and "attribute[DEPTH]" in r.json()[0]["description"]
    r = post(client, key, service_code="E0505", **{"attribute[DEPTH]": "gt30"})
    assert r.status_code == 200
    r = post(client, key, lat="30.0", long="100.0")
    assert r.status_code == 400 and r.json()[0]["description"] == "The location is outside the city's grids"


def test_address_only_request(o311):
    client, key = o311
    r = post(client, key, lat=None, long=None, address_string="临沂市兰山区沂蒙路 12 号")
    assert r.status_code == 200
    rid = r.json()[0]["service_request_id"]
    req = client.get(f"/open311/v2/requests/{rid}.json").json()[0]
    assert req["address"] == "临沂市兰山区沂蒙路 12 号" and req["lat"] is None


def test_query_requests_dates_status_and_pages(o311):
    client, key = o311
    ids = [post(client, key).json()[0]["service_request_id"] for _ in range(3)]
    rows = client.get("/open311/v2/requests.json", params={"status": "open", "service_code": "E0402"}).json()
    assert {r["service_request_id"] for r in rows} == set(ids)
    assert client.get("/open311/v2/requests.json", params={"status": "closed"}).json() == []
    page = client.get("/open311/v2/requests.json", params={"page": 2, "page_size": 2}).json()
    assert len(page) == 1
    r = client.get("/open311/v2/requests.json", params={"start_date": "yesterday"})
    assert r.status_code == 400 and "start_date" in r.json()[0]["description"]
    r = client.get(
        "/open311/v2/requests.json",
        params={"start_date": "2026-01-01T00:00:00+08:00", "end_date": "2026-06-01T00:00:00+08:00"},
    )
    assert r.status_code == 400 and "90 days" in r.json()[0]["description"]
    r = client.get("/open311/v2/requests.json", params={"status": "pending"})
    assert r.status_code == 400


def test_jurisdiction_and_unknown_request(o311):
    client, _ = o311
    assert client.get("/open311/v2/services.json", params={"jurisdiction_id": "371300"}).status_code == 200
    r = client.get("/open311/v2/services.json", params={"jurisdiction_id": "110000"})
    assert r.status_code == 404 and r.json()[0]["code"] == 404
    r = client.get("/open311/v2/requests/0000.json")
    assert r.status_code == 404


def test_update_feed_follows_the_loop(o311, city, db):
    client, key = o311
    rid = post(client, key).json()[0]["service_request_id"]
    with db.reader() as s:
        case_id = service.find_by_number(session=s, actor=city.as_role("dispatcher"), number=rid).id
    with db.transaction() as s:
        service.transition(
            session=s, actor=city.as_role("dispatcher"), case_id=case_id, action="reject", reason="重复上报"
        )
    rows = client.get("/open311/v2/servicerequestupdates.json").json()
    mine = [r for r in rows if r["service_request_id"] == rid]
    assert [r["status"] for r in mine] == ["OPEN", "CLOSED"]
    assert set(mine[1]) == {
        "update_id",
        "service_request_id",
        "status",
        "updated_datetime",
        "description",
        "media_url",
    }
    assert mine[1]["description"] == "重复上报"
    root = ET.fromstring(client.get("/open311/v2/servicerequestupdates.xml").content)
    assert root.tag == "service_request_updates" and root[0].tag == "request_update"
    [closed] = client.get("/open311/v2/requests.json", params={"service_request_id": rid}).json()
    assert closed["status"] == "closed" and closed["status_notes"] == "重复上报"


def test_discovery(o311):
    client, _ = o311
    d = client.get("/open311/v2/discovery.json").json()
    assert d["endpoints"][0]["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert "text/xml" in d["endpoints"][0]["formats"]
