"""The demo city's video network: three cameras of 公安局 (gaj) at grid centres — one over a
restricted square — the square's camera shared with 城管局 (cgj), the rule "3 or more people in a
restricted zone open a 摆摊设点 case", and two snapshots drawn here (a crowd of five, then two
people) analysed by the real detectors: the first opens the case, the second stays below the rule."""

from __future__ import annotations

import contextlib
from datetime import timedelta

from cityos.core import clock
from cityos.core.errors import Conflict
from cityos.demo.context import DemoContext
from cityos.geo import service as geo
from cityos.sensing import video
from cityos.sensing.devices import register_device
from cityos.sensing.schemas import DeviceIn, GrantIn, VideoRuleIn

CAMERAS = [
    ("ly-cam-0001", "人民广场东侧摄像机", "restricted"),
    ("ly-cam-0002", "沂蒙路路口摄像机", ""),
    ("ly-cam-0003", "滨河公园入口摄像机", ""),
]


def crowd_scene(people: int, width: int = 960, height: int = 360) -> bytes:
    """A PNG of `people` standing figures on a plain square, as a fixed camera would see them."""
    import cv2
    import numpy as np

    img = np.full((height, width), 205, np.uint8)
    cv2.rectangle(img, (0, height - 60), (width, height), 175, -1)  # the pavement
    step = (width - 120) // max(people, 1)

    def k(v: float) -> int:
        return int(v * 1.3)

    for i in range(people):
        x, y = 80 + i * step, 70 + (i % 2) * 20
        c = 35 + (i * 7) % 30

        cv2.circle(img, (x, y), k(12), c, -1)
        cv2.rectangle(img, (x - k(14), y + k(14)), (x + k(14), y + k(60)), c, -1)
        cv2.line(img, (x - k(14), y + k(18)), (x - k(22), y + k(55)), c, k(7))
        cv2.line(img, (x + k(14), y + k(18)), (x + k(22), y + k(55)), c, k(7))
        cv2.line(img, (x - k(7), y + k(60)), (x - k(12), y + k(110)), c, k(10))
        cv2.line(img, (x + k(7), y + k(60)), (x + k(12), y + k(110)), c, k(10))
    ok, buf = cv2.imencode(".png", img)
    assert ok
    return bytes(buf.tobytes())


def populate(ctx: DemoContext) -> None:
    with clock.frozen(ctx.now), ctx.db.transaction() as s:
        grids = sorted(geo.grid_polygons(session=s).items())
        if not grids:
            return
        for i, (cid, name, zone) in enumerate(CAMERAS):
            p = grids[(i * 7) % len(grids)][1].representative_point()
            meta = {"stream_url": f"rtsp://10.37.13.{20 + i}:554/live/{cid}"}
            if zone:
                meta["zone"] = zone
            with contextlib.suppress(Conflict):
                register_device(
                    session=s,
                    actor=ctx.system,
                    device=DeviceIn(
                        id=cid,
                        type="Camera",
                        name=name,
                        lon=round(p.x, 6),
                        lat=round(p.y, 6),
                        department_code="gaj",
                        firmware="ipc-2.1",
                        meta=meta,
                    ),
                )
        video.grant_camera(
            session=s,
            actor=ctx.system,
            camera_id=CAMERAS[0][0],
            grant=GrantIn(department_code="cgj", purpose="广场禁摆区域市容巡查"),
        )
        video.save_video_rule(
            session=s,
            actor=ctx.system,
            rule=VideoRuleIn(
                name="禁摆区域人员聚集",
                zone="restricted",
                detector="people",
                min_count=3,
                window_s=1800,
                severity="major",
                case_category="E0406",
            ),
        )
    for minutes, people in ((50, 5), (20, 2)):
        # at the demo's clock: the case a snapshot opens is dated with it, as every demo case is
        with clock.frozen(ctx.now - timedelta(minutes=minutes)), ctx.db.transaction() as s:
            video.upload_snapshot(
                session=s,
                camera_id=CAMERAS[0][0],
                data=crowd_scene(people),
                actor=ctx.system,
                at=ctx.now - timedelta(minutes=minutes),
            )
    ctx.notes.append("城市感知: 3 台摄像机, /sensing/cameras")
