"""The demo city's 一网统管, made through the service with the clock moved, so every timeline,
deadline and audit record is real.

- **Dispatch rules**: each district's cases go to its own bodies (区城市管理局, 区住建局, 生态环境分局 …),
  one territory rule per district × 大类 plus the 小类 that belong to another body.
- **History**: a year of cases up to ten days before the demo's "now", all taken to their end
  (closed, most on time; rejected, merged, returned and re-dispatched, reworked, a few suspended).
- **Today's work**: open cases in every stage, dated back from "now" on the working calendar so
  that most are green, some yellow and a few red, with reports of the last hour; every handling
  body, every district's inspector, the printed grid worker and the printed citizen has some.
- **Tasks** (核实 / 核查) sent to grid workers today: two open for the printed grid worker, and
  verifications sent to (and mostly answered by) other workers.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from cityos.cases import service
from cityos.cases.schemas import CaseOut, ReportIn, TaskAnswerIn, TaskIn, TaskOut
from cityos.core import calendar, clock
from cityos.core.errors import CityOSError
from cityos.demo.context import DemoContext
from cityos.identity import service as identity
from cityos.identity.schemas import DepartmentOut, Principal

Grid = tuple[str, float, float, float, float]  # code and bounds
COUNT = {"small": 360, "city": 1200}  # the year's history
OPEN = {"small": 70, "city": 180}  # today's queue
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
    "C0302": "垃圾箱破损",
    "E0104": "道路上有大量泥土遗撒",
    "C0208": "交通护栏倒伏",
    "E0406": "流动摊贩在路口摆摊",
    "E0601": "夜间施工噪声扰民",
    "C0402": "行道树倒伏压住人行道",
    "E0304": "施工围挡占用半幅道路",
    "C0210": "道路路面破损出现坑槽",
    "E0401": "无照游商在学校门口售卖食品",
}
# today's queue: the stage an open case is in, and the light it should show (share of each)
STAGES = [
    ("reported", 8),
    ("filed", 12),
    ("dispatched", 17),
    ("handling", 30),
    ("handled", 18),
    ("closed", 15),
]
LIGHTS = [("green", 65), ("yellow", 22), ("red", 13)]
STAGE_HOURS = {"reported": 1.0, "filed": 1.0, "handled": 4.0}  # as load_default_taxonomy seeds them
USED = {"green": (0.1, 0.7), "yellow": (0.83, 0.97), "red": (1.15, 2.5)}  # share of the stage used


def add_district_rules(*, session: Session, actor: Principal) -> int:
    """Territory rules that send a district's cases to the district's body standing for the
    category's city department (`ls-cgj` for `cgj` in 兰山区): one rule per district and 大类 for
    the body most of its 小类 go to, and a rule per 小类 that goes elsewhere (another district
    body, or the city department where the district has none)."""
    cats = service.categories(session=session)
    bodies: dict[str, dict[str, str]] = {}  # district → city department code → district body code
    for d in identity.departments(session=session, kind="district_bureau"):
        bodies.setdefault(d.region_code, {})[_stands_for(d)] = d.code
    n = 0
    for district, own in sorted(bodies.items()):
        by_major: dict[str, list[tuple[str, str]]] = {}
        for c in cats:
            by_major.setdefault(c.code[:3], []).append(
                (c.code, own.get(c.department_code, c.department_code))
            )
        for major, minors in sorted(by_major.items()):
            local = Counter(t for _c, t in minors if t in own.values())
            if not local:
                continue  # no district body for this 大类: the categories' city departments
            main = local.most_common(1)[0][0]
            rules = [(major, main)] + [(code, t) for code, t in minors if t != main]
            for prefix, target in rules:
                service.add_dispatch_rule(
                    session=session,
                    actor=actor,
                    category_prefix=prefix,
                    region_prefix=district,
                    basis="territory",
                    department_code=target,
                )
                n += 1
    return n


def _stands_for(d: DepartmentOut) -> str:
    from cityos.demo.builder import DISTRICT_BODIES

    suffix = d.code.rsplit("-", 1)[-1]
    return next((city for s, city in DISTRICT_BODIES if s == suffix), suffix)


class _World:
    """What every case of the demo needs: people, grids, calendar, and the route of each category
    in each district."""

    def __init__(self, ctx: DemoContext, s: Session) -> None:
        self.ctx, self.rng = ctx, ctx.rng
        self.cal = calendar.get_calendar(s)
        self.handlers = {p.department_id: p for p in ctx.users.get("handler", [])}
        self.inspectors = {p.region_code: p for p in ctx.users.get("inspector", [])}
        self.dispatcher = ctx.user("dispatcher")
        self.citizens = ctx.users.get("citizen", [])
        self.grids = ctx.extra["grids"]
        self.by_district: dict[str, list[Grid]] = {}
        for g in self.grids:
            self.by_district.setdefault(g[0][:6], []).append(g)
        self.dept_ids = {d.code: d.id for d in identity.departments(session=s)}
        self.codes = {i: c for c, i in self.dept_ids.items()}
        self.district_of = {d.code: d.region_code for d in identity.departments(session=s)}
        self.routes = {
            (district, code): service.route(session=s, category_code=code, region_code=district)
            for district in self.by_district
            for code in DESCRIPTIONS
        }

    def reporter(self, channel: str, district: str) -> Principal:
        rng = self.rng
        return {
            "citizen": rng.choice(self.citizens) if self.citizens else self.dispatcher,
            "grid_worker": self.ctx.user("grid_worker", rng.randrange(10**6)),
            "inspector": self.inspectors.get(district, self.dispatcher),
        }.get(channel, self.dispatcher)

    def report(self, s: Session, grid: Grid, code: str, who: Principal, urgent: bool) -> CaseOut:
        rng, channel = self.rng, _channel(self.rng)
        _g, minx, miny, maxx, maxy = grid
        reporter = who if who.roles & {"citizen"} else self.reporter(channel, grid[0][:6])
        channel = "citizen" if reporter.roles & {"citizen"} else channel
        return service.report_case(
            session=s,
            actor=reporter,
            report=ReportIn(
                category_code=code,
                description=DESCRIPTIONS[code],
                channel=channel,
                urgency="urgent" if urgent else "normal",
                lon=rng.uniform(minx, maxx),
                lat=rng.uniform(miny, maxy),
                reporter_name=self.ctx.faker.name() if channel == "hotline" else "",
                reporter_phone=self.ctx.faker.phone_number() if channel == "hotline" else "",
            ),
        )


def _channel(rng: random.Random) -> str:
    return rng.choices([c for c, _w in CHANNELS], weights=[w for _c, w in CHANNELS])[0]


def populate(ctx: DemoContext) -> None:
    with ctx.db.transaction() as s:
        service.load_default_taxonomy(session=s, actor=ctx.system)
        ctx.extra["dispatch_rules"] = add_district_rules(session=s, actor=ctx.system)
    with ctx.db.reader() as s:
        w = _World(ctx, s)
    n, n_open = COUNT.get(ctx.scale, 360), OPEN.get(ctx.scale, 70)
    task = ctx.progress.add_task("一网统管 cases", total=n + n_open) if ctx.progress else None

    def advance() -> None:
        if task is not None and ctx.progress:
            ctx.progress.advance(task)

    try:
        _history(w, n, advance)
        _today(w, n_open, advance)
        _tasks(w)
    finally:
        clock.set_now(None)
    with ctx.db.transaction() as s:
        service.check_deadlines(session=s)  # today's reminders and escalations


def _history(w: _World, n: int, advance: Callable[[], None]) -> None:
    """A year of cases, each taken to its end before the last four days. The first cases go one
    to each grid that has a grid worker, so every worker finds their grid's cases."""
    ctx, rng, cal = w.ctx, w.rng, w.cal
    worker_grids = {p.region_code for p in ctx.users.get("grid_worker", [])}
    first = [g for g in w.grids if g[0] in worker_grids]
    rng.shuffle(first)
    span = int((ctx.now - ctx.start).total_seconds() // 60) - 60 * 24 * 10  # ends before today's work
    for i in range(n):
        grid = first[i] if i < len(first) else w.grids[rng.randrange(len(w.grids))]
        district = grid[0][:6]
        code = rng.choice(list(DESCRIPTIONS))
        dept = w.routes[(district, code)]
        handler, inspector = w.handlers.get(w.dept_ids[dept]), w.inspectors.get(district)
        advance()
        if handler is None or inspector is None:
            continue
        clock.set_now(ctx.start + timedelta(minutes=rng.randrange(span)))
        outcome = rng.random()
        try:
            with ctx.db.transaction() as s:
                c = w.report(s, grid, code, w.dispatcher, rng.random() < 0.15)
                if c.state == "merged":
                    continue

                def step(
                    actor: Principal, action: str, hours: float, case_id: int = c.id, **kw: object
                ) -> None:
                    clock.set_now(cal.add_working_hours(clock.now(), hours))
                    if clock.now() >= ctx.now - timedelta(days=2):
                        raise _Later  # its end would fall into the last days: not made (rolled back)
                    service.transition(session=s, actor=actor, case_id=case_id, action=action, **kw)  # type: ignore[arg-type]

                if outcome < 0.04:
                    step(w.dispatcher, "reject", 0.5, reason="不属于城市管理范围")
                    continue
                if outcome < 0.08:
                    dupes = service.duplicate_candidates(session=s, actor=w.dispatcher, case_id=c.id)
                    if dupes:
                        step(w.dispatcher, "merge", 0.3, into_case_id=dupes[0][0].id)
                        continue
                step(w.dispatcher, "file", rng.uniform(0.1, 0.9))
                wrong = [(i, h) for i, h in w.handlers.items() if i and i != handler.department_id]
                if wrong and rng.random() < 0.06:  # sent to the wrong body first, returned
                    other_id, other = rng.choice(wrong)
                    step(w.dispatcher, "dispatch", 0.3, department_code=w.codes[other_id])
                    step(other, "return", 0.5, reason="不在本单位职责范围，退回重派")
                step(w.dispatcher, "dispatch", rng.uniform(0.1, 0.9))  # the dispatch rules decide
                step(handler, "accept", rng.uniform(0.1, 1.0))
                if outcome > 0.985:
                    step(w.dispatcher, "suspend", 0.5, reason="需协调产权单位，待汛期后处理")
                    continue
                late = outcome > 0.88  # about one in eight overruns its handling limit
                hours = rng.uniform(6, 36) if late else rng.uniform(0.5, 3.5)
                step(handler, "report_back", hours, reason="已处置完毕，附处置后照片")
                if 0.7 < outcome <= 0.76:
                    step(inspector, "rework", rng.uniform(0.5, 3), reason="现场核查仍未整改到位")
                    step(handler, "report_back", rng.uniform(1, 6), reason="已返工整改")
                step(inspector, "verify", rng.uniform(0.5, 3.5))
        except (CityOSError, _Later):
            continue


TASKS_PER_WORKER_GRID = 30  # how many other grid workers are sent a task today (some answered)


def _tasks(w: _World) -> None:
    """Tasks sent to grid workers today (核实 / 核查): the printed grid worker has a re-check of the
    case in their grid that waits for verification and a fresh citizen's report to verify, both
    open; other workers with a case waiting in their grid were sent one, and answered a report's
    verification (which changes no state, so today's traffic-light mix stays as made)."""
    ctx, rng = w.ctx, w.rng
    gw = ctx.user("grid_worker")
    grid = next((g for g in w.grids if g[0] == gw.region_code), None)
    if grid is None:
        return
    with ctx.db.transaction() as s:
        clock.set_now(ctx.now - timedelta(minutes=50))
        citizen = w.citizens[0] if w.citizens else ctx.user("citizen")
        fresh = w.report(s, grid, rng.choice(list(DESCRIPTIONS)), citizen, False)
        clock.set_now(ctx.now - timedelta(minutes=35))
        _send(s, w.dispatcher, fresh.id, "verify_report", gw, "请到现场核实群众反映的情况是否属实")
        waiting = service.list_cases(session=s, actor=gw, state="handled", limit=1).items
        inspector = w.inspectors.get(grid[0][:6], w.dispatcher)
        if waiting:
            clock.set_now(ctx.now - timedelta(minutes=80))
            _send(s, inspector, waiting[0].id, "recheck", gw, "核查处置结果，拍摄处置后照片")
    others = [p for p in ctx.users.get("grid_worker", []) if p.id != gw.id][:TASKS_PER_WORKER_GRID]
    for worker in others:
        with ctx.db.transaction() as s:
            open_ = service.list_cases(session=s, actor=worker, states=("reported", "filed"), limit=1).items
            if not open_:
                continue
            clock.set_now(max(open_[0].reported_at, ctx.now - timedelta(hours=3)) + timedelta(minutes=5))
            task = _send(s, w.dispatcher, open_[0].id, "verify_report", worker, "")
            if task is not None and rng.random() < 0.7:
                clock.set_now(min(clock.now() + timedelta(minutes=rng.uniform(10, 90)), ctx.now))
                service.answer_task(
                    session=s,
                    actor=worker,
                    task_id=task.id,
                    answer=TaskAnswerIn(result="confirmed", note="现场核实，情况属实"),
                )


def _send(
    s: Session, sender: Principal, case_id: int, kind: str, worker: Principal, note: str
) -> TaskOut | None:
    try:
        return service.send_task(
            session=s,
            actor=sender,
            case_id=case_id,
            task=TaskIn(kind=kind, assignee_id=worker.id or 0, instruction=note),
        )
    except CityOSError:  # the worker does not cover the case (a grid without its worker)
        return None


class _Later(Exception):
    """A history case whose next step would fall into the last two days."""


def _anchor(cal: calendar.WorkingCalendar, now: datetime, hours: float) -> datetime:
    """The latest moment from which `hours` working hours have passed by `now`."""
    lo, hi = now - timedelta(days=120), now
    for _ in range(40):
        mid = lo + (hi - lo) / 2
        if cal.working_hours_between(mid, now) >= hours:
            lo = mid
        else:
            hi = mid
    return lo.replace(microsecond=0)


def _today(w: _World, n: int, advance: Callable[[], None]) -> None:
    """Today's cases, each placed so that its current stage has used a chosen share of its limit
    (a sixth were closed in the last day). The first go to every district body (then they are at
    least dispatched, which also gives each district's inspector work), the printed grid worker's
    grid (waiting for verification) and the printed citizen; a tenth of the rest are reports of the
    last hour."""
    ctx, rng, codes_of = w.ctx, w.rng, w.codes
    must: list[tuple[str | None, str | None, str | None]] = [  # (department, grid, stage)
        (codes_of[i], None, rng.choice(["dispatched", "handling", "handled"]))
        for i in sorted(i for i in w.handlers if i is not None)
    ]
    must.append((None, ctx.user("grid_worker").region_code, "handled"))
    for i in range(n):
        dept, grid_code, stage = must[i] if i < len(must) else (None, None, None)
        stage = stage or rng.choices([st for st, _ in STAGES], weights=[x for _, x in STAGES])[0]
        light = rng.choices([li for li, _ in LIGHTS], weights=[x for _, x in LIGHTS])[0]
        fresh = dept is None and grid_code is None and rng.random() < 0.1
        if dept:
            district = w.district_of[dept]
            code = rng.choice(
                [c for c in DESCRIPTIONS if w.routes[(district, c)] == dept] or list(DESCRIPTIONS)
            )
            grid = rng.choice(w.by_district[district])
        else:
            grid = (
                next((g for g in w.grids if g[0] == grid_code), None) or w.grids[rng.randrange(len(w.grids))]
            )
            code = rng.choice(list(DESCRIPTIONS))
        district = grid[0][:6]
        handler = w.handlers.get(w.dept_ids[w.routes[(district, code)]])
        inspector = w.inspectors.get(district)
        advance()
        if handler is None or inspector is None:
            continue
        who = w.dispatcher
        if i == len(must):  # the printed citizen follows a report of theirs being handled
            who, stage, fresh = ctx.user("citizen"), "handling", False
        try:
            with ctx.db.transaction() as s:
                _open_case(
                    w, s, grid, code, who, "reported" if fresh else stage, light, fresh, handler, inspector
                )
        except CityOSError:
            continue


def _open_case(
    w: _World,
    s: Session,
    grid: Grid,
    code: str,
    who: Principal,
    stage: str,
    light: str,
    fresh: bool,
    handler: Principal,
    inspector: Principal,
) -> None:
    """One case of today's work whose last step (the one that started its stage) is at an anchor
    chosen on the working calendar, the steps before it a little earlier on the wall clock. A
    `fresh` report came in during the last hour; a `closed` case was verified in the last day."""
    ctx, rng, cal = w.ctx, w.rng, w.cal
    urgent = rng.random() < 0.15
    cat = next(c for c in service.categories(session=s) if c.code == code)
    handle = cat.handle_hours_urgent if urgent else cat.handle_hours_normal
    limit = {"dispatched": handle, "handling": handle}.get(stage) or STAGE_HOURS.get(stage, 1.0)
    if fresh:
        at = ctx.now - timedelta(hours=rng.uniform(0.05, 0.9))
    elif stage == "closed":
        at = ctx.now - timedelta(hours=rng.uniform(0.5, 22))
    else:
        at = _anchor(cal, ctx.now, rng.uniform(*USED[light]) * limit)
    order = ["reported", "filed", "dispatched", "handled", "closed"]
    last = order.index("dispatched" if stage == "handling" else stage)
    times = {}
    t = at
    for k in range(last, -1, -1):  # the anchor, then back a little for each earlier step
        times[order[k]] = t
        back = rng.uniform(1, 20) * 60 if order[k] in ("handled", "closed") else rng.uniform(5, 50)
        t -= timedelta(minutes=back)
    clock.set_now(times["reported"])
    c = w.report(s, grid, code, who, urgent)
    if c.state == "merged":
        return

    def step(actor: Principal, action: str, when: datetime, **kw: object) -> None:
        clock.set_now(min(when, ctx.now - timedelta(minutes=1)))
        service.transition(session=s, actor=actor, case_id=c.id, action=action, **kw)  # type: ignore[arg-type]

    if "filed" in times:
        step(w.dispatcher, "file", times["filed"])
    if "dispatched" in times:
        step(w.dispatcher, "dispatch", times["dispatched"])  # the dispatch rules decide
        if stage == "handling":
            step(
                handler,
                "accept",
                times["dispatched"] + (ctx.now - times["dispatched"]) * rng.uniform(0.05, 0.3),
            )
        elif "handled" in times:
            gap = min(timedelta(minutes=rng.uniform(5, 40)), (times["handled"] - times["dispatched"]) / 2)
            step(handler, "accept", times["dispatched"] + gap)
    if "handled" in times:
        step(handler, "report_back", times["handled"], reason="已处置完毕，附处置后照片")
    if "closed" in times:
        step(inspector, "verify", times["closed"])
