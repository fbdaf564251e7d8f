"""The cockpit's JSON routes. External screens (DataV, Grafana) read the same stored numbers:

GET  /api/v1/metrics                              the metrics in force (token scope `metrics`)
GET  /api/v1/metrics/{code}/values?region=&from=YYYY-MM&to=YYYY-MM[&format=csv]
GET  /api/v1/metrics/{code}/lineage?region=&period=   where one value came from, link to its rows
GET  /api/v1/metrics/{code}/ranking?period=       districts by 累计同比
GET  /api/v1/cockpit/alerts                       warnings raised and not cleared
GET  /api/v1/cockpit/screens/{theme}?region=      one big screen's data (the pages poll it)
GET  /api/v1/cockpit/drill?region=                one level down (district → street → grid)
PUT  /api/v1/cockpit/definitions/{theme}          an admin's YAML (text/plain or application/yaml)
POST /api/v1/cockpit/refresh                      recompute every metric now (admins)
"""

from __future__ import annotations

import csv
import io
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import Response
from sqlalchemy.orm import Session

from cityos.cockpit import compute, exposition, screens, service
from cityos.core.db import Database
from cityos.core.errors import TooLarge
from cityos.identity.schemas import Principal
from cityos.web.deps import Require, get_database, get_session

router = APIRouter(prefix="/api/v1", tags=["cockpit"])
exposition.register()  # the live figures on GET /metrics
S = Depends(get_session, scope="function")
CODE = PathParam(pattern=r"^[a-z][a-z0-9_]{1,63}$")
THEME = PathParam(pattern=r"^(city|economy|livelihood)$")
REGION = Query(None, pattern=r"^\d{6}(\d{3})?(\d{3})?(\d{2})?$")
MONTH = r"^\d{4}-(0[1-9]|1[0-2])$"
FIELDS = [
    "period",
    "region",
    "value",
    "ytd",
    "yoy_pct",
    "ytd_yoy_pct",
    "mom_pct",
    "target_pct",
    "schedule_pct",
    "stale",
    "source",
]
MAX_YAML = 256 * 1024


@router.get("/metrics")
def metrics(
    theme: str | None = Query(None, pattern=r"^(city|economy|livelihood)$"),
    session: Session = S,
    p: Principal = Depends(Require("cockpit.view")),
) -> list[dict[str, Any]]:
    """`[{code, name, unit, theme, period, additive, owner, …, status, stale, age_s}]`."""
    return service.metrics(session=session, actor=p, theme=theme)


def _csv_cell(v: Any) -> Any:
    if isinstance(v, dict):
        return f"{v.get('kind')}:{v.get('ref')}@{v.get('version') or ''}"
    if v is None:
        return ""
    return "true" if v is True else ("false" if v is False else v)


@router.get("/metrics/{code}/values", response_model=None)
def values(
    code: str = CODE,
    region: str | None = REGION,
    start: str | None = Query(None, alias="from", pattern=MONTH),
    end: str | None = Query(None, alias="to", pattern=MONTH),
    format: str = Query("json", pattern=r"^(json|csv)$"),
    session: Session = S,
    p: Principal = Depends(Require("cockpit.view")),
) -> Any:
    """`[{period, region, value, ytd, yoy_pct, ytd_yoy_pct, mom_pct, target_pct, schedule_pct, stale,
    source}]`, null where the inputs do not exist; `?format=csv` the same as CSV. A metric whose
    source refused the cockpit's read is 403 `source_refused` — never zeros."""
    rows = service.values(session=session, actor=p, code=code, region=region, start=start, end=end)
    if format == "json":
        return rows
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(FIELDS)
    for r in rows:
        w.writerow([_csv_cell(r[f]) for f in FIELDS])
    return Response(
        ("\ufeff" + buf.getvalue()).encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{code}.csv"'},
    )


@router.get("/metrics/{code}/lineage")
def lineage(
    code: str = CODE,
    region: str = Query(pattern=r"^\d{6}(\d{3})?(\d{3})?(\d{2})?$"),
    period: str = Query(pattern=MONTH),
    session: Session = S,
    p: Principal = Depends(Require("cockpit.view")),
) -> dict[str, Any]:
    return service.lineage(session=session, actor=p, code=code, region=region, period=period)


@router.get("/metrics/{code}/ranking")
def ranking(
    code: str = CODE,
    period: str | None = Query(None, pattern=MONTH),
    session: Session = S,
    p: Principal = Depends(Require("cockpit.view")),
) -> list[dict[str, Any]]:
    return service.ranking(session=session, actor=p, code=code, period=period)


@router.get("/cockpit/alerts")
def alerts(session: Session = S, p: Principal = Depends(Require("cockpit.view"))) -> list[dict[str, Any]]:
    return service.open_alerts(session=session, actor=p)


@router.get("/cockpit/screens/{theme}")
def screen(
    theme: str = THEME,
    region: str | None = REGION,
    session: Session = S,
    p: Principal = Depends(Require("cockpit.view")),
) -> dict[str, Any]:
    return screens.screen(session=session, actor=p, theme=theme, region=region)


@router.get("/cockpit/drill")
def drill(
    region: str = Query(pattern=r"^\d{6}(\d{3})?(\d{3})?(\d{2})?$"),
    session: Session = S,
    p: Principal = Depends(Require("cockpit.view")),
) -> dict[str, Any]:
    return screens.drill(session=session, actor=p, region=region)


@router.put("/cockpit/definitions/{theme}")
async def put_definitions(
    request: Request,
    theme: str = THEME,
    session: Session = S,
    p: Principal = Depends(Require("cockpit.admin")),
) -> dict[str, Any]:
    body = await request.body()
    if len(body) > MAX_YAML:
        raise TooLarge("The definitions are too large", code="too_large", field="yaml")
    n = service.save_definitions(session=session, actor=p, theme=theme, text=body.decode("utf-8", "replace"))
    return {"theme": theme, "metrics": n}


@router.post("/cockpit/refresh")
def refresh(
    db: Database = Depends(get_database), p: Principal = Depends(Require("cockpit.admin"))
) -> dict[str, Any]:
    return {"computed": compute.refresh(db, force=True)}
