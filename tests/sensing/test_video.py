"""The video network: cameras in the registry, grants to other departments (one visibility rule
for lists, details, events and snapshots), snapshots through the OpenCV detectors into video events
and cases, deduplicated per camera and rule within the rule's window, bad images refused."""

from __future__ import annotations

from datetime import timedelta

import pytest

from cityos.core import clock
from cityos.core.errors import Forbidden, Invalid, NotFound, Unauthorized
from cityos.identity import service as identity
from cityos.sensing import detect, service
from cityos.sensing.devices import device_password
from cityos.sensing.schemas import DeviceIn, GrantIn, VideoRuleIn
from tests.sensing import images
from tests.sensing.conftest import LAT, LON, NOW


@pytest.fixture
def cameras(sensed, db):  # type: ignore[no-untyped-def]
    """cam-1 in a restricted zone and cam-2 elsewhere, both of 公安局 (gaj); a rule: 3 or more
    people on a restricted camera open a 摆摊设点 case, at most one per 10 minutes."""
    city, _rule = sensed
    with db.transaction() as s:
        for cid, zone in (("cam-1", "restricted"), ("cam-2", "")):
            service.register_device(
                session=s,
                actor=identity.SYSTEM,
                device=DeviceIn(
                    id=cid,
                    type="Camera",
                    name=f"人民广场{cid}",
                    lon=LON,
                    lat=LAT,
                    department_code="gaj",
                    meta={"stream_url": f"rtsp://10.1.2.3/{cid}", "zone": zone} if zone else {},
                ),
            )
        rule = service.save_video_rule(
            session=s,
            actor=identity.SYSTEM,
            rule=VideoRuleIn(
                name="禁区人员聚集", zone="restricted", detector="people", min_count=3, case_category="E0406"
            ),
        )
    return city, rule


def upload(db, camera: str, data: bytes, **kw):  # type: ignore[no-untyped-def]
    with db.transaction() as s:
        return service.upload_snapshot(session=s, camera_id=camera, data=data, **kw)


def test_the_detectors_find_people_faces_and_plates_in_real_images():
    assert len(detect.detect(detect.load(images.crowd(5)), "people")) == 5
    assert len(detect.detect(detect.load(images.crowd(1)), "people")) == 1
    assert detect.detect(detect.load(images.empty()), "people") == []
    snap = detect.load(images.faces(3))
    assert snap.content_type == "image/jpeg"
    assert len(detect.detect(snap, "face")) == 3
    assert detect.detect(snap, "people") == []  # portraits are not standing people
    assert len(detect.detect(detect.load(images.plate()), "plate")) == 1


def test_large_images_are_scaled_for_detection_and_boxes_come_back_in_their_pixels():
    import cv2
    import numpy as np

    small = cv2.imdecode(np.frombuffer(images.crowd(4), np.uint8), cv2.IMREAD_GRAYSCALE)
    big = cv2.resize(small, (small.shape[1] * 3, small.shape[0] * 3), interpolation=cv2.INTER_NEAREST)
    snap = detect.load(cv2.imencode(".png", big)[1].tobytes())
    assert snap.width == big.shape[1] and snap.gray.shape[1] == detect.WORK_WIDTH
    boxes = detect.detect(snap, "people")
    assert len(boxes) == 4
    assert max(x + w for x, _y, w, _h in boxes) > detect.WORK_WIDTH  # original pixels, not working ones


def test_bad_images_are_refused_with_a_reason(monkeypatch):
    png = images.crowd(1)
    for data, code in (
        (b"", "empty_file"),
        (b"GIF89a" + b"\0" * 100, "unsupported_type"),
        (b"%PDF-1.7 not an image", "unsupported_type"),
        (png[:60], "bad_image"),  # a PNG cut short
        (b"\xff\xd8\xff\xe0" + b"\0" * 200, "bad_image"),  # a JPEG header and nothing else
        (images.empty(5000, 10), "too_many_pixels"),
    ):
        with pytest.raises(Invalid) as e:
            detect.load(data)
        assert e.value.code == code, (code, e.value.code)
    monkeypatch.setenv("CITYOS_SENSING_SNAPSHOT_MAX_BYTES", "1000")
    with pytest.raises(Invalid) as e:
        detect.load(png)
    assert e.value.code == "too_large"


def test_grants_decide_who_sees_a_camera_and_its_events(cameras, db):  # type: ignore[no-untyped-def]
    city, _rule = cameras
    dispatcher, handler, admin = (city.as_role(r) for r in ("dispatcher", "handler", "admin"))
    upload(db, "cam-2", images.crowd(1), actor=identity.SYSTEM)
    with db.transaction() as s:
        assert [c.id for c in service.list_cameras(session=s, actor=admin)] == ["cam-1", "cam-2"]
        # 城管局 (dispatcher) and 兰山区城管局 (handler, whose region holds the cameras) see none
        for p in (dispatcher, handler):
            assert service.list_cameras(session=s, actor=p) == []
            assert "cam-2" not in {d.id for d in service.list_devices(session=s, actor=p)}
            assert service.list_video_events(session=s, actor=p) == []
            with pytest.raises(NotFound):
                service.get_camera(session=s, actor=p, camera_id="cam-2")
        assert "dr-1" in {
            d.id for d in service.list_devices(session=s, actor=dispatcher)
        }  # sensors as before
        with pytest.raises(NotFound):
            service.grant_camera(
                session=s,
                actor=dispatcher,
                camera_id="cam-2",
                grant=GrantIn(department_code="cgj", purpose="x"),
            )
        cam = service.grant_camera(
            session=s,
            actor=admin,
            camera_id="cam-2",
            grant=GrantIn(department_code="cgj", purpose="市容巡查"),
        )
        assert [(g.department_code, g.purpose) for g in cam.grants] == [("cgj", "市容巡查")]
        with pytest.raises(Invalid):
            service.grant_camera(
                session=s, actor=admin, camera_id="cam-2", grant=GrantIn(department_code="gaj", purpose="x")
            )
        with pytest.raises(Invalid):
            service.grant_camera(
                session=s, actor=admin, camera_id="cam-2", grant=GrantIn(department_code="nope", purpose="x")
            )
    with db.transaction() as s:
        seen = service.list_cameras(session=s, actor=dispatcher)
        assert [c.id for c in seen] == ["cam-2"] and not seen[0].own
        assert seen[0].stream_url == "" and seen[0].department_name == "临沂市公安局"
        events = service.list_video_events(session=s, actor=dispatcher)
        assert [e.device_id for e in events] == ["cam-2"]
        data, kind = service.snapshot(session=s, actor=dispatcher, event_id=events[0].id)
        assert data == images.crowd(1) and kind == "image/png"
        assert service.list_cameras(session=s, actor=handler) == []
        with pytest.raises(Forbidden):  # a grantee does not pass the camera on
            service.grant_camera(
                session=s,
                actor=dispatcher,
                camera_id="cam-2",
                grant=GrantIn(department_code="ls-cgj", purpose="x"),
            )
        service.revoke_camera(session=s, actor=admin, camera_id="cam-2", department_code="cgj")
        with pytest.raises(NotFound):
            service.revoke_camera(session=s, actor=admin, camera_id="cam-2", department_code="cgj")
    with db.transaction() as s:
        assert service.list_cameras(session=s, actor=dispatcher) == []
        with pytest.raises(NotFound):
            service.snapshot(session=s, actor=dispatcher, event_id=events[0].id)


def test_a_crowd_in_a_restricted_zone_opens_one_case_per_window(cameras, db):  # type: ignore[no-untyped-def]
    from cityos.cases import service as cases

    city, rule = cameras
    token = device_password("cam-1", 1)
    few = upload(db, "cam-1", images.crowd(2), token=token)
    assert [(e.count, e.rule_id, e.case_id) for e in few] == [(2, None, None)]
    first = upload(db, "cam-1", images.crowd(4), token=token)
    assert [(e.count, e.rule_id, e.duplicate_of) for e in first] == [(4, rule.id, None)]
    case_id = first[0].case_id
    assert case_id is not None
    with db.transaction() as s:
        case = cases.get_case(session=s, actor=identity.SYSTEM, case_id=case_id)
        assert case.category_code == "E0406" and case.channel == "camera"
        assert "检测到4人" in case.description and "禁区人员聚集" in case.description
    clock.set_now(NOW + timedelta(minutes=5))
    again = upload(db, "cam-1", images.crowd(5), token=token)
    assert again[0].duplicate_of == first[0].id and again[0].case_id == case_id
    other = upload(db, "cam-2", images.crowd(5), actor=identity.SYSTEM)  # not in the zone: no rule
    assert other[0].rule_id is None and other[0].case_id is None
    clock.set_now(NOW + timedelta(minutes=16))
    later = upload(db, "cam-1", images.crowd(3), token=token)
    assert later[0].duplicate_of is None and later[0].case_id not in (None, case_id)
    with db.transaction() as s:
        events = service.list_video_events(session=s, actor=city.as_role("admin"), camera_id="cam-1")
        assert [e.count for e in events] == [3, 5, 4, 2]


def test_face_and_plate_rules_on_one_camera_and_who_may_upload(cameras, db):  # type: ignore[no-untyped-def]
    with db.transaction() as s:
        for det, n in (("face", 2), ("plate", 1)):
            service.save_video_rule(
                session=s,
                actor=identity.SYSTEM,
                rule=VideoRuleIn(name=f"{det}规则", camera_id="cam-2", detector=det, min_count=n, window_s=0),
            )
        for bad in (
            VideoRuleIn(name="x", detector="people"),  # neither camera nor zone
            VideoRuleIn(name="x", zone="restricted", detector="cars"),
            VideoRuleIn(name="x", zone="restricted", case_category="Z9999"),
            VideoRuleIn(name="x", camera_id="dr-1"),  # not a camera
        ):
            with pytest.raises((Invalid, NotFound)):
                service.save_video_rule(session=s, actor=identity.SYSTEM, rule=bad)
    evs = upload(db, "cam-2", images.faces(3), actor=identity.SYSTEM)
    assert sorted((e.detector, e.count, e.rule_id is not None) for e in evs) == [
        ("face", 3, True),
        ("plate", 0, False),
    ]
    with pytest.raises(Unauthorized):
        upload(db, "cam-2", images.plate(), token=device_password("cam-1", 1))  # another camera's token
    with pytest.raises(Unauthorized):
        upload(db, "dr-1", images.plate(), token=device_password("dr-1", 1))  # not a camera
    with pytest.raises(Invalid):
        upload(db, "cam-2", b"not an image", actor=identity.SYSTEM)
    with db.transaction() as s:
        assert len(service.list_video_events(session=s, actor=identity.SYSTEM, camera_id="cam-2")) == 2
