"""一网统管 consoles and administration pages: the 12345 hotline operator's console, the dispatcher's
map of open cases over the grid map, and the taxonomy and dispatch-rule editor with Excel import
and export. `router` is included by views.py (under /cases, before /cases/{id}); `api_router` by
api.py (under /api/v1/cases) for the map's points and the nearby-cases check."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, File, Form, Path, Query, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session

from cityos.cases import admin, admin_workbook, consoles, flows, policy, service
from cityos.cases.filters import VIEWS
from cityos.cases.schemas import CHANNELS, ID_MAX, CaseOut
from cityos.core import i18n
from cityos.core.errors import CityOSError
from cityos.identity import service as identity
from cityos.identity.permissions import region_in_scope
from cityos.identity.schemas import Principal
from cityos.web.deps import Require, RequirePage, get_session
from cityos.web.forms import attempt
from cityos.web.templating import NavItem, render

router = APIRouter(include_in_schema=False)
api_router = APIRouter()
NAV = [
    NavItem("Hotline", "/cases/hotline", perm="cases.hotline", order=24),
    NavItem("Taxonomy", "/cases/admin/taxonomy", perm="cases.taxonomy", order=25),
]
NEXT_LEVEL = {"city": "district", "district": "street", "street": "community", "community": "grid"}
MAP_VIEWS = ("open", "queue", "inbox", "verify")  # the list's views that hold open cases
MAX_UPLOAD = 5 * 1024 * 1024


def _view_states(view: str) -> tuple[str, ...]:
    return VIEWS.get(view) or flows.OPEN_STATES  # the list's one definition of its tabs


def _map_start(session: Session, p: Principal) -> dict[str, str]:
    """Where the map opens: the whole city for city-wide viewers, else the viewer's own region."""
    city = identity.city(session=session)
    if p.region_code and not policy.sees_whole_city(p):
        r = identity.get_region(session=session, code=p.region_code)
        if r.level in NEXT_LEVEL:
            return {"under": r.code, "name": r.name, "level": NEXT_LEVEL[r.level]}
        parent = identity.get_region(session=session, code=r.parent_code or r.code)
        return {"under": parent.code, "name": parent.name, "level": "grid"}
    return {"under": city.code if city else "", "name": city.name if city else "", "level": "district"}


def _float(v: str) -> float | None:
    try:
        return float(v) if v.strip() else None
    except ValueError:
        return None


# ---------------------------------------------------------------- the hotline console
def _address_regions(session: Session, p: Principal) -> list[Any]:
    """Districts and streets the operator may place an address-only call in."""
    return [
        r
        for level in ("district", "street")
        for r in identity.regions(session=session, level=level)
        if region_in_scope(p, r.code)
    ]


def _hotline_page(
    request: Request,
    session: Session,
    p: Principal,
    form: dict[str, str],
    error: str | None = None,
    filed: CaseOut | None = None,
    status: int = 200,
) -> Response:
    dupes = service.duplicate_candidates(session=session, actor=p, case_id=filed.id) if filed else []
    regions = sorted(_address_regions(session, p), key=lambda r: r.code)
    return render(
        request,
        "cases/hotline.html",
        {
            "form": form,
            "error": error,
            "filed": filed,
            "filed_duplicates": dupes,
            "categories": service.categories(session=session),
            "callbacks": consoles.CALLBACKS,
            "regions": regions,
            "recent": consoles.recent_calls(session=session, actor=p),
            "start": _map_start(session, p),
        },
        status_code=status,
    )


@router.get("/hotline")
def hotline(
    request: Request,
    filed: int = Query(0, ge=0, le=ID_MAX),
    session: Session = Depends(get_session, scope="function"),
    p: Principal = Depends(RequirePage("cases.hotline")),
) -> Response:
    case = None
    if filed:
        try:
            case = service.get_case(session=session, actor=p, case_id=filed)
        except CityOSError:
            case = None
    return _hotline_page(request, session, p, {"callback": "phone", "urgency": "normal"}, filed=case)


@router.post("/hotline")
def take_call(
    request: Request,
    caller_name: str = Form(""),
    caller_phone: str = Form(""),
    callback: str = Form("phone"),
    category_code: str = Form(""),
    urgency: str = Form("normal"),
    description: str = Form(""),
    lon: str = Form(""),
    lat: str = Form(""),
    address: str = Form(""),
    region_code: str = Form(""),
    session: Session = Depends(get_session, scope="function"),
    p: Principal = Depends(RequirePage("cases.hotline")),
) -> Response:
    form = {
        "caller_name": caller_name,
        "caller_phone": caller_phone,
        "callback": callback,
        "category_code": category_code,
        "urgency": urgency,
        "description": description,
        "lon": lon,
        "lat": lat,
        "address": address,
        "region_code": region_code,
    }
    x, y = _float(lon), _float(lat)
    if (lon.strip() and x is None) or (lat.strip() and y is None):
        msg: str | None = i18n.gettext("Longitude and latitude must be numbers")
    else:
        try:
            call = consoles.CallIn(
                caller_name=caller_name.strip()[:60],
                caller_phone=caller_phone[:30],
                callback=callback,
                category_code=category_code,
                urgency=urgency,
                description=description[:2000],
                lon=x,
                lat=y,
                address=address.strip()[:200],
                region_code=region_code.strip() or None,
            )
        except ValidationError:
            msg = i18n.gettext("The request has invalid fields")
        else:
            case, msg, _status = attempt(
                session, lambda: consoles.take_call(session=session, actor=p, call=call)
            )
    if msg:
        return _hotline_page(request, session, p, form, error=msg, status=422)
    return RedirectResponse(f"/cases/hotline?filed={case.id}", status_code=303)


@router.get("/hotline/nearby")
def hotline_nearby(
    request: Request,
    category_code: str = "",
    lon: str = "",
    lat: str = "",
    session: Session = Depends(get_session, scope="function"),
    p: Principal = Depends(RequirePage("cases.hotline")),
) -> Response:
    """HTMX partial: open cases the call would duplicate, refreshed when the point or category changes."""
    x, y = _float(lon), _float(lat)
    items: list[tuple[CaseOut, float]] = []
    if category_code and x is not None and y is not None:
        items = consoles.nearby_open_cases(
            session=session, actor=p, category_code=category_code, lon=x, lat=y
        )
    return render(
        request,
        "cases/_hotline_nearby.html",
        {"nearby": items, "located": x is not None and y is not None, "category": category_code},
    )


# ---------------------------------------------------------------- the dispatcher's map
@router.get("/map")
def case_map_page(
    request: Request,
    view: str = "open",
    state: str = "",
    category: str = "",
    channel: str = "",
    session: Session = Depends(get_session, scope="function"),
    p: Principal = Depends(RequirePage("cases.view")),
) -> Response:
    view = view if view in MAP_VIEWS else "open"
    filters = {"view": view, "state": state, "category": category, "channel": channel}
    return render(
        request,
        "cases/case_map.html",
        {
            "filters": filters,
            "views": MAP_VIEWS,
            "states": flows.OPEN_STATES,
            "channels": CHANNELS,
            "categories": service.categories(session=session),
            "start": _map_start(session, p),
            "query": urlencode({k: v for k, v in filters.items() if v}),
            "state_names": {s: i18n.gettext(f"state:{s}") for s in flows.OPEN_STATES},
            "light_names": {k: i18n.gettext(f"light:{k}") for k in ("green", "yellow", "red")},
        },
    )


@api_router.get("/map", response_model=consoles.CaseMap)
def case_map(
    view: str = "open",
    state: str | None = None,
    category: str | None = None,
    channel: str | None = None,
    region: str | None = None,
    session: Session = Depends(get_session, scope="function"),
    p: Principal = Depends(Require("cases.view")),
) -> consoles.CaseMap:
    """Open cases in the caller's scope as points (WGS84) with their traffic light, filtered like
    the list (`view` open | queue | inbox | verify, `state`, `category`, `channel`, `region`)."""
    return consoles.case_map(
        session=session,
        actor=p,
        states=_view_states(view if view in MAP_VIEWS else "open"),
        state=state or None,
        category_code=category or None,
        channel=channel or None,
        region=region or None,
    )


class NearbyCase(BaseModel):
    case: CaseOut
    distance_m: float


@api_router.get("/nearby", response_model=list[NearbyCase])
def nearby(
    category: str,
    lon: float,
    lat: float,
    crs: str = "wgs84",
    session: Session = Depends(get_session, scope="function"),
    p: Principal = Depends(Require("cases.view")),
) -> list[NearbyCase]:
    """Open cases a new report of `category` at this point would duplicate (before filing it)."""
    return [
        NearbyCase(case=c, distance_m=d)
        for c, d in consoles.nearby_open_cases(
            session=session, actor=p, category_code=category, lon=lon, lat=lat, crs=crs
        )
    ]


# ---------------------------------------------------------------- taxonomy and dispatch rules
def _taxonomy_page(
    request: Request,
    session: Session,
    p: Principal,
    *,
    notice: str | None = None,
    error: str | None = None,
    problems: list[str] | None = None,
    status: int = 200,
) -> Response:
    return render(
        request,
        "cases/admin_taxonomy.html",
        {
            "categories": admin.categories(session=session, actor=p),
            "departments": {d.code: d.name for d in identity.departments(session=session)},
            "notice": notice,
            "error": error,
            "problems": problems or [],
            "tab": "taxonomy",
        },
        status_code=status,
    )


@router.get("/admin/taxonomy")
def taxonomy_page(
    request: Request,
    imported: str = "",
    session: Session = Depends(get_session, scope="function"),
    p: Principal = Depends(RequirePage("cases.taxonomy")),
) -> Response:
    notice = None
    if imported:
        notice = i18n.gettext("Imported: {n} changes").format(n=imported)
    return _taxonomy_page(request, session, p, notice=notice)


@router.get("/admin/taxonomy.xlsx")
def taxonomy_xlsx(
    session: Session = Depends(get_session, scope="function"),
    p: Principal = Depends(RequirePage("cases.taxonomy")),
) -> Response:
    return Response(
        admin_workbook.export_xlsx(session=session, actor=p),
        media_type=admin.XLSX,
        headers={"Content-Disposition": 'attachment; filename="cases-taxonomy.xlsx"'},
    )


@router.post("/admin/import")
async def taxonomy_import(
    request: Request,
    file: UploadFile = File(...),
    session: Session = Depends(get_session, scope="function"),
    p: Principal = Depends(RequirePage("cases.taxonomy")),
) -> Response:
    data = await file.read(MAX_UPLOAD + 1)
    loc = i18n.current_locale.get()
    key = "zh-CN" if loc == "zh_CN" else "en"
    if len(data) > MAX_UPLOAD:
        return _taxonomy_page(
            request, session, p, error=i18n.gettext("The file is larger than 5 MB"), status=413
        )
    try:
        with session.begin_nested():
            summary = admin_workbook.import_xlsx(session=session, actor=p, data=data)
    except admin.WorkbookRejected as e:
        lines = [d["message"][key] for d in e.details]
        return _taxonomy_page(request, session, p, error=e.text(loc), problems=lines, status=e.status)
    except CityOSError as e:
        return _taxonomy_page(request, session, p, error=e.text(loc), status=e.status)
    return RedirectResponse(f"/cases/admin/taxonomy?imported={summary.changes}", status_code=303)


def _category_page(
    request: Request,
    session: Session,
    p: Principal,
    code: str,
    form: dict[str, Any] | None = None,
    error: str | None = None,
    field: str | None = None,
    status: int = 200,
) -> Response:
    cat = admin.category(session=session, actor=p, code=code)
    return render(
        request,
        "cases/admin_category.html",
        {
            "cat": cat,
            "form": form or cat.model_dump(),
            "departments": [d for d in identity.departments(session=session) if d.active],
            "error": error,
            "field": field,
            "saved": request.query_params.get("saved") == "1",
            "tab": "taxonomy",
        },
        status_code=status,
    )


@router.get("/admin/taxonomy/{code}")
def category_page(
    request: Request,
    code: str,
    session: Session = Depends(get_session, scope="function"),
    p: Principal = Depends(RequirePage("cases.taxonomy")),
) -> Response:
    return _category_page(request, session, p, code)


NUMBERS = (*admin.HOUR_FIELDS, "duplicate_radius_m", "duplicate_window_h")
CATEGORY_TEXT = ("major_name", "name", "filing_condition", "closing_condition", "department_code")


@router.post("/admin/taxonomy/{code}")
async def save_category(
    request: Request,
    code: str,
    session: Session = Depends(get_session, scope="function"),
    p: Principal = Depends(RequirePage("cases.taxonomy")),
) -> Response:
    raw = await request.form()
    form: dict[str, Any] = {k: str(raw.get(k, "")) for k in admin.CATEGORY_COLUMNS}
    form["active"] = raw.get("active") == "1"
    bad = [k for k in NUMBERS if _float(form[k]) is None]
    if bad:
        msg = admin.FieldInvalid(admin.Problem(bad[0], "not_a_number", "must be a number")).text(
            i18n.current_locale.get()
        )
        return _category_page(request, session, p, code, form, error=msg, field=bad[0], status=422)
    edit = admin.CategoryEdit(
        **{k: form[k] for k in CATEGORY_TEXT},
        **{k: _float(form[k]) for k in NUMBERS},
        active=form["active"],
    )
    _r, err, status = attempt(
        session, lambda: admin.update_category(session=session, actor=p, code=code, edit=edit)
    )
    if err:
        return _category_page(request, session, p, code, form, error=err, status=status)
    return RedirectResponse(f"/cases/admin/taxonomy/{code}?saved=1", status_code=303)


def _rules_page(
    request: Request,
    session: Session,
    p: Principal,
    *,
    error: str | None = None,
    form: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    q = request.query_params
    tried = None
    if q.get("try_category") and q.get("try_region"):
        try:
            tried = service.route(
                session=session, category_code=q["try_category"], region_code=q["try_region"]
            )
        except CityOSError as e:
            error = e.text(i18n.current_locale.get())
    departments = identity.departments(session=session)
    return render(
        request,
        "cases/admin_rules.html",
        {
            "rules": admin.dispatch_rules(session=session, actor=p),
            "departments": [d for d in departments if d.active],
            "department_names": {d.code: d.name for d in departments},
            "categories": service.categories(session=session, active_only=False),
            "error": error,
            "form": form or {},
            "tried": tried,
            "try_category": q.get("try_category", ""),
            "try_region": q.get("try_region", ""),
            "tab": "rules",
        },
        status_code=status,
    )


@router.get("/admin/rules")
def rules_page(
    request: Request,
    session: Session = Depends(get_session, scope="function"),
    p: Principal = Depends(RequirePage("cases.taxonomy")),
) -> Response:
    return _rules_page(request, session, p)


def _rule_in(category_prefix: str, region_prefix: str, basis: str, department_code: str) -> admin.RuleIn:
    return admin.RuleIn(
        category_prefix=category_prefix,
        region_prefix=region_prefix,
        basis=basis,
        department_code=department_code,
    )


@router.post("/admin/rules")
def add_rule(
    request: Request,
    category_prefix: str = Form(""),
    region_prefix: str = Form(""),
    basis: str = Form(""),
    department_code: str = Form(""),
    session: Session = Depends(get_session, scope="function"),
    p: Principal = Depends(RequirePage("cases.taxonomy")),
) -> Response:
    rule = _rule_in(category_prefix, region_prefix, basis, department_code)
    _r, err, status = attempt(session, lambda: admin.add_rule(session=session, actor=p, rule=rule))
    if err:
        return _rules_page(request, session, p, error=err, form=rule.model_dump(), status=status)
    return RedirectResponse("/cases/admin/rules", status_code=303)


@router.post("/admin/rules/{rule_id}")
def update_rule(
    request: Request,
    rule_id: int = Path(ge=1, le=ID_MAX),
    category_prefix: str = Form(""),
    region_prefix: str = Form(""),
    basis: str = Form(""),
    department_code: str = Form(""),
    session: Session = Depends(get_session, scope="function"),
    p: Principal = Depends(RequirePage("cases.taxonomy")),
) -> Response:
    rule = _rule_in(category_prefix, region_prefix, basis, department_code)
    _r, err, status = attempt(
        session, lambda: admin.update_rule(session=session, actor=p, rule_id=rule_id, rule=rule)
    )
    if err:
        return _rules_page(request, session, p, error=err, status=status)
    return RedirectResponse("/cases/admin/rules", status_code=303)


@router.post("/admin/rules/{rule_id}/delete")
def delete_rule(
    request: Request,
    rule_id: int = Path(ge=1, le=ID_MAX),
    session: Session = Depends(get_session, scope="function"),
    p: Principal = Depends(RequirePage("cases.taxonomy")),
) -> Response:
    _r, err, status = attempt(session, lambda: admin.delete_rule(session=session, actor=p, rule_id=rule_id))
    if err:
        return _rules_page(request, session, p, error=err, status=status)
    return RedirectResponse("/cases/admin/rules", status_code=303)
