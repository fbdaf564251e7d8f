"""The grid worker's own work: attendance inside their own grids and patrols with their track.

What it may touch: its own tables (models.py); geo only through geo.service (grid polygons, CRS,
the grids a track touches); identity through identity.service (names); cases through
cases.service (the reports filed during a patrol, under cases' own visibility). Functions are
keyword-only verbs that never commit.

Distances to a grid are measured in a local equirectangular frame around the worker's position,
scaled by the WGS84 ellipsoid's metres per degree of latitude and of longitude at that latitude
(the standard series, good to centimetres per degree). Over the few hundred metres to a grid the
frame's own distortion is millimetres; tests/patrol holds it to pyproj's geodesic (Karney) within
0.1 %. Track length uses geo's haversine distance (a sphere: up to 0.5 % off the ellipsoid, which
is fine for a patrol's mileage).
"""

from __future__ import annotations

import contextlib
import itertools
import math
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import shapely
from sqlalchemy import select
from sqlalchemy.orm import Session

from cityos.cases import service as cases
from cityos.core import audit, clock
from cityos.core.errors import Conflict, Invalid, NotFound
from cityos.geo import service as geo
from cityos.identity import service as identity
from cityos.identity.permissions import authorize
from cityos.identity.schemas import Principal
from cityos.patrol import permissions as _permissions  # noqa: F401  (grants patrol.* to roles)
from cityos.patrol.models import Attendance, Patrol, TrackPoint
from cityos.patrol.policy import visible
from cityos.patrol.schemas import (
    AttendanceOut,
    PatrolDetail,
    PatrolOut,
    PointIn,
    PositionIn,
    ReportRef,
    TrackPointOut,
)

TZ = ZoneInfo("Asia/Shanghai")
FUTURE_SLACK = timedelta(minutes=5)  # a phone's clock may run a little ahead of the server's


# ---------------------------------------------------------------- helpers
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2099, 12, 31)


def _local_day(d: date) -> tuple[datetime, datetime]:
    """[start, end) of a local (Asia/Shanghai) day, in UTC. Days far outside any patrol are refused
    (4xx) rather than overflowing date arithmetic at date.min/date.max."""
    if not FIRST_DAY <= d <= LAST_DAY:
        raise Invalid("The date must lie between 2000 and 2099", field="day", code="bad_date")
    start = datetime.combine(d, time.min, tzinfo=TZ)
    return start.astimezone(UTC), (start + timedelta(days=1)).astimezone(UTC)


def today() -> date:
    return clock.local(clock.now()).date()


def _name(session: Session, user_id: int, cache: dict[int, str]) -> str:
    if user_id not in cache:
        cache[user_id] = str(user_id)
        with contextlib.suppress(NotFound):  # a deleted user shows their id
            cache[user_id] = identity.get_user(session=session, id=user_id).display_name
    return cache[user_id]


def _grid_names(session: Session, codes: list[str]) -> dict[str, str]:
    return geo.grid_names(session=session, codes=codes)


def metres_per_degree(lat: float) -> tuple[float, float]:
    """Metres per degree of longitude and of latitude on the WGS84 ellipsoid at `lat`."""
    r = math.radians(lat)
    lon_m = 111_412.84 * math.cos(r) - 93.5 * math.cos(3 * r) + 0.118 * math.cos(5 * r)
    lat_m = 111_132.954 - 559.822 * math.cos(2 * r) + 1.175 * math.cos(4 * r)
    return lon_m, lat_m


def distance_to_m(geom: Any, lon: float, lat: float) -> float:
    """Metres from a WGS84 point to a WGS84 polygon (0 inside), in the local frame described above."""
    kx, ky = metres_per_degree(lat)
    local = shapely.transform(geom, lambda c: (c - [lon, lat]) * [kx, ky])
    return float(shapely.distance(local, shapely.Point(0, 0)))


def _home_region(session: Session, actor: Principal) -> str:
    """The worker's home for the supervisors' region clause: their lowest-coded own grid, else
    their user region."""
    own = sorted(geo.grid_polygons(session=session, worker_id=actor.id))
    if own:
        return own[0]
    if actor.region_code:
        return actor.region_code
    raise Invalid("You have no grid or region assigned", code="no_grid_assigned")


def _patrol_out(p: Patrol) -> PatrolOut:
    return PatrolOut(
        id=p.id,
        user_id=p.user_id,
        started_at=p.started_at,
        ended_at=p.ended_at,
        distance_m=round(p.distance_m, 1),
        point_count=p.point_count,
        covered=list(p.covered or []),
    )


# ---------------------------------------------------------------- attendance
def check_in(*, session: Session, actor: Principal, position: PositionIn) -> AttendanceOut:
    """Check in where the worker stands; refused (422 outside_own_grid) outside every own grid,
    naming the distance in metres to the nearest one."""
    return _attend(session, actor, position, "in")


def check_out(*, session: Session, actor: Principal, position: PositionIn) -> AttendanceOut:
    return _attend(session, actor, position, "out")


def _attend(session: Session, actor: Principal, position: PositionIn, kind: str) -> AttendanceOut:
    authorize(actor, "patrol.work")
    assert actor.id is not None
    lon, lat = geo.to_wgs84_point(lon=position.lon, lat=position.lat, crs=position.crs)
    own = geo.grid_polygons(session=session, worker_id=actor.id)
    if not own:
        raise Invalid("You have no grid assigned; ask your supervisor", code="no_grid_assigned")
    dist = {code: distance_to_m(g, lon, lat) for code, g in own.items()}
    code = min(dist, key=lambda c: (dist[c], c))
    if dist[code] > 0:
        raise Invalid(
            "You are {distance} m outside your nearest grid {grid}; check in inside your own grid",
            code="outside_own_grid",
            field="position",
            params={"distance": round(dist[code]), "grid": _grid_names(session, [code])[code]},
            details={"distance_m": round(dist[code], 1), "nearest_grid": code},
        )
    row = Attendance(
        user_id=actor.id,
        kind=kind,
        at=clock.now(),
        lon=lon,
        lat=lat,
        grid_code=code,
        region_code=sorted(own)[0],
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor.actor,
        action=f"patrol.check_{kind}",
        subject_type="attendance",
        subject_id=row.id,
        payload={"grid": code, "lon": round(lon, 6), "lat": round(lat, 6)},
    )
    return AttendanceOut(
        id=row.id,
        user_id=row.user_id,
        kind=kind,
        at=row.at,
        lon=lon,
        lat=lat,
        grid_code=code,
        grid_name=_grid_names(session, [code])[code],
    )


def attendance(*, session: Session, actor: Principal, day: date | None = None) -> list[AttendanceOut]:
    """The attendance the actor may see on a local day (their own; a supervisor's region)."""
    start, end = _local_day(day or today())
    rows = session.scalars(
        select(Attendance)
        .where(visible(actor, Attendance), Attendance.at >= start, Attendance.at < end)
        .order_by(Attendance.at, Attendance.id)
    ).all()
    names = _grid_names(session, sorted({r.grid_code for r in rows}))
    return [
        AttendanceOut(
            id=r.id,
            user_id=r.user_id,
            kind=r.kind,
            at=r.at,
            lon=r.lon,
            lat=r.lat,
            grid_code=r.grid_code,
            grid_name=names[r.grid_code],
        )
        for r in rows
    ]


# ---------------------------------------------------------------- patrols
def start_patrol(*, session: Session, actor: Principal) -> PatrolOut:
    """Open a patrol; one at a time (409 patrol_open names the open one)."""
    authorize(actor, "patrol.work")
    assert actor.id is not None
    open_id = session.scalar(select(Patrol.id).where(Patrol.user_id == actor.id, Patrol.ended_at.is_(None)))
    if open_id is not None:
        raise Conflict(
            "You already have a patrol under way", code="patrol_open", details={"patrol_id": open_id}
        )
    p = Patrol(
        user_id=actor.id,
        region_code=_home_region(session, actor),
        started_at=clock.now(),
        distance_m=0.0,
        point_count=0,
        covered=[],
    )
    session.add(p)
    session.flush()
    audit.record(session, actor=actor.actor, action="patrol.start", subject_type="patrol", subject_id=p.id)
    return _patrol_out(p)


def _own_open(session: Session, actor: Principal, patrol_id: int) -> Patrol:
    authorize(actor, "patrol.work")
    p = session.scalar(select(Patrol).where(Patrol.id == patrol_id, Patrol.user_id == actor.id))
    if p is None:  # another worker's patrol is not found, as one that does not exist
        raise NotFound("Patrol not found", params={"id": patrol_id})
    if p.ended_at is not None:
        raise Conflict("This patrol has ended", code="patrol_ended")
    return p


def add_points(*, session: Session, actor: Principal, patrol_id: int, points: list[PointIn]) -> PatrolOut:
    """Append a batch of fixes to the worker's open patrol and update its distance and covered
    grids from the new segments (the last stored fix joins the batch, so no segment is lost)."""
    p = _own_open(session, actor, patrol_id)
    _append(session, p, points)
    return _patrol_out(p)


def _append(session: Session, p: Patrol, points: list[PointIn]) -> None:
    if not points:
        return
    now = clock.now()
    fixes: list[tuple[datetime, float, float, float | None]] = []
    for i, pt in enumerate(points):
        at = pt.at or now
        if at.tzinfo is None:
            raise Invalid("A point's time needs a time zone", field=f"points[{i}].at", code="naive_time")
        if at > now + FUTURE_SLACK or at < p.started_at - FUTURE_SLACK:
            raise Invalid("A point's time lies outside the patrol", field=f"points[{i}].at", code="bad_time")
        lon, lat = geo.to_wgs84_point(lon=pt.lon, lat=pt.lat, crs=pt.crs)
        fixes.append((at, lon, lat, pt.accuracy_m))
    fixes.sort(key=lambda f: f[0])  # a batch sent after a lost connection may arrive unordered
    last = session.execute(
        select(TrackPoint.lon, TrackPoint.lat)
        .where(TrackPoint.patrol_id == p.id)
        .order_by(TrackPoint.at.desc(), TrackPoint.id.desc())
        .limit(1)
    ).first()
    path = ([(last[0], last[1])] if last else []) + [(f[1], f[2]) for f in fixes]
    session.add_all(
        [TrackPoint(patrol_id=p.id, at=at, lon=lon, lat=lat, accuracy_m=acc) for at, lon, lat, acc in fixes]
    )
    p.distance_m += sum(geo.distance_m(a[0], a[1], b[0], b[1]) for a, b in itertools.pairwise(path))
    p.point_count += len(fixes)
    touched = geo.grids_along(session=session, lons=[q[0] for q in path], lats=[q[1] for q in path])
    p.covered = sorted(set(p.covered or []) | set(touched))
    session.flush()


def end_patrol(
    *, session: Session, actor: Principal, patrol_id: int, points: list[PointIn] | None = None
) -> PatrolOut:
    """Close the worker's patrol, with the last fixes the page still held."""
    p = _own_open(session, actor, patrol_id)
    _append(session, p, points or [])
    p.ended_at = clock.now()
    session.flush()
    audit.record(
        session,
        actor=actor.actor,
        action="patrol.end",
        subject_type="patrol",
        subject_id=p.id,
        payload={"distance_m": round(p.distance_m, 1), "points": p.point_count, "covered": p.covered},
    )
    return _patrol_out(p)


def open_patrol(*, session: Session, actor: Principal) -> PatrolOut | None:
    if actor.kind != "user" or not actor.id:
        return None
    p = session.scalar(select(Patrol).where(Patrol.user_id == actor.id, Patrol.ended_at.is_(None)))
    return _patrol_out(p) if p else None


def patrols(*, session: Session, actor: Principal, day: date | None = None) -> list[PatrolOut]:
    """The patrols the actor may see that started on a local day, newest first."""
    start, end = _local_day(day or today())
    rows = session.scalars(
        select(Patrol)
        .where(visible(actor), Patrol.started_at >= start, Patrol.started_at < end)
        .order_by(Patrol.started_at.desc(), Patrol.id.desc())
    ).all()
    return [_patrol_out(p) for p in rows]


def get_patrol(*, session: Session, actor: Principal, patrol_id: int) -> PatrolDetail:
    """One patrol with its track and the reports filed while it was open; outside the actor's
    visibility it is not found (404)."""
    p = session.scalar(select(Patrol).where(Patrol.id == patrol_id, visible(actor)))
    if p is None:
        raise NotFound("Patrol not found", params={"id": patrol_id})
    track = session.scalars(
        select(TrackPoint).where(TrackPoint.patrol_id == p.id).order_by(TrackPoint.at, TrackPoint.id)
    ).all()
    return PatrolDetail(
        **_patrol_out(p).model_dump(),
        worker_name=_name(session, p.user_id, {}),
        covered_names=_grid_names(session, list(p.covered or [])),
        track=[TrackPointOut(at=t.at, lon=t.lon, lat=t.lat, accuracy_m=t.accuracy_m) for t in track],
        reports=_reports_during(session, actor, p),
    )


def _reports_during(session: Session, actor: Principal, p: Patrol) -> list[ReportRef]:
    """Reports filed during a patrol are the worker's own reports made between its start and end:
    the link is derived from cases' record (reporter and time), so the report form needs no patrol
    field and nothing can link a case the worker did not file. Only the worker reads them here
    (cases' own visibility decides what a supervisor sees of a case)."""
    if actor.id != p.user_id:
        return []
    end = p.ended_at or clock.now()
    return [
        ReportRef(id=c.id, number=c.number, category_name=c.category_name, reported_at=c.reported_at)
        for c in cases.my_reports(session=session, actor=actor, limit=500)
        if p.started_at <= c.reported_at <= end
    ]
