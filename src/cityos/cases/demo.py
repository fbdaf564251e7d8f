"""A year of cases in the demo city, made through the service with the clock moved, so every
timeline, deadline and audit record is real: channels, categories, districts and outcomes (on
time, overdue, rework, returned, suspended, rejected, merged duplicates, still open)."""

from __future__ import annotations

from datetime import timedelta

from cityos.cases import service
from cityos.cases.schemas import ReportIn
from cityos.core import calendar, clock
from cityos.core.errors import CityOSError
from cityos.demo.context import DemoContext
from cityos.identity import service as identity
from cityos.identity.schemas import Principal

COUNT = {"small": 360, "city": 1200}
CHANNELS = [("citizen", 30), ("hotline", 30), ("grid_worker", 25), ("inspector", 10), ("api", 5)]
DESCRIPTIONS = {
    "E0402": "商户在店外摆放货架占用人行道",
    "E0404": "机动车停在人行道上，影响通行",
    "E0102": "路边有成堆生活垃圾未清运",
    "E0201": "电线杆上贴满非法小广告",
    "C0103": "雨水井盖破损，有安全隐患",
    "C0110": "路灯晚上不亮",
    "E0302": "工地未覆盖，扬尘严重",
    "E0505": "下雨后路口积水严重",
    "C0306": "垃圾箱破损",
    "E0104": "道路上有大量泥土遗撒",
    "C0208": "交通护栏倒伏",
    "E0406": "流动摊贩在路口摆摊",
    "E0601": "夜间施工噪声扰民",
    "C0402": "行道树倒伏压住人行道",
}


def populate(ctx: DemoContext) -> None:
    rng = ctx.rng
    with ctx.db.transaction() as s:
        service.load_default_taxonomy(session=s, actor=ctx.system)
        depts = {d.region_code: d for d in identity.departments(session=s, kind="district_bureau")}
        cal = calendar.get_calendar(s)
    handlers = {p.department_id: p for p in ctx.users.get("handler", [])}
    inspectors = {p.region_code: p for p in ctx.users.get("inspector", [])}
    dispatcher = ctx.user("dispatcher")
    grids = ctx.extra["grids"]
    codes = list(DESCRIPTIONS)
    citizens = ctx.users.get("citizen", [])
    n = COUNT.get(ctx.scale, 360)
    task = ctx.progress.add_task("一网统管 cases", total=n) if ctx.progress else None
    try:
        for _ in range(n):
            code, minx, miny, maxx, maxy = grids[rng.randrange(len(grids))]
            district = code[:6]
            dept = depts.get(district)
            handler = handlers.get(dept.id) if dept else None
            inspector = inspectors.get(district)
            if dept is None or handler is None or inspector is None:
                continue
            t = ctx.start + timedelta(
                minutes=rng.randrange(int((ctx.now - ctx.start).total_seconds() // 60) - 60 * 24)
            )
            clock.set_now(t)
            channel = rng.choices([c for c, _w in CHANNELS], weights=[w for _c, w in CHANNELS])[0]
            reporter: Principal = {
                "citizen": rng.choice(citizens) if citizens else dispatcher,
                "grid_worker": ctx.user("grid_worker", rng.randrange(10**6)),
                "inspector": inspector,
            }.get(channel, dispatcher)
            category = rng.choice(codes)
            outcome = rng.random()
            try:
                with ctx.db.transaction() as s:
                    c = service.report_case(
                        session=s,
                        actor=reporter,
                        report=ReportIn(
                            category_code=category,
                            description=DESCRIPTIONS[category],
                            channel=channel,
                            urgency="urgent" if rng.random() < 0.15 else "normal",
                            lon=rng.uniform(minx, maxx),
                            lat=rng.uniform(miny, maxy),
                            reporter_name=ctx.faker.name() if channel == "hotline" else "",
                            reporter_phone=ctx.faker.phone_number() if channel == "hotline" else "",
                        ),
                    )
                    if c.state == "merged":
                        continue

                    def step(
                        actor: Principal, action: str, hours: float, case_id: int = c.id, **kw: object
                    ) -> None:
                        clock.set_now(cal.add_working_hours(clock.now(), hours))
                        if clock.now() >= ctx.now:
                            raise StopIteration  # the rest of this case is in the future: it stays open
                        service.transition(session=s, actor=actor, case_id=case_id, action=action, **kw)  # type: ignore[arg-type]

                    try:
                        if outcome < 0.04:
                            step(dispatcher, "reject", 0.5, reason="不属于城市管理范围")
                            continue
                        if outcome < 0.08:
                            dupes = service.duplicate_candidates(session=s, actor=dispatcher, case_id=c.id)
                            if dupes:
                                step(dispatcher, "merge", 0.3, into_case_id=dupes[0][0].id)
                                continue
                        step(dispatcher, "file", rng.uniform(0.1, 0.9))
                        if outcome > 0.97:
                            continue  # filed, waiting for dispatch
                        wrong = [d for d in depts.values() if d.id != dept.id and d.id in handlers]
                        if wrong and rng.random() < 0.06:  # sent to the wrong district first, returned
                            other = rng.choice(wrong)
                            step(dispatcher, "dispatch", 0.3, department_code=other.code)
                            step(handlers[other.id], "return", 0.5, reason="不在本辖区，退回重派")
                        step(dispatcher, "dispatch", rng.uniform(0.1, 0.9), department_code=dept.code)
                        step(handler, "accept", rng.uniform(0.1, 1.0))
                        if 0.92 < outcome <= 0.95:
                            step(dispatcher, "suspend", 0.5, reason="需协调产权单位，待汛期后处理")
                            continue
                        late = outcome > 0.8  # about one in five overruns its handling limit
                        step(
                            handler,
                            "report_back",
                            rng.uniform(6, 36) if late else rng.uniform(0.5, 3.5),
                            reason="已处置完毕，附处置后照片",
                        )
                        if 0.7 < outcome <= 0.76:
                            step(inspector, "rework", rng.uniform(0.5, 3), reason="现场核查仍未整改到位")
                            step(handler, "report_back", rng.uniform(1, 6), reason="已返工整改")
                        if outcome > 0.95:
                            continue  # waiting for verification
                        step(inspector, "verify", rng.uniform(0.5, 3.5))
                    except StopIteration:
                        pass
            except CityOSError:
                continue
            finally:
                if task is not None and ctx.progress:
                    ctx.progress.advance(task)
    finally:
        clock.set_now(None)
    with ctx.db.transaction() as s:
        service.check_deadlines(session=s)  # today's reminders and escalations
