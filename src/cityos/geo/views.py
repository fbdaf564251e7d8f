"""The grid map page: ECharts draws the grids' GeoJSON (no tile server) and drills down
district → street → community → grid."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from cityos.geo import service
from cityos.identity import service as identity
from cityos.identity.schemas import Principal
from cityos.web.deps import RequirePage, get_session
from cityos.web.templating import NavItem, render

router = APIRouter(include_in_schema=False)
NAV = [NavItem("Grid map", "/geo/map", perm="geo.view", order=10)]


@router.get("/geo/map")
def grid_map(
    request: Request,
    session: Session = Depends(get_session, scope="function"),
    p: Principal = Depends(RequirePage("geo.view")),
) -> Response:
    city = identity.city(session=session)
    return render(request, "geo/map.html", {"city": city, "grids": service.grid_count(session=session)})
