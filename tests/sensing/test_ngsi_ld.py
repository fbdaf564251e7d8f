"""The NGSI-LD subset at /ngsi-ld/v1/ on both databases, with the shapes of ETSI GS CIM 009:
normalized entities (Property with observedAt and unitCode, GeoProperty location), the temporal
representation, Location on create, ProblemDetails with the specification's type URIs, and the
@context rules (inline with application/ld+json, a Link header with application/json)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from cityos.identity import service as identity
from tests.sensing.conftest import LAT, LON, NOW

CORE = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context.jsonld"
ERR = "https://uri.etsi.org/ngsi-ld/errors/"
EID = "urn:ngsi-ld:FloodMonitoring:dr-7"


def entity(eid: str = EID, level: float = 0.42, at: str = "2026-12-02T01:50:00Z") -> dict[str, Any]:
    return {
        "id": eid,
        "type": "FloodMonitoring",
        "name": {"type": "Property", "value": "沂河路下穿积水点"},
        "currentLevel": {"type": "Property", "value": level, "observedAt": at, "unitCode": "MTR"},
        "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [LON, LAT]}},
    }


@pytest.fixture
def ngsi(sensed, db, client):  # type: ignore[no-untyped-def]
    with db.transaction() as s:
        tok = identity.create_token(
            session=s, actor=identity.SYSTEM, client="orion", scopes=["sensing"]
        ).token
        other = identity.create_token(session=s, actor=identity.SYSTEM, client="gis", scopes=["geo"]).token
    client.headers["Authorization"] = f"Bearer {tok}"
    return client, other


def test_create_get_query_patch_delete(ngsi):  # type: ignore[no-untyped-def]
    c, _ = ngsi
    r = c.post(
        "/ngsi-ld/v1/entities",
        json=entity(),
        headers={"Link": f'<{CORE}>; rel="http://www.w3.org/ns/json-ld#context"'},
    )
    assert (
        r.status_code == 201 and r.headers["location"] == f"/ngsi-ld/v1/entities/{EID}" and r.content == b""
    )
    again = c.post("/ngsi-ld/v1/entities", json=entity())
    assert again.status_code == 409 and again.json()["type"] == ERR + "AlreadyExists"
    assert again.json()["title"] and again.json()["detail"]

    got = c.get(f"/ngsi-ld/v1/entities/{EID}")
    assert got.status_code == 200 and got.headers["content-type"].startswith("application/json")
    assert (
        got.headers["link"]
        == f'<{CORE}>; rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"'
    )
    body = got.json()
    assert "@context" not in body
    assert body == {
        "id": EID,
        "type": "FloodMonitoring",
        "name": {"type": "Property", "value": "沂河路下穿积水点"},
        "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [LON, LAT]}},
        "currentLevel": {
            "type": "Property",
            "value": 0.42,
            "observedAt": "2026-12-02T01:50:00.000Z",
            "unitCode": "MTR",
        },
    }
    ld = c.get(f"/ngsi-ld/v1/entities/{EID}", headers={"Accept": "application/ld+json"})
    assert ld.headers["content-type"].startswith("application/ld+json") and ld.json()["@context"] == CORE
    assert "link" not in ld.headers
    kv = c.get(f"/ngsi-ld/v1/entities/{EID}?options=keyValues&attrs=currentLevel").json()
    assert kv == {"id": EID, "type": "FloodMonitoring", "currentLevel": 0.42}

    # query by type, q and georel=near
    near = "georel=near%3BmaxDistance%3D%3D500&geometry=Point&coordinates=%5B118.352%2C35.052%5D"
    found = c.get(f"/ngsi-ld/v1/entities?type=FloodMonitoring&q=currentLevel%3E0.4&{near}&count=true")
    assert [e["id"] for e in found.json()] == [EID] and found.headers["ngsild-results-count"] == "1"
    assert c.get("/ngsi-ld/v1/entities?type=FloodMonitoring&q=currentLevel%3E0.5").json() == []
    far = "georel=near%3BmaxDistance%3D%3D100&geometry=Point&coordinates=%5B118.36%2C35.06%5D"
    assert c.get(f"/ngsi-ld/v1/entities?type=FloodMonitoring&{far}").json() == []
    # both devices (dr-1 from the fixture, dr-7) are FloodMonitoring entities
    assert {e["id"] for e in c.get("/ngsi-ld/v1/entities?type=FloodMonitoring").json()} == {
        EID,
        "urn:ngsi-ld:FloodMonitoring:dr-1",
    }

    # PATCH attrs: 204; an attribute the entity lacks is reported (207)
    r = c.patch(
        f"/ngsi-ld/v1/entities/{EID}/attrs",
        json={"currentLevel": {"type": "Property", "value": 0.61, "observedAt": "2026-12-02T01:55:00Z"}},
    )
    assert r.status_code == 204
    r = c.patch(f"/ngsi-ld/v1/entities/{EID}/attrs", json={"flow": {"type": "Property", "value": 3}})
    assert r.status_code == 207 and r.json()["notUpdated"][0]["attributeName"] == "flow"
    assert c.get(f"/ngsi-ld/v1/entities/{EID}").json()["currentLevel"]["value"] == 0.61

    # temporal: the readings in a time range, normalized and as temporalValues
    t = c.get(
        f"/ngsi-ld/v1/temporal/entities/{EID}",
        params={
            "attrs": "currentLevel",
            "timerel": "between",
            "timeAt": "2026-12-02T01:00:00Z",
            "endTimeAt": "2026-12-02T02:00:00Z",
        },
    )
    assert t.status_code == 200
    assert t.json() == {
        "id": EID,
        "type": "FloodMonitoring",
        "currentLevel": [
            {"type": "Property", "value": 0.42, "observedAt": "2026-12-02T01:50:00.000Z", "unitCode": "MTR"},
            {"type": "Property", "value": 0.61, "observedAt": "2026-12-02T01:55:00.000Z", "unitCode": "MTR"},
        ],
    }
    tv = c.get(
        f"/ngsi-ld/v1/temporal/entities/{EID}?timerel=after&timeAt=2026-12-02T01:52:00Z&options=temporalValues"
    )
    assert tv.json()["currentLevel"] == {"type": "Property", "values": [[0.61, "2026-12-02T01:55:00.000Z"]]}

    assert c.delete(f"/ngsi-ld/v1/entities/{EID}").status_code == 204
    gone = c.get(f"/ngsi-ld/v1/entities/{EID}")
    assert gone.status_code == 404 and gone.json()["type"] == ERR + "ResourceNotFound"


def upsert_batch(ngsi):  # type: ignore[no-untyped-def]
    c, _ = ngsi
    batch = [entity(f"urn:ngsi-ld:FloodMonitoring:b-{i}", 0.1 * i) for i in range(3)]
    r = c.post("/ngsi-ld/v1/entityOperations/upsert", json=batch)
    assert r.status_code == 201 and r.json() == [e["id"] for e in batch]
    batch[0]["currentLevel"] = {"type": "Property", "value": 0.9, "observedAt": "2026-12-02T01:58:00Z"}
    assert c.post("/ngsi-ld/v1/entityOperations/upsert", json=batch).status_code == 204
    assert c.get(f"/ngsi-ld/v1/entities/{batch[0]['id']}").json()["currentLevel"]["value"] == 0.9
    bad = [entity("urn:ngsi-ld:FloodMonitoring:b-9"), {"id": "not a uri", "type": "FloodMonitoring"}]
    r = c.post("/ngsi-ld/v1/entityOperations/upsert", json=bad)
    assert r.status_code == 207
    assert r.json()["success"] == ["urn:ngsi-ld:FloodMonitoring:b-9"]
    assert r.json()["errors"][0]["entityId"] == "not a uri"
    assert r.json()["errors"][0]["error"]["type"] == ERR + "BadRequestData"
    too_many = [entity(f"urn:ngsi-ld:FloodMonitoring:m-{i}") for i in range(1001)]
    assert (
        c.post("/ngsi-ld/v1/entityOperations/upsert", json=too_many).json()["type"] == ERR + "BadRequestData"
    )


def errors_are_problem_details(ngsi):  # type: ignore[no-untyped-def]
    c, geo_token = ngsi

    def kind(r: Any) -> tuple[int, str]:
        assert r.headers["content-type"].startswith("application/json")
        return r.status_code, r.json()["type"].removeprefix(ERR)

    ld = {"Content-Type": "application/ld+json"}
    assert kind(
        c.post("/ngsi-ld/v1/entities", content=b"{nope", headers={"Content-Type": "application/json"})
    ) == (400, "InvalidRequest")
    assert kind(c.post("/ngsi-ld/v1/entities", json={**entity(), "@context": CORE})) == (
        400,
        "BadRequestData",
    )
    import json

    assert kind(c.post("/ngsi-ld/v1/entities", content=json.dumps(entity()), headers=ld)) == (
        400,
        "BadRequestData",
    )
    ok = c.post("/ngsi-ld/v1/entities", content=json.dumps({**entity(), "@context": [CORE]}), headers=ld)
    assert ok.status_code == 201
    assert kind(c.post("/ngsi-ld/v1/entities", json={**entity("urn:ngsi-ld:Thing:x1"), "type": "Thing"})) == (
        400,
        "BadRequestData",
    )
    assert kind(c.post("/ngsi-ld/v1/entities", json=entity("dr-8"))) == (400, "BadRequestData")
    bad_loc = {
        **entity("urn:ngsi-ld:FloodMonitoring:dr-9"),
        "location": {"type": "Property", "value": [1, 2]},
    }
    assert kind(c.post("/ngsi-ld/v1/entities", json=bad_loc)) == (400, "BadRequestData")
    assert kind(c.get("/ngsi-ld/v1/entities")) == (400, "BadRequestData")
    assert kind(
        c.get("/ngsi-ld/v1/entities?type=FloodMonitoring&georel=near&geometry=Point&coordinates=%5B1%2C2%5D")
    ) == (400, "BadRequestData")
    assert kind(
        c.get(f"/ngsi-ld/v1/temporal/entities/{EID}?timerel=between&timeAt=2026-12-02T01:00:00Z")
    ) == (400, "BadRequestData")
    assert kind(c.get("/ngsi-ld/v1/entities/urn:ngsi-ld:FloodMonitoring:nobody")) == (404, "ResourceNotFound")
    anon = c.get(f"/ngsi-ld/v1/entities/{EID}", headers={"Authorization": ""})
    assert anon.status_code == 401 and anon.json()["detail"]
    wrong_scope = c.get(f"/ngsi-ld/v1/entities/{EID}", headers={"Authorization": f"Bearer {geo_token}"})
    assert wrong_scope.status_code == 403


def test_an_entity_update_is_telemetry_and_runs_the_rules(ngsi, db):  # type: ignore[no-untyped-def]
    """dr-1 (the fixture's sensor, under the 0.5 m rule) updated through NGSI-LD raises the alarm."""
    c, _ = ngsi
    for m, v in ((0, 0.6), (5, 0.7), (10, 0.8)):
        at = (NOW - timedelta(minutes=20 - m)).isoformat().replace("+00:00", "Z")
        r = c.patch(
            "/ngsi-ld/v1/entities/urn:ngsi-ld:FloodMonitoring:dr-1/attrs",
            json={"currentLevel": {"type": "Property", "value": v, "observedAt": at}},
        )
        assert r.status_code == 204, r.text
    from cityos.sensing import service

    with db.reader() as s:
        (alarm,) = service.list_alarms(session=s, actor=identity.SYSTEM)
    assert alarm.device_id == "dr-1" and alarm.value == 0.8


def test_upsert_batch_and_errors(ngsi):  # type: ignore[no-untyped-def]
    upsert_batch(ngsi)
    errors_are_problem_details(ngsi)
