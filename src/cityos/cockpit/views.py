"""The cockpit's pages:

/cockpit                      the overview in the ordinary theme (desktop and phone): each theme's
                              figures, warnings, links to the big screens and the report
/cockpit/screen/{theme}       the 1920×1080 dark big screen of 城市管理 / 产业经济 / 民生服务; its
                              numbers come from /api/v1/cockpit/screens/{theme} and refresh every
                              30 s (?refresh=N) without reloading (static/js/cockpit.js)
/cockpit/drill?region=        city → district → street → grid from the stored figures (open cases,
                              devices, open alarms); at a grid, its open cases through cases' own
                              list (the viewer's visibility) and its devices, each linked to itself
/cockpit/metrics/{code}       one metric's table (当月/累计/同比/环比/目标/序时) with each value's lineage
/cockpit/definitions          the metric YAML per theme, edited by admins (validated, named errors)
/cockpit/report?month=&format= the month's 经济运行简报 as a PDF or DOCX download (stored values only)
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import Response
from sqlalchemy.orm import Session

from cityos.cases import service as cases
from cityos.cockpit import render as document
from cityos.cockpit import report, screens, service
from cityos.cockpit.definitions import THEMES
from cityos.core.errors import CityOSError
from cityos.identity.permissions import has
from cityos.identity.schemas import Principal
from cityos.web.deps import RequirePage, get_session
from cityos.web.forms import attempt
from cityos.web.templating import NavItem, render

router = APIRouter(prefix="/cockpit", include_in_schema=False)
S = Depends(get_session, scope="function")
NAV = [NavItem("Cockpit", "/cockpit", perm="cockpit.view", order=15)]
REGION = r"^\d{6}(\d{3})?(\d{3})?(\d{2})?$"
REPORT_TYPES = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}
OPEN_STATES = ("reported", "filed", "dispatched", "handling", "handled", "suspended")


@router.get("")
def index(
    request: Request, session: Session = S, p: Principal = Depends(RequirePage("cockpit.view"))
) -> Response:
    data = {t: screens.screen(session=session, actor=p, theme=t) for t in THEMES}
    return render(
        request,
        "cockpit/index.html",
        {
            "themes": THEMES,
            "data": data,
            "alerts": service.open_alerts(session=session, actor=p),
            "can_admin": has(p, "cockpit.admin"),
            "report_month": _last_month(data.get("economy", {})),
        },
    )


def _last_month(economy: dict[str, Any]) -> str:
    """The latest month with stored economic figures (the report form's default)."""
    periods = [t["period"] for t in economy.get("tiles", []) if t.get("period")]
    return max(periods, default="")


@router.get("/screen/{theme}")
def screen(
    request: Request,
    theme: str = PathParam(pattern=r"^(city|economy|livelihood)$"),
    region: str | None = Query(None, pattern=REGION),
    refresh: int = Query(30, ge=5, le=3600),
    session: Session = S,
    p: Principal = Depends(RequirePage("cockpit.view")),
) -> Response:
    """`refresh`: seconds between two fetches of the stored numbers (a wall screen may poll slower)."""
    data = screens.screen(session=session, actor=p, theme=theme, region=region)
    return render(
        request, "cockpit/screen.html", {"theme": theme, "themes": THEMES, "d": data, "refresh": refresh}
    )


@router.get("/drill")
def drill(
    request: Request,
    region: str = Query(pattern=REGION),
    session: Session = S,
    p: Principal = Depends(RequirePage("cockpit.view")),
) -> Response:
    d = screens.drill(session=session, actor=p, region=region)
    listing = None
    if d["level"] in ("grid", "community") and has(p, "cases.read"):
        listing = cases.list_cases(session=session, actor=p, region=region, states=OPEN_STATES, limit=50)
    return render(request, "cockpit/drill.html", {"d": d, "cases": listing})


@router.get("/metrics/{code}")
def metric(
    request: Request,
    code: str = PathParam(pattern=r"^[a-z][a-z0-9_]{1,63}$"),
    region: str | None = Query(None, pattern=REGION),
    session: Session = S,
    p: Principal = Depends(RequirePage("cockpit.view")),
) -> Response:
    meta = next((m for m in service.metrics(session=session, actor=p) if m["code"] == code), None)
    rows: list[dict[str, Any]] = []
    refusal = None
    try:
        rows = service.values(session=session, actor=p, code=code, region=region)
    except CityOSError as e:
        if e.code == "metric_not_found":
            raise
        refusal = e
    ranking = service.ranking(session=session, actor=p, code=code) if meta and meta["status"] == "ok" else []
    return render(
        request,
        "cockpit/metric.html",
        {
            "m": meta,
            "rows": list(reversed(rows)),
            "refusal": refusal,
            "ranking": ranking,
            "region": region or "",
        },
    )


@router.get("/report")
def report_download(
    month: str = Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$"),
    format: str = Query("pdf", pattern=r"^(pdf|docx)$"),
    session: Session = S,
    p: Principal = Depends(RequirePage("cockpit.view")),
) -> Response:
    """The 经济运行简报 of `month` as a document, written from the stored values (the same as
    `cityos cockpit report`); a month without figures is 422 `no_figures`."""
    r = report.data(session=session, actor=p, month=month)
    with tempfile.TemporaryDirectory(prefix="cityos-report-") as tmp:
        path = Path(tmp) / f"report.{format}"
        document.write(r, path)
        body = path.read_bytes()
    name = quote(f"{r.title}（{month}）.{format}")
    return Response(
        body,
        media_type=REPORT_TYPES[format],
        headers={
            "Content-Disposition": f"attachment; filename=report-{month}.{format}; filename*=UTF-8''{name}"
        },
    )


@router.get("/definitions")
def definitions(
    request: Request,
    theme: str = Query("economy", pattern=r"^(city|economy|livelihood)$"),
    session: Session = S,
    p: Principal = Depends(RequirePage("cockpit.admin")),
) -> Response:
    text = service.definition_text(session=session, actor=p, theme=theme)
    return render(request, "cockpit/definitions.html", {"theme": theme, "themes": THEMES, "text": text})


@router.post("/definitions")
def save_definitions(
    request: Request,
    theme: str = Form(pattern=r"^(city|economy|livelihood)$"),
    text: str = Form(max_length=256 * 1024),
    session: Session = S,
    p: Principal = Depends(RequirePage("cockpit.admin")),
) -> Response:
    n, error, status = attempt(
        session, lambda: service.save_definitions(session=session, actor=p, theme=theme, text=text)
    )
    return render(
        request,
        "cockpit/definitions.html",
        {"theme": theme, "themes": THEMES, "text": text, "error": error, "saved": n},
        status_code=status,
    )
