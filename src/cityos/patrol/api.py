"""Patrol's JSON routes: /api/v1/patrol (attendance, the supervisor's views) and /api/v1/patrols.

Reads are open to any logged-in person and narrowed by policy.visible (a worker reads their own,
a supervisor their region); writes need patrol.work, supervisor views patrol.supervise.
"""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, Query
from fastapi import Path as PathParam
from sqlalchemy.orm import Session

from cityos.identity.schemas import Principal
from cityos.patrol import service
from cityos.patrol.schemas import (
    ID_MAX,
    AttendanceOut,
    GridRef,
    PatrolDetail,
    PatrolOut,
    PointsIn,
    PositionIn,
    WorkerDay,
    WorkerFigures,
)
from cityos.web.deps import Require, authenticated, get_session

router = APIRouter(prefix="/api/v1", tags=["patrol"])
S = Depends(get_session, scope="function")
REGION = Query(None, pattern=r"^\d{6}(\d{3})?(\d{3})?(\d{2})?$")


@router.post("/patrol/check-in", response_model=AttendanceOut, status_code=201)
def check_in(
    body: PositionIn, session: Session = S, p: Principal = Depends(Require("patrol.work"))
) -> AttendanceOut:
    """Check in at the posted position; 422 outside_own_grid names the distance to the nearest own grid."""
    return service.check_in(session=session, actor=p, position=body)


@router.post("/patrol/check-out", response_model=AttendanceOut, status_code=201)
def check_out(
    body: PositionIn, session: Session = S, p: Principal = Depends(Require("patrol.work"))
) -> AttendanceOut:
    return service.check_out(session=session, actor=p, position=body)


@router.get("/patrol/attendance", response_model=list[AttendanceOut])
def attendance(
    day: date | None = None, session: Session = S, p: Principal = Depends(authenticated)
) -> list[AttendanceOut]:
    return service.attendance(session=session, actor=p, day=day)


@router.post("/patrols", response_model=PatrolOut, status_code=201)
def start(session: Session = S, p: Principal = Depends(Require("patrol.work"))) -> PatrolOut:
    return service.start_patrol(session=session, actor=p)


@router.get("/patrols", response_model=list[PatrolOut])
def patrols(
    day: date | None = None, session: Session = S, p: Principal = Depends(authenticated)
) -> list[PatrolOut]:
    return service.patrols(session=session, actor=p, day=day)


@router.get("/patrols/{patrol_id}", response_model=PatrolDetail)
def patrol(
    patrol_id: int = PathParam(ge=1, le=ID_MAX), session: Session = S, p: Principal = Depends(authenticated)
) -> PatrolDetail:
    return service.get_patrol(session=session, actor=p, patrol_id=patrol_id)


@router.post("/patrols/{patrol_id}/points", response_model=PatrolOut)
def points(
    body: PointsIn,
    patrol_id: int = PathParam(ge=1, le=ID_MAX),
    session: Session = S,
    p: Principal = Depends(Require("patrol.work")),
) -> PatrolOut:
    """Append a batch of fixes (at most 500) to the caller's open patrol."""
    return service.add_points(session=session, actor=p, patrol_id=patrol_id, points=body.points)


@router.post("/patrols/{patrol_id}/end", response_model=PatrolOut)
def end(
    body: PointsIn | None = None,
    patrol_id: int = PathParam(ge=1, le=ID_MAX),
    session: Session = S,
    p: Principal = Depends(Require("patrol.work")),
) -> PatrolOut:
    return service.end_patrol(
        session=session, actor=p, patrol_id=patrol_id, points=body.points if body else []
    )


@router.get("/patrol/supervision/day", response_model=list[WorkerDay])
def supervision_day(
    day: date | None = None,
    region: str | None = REGION,
    session: Session = S,
    p: Principal = Depends(Require("patrol.supervise")),
) -> list[WorkerDay]:
    return service.worker_day(session=session, actor=p, day=day, region=region)


@router.get("/patrol/supervision/uncovered", response_model=list[GridRef])
def uncovered(
    day: date | None = None,
    region: str | None = REGION,
    session: Session = S,
    p: Principal = Depends(Require("patrol.supervise")),
) -> list[GridRef]:
    """The grids no patrol touched in the week (Monday to Sunday) holding `day`."""
    return service.uncovered_grids(session=session, actor=p, day=day, region=region)


@router.get("/patrol/supervision/figures", response_model=list[WorkerFigures])
def figures(
    start: date,
    end: date,
    region: str | None = REGION,
    session: Session = S,
    p: Principal = Depends(Require("patrol.supervise")),
) -> list[WorkerFigures]:
    """Per-worker patrol and attendance figures over the local days [start, end)."""
    return service.worker_figures(session=session, actor=p, start=start, end=end, region=region)
