"""The camera page /sensing/cameras: the cameras the actor's department owns or was granted, their
grants (share with a department, withdraw), the video rules, a snapshot upload for the operations
centre, and the latest video events with their snapshots and cases. Included by views.py."""

from __future__ import annotations

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi import Path as PathParam
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from cityos.identity import service as identity
from cityos.identity.permissions import has
from cityos.identity.schemas import Principal
from cityos.sensing import detect, service
from cityos.sensing.schemas import DETECTORS, ID_PATTERN, GrantIn, VideoRuleIn
from cityos.web.deps import RequirePage, get_session
from cityos.web.forms import attempt, read_upload
from cityos.web.templating import render

router = APIRouter(include_in_schema=False)  # views.py mounts it under /sensing
S = Depends(get_session, scope="function")
CAM = PathParam(pattern=ID_PATTERN)


@router.get("/cameras")
def cameras(
    request: Request,
    session: Session = S,
    p: Principal = Depends(RequirePage("sensing.view")),
    error: str | None = None,
    status: int = 200,
) -> Response:
    rows = service.list_cameras(session=session, actor=p)
    can_manage = has(p, "sensing.manage")
    grids = sorted({c.grid_code for c in rows if c.grid_code})
    from cityos.geo import service as geo

    return render(
        request,
        "sensing/cameras.html",
        {
            "cameras": rows,
            "grid_names": geo.grid_names(session=session, codes=grids) if grids else {},
            "events": service.list_video_events(session=session, actor=p, limit=30),
            "rules": service.list_video_rules(session=session, actor=p),
            "detectors": DETECTORS,
            "departments": identity.departments(session=session) if can_manage else [],
            "can_manage": can_manage,
            "can_upload": has(p, "sensing.alarms") or has(p, "sensing.ingest"),
            "max_mb": detect.max_bytes() // (1024 * 1024),
            "error": error,
        },
        status_code=status,
    )


@router.post("/cameras/{camera_id}/grants")
def grant(
    request: Request,
    camera_id: str = CAM,
    department: str = Form(""),
    purpose: str = Form(""),
    session: Session = S,
    p: Principal = Depends(RequirePage("sensing.manage")),
) -> Response:
    def go() -> object:
        body = GrantIn.model_validate({"department_code": department, "purpose": purpose.strip()})
        return service.grant_camera(session=session, actor=p, camera_id=camera_id, grant=body)

    return _done(request, session, p, go)


@router.post("/cameras/{camera_id}/grants/{department}/revoke")
def revoke(
    request: Request,
    camera_id: str = CAM,
    department: str = PathParam(max_length=40),
    session: Session = S,
    p: Principal = Depends(RequirePage("sensing.manage")),
) -> Response:
    return _done(
        request,
        session,
        p,
        lambda: service.revoke_camera(
            session=session, actor=p, camera_id=camera_id, department_code=department
        ),
    )


@router.post("/cameras/{camera_id}/snapshots")
def upload(
    request: Request,
    camera_id: str = CAM,
    file: UploadFile = File(...),
    session: Session = S,
    p: Principal = Depends(RequirePage("sensing.view")),
) -> Response:
    data = read_upload(file, limit=detect.max_bytes())
    return _done(
        request,
        session,
        p,
        lambda: service.upload_snapshot(session=session, camera_id=camera_id, data=data, actor=p),
    )


@router.post("/video-rules")
def add_rule(
    request: Request,
    name: str = Form(""),
    target: str = Form(""),
    detector: str = Form("people"),
    min_count: str = Form("1"),
    window_min: str = Form("10"),
    case_category: str = Form(""),
    session: Session = S,
    p: Principal = Depends(RequirePage("sensing.manage")),
) -> Response:
    """`target` is `zone:NAME` or a camera id."""

    def go() -> object:
        zone = target.removeprefix("zone:") if target.startswith("zone:") else None
        rule = VideoRuleIn.model_validate(
            {
                "name": name.strip(),
                "zone": zone,
                "camera_id": None if zone is not None else (target or None),
                "detector": detector,
                "min_count": int(min_count) if min_count.strip().isdigit() else 0,
                "window_s": int(window_min) * 60 if window_min.strip().isdigit() else -1,
                "case_category": case_category.strip() or None,
            }
        )
        return service.save_video_rule(session=session, actor=p, rule=rule)

    return _done(request, session, p, go)


def _done(request: Request, session: Session, p: Principal, fn: object) -> Response:
    from pydantic import ValidationError

    from cityos.core.i18n import gettext

    try:
        _r, err, status = attempt(session, fn)  # type: ignore[arg-type]
    except ValidationError:
        err, status = gettext("The request has invalid fields"), 422
    if err:
        return cameras(request, session, p, error=err, status=status)
    return RedirectResponse("/sensing/cameras", status_code=303)
