"""sensing pages: /sensing (devices on the map and in a list, import), /sensing/devices/{id} (the
device's chart and alarms), /sensing/alarms (the alarm console: acknowledge, clear, assign),
/sensing/rules (the rule editor), /sensing/case-telemetry/{case_id} (the chart the case page
loads for a case an alarm opened) and /sensing/cameras (video_views.py)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi import Path as PathParam
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from cityos.core.i18n import gettext
from cityos.identity import service as identity
from cityos.identity.permissions import has
from cityos.identity.schemas import Principal
from cityos.sensing import service
from cityos.sensing.schemas import DEVICE_TYPES, ID_PATTERN, OPS, RULE_KINDS, SEVERITIES, RuleIn
from cityos.web.deps import RequirePage, get_session
from cityos.web.forms import attempt, read_upload
from cityos.web.templating import NavItem, render

router = APIRouter(prefix="/sensing", include_in_schema=False)
S = Depends(get_session, scope="function")
NAV = [
    NavItem("Sensing", "/sensing", perm="sensing.view", order=40),
    NavItem("Alarms", "/sensing/alarms", perm="sensing.view", order=41),
    NavItem("Cameras", "/sensing/cameras", perm="sensing.view", order=42),
]
DEV = PathParam(pattern=ID_PATTERN)


def _common() -> dict[str, object]:
    return {"types": DEVICE_TYPES, "severities": SEVERITIES}


@router.get("")
def devices(
    request: Request,
    type: str | None = None,
    session: Session = S,
    p: Principal = Depends(RequirePage("sensing.view")),
    error: str | None = None,
    status: int = 200,
) -> Response:
    from cityos.geo import service as geo

    rows = service.list_devices(session=session, actor=p, type=type or None)
    codes = sorted({d.grid_code for d in rows if d.grid_code})
    return render(
        request,
        "sensing/devices.html",
        {
            **_common(),
            "devices": rows,
            "grid_names": geo.grid_names(session=session, codes=codes) if codes else {},
            "counts": service.device_count(session=session, actor=p),
            "alarms": service.list_alarms(session=session, actor=p),
            "type": type or "",
            "can_manage": has(p, "sensing.manage"),
            "error": error,
        },
        status_code=status,
    )


@router.post("/import")
def import_devices(
    request: Request,
    file: UploadFile = File(...),
    session: Session = S,
    p: Principal = Depends(RequirePage("sensing.manage")),
) -> Response:
    report, err, status = attempt(
        session, lambda: service.import_devices(session=session, actor=p, data=read_upload(file))
    )
    if err:
        return devices(request, None, session, p, error=err, status=status)
    return RedirectResponse(f"/sensing?imported={report.created + report.updated}", status_code=303)


@router.get("/devices/{device_id}")
def device(
    request: Request,
    device_id: str = DEV,
    session: Session = S,
    p: Principal = Depends(RequirePage("sensing.view")),
) -> Response:
    d = service.get_device(session=session, actor=p, device_id=device_id)
    attrs = sorted(a for a, (v, _t) in d.last_values.items() if isinstance(v, int | float)) or [
        DEVICE_TYPES[d.type][1]
    ]
    return render(
        request,
        "sensing/device.html",
        {
            **_common(),
            "device": d,
            "attrs": attrs,
            "alarms": service.list_alarms(
                session=session, actor=p, device_id=d.id, open_only=False, limit=50
            ),
            "grid_name": d.grid_code and _grid_name(session, d.grid_code),
        },
    )


def _grid_name(session: Session, code: str) -> str:
    from cityos.geo import service as geo

    return geo.grid_names(session=session, codes=[code])[code]


@router.get("/alarms")
def alarms(
    request: Request,
    closed: bool = False,
    session: Session = S,
    p: Principal = Depends(RequirePage("sensing.view")),
    error: str | None = None,
    status: int = 200,
) -> Response:
    rows = service.list_alarms(session=session, actor=p, open_only=not closed)
    can_act = has(p, "sensing.alarms")
    people = identity.users(session=session, limit=200) if can_act else []
    names = {u.id: u.display_name for u in people}
    return render(
        request,
        "sensing/alarms.html",
        {
            **_common(),
            "alarms": rows,
            "closed": closed,
            "can_act": can_act,
            "people": people,
            "names": names,
            "error": error,
        },
        status_code=status,
    )


@router.post("/alarms/{alarm_id}/{action}")
def alarm_action(
    request: Request,
    alarm_id: int = PathParam(ge=1, le=2**53),
    action: str = PathParam(pattern="^(acknowledge|clear|assign)$"),
    assignee: str = Form(""),
    session: Session = S,
    p: Principal = Depends(RequirePage("sensing.view")),
) -> Response:
    def go() -> object:
        if action == "acknowledge":
            return service.acknowledge(session=session, actor=p, alarm_id=alarm_id)
        if action == "clear":
            return service.clear(session=session, actor=p, alarm_id=alarm_id)
        return service.assign(
            session=session, actor=p, alarm_id=alarm_id, user_id=int(assignee) if assignee.isdigit() else None
        )

    _r, err, status = attempt(session, go)
    if err:
        return alarms(request, False, session, p, error=err, status=status)
    return RedirectResponse("/sensing/alarms", status_code=303)


@router.get("/rules")
def rules(
    request: Request,
    session: Session = S,
    p: Principal = Depends(RequirePage("sensing.view")),
    error: str | None = None,
    status: int = 200,
) -> Response:
    return render(
        request,
        "sensing/rules.html",
        {
            **_common(),
            "rules": service.list_rules(session=session, actor=p),
            "kinds": RULE_KINDS,
            "ops": OPS,
            "can_manage": has(p, "sensing.manage"),
            "error": error,
        },
        status_code=status,
    )


def _num(v: str) -> float | None:
    try:
        return float(v) if v.strip() else None
    except ValueError:
        return None


@router.post("/rules")
async def add_rule(
    request: Request, session: Session = S, p: Principal = Depends(RequirePage("sensing.manage"))
) -> Response:
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    try:
        rule = RuleIn(
            name=form.get("name", "").strip() or "-",
            device_type=form.get("device_type") or None,
            device_id=form.get("device_id") or None,
            attr=form.get("attr", "").strip() or "-",
            kind=form.get("kind", "threshold"),
            op=form.get("op", "gt"),
            low=_num(form.get("low", "")),
            high=_num(form.get("high", "")),
            duration_s=int(_num(form.get("duration_min", "")) or 0) * 60,
            repeat=int(_num(form.get("repeat", "")) or 1),
            clear_op=form.get("clear_op") or None,
            clear_low=_num(form.get("clear_low", "")),
            clear_high=_num(form.get("clear_high", "")),
            minutes=int(_num(form.get("minutes", "")) or 0) or None,
            severity=form.get("severity", "major"),
            case_category=form.get("case_category", "").strip() or None,
        )
    except ValueError:
        return rules(request, session, p, error=gettext("The request has invalid fields"), status=422)
    _r, err, status = attempt(session, lambda: service.save_rule(session=session, actor=p, rule=rule))
    if err:
        return rules(request, session, p, error=err, status=status)
    return RedirectResponse("/sensing/rules", status_code=303)


@router.get("/case-telemetry/{case_id}")
def case_telemetry(
    request: Request,
    case_id: int = PathParam(ge=1, le=2**31 - 1),
    session: Session = S,
    p: Principal = Depends(RequirePage()),
) -> Response:
    """The fragment the case page loads (HTMX): the alarm and its device's series around it."""
    hook = service.case_telemetry(session=session, actor=p, case_id=case_id)
    points = [[t.isoformat(), v] for t, v in hook["series"].points] if hook else []
    return render(request, "sensing/_case_telemetry.html", {"hook": hook, "points": points})


from cityos.sensing.video_views import router as _camera_pages  # noqa: E402  (the camera page)

router.include_router(_camera_pages)
