"""sensing's JSON routes under /api/v1/sensing: devices, telemetry in, series, the map, alarms,
rules, and the video network (cameras, grants, snapshots, video events, video rules). Reads are
narrowed by policy.visible; writes need the permission named on each route."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Depends, File, Header, Query, Response, UploadFile
from fastapi import Path as PathParam
from pydantic import BaseModel
from sqlalchemy.orm import Session

from cityos.core import clock
from cityos.identity.schemas import Principal
from cityos.sensing import detect, service
from cityos.sensing.schemas import (
    ID_PATTERN,
    AlarmOut,
    CameraOut,
    DeviceIn,
    DeviceOut,
    GrantIn,
    ImportReport,
    IngestResult,
    NewCredentials,
    RuleIn,
    RuleOut,
    SeriesOut,
    TelemetryIn,
    VideoEventOut,
    VideoRuleIn,
    VideoRuleOut,
)
from cityos.web.deps import Require, authenticated, current_principal, get_session
from cityos.web.forms import read_upload

router = APIRouter(prefix="/api/v1/sensing", tags=["sensing"])
S = Depends(get_session, scope="function")
DEV = PathParam(pattern=ID_PATTERN)
ALARM = PathParam(ge=1, le=2**53)


class AssignIn(BaseModel):
    user_id: int | None = None


@router.get("/devices", response_model=list[DeviceOut])
def devices(
    type: str | None = None, session: Session = S, p: Principal = Depends(Require("sensing.view"))
) -> list[DeviceOut]:
    return service.list_devices(session=session, actor=p, type=type)


@router.post("/devices", response_model=DeviceOut, status_code=201)
def register(
    body: DeviceIn, session: Session = S, p: Principal = Depends(Require("sensing.manage"))
) -> DeviceOut:
    return service.register_device(session=session, actor=p, device=body)


@router.post("/devices/import", response_model=ImportReport)
def import_devices(
    file: UploadFile = File(...), session: Session = S, p: Principal = Depends(Require("sensing.manage"))
) -> ImportReport:
    """CSV or XLSX (设备编号/id, 类型/type, 名称/name, 经度/lon, 纬度/lat, 权属部门/department,
    固件/firmware, further columns as metadata); any bad row → 422 with every row's error."""
    return service.import_devices(session=session, actor=p, data=read_upload(file))


@router.get("/devices/{device_id}", response_model=DeviceOut)
def device(
    device_id: str = DEV, session: Session = S, p: Principal = Depends(Require("sensing.view"))
) -> DeviceOut:
    return service.get_device(session=session, actor=p, device_id=device_id)


@router.delete("/devices/{device_id}", status_code=204)
def delete(
    device_id: str = DEV, session: Session = S, p: Principal = Depends(Require("sensing.manage"))
) -> None:
    service.delete_device(session=session, actor=p, device_id=device_id)


@router.post("/devices/{device_id}/credentials", response_model=NewCredentials)
def credentials(
    device_id: str = DEV,
    rotate: bool = False,
    session: Session = S,
    p: Principal = Depends(Require("sensing.manage")),
) -> NewCredentials:
    """The device's MQTT user name, password (also its HTTP X-Device-Token) and topic."""
    return service.credentials(session=session, actor=p, device_id=device_id, rotate=rotate)


@router.post("/telemetry", response_model=IngestResult)
def telemetry(
    body: TelemetryIn, session: Session = S, p: Principal = Depends(Require("sensing.ingest"))
) -> IngestResult:
    """A batch from another system: items of {device_id, observedAt?, attr: value …}; bad items
    are rejected with their reason, the rest stored."""
    return service.ingest_http(session=session, actor=p, items=body.items)


@router.post("/devices/{device_id}/telemetry", response_model=IngestResult)
def device_telemetry(
    body: Any,
    device_id: str = DEV,
    x_device_token: str = Header(..., alias="X-Device-Token"),
    session: Session = S,
) -> IngestResult:
    """A device posting its own readings (an object or a list) with its token."""
    return service.ingest_device(session=session, token=x_device_token, device_id=device_id, payload=body)


@router.get("/devices/{device_id}/series", response_model=SeriesOut)
def series(
    attr: str,
    device_id: str = DEV,
    start: datetime | None = None,
    end: datetime | None = None,
    resolution: str = Query("auto", pattern="^(auto|raw|hour|day)$"),
    session: Session = S,
    p: Principal = Depends(Require("sensing.view")),
) -> SeriesOut:
    """The chart's series: raw readings up to 2 days, hourly means up to 62, daily beyond."""
    end = end or clock.now()
    start = start or end - timedelta(hours=24)
    return service.series(
        session=session, actor=p, device_id=device_id, attr=attr, start=start, end=end, resolution=resolution
    )


@router.get("/map")
def device_map(session: Session = S, p: Principal = Depends(Require("sensing.view"))) -> list[dict[str, Any]]:
    """Every visible device with a location: id, name, type, lon, lat, online, and the severity
    of its worst open alarm (None without one)."""
    return service.map_points(session=session, actor=p)


@router.get("/alarms", response_model=list[AlarmOut])
def alarms(
    open_only: bool = True,
    device_id: str | None = None,
    severity: str | None = None,
    session: Session = S,
    p: Principal = Depends(Require("sensing.view")),
) -> list[AlarmOut]:
    return service.list_alarms(
        session=session, actor=p, open_only=open_only, device_id=device_id, severity=severity
    )


@router.get("/alarms/{alarm_id}/timeline")
def alarm_timeline(
    alarm_id: int = ALARM, session: Session = S, p: Principal = Depends(Require("sensing.view"))
) -> list[dict[str, Any]]:
    return service.timeline(session=session, actor=p, alarm_id=alarm_id)


@router.post("/alarms/{alarm_id}/acknowledge", response_model=AlarmOut)
def acknowledge(
    alarm_id: int = ALARM, session: Session = S, p: Principal = Depends(authenticated)
) -> AlarmOut:
    return service.acknowledge(session=session, actor=p, alarm_id=alarm_id)


@router.post("/alarms/{alarm_id}/clear", response_model=AlarmOut)
def clear(alarm_id: int = ALARM, session: Session = S, p: Principal = Depends(authenticated)) -> AlarmOut:
    return service.clear(session=session, actor=p, alarm_id=alarm_id)


@router.post("/alarms/{alarm_id}/assign", response_model=AlarmOut)
def assign(
    body: AssignIn, alarm_id: int = ALARM, session: Session = S, p: Principal = Depends(authenticated)
) -> AlarmOut:
    return service.assign(session=session, actor=p, alarm_id=alarm_id, user_id=body.user_id)


@router.get("/rules", response_model=list[RuleOut])
def rules(session: Session = S, p: Principal = Depends(Require("sensing.view"))) -> list[RuleOut]:
    return service.list_rules(session=session, actor=p)


@router.post("/rules", response_model=RuleOut, status_code=201)
def add_rule(
    body: RuleIn, session: Session = S, p: Principal = Depends(Require("sensing.manage"))
) -> RuleOut:
    return service.save_rule(session=session, actor=p, rule=body)


@router.put("/rules/{rule_id}", response_model=RuleOut)
def edit_rule(
    body: RuleIn,
    rule_id: int = PathParam(ge=1, le=2**31 - 1),
    session: Session = S,
    p: Principal = Depends(Require("sensing.manage")),
) -> RuleOut:
    return service.save_rule(session=session, actor=p, rule=body, rule_id=rule_id)


# ---------------------------------------------------------------- the video network
EVENT = PathParam(ge=1, le=2**53)
CAM = PathParam(pattern=ID_PATTERN)  # its own object: one Path() per parameter name


@router.get("/cameras", response_model=list[CameraOut])
def cameras(session: Session = S, p: Principal = Depends(Require("sensing.view"))) -> list[CameraOut]:
    """The cameras the caller's department owns or was granted (all for city-wide roles)."""
    return service.list_cameras(session=session, actor=p)


@router.get("/cameras/{camera_id}", response_model=CameraOut)
def camera(
    camera_id: str = CAM, session: Session = S, p: Principal = Depends(Require("sensing.view"))
) -> CameraOut:
    return service.get_camera(session=session, actor=p, camera_id=camera_id)


@router.post("/cameras/{camera_id}/grants", response_model=CameraOut)
def grant_camera(
    body: GrantIn,
    camera_id: str = CAM,
    session: Session = S,
    p: Principal = Depends(Require("sensing.manage")),
) -> CameraOut:
    """Share the camera with another department (department_code, purpose)."""
    return service.grant_camera(session=session, actor=p, camera_id=camera_id, grant=body)


@router.delete("/cameras/{camera_id}/grants/{department_code}", response_model=CameraOut)
def revoke_camera(
    department_code: str = PathParam(max_length=40),
    camera_id: str = CAM,
    session: Session = S,
    p: Principal = Depends(Require("sensing.manage")),
) -> CameraOut:
    return service.revoke_camera(
        session=session, actor=p, camera_id=camera_id, department_code=department_code
    )


@router.post("/cameras/{camera_id}/snapshots", response_model=list[VideoEventOut], status_code=201)
def snapshot(
    file: UploadFile = File(...),
    camera_id: str = CAM,
    x_device_token: str | None = Header(None, alias="X-Device-Token"),
    session: Session = S,
    p: Principal = Depends(current_principal),
) -> list[VideoEventOut]:
    """A JPEG or PNG snapshot (at most 5 MB, 4096 × 4096 pixels) from the camera itself
    (X-Device-Token) or a system with the `sensing` scope: the detectors its rules name run on it;
    the video events come back (with the case a rule opened). A bad image → 422, nothing stored."""
    data = read_upload(file, limit=detect.max_bytes())
    return service.upload_snapshot(
        session=session,
        camera_id=camera_id,
        data=data,
        actor=None if x_device_token is not None else p,
        token=x_device_token,
    )


@router.get("/cameras/{camera_id}/events", response_model=list[VideoEventOut])
def camera_events(
    camera_id: str = CAM, session: Session = S, p: Principal = Depends(Require("sensing.view"))
) -> list[VideoEventOut]:
    service.get_camera(session=session, actor=p, camera_id=camera_id)
    return service.list_video_events(session=session, actor=p, camera_id=camera_id)


@router.get("/video-events/{event_id}/snapshot")
def event_snapshot(
    event_id: int = EVENT, session: Session = S, p: Principal = Depends(Require("sensing.view"))
) -> Response:
    data, kind = service.snapshot(session=session, actor=p, event_id=event_id)
    return Response(data, media_type=kind, headers={"Cache-Control": "private, max-age=3600"})


@router.get("/video-rules", response_model=list[VideoRuleOut])
def video_rules(session: Session = S, p: Principal = Depends(Require("sensing.view"))) -> list[VideoRuleOut]:
    return service.list_video_rules(session=session, actor=p)


@router.post("/video-rules", response_model=VideoRuleOut, status_code=201)
def add_video_rule(
    body: VideoRuleIn, session: Session = S, p: Principal = Depends(Require("sensing.manage"))
) -> VideoRuleOut:
    """One camera (camera_id) or a zone (cameras whose metadata `zone` matches); detector people,
    face or plate; at least min_count boxes; one case per camera and rule within window_s."""
    return service.save_video_rule(session=session, actor=p, rule=body)


@router.put("/video-rules/{rule_id}", response_model=VideoRuleOut)
def edit_video_rule(
    body: VideoRuleIn,
    rule_id: int = PathParam(ge=1, le=2**31 - 1),
    session: Session = S,
    p: Principal = Depends(Require("sensing.manage")),
) -> VideoRuleOut:
    return service.save_video_rule(session=session, actor=p, rule=body, rule_id=rule_id)
