"""DTOs that leave the patrol module."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

ID_MAX = 2**53  # ids beyond this are refused as input (4xx), never looked up
MAX_POINTS_PER_BATCH = 500  # a page posting every 30 s sends a handful; 500 covers hours offline


class PositionIn(BaseModel):
    """A position from the phone: WGS84 by default, or GCJ-02/BD-09 as Chinese map SDKs send."""

    lon: float = Field(ge=-180, le=180, allow_inf_nan=False)
    lat: float = Field(ge=-90, le=90, allow_inf_nan=False)
    crs: str = Field("wgs84", max_length=8)


class PointIn(PositionIn):
    at: datetime | None = None  # when the fix was taken (the server's time when absent)
    accuracy_m: float | None = Field(None, ge=0, le=100_000, allow_inf_nan=False)


class PointsIn(BaseModel):
    points: list[PointIn] = Field(default_factory=list, max_length=MAX_POINTS_PER_BATCH)


class AttendanceOut(BaseModel):
    id: int
    user_id: int
    kind: str  # in | out
    at: datetime
    lon: float
    lat: float
    grid_code: str
    grid_name: str


class PatrolOut(BaseModel):
    id: int
    user_id: int
    started_at: datetime
    ended_at: datetime | None
    distance_m: float
    point_count: int
    covered: list[str]  # grid codes the track touched, sorted


class TrackPointOut(BaseModel):
    at: datetime
    lon: float
    lat: float
    accuracy_m: float | None


class ReportRef(BaseModel):
    """A case the worker reported while the patrol was open (read through cases' own rules)."""

    id: int
    number: str
    category_name: str
    reported_at: datetime


class PatrolDetail(PatrolOut):
    worker_name: str
    covered_names: dict[str, str]
    track: list[TrackPointOut]
    reports: list[ReportRef]


class WorkerDay(BaseModel):
    """One worker's day for the supervisor: patrols, distance, grids covered, attendance times."""

    user_id: int
    worker_name: str
    patrols: int
    distance_m: float
    covered: list[str]
    check_ins: list[datetime]
    check_outs: list[datetime]


class GridRef(BaseModel):
    code: str
    name: str


class WorkerFigures(BaseModel):
    """Patrol and attendance figures of one grid worker over [start, end) local days, for the
    grid workers' evaluation (see patrol.service.worker_figures)."""

    user_id: int
    worker_name: str
    start: date
    end: date
    days_checked_in: int  # local days with at least one check-in
    check_ins: int
    patrols: int  # patrols started in the period (open or ended)
    patrol_hours: float  # ended patrols only
    distance_m: float
    grids_covered: int  # distinct grids the period's tracks touched
    own_grids: int  # grids assigned to the worker now
    own_grids_covered: int  # of those, touched at least once in the period
    reports_on_patrol: int = 0  # cases they reported while one of their patrols was open
