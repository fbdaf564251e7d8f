"""The video network (雪亮工程): cameras, their grants to other departments, video rules, and
snapshots analysed by the detector adapter into video events that open cases.

A camera is a device of type `Camera` in the registry (location placed on a grid, owner
department, credentials); its stream address (`meta.stream_url`) and zone (`meta.zone`, e.g.
`restricted`) are metadata. Its owner (or a city-wide manager) grants it to other departments as a
data set is shared; who sees a camera, its events and snapshots is decided by policy.visible.

A snapshot comes from the camera itself (its device token), from a system holding
`sensing.ingest` or from the operations centre (`sensing.alarms`), either of which must see the
camera. Each detector the camera's rules name runs once; a rule met
(at least `min_count` boxes) makes a video event that opens a case of the rule's category through
cases.service, unless the same camera and rule opened one within the rule's window: then the event
records the earlier one it repeats (`duplicate_of`) and no case is opened.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from cityos.core import audit, clock, files
from cityos.core.errors import Invalid, NotFound, Unauthorized
from cityos.identity import service as identity
from cityos.identity.permissions import authorize, has
from cityos.identity.schemas import Principal
from cityos.sensing import detect
from cityos.sensing.devices import device_for_token, is_online
from cityos.sensing.models import CameraGrant, Device, VideoEvent, VideoRule
from cityos.sensing.policy import CAMERA, visible, visible_events
from cityos.sensing.schemas import (
    DETECTORS,
    SEVERITIES,
    CameraOut,
    GrantIn,
    GrantOut,
    VideoEventOut,
    VideoRuleIn,
    VideoRuleOut,
)


# ---------------------------------------------------------------- cameras and grants
def _camera(session: Session, actor: Principal, camera_id: str) -> Device:
    d = session.scalar(select(Device).where(Device.id == camera_id, Device.type == CAMERA, visible(actor)))
    if d is None:
        raise NotFound("No such camera", code="camera_not_found")
    return d


def _outs(session: Session, actor: Principal, cams: list[Device]) -> list[CameraOut]:
    ids = [c.id for c in cams]
    grants: dict[str, list[CameraGrant]] = {i: [] for i in ids}
    for g in session.scalars(
        select(CameraGrant).where(CameraGrant.device_id.in_(ids)).order_by(CameraGrant.granted_at)
    ):
        grants[g.device_id].append(g)
    dept_ids = {c.department_id for c in cams if c.department_id} | {
        g.department_id for gs in grants.values() for g in gs
    }
    depts = {d.id: d for d in identity.departments(session=session) if d.id in dept_ids}
    out = []
    for c in cams:
        meta = c.meta or {}
        owner = depts.get(c.department_id) if c.department_id else None
        out.append(
            CameraOut(
                id=c.id,
                name=c.name,
                lon=c.lon,
                lat=c.lat,
                grid_code=c.grid_code,
                region_code=c.region_code,
                department_id=c.department_id,
                department_name=owner.name if owner else "",
                stream_url=str(meta.get("stream_url", "")),
                zone=str(meta.get("zone", "")),
                online=is_online(c),
                own=bool(actor.department_id and actor.department_id == c.department_id),
                grants=[
                    GrantOut(
                        department_id=g.department_id,
                        department_code=depts[g.department_id].code if g.department_id in depts else "",
                        department_name=depts[g.department_id].name if g.department_id in depts else "",
                        purpose=g.purpose,
                        granted_by=g.granted_by,
                        granted_at=g.granted_at,
                    )
                    for g in grants[c.id]
                ],
            )
        )
    return out


def list_cameras(*, session: Session, actor: Principal, limit: int = 1000) -> list[CameraOut]:
    q = select(Device).where(Device.type == CAMERA, visible(actor)).order_by(Device.id).limit(limit)
    return _outs(session, actor, list(session.scalars(q)))


def get_camera(*, session: Session, actor: Principal, camera_id: str) -> CameraOut:
    return _outs(session, actor, [_camera(session, actor, camera_id)])[0]


def _may_share(session: Session, actor: Principal, cam: Device, department_code: str) -> int:
    authorize(actor, "sensing.manage", region_code=cam.region_code, department_id=cam.department_id)
    try:
        dept = identity.get_department(session=session, code=department_code)
    except NotFound:
        raise Invalid(
            "Unknown department {code}",
            field="department",
            code="unknown_department",
            params={"code": department_code},
        ) from None
    return dept.id


def grant_camera(*, session: Session, actor: Principal, camera_id: str, grant: GrantIn) -> CameraOut:
    """Share a camera with another department (its owner's or a city-wide manager's decision)."""
    cam = _camera(session, actor, camera_id)
    dept_id = _may_share(session, actor, cam, grant.department_code)
    if dept_id == cam.department_id:
        raise Invalid("The camera already belongs to that department", field="department", code="own_camera")
    g = session.get(CameraGrant, (cam.id, dept_id))
    if g is None:
        g = CameraGrant(device_id=cam.id, department_id=dept_id)
        session.add(g)
    g.purpose, g.granted_by, g.granted_at = grant.purpose, actor.actor, clock.now()
    session.flush()
    audit.record(
        session,
        actor=actor.actor,
        action="sensing.camera.grant",
        subject_type="device",
        subject_id=cam.id,
        payload={"department_id": dept_id, "purpose": grant.purpose},
    )
    return get_camera(session=session, actor=actor, camera_id=cam.id)


def revoke_camera(*, session: Session, actor: Principal, camera_id: str, department_code: str) -> CameraOut:
    cam = _camera(session, actor, camera_id)
    dept_id = _may_share(session, actor, cam, department_code)
    g = session.get(CameraGrant, (cam.id, dept_id))
    if g is None:
        raise NotFound("The camera is not shared with that department", code="grant_not_found")
    session.delete(g)
    session.flush()
    audit.record(
        session,
        actor=actor.actor,
        action="sensing.camera.revoke",
        subject_type="device",
        subject_id=cam.id,
        payload={"department_id": dept_id},
    )
    return get_camera(session=session, actor=actor, camera_id=cam.id)


# ---------------------------------------------------------------- video rules
def _rule_out(r: VideoRule) -> VideoRuleOut:
    return VideoRuleOut.model_validate(r, from_attributes=True)


def save_video_rule(
    *, session: Session, actor: Principal, rule: VideoRuleIn, rule_id: int | None = None
) -> VideoRuleOut:
    from cityos.cases import service as cases

    authorize(actor, "sensing.manage")
    if rule.detector not in DETECTORS:
        raise Invalid("Unknown detector {d}", field="detector", code="bad_rule", params={"d": rule.detector})
    if rule.severity not in SEVERITIES:
        raise Invalid("Unknown severity", field="severity", code="bad_rule")
    if (rule.camera_id is None) == (rule.zone is None):
        raise Invalid("Name either one camera or a zone", field="camera_id", code="bad_rule")
    if rule.camera_id:
        _camera(session, actor, rule.camera_id)
    if rule.case_category and not cases.category_exists(session=session, code=rule.case_category):
        raise Invalid("Unknown case category", field="case_category", code="bad_rule")
    r = session.get(VideoRule, rule_id) if rule_id else VideoRule()
    if r is None:
        raise NotFound("No such rule", code="rule_not_found")
    for k, v in rule.model_dump().items():
        setattr(r, k, v)
    if rule_id is None:
        session.add(r)
    session.flush()
    audit.record(
        session,
        actor=actor.actor,
        action="sensing.video_rule.save",
        subject_type="sensing_video_rule",
        subject_id=r.id,
        payload=rule.model_dump(),
    )
    return _rule_out(r)


def list_video_rules(*, session: Session, actor: Principal) -> list[VideoRuleOut]:
    authorize(actor, "sensing.view")
    return [_rule_out(r) for r in session.scalars(select(VideoRule).order_by(VideoRule.id))]


def _rules_for(session: Session, cam: Device) -> list[VideoRule]:
    zone = str((cam.meta or {}).get("zone", "")) or None
    cond = VideoRule.camera_id == cam.id
    if zone:
        cond = or_(cond, VideoRule.zone == zone)
    return list(
        session.scalars(select(VideoRule).where(VideoRule.enabled.is_(True), cond).order_by(VideoRule.id))
    )


# ---------------------------------------------------------------- snapshots and events
def _uploader(
    session: Session, actor: Principal | None, token: str | None, camera_id: str
) -> tuple[Device, str]:
    if token is not None:
        dev = device_for_token(session, token)
        if dev is None or dev.id != camera_id or dev.type != CAMERA:
            raise Unauthorized("Invalid device token", code="invalid_device_token")
        return dev, f"device:{dev.id}"
    if actor is None:
        raise Unauthorized("Please log in first", code="login_required")
    if not has(actor, "sensing.alarms"):  # the operations centre may forward a snapshot too
        authorize(actor, "sensing.ingest")
    return _camera(session, actor, camera_id), actor.actor


def upload_snapshot(
    *,
    session: Session,
    camera_id: str,
    data: bytes,
    actor: Principal | None = None,
    token: str | None = None,
    at: datetime | None = None,
) -> list[VideoEventOut]:
    """Analyse one snapshot: an event per detector run (or per rule met), cases for rules met
    outside their window. A bad image is refused (Invalid) before anything is stored."""
    cam, uploader = _uploader(session, actor, token, camera_id)
    snap = detect.load(data)
    when = at or clock.now()
    rules = _rules_for(session, cam)
    sha = files.store(data)
    cam.last_seen_at = max(cam.last_seen_at or when, when)
    made: list[VideoEvent] = []
    for detector in dict.fromkeys([r.detector for r in rules] or ["people"]):
        boxes = detect.detect(snap, detector)
        met = [r for r in rules if r.detector == detector and len(boxes) >= r.min_count]
        candidates: list[VideoRule | None] = [*met] or [None]
        for rule in candidates:
            ev = VideoEvent(
                device_id=cam.id,
                rule_id=rule.id if rule else None,
                detector=detector,
                count=len(boxes),
                boxes=boxes,
                snapshot_sha256=sha,
                content_type=snap.content_type,
                width=snap.width,
                height=snap.height,
                at=when,
                uploaded_by=uploader,
            )
            session.add(ev)
            session.flush()
            if rule is not None:
                _follow(session, cam, rule, ev)
            made.append(ev)
    return [_event_out(session, e) for e in made]


def _follow(session: Session, cam: Device, rule: VideoRule, ev: VideoEvent) -> None:
    """A rule met: repeat the earlier event within the window, or open the case."""
    earlier = session.scalar(
        select(VideoEvent)
        .where(
            VideoEvent.device_id == cam.id,
            VideoEvent.rule_id == rule.id,
            VideoEvent.duplicate_of.is_(None),
            VideoEvent.id != ev.id,
            VideoEvent.at >= ev.at - timedelta(seconds=rule.window_s),
            VideoEvent.at <= ev.at,
        )
        .order_by(VideoEvent.at.desc(), VideoEvent.id.desc())
        .limit(1)
    )
    if earlier is not None:
        ev.duplicate_of, ev.case_id, ev.case_number = earlier.id, earlier.case_id, earlier.case_number
        return
    if rule.case_category:
        from cityos.cases import service as cases
        from cityos.cases.schemas import ReportIn

        what = {"people": "人", "face": "张人脸", "plate": "个车牌"}[ev.detector]
        case = cases.report_case(
            session=session,
            actor=identity.SYSTEM,
            report=ReportIn(
                category_code=rule.case_category,
                description=f"视频告警：{cam.name}（{cam.id}）检测到{ev.count}{what}（规则：{rule.name}）",
                channel="camera",
                urgency="urgent" if rule.severity in ("critical", "major") else "normal",
                lon=cam.lon,
                lat=cam.lat,
                region_code=None if cam.lon is not None else cam.region_code,
                address="" if cam.lon is not None else cam.name,
            ),
        )
        ev.case_id, ev.case_number = case.id, case.number
    audit.record(
        session,
        actor="system:sensing",
        action="sensing.video.event",
        subject_type="device",
        subject_id=cam.id,
        payload={"event": ev.id, "rule": rule.id, "count": ev.count, "case_id": ev.case_id},
    )


def _event_out(session: Session, e: VideoEvent) -> VideoEventOut:
    rule = session.get(VideoRule, e.rule_id) if e.rule_id else None
    return VideoEventOut(
        id=e.id,
        device_id=e.device_id,
        rule_id=e.rule_id,
        rule_name=rule.name if rule else "",
        detector=e.detector,
        count=e.count,
        boxes=[list(b) for b in e.boxes],
        snapshot_sha256=e.snapshot_sha256,
        width=e.width,
        height=e.height,
        at=e.at,
        duplicate_of=e.duplicate_of,
        case_id=e.case_id,
        case_number=e.case_number,
    )


def list_video_events(
    *, session: Session, actor: Principal, camera_id: str | None = None, limit: int = 100
) -> list[VideoEventOut]:
    q = select(VideoEvent).where(visible_events(actor))
    if camera_id:
        q = q.where(VideoEvent.device_id == camera_id)
    rows = session.scalars(q.order_by(VideoEvent.at.desc(), VideoEvent.id.desc()).limit(limit))
    return [_event_out(session, e) for e in rows]


def snapshot(*, session: Session, actor: Principal, event_id: int) -> tuple[bytes, str]:
    """The snapshot of a video event the actor may see: (bytes, content type)."""
    e = session.scalar(select(VideoEvent).where(VideoEvent.id == event_id, visible_events(actor)))
    if e is None:
        raise NotFound("No such video event", code="video_event_not_found")
    return files.read(e.snapshot_sha256), e.content_type
