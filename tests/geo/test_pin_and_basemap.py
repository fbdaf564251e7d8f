"""The report form's map for citizens (geo.pin: outlines and the grid at a point, nothing geo.view
protects) and the tile base map's settings."""

from __future__ import annotations

import dataclasses

import pytest

from cityos.core.settings import get_settings, use_settings
from cityos.web import basemap
from cityos.web.app import CSP, content_security_policy


def test_citizen_places_a_pin_without_seeing_what_geo_view_protects(city, client):
    assert client.get("/api/v1/geo/pin/place", params={"lon": 118.3515, "lat": 35.0515}).status_code == 401
    city.login(client, "citizen")
    assert client.get("/api/v1/geo/grids.geojson").status_code == 403
    assert client.get("/api/v1/geo/locate", params={"lon": 118.3515, "lat": 35.0515}).status_code == 403
    fc = client.get("/api/v1/geo/pin/outlines", params={"level": "street", "under": "371302"}).json()
    assert [f["properties"]["code"] for f in fc["features"]] == ["371302001", "371302002"]
    for f in fc["features"]:
        assert set(f["properties"]) == {"code", "name", "level", "point"}  # no workers, no counts
    r = client.get("/api/v1/geo/pin/outlines", params={"level": "grid"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "bad_level"

    place = client.get("/api/v1/geo/pin/place", params={"lon": 118.3515, "lat": 35.0515}).json()
    assert place["grid_code"] == "37130200100101" and place["snapped"] is False
    assert place["address"] == "兰山区 兰山街道 金雀山社区 金雀山社区第1网格"
    assert "grid_worker_id" not in place and place["chain"][0]["level"] == "district"
    # about 100 m west of the city's first grid: moved onto it
    near = client.get("/api/v1/geo/pin/place", params={"lon": 118.3489, "lat": 35.0515}).json()
    assert near["snapped"] is True and near["grid_code"] == "37130200100101"
    assert 118.350 <= near["lon"] <= 118.353 and 35.050 <= near["lat"] <= 35.053
    # far outside the city: nothing
    assert client.get("/api/v1/geo/pin/place", params={"lon": 100.0, "lat": 30.0}).json() is None


@pytest.fixture
def env():  # type: ignore[no-untyped-def]
    before = get_settings()

    def with_(**extra: str) -> None:
        use_settings(dataclasses.replace(before, extra={**before.extra, **extra}))

    yield with_
    use_settings(before)


def test_base_map_settings(env):  # type: ignore[no-untyped-def]
    env(map_tiles="none")
    assert basemap.config() is None and content_security_policy([]) == CSP
    env(map_tiles="tianditu")
    with pytest.raises(ValueError, match="CITYOS_MAP_TIANDITU_KEY"):
        basemap.config()
    env(map_tiles="tianditu", map_tianditu_key="0123abcd")
    tdt = basemap.config()
    assert tdt is not None and tdt.crs == "wgs84" and len(tdt.urls) == 2  # roads and their labels
    assert all("tk=0123abcd" in u and "TILEMATRIXSET=w" in u for u in tdt.urls)
    assert tdt.origins() == [f"https://t{i}.tianditu.gov.cn" for i in range(8)]
    env(
        map_tiles="xyz",
        map_tile_url="http://tiles.city.lan:8080/wmts/vec/{TileMatrix}/{TileRow}/{TileCol}.png",
        map_tile_crs="gcj02",
    )
    own = basemap.config()
    assert own is not None and own.urls == ("http://tiles.city.lan:8080/wmts/vec/{z}/{y}/{x}.png",)
    assert own.crs == "gcj02" and own.origins() == ["http://tiles.city.lan:8080"]
    csp = content_security_policy(own.origins())
    assert "img-src 'self' data: blob: http://tiles.city.lan:8080;" in csp
    assert "connect-src 'self'" in csp  # only images may come from the tile server
    for bad, match in (
        ({"map_tile_crs": "bd09"}, "CITYOS_MAP_TILE_CRS"),
        ({"map_tile_url": "ftp://x/{z}/{x}/{y}"}, "CITYOS_MAP_TILE_URL"),
        ({"map_tile_url": "http://x/{z}/{x}.png"}, "CITYOS_MAP_TILE_URL"),
        ({"map_tiles": "google"}, "CITYOS_MAP_TILES"),
    ):
        env(**{"map_tiles": "xyz", "map_tile_url": "http://x/{z}/{x}/{y}.png", **bad})
        with pytest.raises(ValueError, match=match):
            basemap.config()
