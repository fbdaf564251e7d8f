"""The grid worker's day on both databases, through the real services and routes.

The small city's grids (tests/factories.py) are 0.003° squares: 金雀山社区第1网格 (…0101) at
lon 118.350–118.353, 第2网格 (…0102) at 118.353–118.356 and 银雀山社区第1网格 (…200101) at
118.356–118.359, all at lat 35.050–35.053; 沂蒙路社区第1网格 lies north of …0101 and 罗庄社区第1网格
in 罗庄区. The grid worker owns …0101 only.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from pyproj import Geod

from cityos.core import audit, clock
from cityos.core.errors import Forbidden, Invalid, NotFound
from cityos.geo import service as geo
from cityos.identity import service as identity
from cityos.identity.schemas import UserIn
from cityos.patrol import service
from cityos.patrol.schemas import PointIn, PositionIn
from tests.factories import PASSWORD

G1, G2, G3 = "37130200100101", "37130200100102", "37130200200101"
NORTH, LUOZHUANG = "37130200100201", "37131100100101"
NOW = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)  # Wednesday 10:00 in Shanghai
LAT = 35.0515


@pytest.fixture
def day(city, db):  # type: ignore[no-untyped-def]
    clock.set_now(NOW)
    worker = city.as_role("grid_worker")
    with db.transaction() as s:
        geo.assign_grid_worker(session=s, actor=identity.SYSTEM, grid_code=G1, user_id=worker.id)
        identity.add_user(
            session=s,
            actor=identity.SYSTEM,
            user=UserIn(
                username="grid_worker2",
                display_name="另一位网格员",
                password=PASSWORD,
                roles=["grid_worker"],
                department_code="cgj",
                region_code=G2,
            ),
        )
        other = identity.principal_for(session=s, username="grid_worker2")
        geo.assign_grid_worker(session=s, actor=identity.SYSTEM, grid_code=G2, user_id=other.id)
    return city, worker, other


def geodesic_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """The reference: the WGS84 geodesic (Karney's algorithm, as pyproj computes it)."""
    return float(Geod(ellps="WGS84").inv(lon1, lat1, lon2, lat2)[2])


def test_distance_to_a_grid_holds_to_the_geodesic():
    """Points 10 m to 5 km from a grid in every direction, at the small city's latitude and at
    the north and south ends of China: the local frame is within 0.1 % of the geodesic."""
    for lat0 in (18.3, 35.05, 53.3):
        lon0 = 118.35
        square = geo_square(lon0, lat0)
        for d in (0.0001, 0.001, 0.01, 0.045):
            for dx, dy in ((d, 0), (-d, 0), (0, d), (0, -d)):
                px = lon0 + 0.003 + dx if dx > 0 else lon0 + dx if dx < 0 else lon0 + 0.0015
                py = lat0 + 0.003 + dy if dy > 0 else lat0 + dy if dy < 0 else lat0 + 0.0015
                ex = lon0 + 0.003 if dx > 0 else lon0 if dx < 0 else px
                ey = lat0 + 0.003 if dy > 0 else lat0 if dy < 0 else py
                ref = geodesic_m(px, py, ex, ey)
                got = service.distance_to_m(square, px, py)
                assert abs(got - ref) / ref < 0.001, (lat0, d, dx, dy, got, ref)


def geo_square(lon: float, lat: float):  # type: ignore[no-untyped-def]
    import shapely

    return shapely.box(lon, lat, lon + 0.003, lat + 0.003)


def _walk(db, actor, lons, lat=LAT):  # type: ignore[no-untyped-def]
    """A patrol along `lons` at `lat`, one fix a minute, ended."""
    with db.transaction() as s:
        p = service.start_patrol(session=s, actor=actor)
        pts = [PointIn(lon=x, lat=lat, at=clock.now() + timedelta(minutes=i)) for i, x in enumerate(lons)]
        service.add_points(session=s, actor=actor, patrol_id=p.id, points=pts[:1])
        return service.end_patrol(session=s, actor=actor, patrol_id=p.id, points=pts[1:])


def test_check_in_inside_own_grid_is_accepted_and_audited(db, day):  # type: ignore[no-untyped-def]
    _city, worker, _other = day
    with db.transaction() as s:
        a = service.check_in(session=s, actor=worker, position=PositionIn(lon=118.3515, lat=LAT))
    assert (a.kind, a.grid_code, a.grid_name) == ("in", G1, "金雀山社区第1网格")
    with db.transaction() as s:
        trail = audit.history(s, subject_type="attendance", subject_id=a.id)
        assert [r.action for r in trail] == ["patrol.check_in"]
        assert [x.id for x in service.attendance(session=s, actor=worker)] == [a.id]


def test_check_in_outside_own_grids_is_refused_with_the_distance(db, day):  # type: ignore[no-untyped-def]
    _city, worker, _other = day
    # standing in the neighbour's grid, 0.0015° east of the own grid's east edge (lon 118.353)
    with db.transaction() as s, pytest.raises(Invalid) as e:
        service.check_in(session=s, actor=worker, position=PositionIn(lon=118.3545, lat=LAT))
    expected = geodesic_m(118.353, LAT, 118.3545, LAT)  # about 137 m
    assert e.value.code == "outside_own_grid"
    assert e.value.details["nearest_grid"] == G1
    assert abs(e.value.details["distance_m"] - expected) / expected < 0.001
    assert f"{round(expected)}" in e.value.text("zh_CN") and "米" in e.value.text("zh_CN")
    with db.transaction() as s:
        assert service.attendance(session=s, actor=worker) == []  # nothing half-written


def test_check_in_refusal_over_http_names_metres_in_both_languages(client, day):  # type: ignore[no-untyped-def]
    city, _worker, _other = day
    city.login(client, "grid_worker")
    token = city.csrf(client)
    r = client.post(
        "/api/v1/patrol/check-in", json={"lon": 118.3515, "lat": 35.0565}, headers={"X-CSRF-Token": token}
    )
    assert r.status_code == 422, r.text
    err = r.json()["error"]
    assert err["code"] == "outside_own_grid" and err["field"] == "position"
    north_edge = geodesic_m(118.3515, 35.053, 118.3515, 35.0565)  # 0.0035° north: about 388 m
    assert abs(err["details"]["distance_m"] - north_edge) < 0.1
    assert "米" in err["message"]["zh-CN"] and " m " in err["message"]["en"]
    ok = client.post(
        "/api/v1/patrol/check-in", json={"lon": 118.3515, "lat": LAT}, headers={"X-CSRF-Token": token}
    )
    assert ok.status_code == 201 and ok.json()["grid_code"] == G1


def test_covered_grids_come_from_the_recorded_track(db, day):  # type: ignore[no-untyped-def]
    _city, worker, _other = day
    # two fixes, in …0101 and in …200101: the segment between them crosses …0102 without a fix there
    p = _walk(db, worker, [118.3515, 118.3575])
    assert p.covered == [G1, G2, G3]
    assert p.point_count == 2
    assert abs(p.distance_m - geo.distance_m(118.3515, LAT, 118.3575, LAT)) < 0.2
    with db.transaction() as s:
        detail = service.get_patrol(session=s, actor=worker, patrol_id=p.id)
    assert [t.lon for t in detail.track] == [118.3515, 118.3575]
    assert detail.covered_names[G2] == "金雀山社区第2网格"


def test_supervisor_sees_the_grids_nobody_covered_this_week(db, day):  # type: ignore[no-untyped-def]
    city, worker, other = day
    dispatcher = city.as_role("dispatcher")
    clock.set_now(NOW - timedelta(days=7))  # last week's patrol through the north grid does not count
    with db.transaction() as s:
        geo.assign_grid_worker(session=s, actor=identity.SYSTEM, grid_code=NORTH, user_id=worker.id)
    _walk(db, worker, [118.3515], lat=35.0545)
    clock.set_now(NOW)
    _walk(db, worker, [118.3515, 118.3525])  # this week: only …0101
    _walk(db, other, [118.3545, 118.3575])  # the other worker: …0102 and …200101
    with db.transaction() as s:
        left = service.uncovered_grids(session=s, actor=dispatcher)
        assert [g.code for g in left] == [NORTH, LUOZHUANG]
        assert left[0].name == "沂蒙路社区第1网格"
        assert [g.code for g in service.uncovered_grids(session=s, actor=dispatcher, region="371311")] == [
            LUOZHUANG
        ]
        last_week = service.uncovered_grids(session=s, actor=dispatcher, day=NOW.date() - timedelta(days=7))
        assert [g.code for g in last_week] == [G1, G2, G3, LUOZHUANG]
        rows = {w.user_id: w for w in service.worker_day(session=s, actor=dispatcher)}
        assert rows[worker.id].patrols == 1 and rows[worker.id].covered == [G1]
        assert rows[other.id].covered == [G2, G3]


def test_a_worker_cannot_read_another_workers_track(db, client, day):  # type: ignore[no-untyped-def]
    city, worker, other = day
    p = _walk(db, worker, [118.3515, 118.3525])
    with db.transaction() as s:
        with pytest.raises(NotFound):
            service.get_patrol(session=s, actor=other, patrol_id=p.id)
        assert service.patrols(session=s, actor=other) == []
        # a supervisor in scope reads it; a role without patrol.supervise does not
        assert (
            service.get_patrol(session=s, actor=city.as_role("dispatcher"), patrol_id=p.id).point_count == 2
        )
        with pytest.raises(NotFound):
            service.get_patrol(session=s, actor=city.as_role("inspector"), patrol_id=p.id)
        with pytest.raises(Forbidden):
            service.worker_day(session=s, actor=city.as_role("inspector"))
    client.post("/login", data={"username": "grid_worker2", "password": PASSWORD, "next": "/"})
    assert client.get(f"/api/v1/patrols/{p.id}").status_code == 404
    assert client.get(f"/patrol/{p.id}").status_code == 404


def test_only_the_owner_posts_points_and_only_while_open(db, day):  # type: ignore[no-untyped-def]
    _city, worker, other = day
    with db.transaction() as s:
        p = service.start_patrol(session=s, actor=worker)
    with db.transaction() as s, pytest.raises(NotFound):
        service.add_points(session=s, actor=other, patrol_id=p.id, points=[PointIn(lon=118.35, lat=LAT)])
    with db.transaction() as s:
        service.end_patrol(session=s, actor=worker, patrol_id=p.id)
    with db.transaction() as s, pytest.raises(Exception) as e:
        service.add_points(session=s, actor=worker, patrol_id=p.id, points=[PointIn(lon=118.35, lat=LAT)])
    assert getattr(e.value, "code", "") == "patrol_ended"


def test_worker_figures_for_the_evaluation(db, day):  # type: ignore[no-untyped-def]
    city, worker, other = day
    with db.transaction() as s:
        service.check_in(session=s, actor=worker, position=PositionIn(lon=118.3515, lat=LAT))
    _walk(db, worker, [118.3515, 118.3525])
    clock.set_now(NOW + timedelta(days=1))
    with db.transaction() as s:
        service.check_in(session=s, actor=worker, position=PositionIn(lon=118.3515, lat=LAT))
        figs = service.worker_figures(
            session=s,
            actor=city.as_role("dispatcher"),
            start=date(2026, 11, 30),
            end=date(2026, 12, 7),
            user_ids=[other.id],
        )
    by = {f.user_id: f for f in figs}
    w = by[worker.id]
    assert (w.days_checked_in, w.check_ins, w.patrols, w.grids_covered) == (2, 2, 1, 1)
    assert (w.own_grids, w.own_grids_covered) == (1, 1)
    assert abs(w.distance_m - geo.distance_m(118.3515, LAT, 118.3525, LAT)) < 0.2
    assert abs(w.patrol_hours) < 0.01  # ended at once: the fixes' own times do not stretch it
    o = by[other.id]
    assert (o.check_ins, o.patrols, o.own_grids, o.own_grids_covered) == (0, 0, 1, 0)


def test_pages_render_for_worker_and_supervisor(client, db, day):  # type: ignore[no-untyped-def]
    city, worker, _other = day
    p = _walk(db, worker, [118.3515, 118.3575])
    city.login(client, "grid_worker")
    page = client.get("/patrol")
    assert page.status_code == 200 and 'data-testid="patrol-app"' in page.text
    assert client.get(f"/patrol/{p.id}").status_code == 200
    client.post("/logout", data={"csrf_token": city.csrf(client)})
    city.login(client, "dispatcher")
    sup = client.get("/patrol/supervise")
    assert sup.status_code == 200 and "沂蒙路社区第1网格" in sup.text and "测试grid_worker" in sup.text


def test_a_district_supervisor_sees_only_their_district(db, client, day):  # type: ignore[no-untyped-def]
    """A dispatcher of 罗庄区 sees neither the 兰山区 worker's patrol nor its grids, and asking for
    兰山区 is 403 — on the service and over HTTP."""
    _city, worker, _other = day
    p = _walk(db, worker, [118.3515, 118.3525])
    with db.transaction() as s:
        identity.add_user(
            session=s,
            actor=identity.SYSTEM,
            user=UserIn(
                username="lz_dispatcher",
                display_name="罗庄调度员",
                password=PASSWORD,
                roles=["dispatcher"],
                department_code="cgj",
                region_code="371311",
            ),
        )
        lz = identity.principal_for(session=s, username="lz_dispatcher")
        with pytest.raises(NotFound):
            service.get_patrol(session=s, actor=lz, patrol_id=p.id)
        assert service.worker_day(session=s, actor=lz) == []
        assert [g.code for g in service.uncovered_grids(session=s, actor=lz)] == [LUOZHUANG]
        with pytest.raises(Forbidden):
            service.uncovered_grids(session=s, actor=lz, region="371302")
    client.post("/login", data={"username": "lz_dispatcher", "password": PASSWORD, "next": "/"})
    assert client.get(f"/api/v1/patrols/{p.id}").status_code == 404
    assert client.get("/api/v1/patrol/supervision/day").json() == []
    r = client.get("/api/v1/patrol/supervision/uncovered?region=371302")
    assert r.status_code == 403 and r.json()["error"]["code"] == "out_of_region"
    figs = client.get("/api/v1/patrol/supervision/figures?start=2026-11-30&end=2026-12-07").json()
    assert figs == []
    assert client.get("/api/v1/patrol/supervision/day?day=9999-12-31").status_code == 422
    assert client.get("/patrol/supervise?day=0001-01-01").status_code == 422


def test_work_counts_for_the_home_page(db, day):  # type: ignore[no-untyped-def]
    city, worker, other = day
    with db.transaction() as s:
        assert service.work_counts(session=s, actor=worker) == {
            "not_checked_in": 1,
            "own_grids_uncovered": 1,
            "open_tasks": 0,  # the tasks sent to them (tests/cases/test_tasks.py sends some)
            "overdue_tasks": 0,
        }
        before = service.work_counts(session=s, actor=city.as_role("dispatcher"))["uncovered_grids"]
        assert before == 5
        assert service.work_counts(session=s, actor=city.as_role("inspector")) == {}
    with db.transaction() as s:
        service.check_in(session=s, actor=worker, position=PositionIn(lon=118.3515, lat=LAT))
    _walk(db, other, [118.3515, 118.3545])  # the neighbour walks through …0101: not the worker's patrol
    with db.transaction() as s:
        counts = service.work_counts(session=s, actor=worker)
        assert (counts["not_checked_in"], counts["own_grids_uncovered"]) == (0, 1)
        assert service.work_counts(session=s, actor=city.as_role("dispatcher"))["uncovered_grids"] == 3
    _walk(db, worker, [118.3515])
    with db.transaction() as s:
        assert service.work_counts(session=s, actor=worker)["own_grids_uncovered"] == 0
