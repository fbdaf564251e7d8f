"""Patrol pages: /patrol (the grid worker's day on the phone: check in/out, the patrol that
records the track while the page is open), /patrol/{id} (one patrol) and /patrol/supervise (who
patrolled what, which grids nobody covered this week). The writes go through the JSON API from
static/js/patrol.js, which needs the browser's position."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import Response
from sqlalchemy.orm import Session

from cityos.identity import service as identity
from cityos.identity.permissions import has
from cityos.identity.schemas import Principal
from cityos.patrol import service
from cityos.patrol.schemas import ID_MAX
from cityos.web.deps import RequirePage, get_session
from cityos.web.templating import NavItem, render

router = APIRouter(prefix="/patrol", include_in_schema=False)
S = Depends(get_session, scope="function")
NAV = [
    NavItem("Patrol", "/patrol", perm="patrol.work", order=26),
    NavItem("Patrol overview", "/patrol/supervise", perm="patrol.supervise", order=27),
]


@router.get("")
def my_day(
    request: Request, session: Session = S, p: Principal = Depends(RequirePage("patrol.work"))
) -> Response:
    return render(
        request,
        "patrol/day.html",
        {
            "attendance": service.attendance(session=session, actor=p),
            "open": service.open_patrol(session=session, actor=p),
            "patrols": service.patrols(session=session, actor=p),
            "can_report": has(p, "cases.report"),
        },
    )


@router.get("/supervise")
def supervise(
    request: Request,
    day: date | None = None,
    region: str | None = Query(None, pattern=r"^(\d{6}(\d{3})?(\d{3})?(\d{2})?)?$"),
    session: Session = S,
    p: Principal = Depends(RequirePage("patrol.supervise")),
) -> Response:
    day = day or service.today()
    region = region or None
    service.patrols(session=session, actor=p, day=day)  # refuses a day outside 2000–2099 (4xx)
    scope = service.region_scope(p)
    # the districts and streets in the supervisor's scope, by name (a select, not a code to type)
    choices = [
        r
        for r in identity.regions(session=session, under=scope or None)
        if r.level in ("district", "street") and (r.code.startswith(scope or ""))
    ]
    monday, next_monday = service.week_of(day)
    return render(
        request,
        "patrol/supervise.html",
        {
            "day": day,
            "region": region or "",
            "choices": choices,
            "workers": service.worker_day(session=session, actor=p, day=day, region=region),
            "uncovered": service.uncovered_grids(session=session, actor=p, day=day, region=region),
            "monday": monday,
            "sunday": next_monday.fromordinal(next_monday.toordinal() - 1),
        },
    )


@router.get("/{patrol_id}")
def patrol(
    request: Request,
    patrol_id: int = PathParam(ge=1, le=ID_MAX),
    session: Session = S,
    p: Principal = Depends(RequirePage()),
) -> Response:
    detail = service.get_patrol(session=session, actor=p, patrol_id=patrol_id)
    return render(
        request,
        "patrol/patrol.html",
        {"patrol": detail, "mine": detail.user_id == p.id, "can_report": has(p, "cases.report")},
    )
