"""Geo JSON API: locate a point, grid outlines per level, grid import."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, Query
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from cityos.geo import service
from cityos.geo.schemas import GridHit, ImportReport, Location, PinPlace
from cityos.identity.schemas import Principal
from cityos.web.deps import Require, get_session

router = APIRouter(prefix="/api/v1/geo", tags=["geo"])


@router.get("/locate", response_model=Location | None)
def locate(
    lon: float = Query(ge=-180, le=180, allow_inf_nan=False),
    lat: float = Query(ge=-90, le=90, allow_inf_nan=False),
    crs: str = "wgs84",
    session: Session = Depends(get_session, scope="function"),
    _p: Principal = Depends(Require("geo.view")),
) -> Location | None:
    """The unit grid containing a point and its region chain (null outside every grid).
    `crs`: wgs84 (GPS), gcj02 (AMap, Tencent), bd09 (Baidu)."""
    return service.locate(session=session, lon=lon, lat=lat, crs=crs)


@router.get("/nearby", response_model=list[GridHit])
def nearby(
    lon: float = Query(ge=-180, le=180, allow_inf_nan=False),
    lat: float = Query(ge=-90, le=90, allow_inf_nan=False),
    radius_m: float = Query(200, ge=0, le=50_000),
    crs: str = "wgs84",
    session: Session = Depends(get_session, scope="function"),
    _p: Principal = Depends(Require("geo.view")),
) -> list[GridHit]:
    return service.nearby(session=session, lon=lon, lat=lat, radius_m=radius_m, crs=crs)


@router.get("/grids.geojson")
def grids_geojson(
    level: str = "district",
    under: str | None = None,
    crs: str = "wgs84",
    session: Session = Depends(get_session, scope="function"),
    _p: Principal = Depends(Require("geo.view")),
) -> JSONResponse:
    """Outlines at `level` (district, street, community, grid) under a region code; districts,
    streets and communities are the union of their grids."""
    fc = service.outlines(session=session, level=level, under=under, crs=crs)
    return JSONResponse(
        fc, media_type="application/geo+json", headers={"Cache-Control": "private, max-age=60"}
    )


@router.post("/grids/import", response_model=ImportReport)
def import_grids(
    feature_collection: dict[str, Any] = Body(...),
    crs: str = "wgs84",
    replace: bool = False,
    session: Session = Depends(get_session, scope="function"),
    p: Principal = Depends(Require("geo.import")),
) -> ImportReport:
    """Import unit grids from a GeoJSON FeatureCollection (properties: code, name, grid_worker).
    All or nothing: any error returns 422 with the full report and nothing is written."""
    return service.import_grids(
        session=session, actor=p, feature_collection=feature_collection, crs=crs, replace=replace
    )


@router.get("/pin/outlines")
def pin_outlines(
    level: str = "district",
    under: str | None = None,
    session: Session = Depends(get_session, scope="function"),
    _p: Principal = Depends(Require("geo.pin")),
) -> JSONResponse:
    """For the report form's map (every signed-in user, citizens too): outlines of districts,
    streets or communities with code, name and a point inside; no grid shapes, workers or counts."""
    fc = service.pin_outlines(session=session, level=level, under=under)
    return JSONResponse(
        fc, media_type="application/geo+json", headers={"Cache-Control": "private, max-age=300"}
    )


@router.get("/pin/place", response_model=PinPlace | None)
def pin_place(
    lon: float = Query(ge=-180, le=180, allow_inf_nan=False),
    lat: float = Query(ge=-90, le=90, allow_inf_nan=False),
    session: Session = Depends(get_session, scope="function"),
    _p: Principal = Depends(Require("geo.pin")),
) -> PinPlace | None:
    """The grid a WGS84 pin falls in and its address (null far outside the city); a pin dropped
    just outside the city's grids is moved onto the nearest one (snapped: true)."""
    return service.pin_place(session=session, lon=lon, lat=lat)
