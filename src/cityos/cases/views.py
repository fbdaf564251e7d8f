"""一网统管 pages: the case list (dispatcher queue, department inbox, verification list), the case
page with only the actions the viewer may take and its before/after photos, the report page
(phone-friendly: the device's location and camera), my reports, and the evaluation page with the
formulas beside the numbers."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from cityos.cases import attachments, evaluation, export, flows, policy, service
from cityos.cases.admin_views import NAV as CONSOLES_NAV
from cityos.cases.admin_views import router as consoles_router
from cityos.cases.api import FIRST_DAY, LAST_DAY, XLSX, CaseId
from cityos.cases.filters import VIEWS, CaseFilter, list_arguments
from cityos.cases.permissions import DEFAULT_CHANNELS
from cityos.cases.schemas import DB_INT_MAX, STAGES, TASK_RESULTS, CaseOut, ReportIn, TaskIn, TaskOut
from cityos.cases.task_views import router as tasks_router
from cityos.cases.tasks import TASK_STATES
from cityos.core import i18n
from cityos.core.errors import Invalid
from cityos.core.settings import get_settings
from cityos.identity import service as identity
from cityos.identity.permissions import has, region_in_scope
from cityos.identity.schemas import Principal
from cityos.web.deps import RequirePage, get_session
from cityos.web.forms import attempt, chosen_files, read_upload
from cityos.web.templating import NavItem, render

router = APIRouter(prefix="/cases", include_in_schema=False)
router.include_router(consoles_router)  # hotline, map, taxonomy admin: before /cases/{case_id}
router.include_router(tasks_router)  # the grid worker's tasks: before /cases/{case_id}
NAV = [
    NavItem("Cases", "/cases", perm="cases.view", order=20),
    NavItem("Report a problem", "/cases/report", perm="cases.report", order=21),
    NavItem("My reports", "/cases/mine", perm="cases.report", order=22),
    NavItem("Evaluation", "/cases/evaluation", perm="cases.view", order=23),
    NavItem("My tasks", "/cases/tasks", perm="cases.answer_task", order=24),
]
NAV.extend(CONSOLES_NAV)
TZ = ZoneInfo("Asia/Shanghai")
PHOTO_ACTIONS = {"report_back": "after", "verify": "after", "rework": "other"}  # steps that take photos


def _max_upload_mb() -> str:
    return f"{get_settings().max_upload_bytes / 1024 / 1024:g}"


def _default_view(p: Principal) -> str:
    """The list a person's work starts from, by the steps they may take."""
    if has(p, "cases.dispatch"):
        return "queue"
    if has(p, "cases.handle"):
        return "inbox"
    if has(p, "cases.verify"):
        return "verify"
    return "open"


def _numbers(*values: str) -> bool:
    try:
        [float(v) for v in values if v.strip()]
    except ValueError:
        return False
    return True


@router.get("")
def case_list(
    request: Request,
    f: Annotated[CaseFilter, Query()],
    page: int = Query(1, ge=1, le=DB_INT_MAX // 30),
    after: str = Query("", max_length=40),
    session: Session = Depends(get_session, scope="function"),
    p: Principal = Depends(RequirePage("cases.view")),
) -> Response:
    """The filter is cases.filters.CaseFilter, the same as the API's and the export's. Next pages
    continue by keyset (`after`, the same cost on every page); `page` numbers the page and is the
    offset for the link back. The count stops at 10,000 ("at least")."""
    f = _with_view(f, p)
    per = 30
    page = max(page, 1)
    listing = service.list_cases(
        session=session,
        actor=p,
        **list_arguments(f, p),
        limit=per,
        offset=(page - 1) * per,
        after=after or None,
    )
    scope = None if policy.sees_whole_city(p) else p.region_code
    return render(
        request,
        "cases/list.html",
        {
            "items": listing.items,
            "total": listing.total,
            "total_exact": listing.total_exact,
            "next_after": listing.next_after,
            "page": page,
            "per": per,
            "view": f.view,
            "views": list(VIEWS),
            "filters": f,
            "query": f.query(),
            "categories": service.categories(session=session),
            "states": flows.STATES,
            "regions": [
                r for r in identity.regions(session=session, under=scope) if r.level in ("district", "street")
            ],
            "can_search_phone": has(p, "cases.search_phone"),
        },
    )


def _with_view(f: CaseFilter, p: Principal) -> CaseFilter:
    """The list tab asked for, or the one the person's work starts from."""
    return f if f.view in VIEWS else f.model_copy(update={"view": _default_view(p)})


@router.get("/export.xlsx")
def case_list_xlsx(
    f: Annotated[CaseFilter, Query()],
    session: Session = Depends(get_session, scope="function"),
    p: Principal = Depends(RequirePage("cases.view")),
) -> Response:
    """The list on the page, as filtered, as an Excel sheet (cases.export)."""
    f = _with_view(f, p)
    cases = export.export_cases(session=session, actor=p, filters=f)
    stamp = f"{datetime.now(TZ):%Y%m%d-%H%M}"
    return Response(
        export.to_xlsx(session=session, cases=cases),
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="cases-{stamp}.xlsx"'},
    )


@router.get("/mine")
def my_reports(
    request: Request,
    session: Session = Depends(get_session, scope="function"),
    p: Principal = Depends(RequirePage()),
) -> Response:
    return render(request, "cases/mine.html", {"items": service.my_reports(session=session, actor=p)})


@router.get("/report")
def report_form(
    request: Request,
    session: Session = Depends(get_session, scope="function"),
    p: Principal = Depends(RequirePage("cases.report")),
) -> Response:
    return render(request, "cases/report.html", _report_context(session, p, {}))


def _report_context(session: Session, p: Principal, form: dict[str, str]) -> dict[str, Any]:
    """The report form: the most reported 小类 first, then all by 大类; the districts and streets
    to pick from when there is only an address; the coordinate system only for staff (a citizen's
    position comes from the phone's GPS, WGS84)."""
    cats = service.categories(session=session)
    by_code = {c.code: c for c in cats}
    return {
        "categories": cats,
        "common": [by_code[c] for c in service.common_categories(session=session) if c in by_code],
        "regions": [r for r in identity.regions(session=session) if r.level in ("district", "street")],
        "form": form,
        "hotline": has(p, "cases.hotline"),
        "show_crs": has(p, "cases.act") or has(p, "cases.hotline"),
        "max_upload_mb": _max_upload_mb(),
    }


@router.post("/report")
def report(
    request: Request,
    category_code: str = Form(""),
    description: str = Form(""),
    lon: str = Form(""),
    lat: str = Form(""),
    crs: str = Form("wgs84"),
    address: str = Form(""),
    region_code: str = Form(""),
    channel: str = Form(""),
    reporter_name: str = Form(""),
    reporter_phone: str = Form(""),
    urgency: str = Form("normal"),
    photos: list[UploadFile] = File(default=[]),
    session: Session = Depends(get_session, scope="function"),
    p: Principal = Depends(RequirePage("cases.report")),
) -> Response:
    default_channel = next((c for c in DEFAULT_CHANNELS if has(p, f"cases.channel.{c}")), "citizen")
    form = {
        "category_code": category_code,
        "description": description,
        "lon": lon,
        "lat": lat,
        "address": address,
        "region_code": region_code,
        "reporter_name": reporter_name,
        "reporter_phone": reporter_phone,
    }
    msg: str | None = None
    status = 422
    try:
        report = ReportIn(
            category_code=category_code,
            description=description or " ",
            channel=channel or default_channel,
            urgency=urgency if urgency in ("normal", "urgent") else "normal",
            lon=float(lon) if lon.strip() else None,
            lat=float(lat) if lat.strip() else None,
            crs=crs,
            address=address[:200],
            region_code=region_code.strip() or None,
            reporter_name=reporter_name[:60],
            reporter_phone=reporter_phone[:20],
        )
    except ValueError:  # a number that is not one, or a field pydantic refuses
        msg = (
            i18n.gettext("Longitude and latitude must be numbers")
            if (lon + lat).strip() and not _numbers(lon, lat)
            else i18n.gettext("The request has invalid fields")
        )
    else:
        files = chosen_files(photos)

        def report_with_photos() -> CaseOut:
            # one savepoint: a refused photo leaves no case behind, and the page keeps what was typed
            case = service.report_case(session=session, actor=p, report=report)
            _attach(session, p, case.id, "before", files)
            return case

        c, msg, status = attempt(session, report_with_photos)
    if msg:
        return render(
            request,
            "cases/report.html",
            {**_report_context(session, p, form), "error": msg},
            status_code=status,
        )
    return RedirectResponse(f"/cases/{c.id}?reported=1", status_code=303)


@router.get("/evaluation")
def evaluation_page(
    request: Request,
    start: str = "",
    end: str = "",
    region: str = "",
    session: Session = Depends(get_session, scope="function"),
    p: Principal = Depends(RequirePage("cases.view")),
) -> Response:
    today = datetime.now(TZ).date()
    try:
        s = date.fromisoformat(start) if start else today.replace(day=1) - timedelta(days=365)
        e = date.fromisoformat(end) if end else today
        if not FIRST_DAY <= s <= e <= LAST_DAY:
            raise ValueError(end)
    except ValueError:  # a period that cannot be counted: the last year, as with no period
        s, e = today - timedelta(days=365), today
    if not region and p.region_code and not policy.sees_whole_city(p):
        region = p.region_code  # people see their own region's evaluation first
    if region and not region_in_scope(p, region):
        region = p.region_code or ""
    ev = evaluation.evaluate(
        session=session,
        actor=p,
        start=datetime.combine(s, time(0), TZ),
        end=datetime.combine(e, time(0), TZ) + timedelta(days=1),
        region=region or None,
        with_workers=True,
    )
    districts = [d for d in identity.regions(session=session, level="district") if region_in_scope(p, d.code)]
    per_district = []
    for d in districts:
        dev = evaluation.evaluate(
            session=session,
            actor=p,
            start=datetime.combine(s, time(0), TZ),
            end=datetime.combine(e, time(0), TZ) + timedelta(days=1),
            region=d.code,
        )
        per_district.append(
            {
                "name": d.name,
                "code": d.code,
                "rates": dev.rates,
                "counts": dev.counts,
                "score": dev.scores["region"],
            }
        )
    q = f"start={s}&end={e}" + (f"&region={region}" if region else "")
    return render(
        request,
        "cases/evaluation.html",
        {
            "ev": ev,
            "start": s,
            "end": e,
            "region": region,
            "districts": districts,
            "per_district": per_district,
            "xlsx": f"/api/v1/cases/evaluation.xlsx?{q}",
            "formulas": evaluation.FORMULAS,
            "score_formulas": evaluation.SCORES,
            "worker_columns": evaluation.WORKER_COLUMNS,
            "worker_formulas": evaluation.WORKER_FORMULAS,
        },
    )


@router.get("/{case_id}")
def case_page(
    request: Request,
    case_id: CaseId,
    session: Session = Depends(get_session, scope="function"),
    p: Principal = Depends(RequirePage()),
) -> Response:
    return _case_page(request, session, p, case_id)


def _attach(session: Session, p: Principal, case_id: int, stage: str, files: list[UploadFile]) -> None:
    for f in files:
        attachments.add_attachment(
            session=session,
            actor=p,
            case_id=case_id,
            stage=stage,
            filename=f.filename or "",
            data=read_upload(f),
        )


@router.post("/{case_id}/attachments")
def attach(
    request: Request,
    case_id: CaseId,
    stage: str = Form("other"),
    photos: list[UploadFile] = File(default=[]),
    session: Session = Depends(get_session, scope="function"),
    p: Principal = Depends(RequirePage()),
) -> Response:
    """Add photos or documents from the case page (the reporter, or staff who may see the case)."""
    files = chosen_files(photos)
    if not files:
        return _case_page(request, session, p, case_id, error=i18n.gettext("Choose a file first"), status=422)
    _r, err, status = attempt(session, lambda: _attach(session, p, case_id, stage, files))
    if err:
        return _case_page(request, session, p, case_id, error=err, status=status)
    return RedirectResponse(f"/cases/{case_id}#attachments", status_code=303)


def _case_page(
    request: Request,
    session: Session,
    p: Principal,
    case_id: CaseId,
    error: str | None = None,
    status: int = 200,
) -> Response:
    case = service.get_case(session=session, actor=p, case_id=case_id)
    actions = service.actions(session=session, actor=p, case_id=case_id) if has(p, "cases.act") else []
    dupes: list[Any] = []
    if any(a.action == "merge" for a in actions):
        dupes = service.duplicate_candidates(session=session, actor=p, case_id=case_id)
    dept = identity.get_department(session=session, id=case.department_id) if case.department_id else None
    files = attachments.attachments(session=session, actor=p, case_id=case_id)
    timeline = service.timeline(session=session, actor=p, case_id=case_id)
    tasks = service.tasks(session=session, actor=p, case_id=case_id)
    kinds = (
        [k for k, states in TASK_STATES.items() if case.state in states] if has(p, "cases.send_task") else []
    )
    return render(
        request,
        "cases/case.html",
        {
            "case": case,
            "timeline": timeline,
            # who did each step by name and role, one query for the whole timeline
            "people": identity.people(
                session=session,
                usernames=[e.actor.removeprefix("user:") for e in timeline]
                + [str(e.data.get("assignee", "")).removeprefix("user:") for e in timeline],
            ),
            "tasks": tasks,
            "task_kinds": kinds,
            "task_results": TASK_RESULTS,
            "assignees": service.task_assignees(session=session, actor=p, case_id=case_id) if kinds else [],
            "region_choices": service.region_choices(session=session, actor=p, case_id=case_id)
            if has(p, "cases.dispatch")
            else [],
            "actions": actions,
            "duplicates": dupes,
            "department": dept,
            # the dispatch rules' candidates first, then the departments serving the case's region
            "dispatch_groups": service.dispatch_choices(
                session=session, category_code=case.category_code, region_code=case.region_code
            )
            if any(a.action == "dispatch" for a in actions)
            else [],
            "chain": identity.region_chain(session=session, code=case.region_code),
            "error": error,
            "reported": request.query_params.get("reported") == "1",
            "attachments": {stage: [a for a in files if a.stage == stage] for stage in STAGES},
            "attach_stages": [s for s in STAGES if s != "after" or has(p, "cases.act")],
            "photo_actions": PHOTO_ACTIONS,
            "can_rate": case.state == "closed"
            and case.satisfaction is None
            and (p.id == service.reporter_of(session=session, case_id=case_id) or has(p, "cases.hotline")),
        },
        status_code=status,
    )


@router.post("/{case_id}/tasks")
def send_task(
    request: Request,
    case_id: CaseId,
    kind: str = Form(""),
    assignee_id: str = Form(""),
    instruction: str = Form(""),
    session: Session = Depends(get_session, scope="function"),
    p: Principal = Depends(RequirePage("cases.send_task")),
) -> Response:
    """Send a grid worker a task about the case (核实 / 核查) from the case page."""

    def send() -> TaskOut:
        uid = int(assignee_id) if assignee_id.isdigit() and len(assignee_id) < 11 else 0
        try:
            body = TaskIn(kind=kind, assignee_id=uid, instruction=instruction)
        except ValueError:
            raise Invalid(
                "Choose a grid worker who covers the case", field="assignee_id", code="bad_assignee"
            ) from None
        return service.send_task(session=session, actor=p, case_id=case_id, task=body)

    _r, err, status = attempt(session, send)
    if err:
        return _case_page(request, session, p, case_id, error=err, status=status)
    return RedirectResponse(f"/cases/{case_id}#tasks", status_code=303)


@router.post("/{case_id}/place")
def place(
    request: Request,
    case_id: CaseId,
    region_code: str = Form(""),
    expected_version: int = Form(0),
    session: Session = Depends(get_session, scope="function"),
    p: Principal = Depends(RequirePage("cases.dispatch")),
) -> Response:
    """Move a case filed with an address only to a finer region (district → street → grid)."""
    _r, err, status = attempt(
        session,
        lambda: service.place_case(
            session=session,
            actor=p,
            case_id=case_id,
            region_code=region_code,
            expected_version=expected_version or None,
        ),
    )
    if err:
        return _case_page(request, session, p, case_id, error=err, status=status)
    return RedirectResponse(f"/cases/{case_id}", status_code=303)


@router.post("/{case_id}/rate")
def rate(
    request: Request,
    case_id: CaseId,
    score: int = Form(0),
    note: str = Form(""),
    public: str = Form(""),
    session: Session = Depends(get_session, scope="function"),
    p: Principal = Depends(RequirePage()),
) -> Response:
    _r, err, status = attempt(
        session,
        lambda: service.rate_case(
            session=session, actor=p, case_id=case_id, score=score, note=note, public=public == "1"
        ),
    )
    if err:
        return _case_page(request, session, p, case_id, error=err, status=status)
    return RedirectResponse(f"/cases/{case_id}", status_code=303)


@router.post("/{case_id}/act")
def act(
    request: Request,
    case_id: CaseId,
    action: str = Form(""),
    reason: str = Form(""),
    expected_version: int = Form(0),
    department_code: str = Form(""),
    into_case_id: str = Form(""),
    hours: str = Form(""),
    photos: list[UploadFile] = File(default=[]),
    session: Session = Depends(get_session, scope="function"),
    p: Principal = Depends(RequirePage("cases.act")),
) -> Response:
    try:
        extra = float(hours) if hours.strip() else None
    except ValueError:
        return _case_page(
            request, session, p, case_id, error=i18n.gettext("Hours must be a number"), status=422
        )
    files = chosen_files(photos) if action in PHOTO_ACTIONS else []

    def step() -> CaseOut:
        # the step and its photos together: a refused photo leaves the case where it was
        out = service.transition(
            session=session,
            actor=p,
            case_id=case_id,
            action=action,
            reason=reason,
            expected_version=expected_version or None,
            department_code=department_code or None,
            into_case_id=int(into_case_id) if into_case_id.isdigit() and len(into_case_id) < 11 else None,
            hours=extra,
        )
        _attach(session, p, case_id, PHOTO_ACTIONS.get(action, "other"), files)
        return out

    _r, err, status = attempt(session, step)
    if err:
        return _case_page(request, session, p, case_id, error=err, status=status)
    return RedirectResponse(f"/cases/{case_id}", status_code=303)
