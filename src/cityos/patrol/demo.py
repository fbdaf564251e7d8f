"""The demo city's grid workers' week, made through the patrol service with the clock moved, so
every row, distance and audit record is real: on most of the last seven days a worker checks in
inside their grid around 08:30, walks a loop round it (now and then across into a neighbouring
grid) from about 09:00 for 40 minutes, and checks out around 17:30 — up to the demo's "now".
Some days are skipped, so the supervisor's page has grids nobody covered this week.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from cityos.core import clock
from cityos.demo.context import DemoContext
from cityos.geo import service as geo
from cityos.identity.schemas import Principal
from cityos.patrol import service
from cityos.patrol.schemas import PointIn, PositionIn

TZ = ZoneInfo("Asia/Shanghai")
WORKERS = {"small": 40, "city": 60}  # a sample keeps the build short (about 1 s per 10 workers)
DAYS = 7
FIXES = 20  # one fix every two minutes over a 40-minute loop


def populate(ctx: DemoContext) -> None:
    workers = sorted(ctx.users.get("grid_worker", []), key=lambda p: (p.username != "gridworker", p.username))
    workers = workers[: WORKERS.get(ctx.scale, 60)]
    try:
        for p in workers:
            _week(ctx, p)
    finally:
        clock.set_now(None)


def _at(day: datetime, hh: int, mm: int) -> datetime:
    return datetime.combine(day.date(), time(hh, mm), tzinfo=TZ).astimezone(UTC)


def _week(ctx: DemoContext, worker: Principal) -> None:
    rng = ctx.rng
    with ctx.db.reader() as s:
        own = geo.grid_polygons(session=s, worker_id=worker.id)
        if not own:
            return
        code = sorted(own)[0]
        grid = own[code]
        others = geo.grid_polygons(session=s, under=code[:12])
    centre = grid.representative_point()
    minx, miny, maxx, maxy = grid.bounds
    rx, ry = (maxx - minx) * 0.35, (maxy - miny) * 0.35
    neighbour = next((g.representative_point() for c, g in sorted(others.items()) if c != code), None)
    today = clock.local(ctx.now)
    for back in range(DAYS - 1, -1, -1):
        day = today - timedelta(days=back)
        if rng.random() < 0.2:  # a day off, or a day at meetings
            continue
        check_in = _at(day, 8, 20 + rng.randrange(20))
        start = _at(day, 9, rng.randrange(15))
        if start + timedelta(minutes=2 * FIXES) > ctx.now:
            continue
        with clock.frozen(check_in), ctx.db.transaction() as s:
            service.check_in(session=s, actor=worker, position=PositionIn(lon=centre.x, lat=centre.y))
        phase = rng.random() * math.tau
        points = []
        for i in range(FIXES):
            a = phase + math.tau * i / FIXES
            points.append(
                PointIn(
                    lon=centre.x + rx * math.cos(a),
                    lat=centre.y + ry * math.sin(a),
                    at=start + timedelta(minutes=2 * i),
                    accuracy_m=5 + rng.randrange(20),
                )
            )
        if neighbour is not None and rng.random() < 0.4:  # a detour into the next grid and back
            points.insert(FIXES // 2, PointIn(lon=neighbour.x, lat=neighbour.y, at=points[FIXES // 2].at))
        with clock.frozen(start), ctx.db.transaction() as s:
            p = service.start_patrol(session=s, actor=worker)
        with clock.frozen(start + timedelta(minutes=2 * FIXES)), ctx.db.transaction() as s:
            service.end_patrol(session=s, actor=worker, patrol_id=p.id, points=points)
        check_out = _at(day, 17, 20 + rng.randrange(20))
        if check_out <= ctx.now:
            with clock.frozen(check_out), ctx.db.transaction() as s:
                service.check_out(session=s, actor=worker, position=PositionIn(lon=centre.x, lat=centre.y))
