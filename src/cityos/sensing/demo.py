"""The demo city's sensors: drainage level sensors, manhole covers and street lights across real
grids (consecutive devices in neighbouring grids), the default rules, a day of readings every 30
minutes through the ingest path with the clock moved, and a rain event in the last two hours that
lifts the low-lying drainage sensors past the alarm level: the alarms are raised by the rules and
the first opened its 道路积水 case through cases.service. One manhole cover reports open. The
video network: demo_video.py."""

from __future__ import annotations

import random
from datetime import timedelta

from cityos.core import clock
from cityos.demo.context import DemoContext
from cityos.sensing import alarms, demo_video, ingest
from cityos.sensing import simulate as sim
from cityos.sensing.models import Alarm

DEVICES = {"small": 30, "city": 120}
STEP = timedelta(minutes=30)
HOURS = 24


def populate(ctx: DemoContext) -> None:
    n = DEVICES.get(ctx.scale, 30)
    try:
        clock.set_now(ctx.now - timedelta(hours=HOURS))
        fleet = sim.ensure_fleet(ctx.db, ctx.system, n, prefix="ly")
        rng = random.Random(11)
        steps = int(timedelta(hours=HOURS) / STEP)
        for k in range(steps + 1):
            at = ctx.now - timedelta(hours=HOURS) + k * STEP
            clock.set_now(at)
            # the rain event: the last two hours, rising to its peak at "now"
            phase = max(0.0, 1 - (ctx.now - at) / timedelta(hours=2)) / 2
            msgs = []
            for dev in fleet:
                values = sim.reading(dev, phase, n, rng, rain=phase > 0)
                msgs.append((dev.id, {**values, "observedAt": at.isoformat()}))
            with ctx.db.transaction() as s:
                ingest.ingest(s, msgs, received=at)
        with ctx.db.transaction() as s:
            first = s.query(Alarm).filter(Alarm.case_id.is_(None)).order_by(Alarm.id).first()
            if first is not None:  # as the worker's handler does after the commit
                alarms.open_case_for_alarm(session=s, alarm_id=first.id)
    finally:
        clock.set_now(None)
    ctx.notes.append(f"城市感知: {n} 台设备, /sensing")
    demo_video.populate(ctx)
