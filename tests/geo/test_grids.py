"""Grid import (all or nothing, every bad feature named), locate, nearby, outlines, API."""

from __future__ import annotations

import copy
import json

import pytest
from sqlalchemy import func, select

from cityos.core.errors import Forbidden, Invalid
from cityos.geo import crs, service
from cityos.geo.models import GridShape
from cityos.identity import service as identity
from cityos.identity.schemas import RegionIn
from tests.factories import grid_feature


def _fc(*features):  # type: ignore[no-untyped-def]
    return {"type": "FeatureCollection", "features": list(features)}


def _count(db) -> int:  # type: ignore[no-untyped-def]
    with db.reader() as s:
        return s.scalar(select(func.count()).select_from(GridShape))


def _import(db, city, fc, **kw):  # type: ignore[no-untyped-def]
    with db.transaction() as s:
        return service.import_grids(session=s, actor=city.as_role("admin"), feature_collection=fc, **kw)


def _errors(exc) -> list[tuple]:  # type: ignore[no-untyped-def]
    return [(p["index"], p["problem"]) for p in exc.value.details["errors"]]


def test_locate_gives_the_grid_and_its_whole_chain(city, db):
    with db.reader() as s:
        loc = service.locate(session=s, lon=118.3515, lat=35.0515)
    assert loc.grid_code == "37130200100101"
    assert [r.level for r in loc.chain] == ["city", "district", "street", "community", "grid"]
    assert [r.name for r in loc.chain][:2] == ["临沂市", "兰山区"]
    assert loc.code_at("street") == "371302001"
    with db.reader() as s:
        assert service.locate(session=s, lon=100.0, lat=30.0) is None


def test_a_point_on_a_shared_edge_goes_to_the_lower_code(city, db):
    with db.reader() as s:
        assert service.locate(session=s, lon=118.353, lat=35.0515).grid_code == "37130200100101"


def test_locate_accepts_amap_and_baidu_coordinates(city, db):
    lon, lat = 118.3545, 35.0515  # inside 37130200100102 in WGS84
    with db.reader() as s:
        for name in ("gcj02", "bd09"):
            x, y = crs.from_wgs84(lon, lat, name)
            assert service.locate(session=s, lon=x, lat=y, crs=name).grid_code == "37130200100102"
            # read as if it were WGS84 the same numbers land hundreds of metres away
            wrong = service.locate(session=s, lon=x, lat=y)
            assert wrong is None or wrong.grid_code != "37130200100102"


def test_locate_many_is_vectorised_and_agrees_with_locate(city, db):
    import numpy as np

    lons = np.array([118.3515, 118.3545, 118.3575, 118.2815, 100.0])
    lats = np.array([35.0515, 35.0515, 35.0515, 34.9915, 30.0])
    with db.reader() as s:
        codes = service.locate_many(session=s, lons=lons, lats=lats)
    assert list(codes) == ["37130200100101", "37130200100102", "37130200200101", "37131100100101", None]


def test_nearby_at_the_radius_boundary(city, db):
    # 40 m east of grid 37130200200101's east edge (lon 118.359) at lat 35.0515
    east = 118.359 + 40 / service.m_per_deg_lon(35.0515)
    with db.reader() as s:
        inside = service.nearby(session=s, lon=east, lat=35.0515, radius_m=40.5)
        outside = service.nearby(session=s, lon=east, lat=35.0515, radius_m=39.5)
    assert [h.grid_code for h in inside] == ["37130200200101"]
    assert inside[0].distance_m == pytest.approx(40, abs=0.5)
    assert outside == []
    assert service.distance_m(118.0, 35.0, 118.0, 35.001) == pytest.approx(111, abs=1)


def test_import_a_new_community_of_grids(city, db):
    with db.transaction() as s:
        identity.add_region(
            session=s,
            actor=city.as_role("admin"),
            region=RegionIn(code="371311001002", name="罗庄新村", level="community", parent_code="371311001"),
        )
    fc = _fc(
        grid_feature("37131100100201", "新村第1网格", 118.290, 34.990),
        grid_feature("37131100100202", "新村第2网格", 118.293, 34.990),
    )
    report = _import(db, city, fc)
    assert report.imported == 2 and report.errors == [] and report.warnings == []
    with db.reader() as s:
        assert service.locate(session=s, lon=118.2945, lat=34.9915).grid_code == "37131100100202"


@pytest.mark.parametrize(
    ("mutate", "problem"),
    [
        (lambda f: f.update(geometry={"type": "Point", "coordinates": [118.29, 34.99]}), "not_polygon"),
        (lambda f: f["properties"].update(code="371311009"), "bad_code"),
        (lambda f: f["properties"].update(code="37131100999901"), "unknown_parent"),
        (
            lambda f: f["geometry"].update(
                coordinates=[
                    [[118.29, 34.99], [118.293, 34.993], [118.293, 34.99], [118.29, 34.993], [118.29, 34.99]]
                ]
            ),
            "invalid_geometry",
        ),
        (
            lambda f: f["geometry"].update(
                coordinates=[[[118.29, 34.99], [518.0, 34.99], [118.29, 34.993], [118.29, 34.99]]]
            ),
            "bad_coordinates",
        ),
        (lambda f: f["geometry"].update(coordinates="not coordinates"), "broken_geometry"),
        (lambda f: f["properties"].update(code="37131100100101"), "grid_exists"),
    ],
)
def test_bad_features_are_named_and_nothing_is_imported(city, db, mutate, problem):
    good = grid_feature("37131100100102", "好网格", 118.283, 34.990)
    bad = grid_feature("37131100100103", "坏网格", 118.286, 34.990)
    mutate(bad)
    before = _count(db)
    with pytest.raises(Invalid) as e:
        _import(db, city, _fc(good, bad))
    assert (1, problem) in _errors(e) or (None, problem) in _errors(e)
    assert e.value.code == "grid_import_failed"
    assert _count(db) == before  # the good one was not imported either


def test_self_intersection_is_explained(city, db):
    bow = grid_feature("37131100100102", "8字形", 118.283, 34.990)
    bow["geometry"]["coordinates"] = [
        [[118.283, 34.99], [118.286, 34.993], [118.286, 34.99], [118.283, 34.993], [118.283, 34.99]]
    ]
    with pytest.raises(Invalid) as e:
        _import(db, city, _fc(bow))
    msg = e.value.details["errors"][0]["message"]
    assert "Self-intersection" in msg


def test_overlaps_with_new_and_existing_grids_are_refused(city, db):
    overlapping_existing = grid_feature("37131100100102", "压线", 118.2815, 34.990)  # half inside ...101
    with pytest.raises(Invalid) as e:
        _import(db, city, _fc(overlapping_existing))
    assert any(p == "overlap" for _i, p in _errors(e))
    a = grid_feature("37131100100102", "甲", 118.290, 34.990)
    b = grid_feature("37131100100103", "乙", 118.2915, 34.990)
    with pytest.raises(Invalid) as e:
        _import(db, city, _fc(a, b))
    assert [p for _i, p in _errors(e)] == ["overlap"]


def test_duplicate_codes_in_one_file(city, db):
    a = grid_feature("37131100100102", "甲", 118.290, 34.990)
    b = copy.deepcopy(a)
    with pytest.raises(Invalid) as e:
        _import(db, city, _fc(a, b))
    assert (1, "duplicate_code") in _errors(e)


def test_gaps_inside_a_community_are_warnings(city, db):
    ring = grid_feature("37131100100102", "回字", 118.290, 34.990, size=0.006)
    ring["geometry"]["coordinates"].append(
        [[118.292, 34.992], [118.294, 34.992], [118.294, 34.994], [118.292, 34.994], [118.292, 34.992]]
    )
    report = _import(db, city, _fc(ring))
    assert report.imported == 1 and [w.problem for w in report.warnings] == ["gap"]


def test_not_a_feature_collection(city, db):
    with pytest.raises(Invalid) as e:
        _import(db, city, {"type": "Feature"})
    assert _errors(e) == [(None, "not_feature_collection")]


def test_only_admins_import(city, db):
    with pytest.raises(Forbidden), db.transaction() as s:
        service.import_grids(session=s, actor=city.as_role("dispatcher"), feature_collection=_fc())


def test_outlines_union_grids_per_level(city, db):
    with db.reader() as s:
        d = service.outlines(session=s, level="district")
        st = service.outlines(session=s, level="street", under="371302")
        g = service.outlines(session=s, level="grid", under="371302001001")
    assert [(f["properties"]["code"], f["properties"]["grids"]) for f in d["features"]] == [
        ("371302", 4),
        ("371311", 1),
    ]
    assert [f["properties"]["name"] for f in st["features"]] == ["兰山街道", "银雀山街道"]
    assert [f["properties"]["code"] for f in g["features"]] == ["37130200100101", "37130200100102"]
    assert d["features"][0]["geometry"]["type"] in ("Polygon", "MultiPolygon")


def test_api_locate_outlines_and_errors(city, client):
    city.login(client, "dispatcher")
    r = client.get("/api/v1/geo/locate", params={"lon": 118.3515, "lat": 35.0515})
    assert r.status_code == 200 and r.json()["grid_code"] == "37130200100101"
    r = client.get("/api/v1/geo/grids.geojson", params={"level": "street", "under": "371302"})
    assert r.headers["content-type"].startswith("application/geo+json") and len(r.json()["features"]) == 2
    r = client.get("/api/v1/geo/grids.geojson", params={"level": "planet"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "bad_level"
    r = client.post("/api/v1/geo/grids/import", json=_fc(), headers={"X-CSRF-Token": city.csrf(client)})
    assert r.status_code == 403
    assert client.get("/geo/map").status_code == 200


def test_api_import_reports_every_error_as_json(city, client):
    city.login(client, "admin")
    bad = grid_feature("37131100999901", "无主", 118.29, 34.99)
    r = client.post("/api/v1/geo/grids/import", json=_fc(bad), headers={"X-CSRF-Token": city.csrf(client)})
    assert r.status_code == 422
    body = r.json()["error"]
    assert (
        body["code"] == "grid_import_failed" and body["message"]["zh-CN"] == "网格文件有错误，未导入任何数据"
    )
    assert body["details"]["errors"][0]["problem"] == "unknown_parent"


def test_cli_import_exits_nonzero_naming_the_feature(tmp_path):
    import os
    import subprocess
    import sys

    f = tmp_path / "grids.geojson"
    f.write_text(json.dumps(_fc(grid_feature("37131100999901", "无主", 118.29, 34.99))), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "CITYOS_DATABASE_URL"}
    env["CITYOS_HOME"] = str(tmp_path / "home")
    r = subprocess.run(
        [sys.executable, "-m", "cityos", "grid", "import", str(f)], env=env, capture_output=True, text=True
    )
    assert r.returncode == 2
    assert "feature 0 37131100999901: unknown_parent" in r.stderr
    f.write_text("{not json", encoding="utf-8")
    r = subprocess.run(
        [sys.executable, "-m", "cityos", "grid", "import", str(f)], env=env, capture_output=True, text=True
    )
    assert r.returncode == 2 and "bad_json" in r.stderr
