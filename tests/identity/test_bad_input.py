"""Bad input to the identity and geo routes is answered 4xx with the error schema, never 500:
an empty parent region (it reached the database as a region coded "" and failed its foreign key),
integers past 64 bits in offsets, and coordinates that are not finite or out of range."""

from __future__ import annotations

import pytest

from cityos.identity import service


@pytest.fixture
def admin_token(city, db) -> dict[str, str]:
    with db.transaction() as s:
        new = service.create_token(
            session=s, actor=city.as_role("admin"), client="测试", scopes=["admin", "geo", "admin.users"]
        )
    return {"Authorization": f"Bearer {new.token}"}


def _is_client_error(r) -> None:  # type: ignore[no-untyped-def]
    assert 400 <= r.status_code < 500, (r.status_code, r.text)
    body = r.json()["error"]
    assert body["code"] and body["message"]["zh-CN"] and body["message"]["en"]


@pytest.mark.parametrize(
    "region",
    [
        {"code": "371400", "name": "德州市", "level": "city", "parent_code": ""},
        {"code": "371303", "name": "河东区", "level": "district", "parent_code": ""},
        {"code": "371303", "name": "河东区", "level": "district", "parent_code": "   "},
        {"code": "371303", "name": "河东区", "level": "district", "parent_code": "371300", "lon": "NaN"},
        {"code": "371303", "name": "河东区", "level": "district", "parent_code": "371300", "lat": 1e308},
    ],
)
def test_bad_regions_are_refused_not_500(client, admin_token, region):
    r = client.post("/api/v1/identity/regions", json=region, headers=admin_token)
    if region["level"] == "city" and set(region) == {"code", "name", "level", "parent_code"}:
        # an empty parent of a city means "no parent": the city is created
        assert r.status_code == 201, r.text
        assert r.json()["parent_code"] is None
    else:
        _is_client_error(r)


@pytest.mark.parametrize(
    "query",
    [
        "offset=99999999999999999999999",
        "offset=9223372036854775808",
        "offset=-1",
        "limit=0",
        "limit=99999999999999999999",
    ],
)
def test_huge_or_negative_paging_is_refused(client, admin_token, query):
    _is_client_error(client.get(f"/api/v1/identity/users?{query}", headers=admin_token))


@pytest.mark.parametrize(
    "query",
    ["lon=nan&lat=35", "lon=inf&lat=35", "lon=1e308&lat=35", "lon=118.3&lat=-1e308", "lon=118&lat=35&crs=x"],
)
def test_bad_coordinates_are_refused(client, admin_token, query):
    _is_client_error(client.get(f"/api/v1/geo/locate?{query}", headers=admin_token))
    _is_client_error(client.get(f"/api/v1/geo/nearby?{query}", headers=admin_token))


def test_region_form_with_an_empty_parent_is_a_message_not_500(city, client):
    city.login(client, "admin")
    r = client.post(
        "/admin/regions",
        data={
            "code": "371303",
            "name": "河东区",
            "level": "district",
            "parent_code": "",
            "csrf_token": city.csrf(client),
        },
    )
    assert r.status_code == 422 and "上级" in r.text
