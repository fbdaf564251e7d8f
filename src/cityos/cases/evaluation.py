"""综合评价: indicators for any period and any region or department, with the formulas shown next to
the numbers and the composite scores and grades per role. Everything is recomputable by hand from
the cases' timelines:

  受理数  cases reported in the period (merged duplicates are counted in the case they joined)
  立案数  = 应结案数: reported cases that were filed
  派遣数  filed cases that were dispatched
  缓办数  cases suspended (挂账) at the end of the period
  结案数  cases closed;  按期结案数: closed, and reported back within the handling limit
  返工数  cases sent back by verification at least once;  退回数: cases returned by a department
  超期数  dispatched cases reported back late, or still unfinished after their handling deadline
  按时派遣数  dispatched within the category's dispatch limit after filing (working hours)

  结案率 = 结案数 / (应结案数 − 缓办数)          按期结案率 = 按期结案数 / (应结案数 − 缓办数)
  返工率 = 返工数 / 派遣数    超期率 = 超期数 / 派遣数
  按时派遣率 = 按时派遣数 / 派遣数    退回率 = 退回数 / 派遣数

Composite scores (0–100) and grades A ≥ 90, B ≥ 75, C ≥ 60, D ≥ 40, E below:
  region (grid/street/district):  40 × 结案率 + 40 × 按期结案率 + 20 × (1 − 超期率)
  handling department:            50 × 按期结案率 + 30 × 结案率 + 20 × (1 − 返工率)
  dispatcher (受理派遣):           60 × 按时派遣率 + 40 × (1 − 退回率)
  inspector / grid worker (核查):  100 × 按时核查率 (verified within the category's verify limit)

The grid workers (网格员考评, `grid_workers`), per worker over the period: 出勤天数 (local days with a
check-in), 巡查次数, 巡查时长, 巡查网格数 (distinct grids their tracks touched), 责任网格已巡查 (of their
own grids), 巡查上报数 (cases they reported while a patrol of theirs was open), 任务数 (tasks sent to
them in the period), 已回复, 按时回复数 (answered by the due time), 超期未回复, and
  按时回复率 = 按时回复数 / 任务数
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityos.cases.models import Case, CaseCategory, CaseEvent
from cityos.cases.policy import visible
from cityos.cases.tasks import task_figures
from cityos.core import calendar, clock, spreadsheet
from cityos.identity import service as identity
from cityos.identity.permissions import ROLE_PERMISSIONS, authorize, has
from cityos.identity.schemas import Principal, division_prefix

FORMULAS = {
    "结案率": "结案数 / (应结案数 − 缓办数)",
    "按期结案率": "按期结案数 / (应结案数 − 缓办数)",
    "返工率": "返工数 / 派遣数",
    "超期率": "超期数 / 派遣数",
    "按时派遣率": "按时派遣数 / 派遣数",
    "退回率": "退回数 / 派遣数",
    "按时核查率": "按时核查数 / 核查数",
}
SCORES = {
    "region": "40 × 结案率 + 40 × 按期结案率 + 20 × (1 − 超期率)",
    "department": "50 × 按期结案率 + 30 × 结案率 + 20 × (1 − 返工率)",
    "dispatcher": "60 × 按时派遣率 + 40 × (1 − 退回率)",
    "inspector": "100 × 按时核查率",
}


def grade(score: float) -> str:
    return "A" if score >= 90 else "B" if score >= 75 else "C" if score >= 60 else "D" if score >= 40 else "E"


def _ratio(a: int, b: int) -> float | None:
    return a / b if b > 0 else None


COUNTS = (
    "受理数",
    "立案数",
    "派遣数",
    "缓办数",
    "结案数",
    "按期结案数",
    "返工数",
    "退回数",
    "超期数",
    "按时派遣数",
    "核查数",
    "按时核查数",
)
# The grid workers' table (网格员考评): column key → heading. Days and check-ins, patrols and the
# grids they touched come from patrol.service.worker_figures; the tasks from tasks.task_figures.
WORKER_COLUMNS = {
    "days_checked_in": "出勤天数",
    "patrols": "巡查次数",
    "patrol_hours": "巡查时长（小时）",
    "grids_covered": "巡查网格数",
    "own_grids_covered": "责任网格已巡查",
    "reports_on_patrol": "巡查上报数",
    "tasks_sent": "任务数",
    "tasks_answered": "已回复",
    "tasks_on_time": "按时回复数",
    "tasks_overdue": "超期未回复",
}
WORKER_FORMULAS = {"按时回复率": "按时回复数 / 任务数"}
MAX_WORKER_DAYS = 366  # the longest period patrol gives figures for


@dataclass
class WorkerRow:
    """One grid worker's figures over the period."""

    user_id: int
    name: str
    figures: dict[str, float] = field(default_factory=dict)  # WORKER_COLUMNS' keys, plus own_grids
    on_time_rate: float | None = None  # 按时回复率


@dataclass
class Evaluation:
    start: datetime
    end: datetime
    scope: str
    counts: dict[str, int] = field(default_factory=dict)
    rates: dict[str, float | None] = field(default_factory=dict)
    scores: dict[str, tuple[float, str] | None] = field(default_factory=dict)
    # the grid workers' figures (with_workers; None: not asked for), over [workers_since, end): the
    # period's last 366 days when it is longer (patrol's figures cover at most 366 days)
    workers: list[WorkerRow] | None = None
    workers_since: datetime | None = None

    def rows(self) -> list[tuple[str, str, str]]:
        """(indicator, value, formula) for pages and the Excel export."""
        out = [(k, str(v), "") for k, v in self.counts.items()]
        out += [(k, "—" if v is None else f"{v:.2%}", FORMULAS[k]) for k, v in self.rates.items()]
        out += [
            (f"综合评分({k})", "—" if v is None else f"{v[0]:.1f} ({v[1]})", SCORES[k])
            for k, v in self.scores.items()
        ]
        return out


def _load(
    session: Session,
    actor: Principal,
    start: datetime,
    end: datetime,
    region: str | None,
    department_id: int | None,
) -> tuple[list[Case], dict[int, list[CaseEvent]]]:
    """The cases reported in the period that the actor may see (policy.visible, as in every list: a
    handler evaluates their department's cases, a district's dispatcher their district's, a leader
    the city's), and their timelines."""
    q = select(Case).where(
        visible(actor), Case.reported_at >= start, Case.reported_at < end, Case.state != "merged"
    )
    if region:
        q = q.where(Case.region_code.startswith(division_prefix(region)))
    if department_id is not None:
        q = q.where(Case.department_id == department_id)
    cases = list(session.scalars(q).all())
    ids = [c.id for c in cases]
    events: dict[int, list[CaseEvent]] = {i: [] for i in ids}
    for i in range(0, len(ids), 900):  # keep IN lists short for SQLite
        for ev in session.scalars(
            select(CaseEvent).where(CaseEvent.case_id.in_(ids[i : i + 900])).order_by(CaseEvent.id)
        ):
            events[ev.case_id].append(ev)
    return cases, events


def _count(
    session: Session, cases: list[Case], events: dict[int, list[CaseEvent]], end: datetime
) -> dict[str, int]:
    """The counts (受理数 … 按时核查数) of the module docstring, from each case's timeline."""
    cats = {c.code: c for c in session.scalars(select(CaseCategory))}
    cal = calendar.get_calendar(session)
    n = dict.fromkeys(COUNTS, 0)
    for c in cases:
        evs = events[c.id]
        acts = [e.action for e in evs]
        cat = cats[c.category_code]
        n["受理数"] += 1
        if "file" not in acts:
            continue
        n["立案数"] += 1
        if c.state == "suspended":
            n["缓办数"] += 1
        if c.state == "closed":
            n["结案数"] += 1
            if c.closed_on_time:
                n["按期结案数"] += 1
        if "dispatch" not in acts:
            continue
        n["派遣数"] += 1
        n["返工数"] += "rework" in acts
        n["退回数"] += "return" in acts
        filed_at = next(e.at for e in evs if e.action == "file")
        first_dispatch = next(e.at for e in evs if e.action == "dispatch")
        n["按时派遣数"] += cal.working_hours_between(filed_at, first_dispatch) <= cat.dispatch_hours + 1e-9
        if c.closed_on_time is False or (
            c.closed_on_time is None
            and c.state in ("dispatched", "handling")
            and c.deadline is not None
            and c.deadline < end
        ):
            n["超期数"] += 1
        backs = [e for e in evs if e.action == "report_back"]
        checks = [e for e in evs if e.action in ("verify", "rework")]
        for back, check in zip(backs, checks, strict=False):
            n["核查数"] += 1
            n["按时核查数"] += cal.working_hours_between(back.at, check.at) <= cat.verify_hours + 1e-9
    return n


def _rates(n: dict[str, int]) -> dict[str, float | None]:
    due = n["立案数"] - n["缓办数"]
    return {
        "结案率": _ratio(n["结案数"], due),
        "按期结案率": _ratio(n["按期结案数"], due),
        "返工率": _ratio(n["返工数"], n["派遣数"]),
        "超期率": _ratio(n["超期数"], n["派遣数"]),
        "按时派遣率": _ratio(n["按时派遣数"], n["派遣数"]),
        "退回率": _ratio(n["退回数"], n["派遣数"]),
        "按时核查率": _ratio(n["按时核查数"], n["核查数"]),
    }


def _score(parts: list[tuple[float, float | None]]) -> tuple[float, str] | None:
    values = [(w, v) for w, v in parts if v is not None]
    if len(values) < len(parts):
        return None
    s = sum(w * v for w, v in values)
    return round(s, 2), grade(s)


def _scores(r: dict[str, float | None]) -> dict[str, tuple[float, str] | None]:
    def inv(x: float | None) -> float | None:
        return None if x is None else 1 - x

    return {
        "region": _score([(40, r["结案率"]), (40, r["按期结案率"]), (20, inv(r["超期率"]))]),
        "department": _score([(50, r["按期结案率"]), (30, r["结案率"]), (20, inv(r["返工率"]))]),
        "dispatcher": _score([(60, r["按时派遣率"]), (40, inv(r["退回率"]))]),
        "inspector": _score([(100, r["按时核查率"])]),
    }


def evaluate(
    *,
    session: Session,
    actor: Principal,
    start: datetime,
    end: datetime,
    region: str | None = None,
    department_id: int | None = None,
    with_workers: bool = False,
) -> Evaluation:
    """The indicators, rates and scores of the cases reported in [start, end) that the actor may
    see; `with_workers`: also the grid workers' table (grid_workers)."""
    authorize(actor, "cases.view", region_code=region, department_id=department_id)
    cases, events = _load(session, actor, start, end, region, department_id)
    n = _count(session, cases, events, end)
    rates = _rates(n)
    scope = region or (f"department {department_id}" if department_id is not None else "city")
    ev = Evaluation(start=start, end=end, scope=scope, counts=n, rates=rates, scores=_scores(rates))
    if with_workers and department_id is None:
        ev.workers_since = max(start, end - timedelta(days=MAX_WORKER_DAYS))
        ev.workers = grid_workers(
            session=session, actor=actor, start=ev.workers_since, end=end, region=region
        )
    return ev


def _rated_workers(session: Session, region: str) -> list[int]:
    """Everyone whose roles grant patrol work (the grid workers) attached inside `region`."""
    rated = {r for r, perms in ROLE_PERMISSIONS.items() if "patrol.work" in perms}
    users = identity.users(session=session, region_prefix=region, limit=20_000)
    return [u.id for u in users if u.active and rated & set(u.roles)]


def grid_workers(
    *, session: Session, actor: Principal, start: datetime, end: datetime, region: str | None = None
) -> list[WorkerRow]:
    """The grid workers' table over [start, end): per worker their attendance days, patrols, grids
    covered and reports filed on patrol (patrol.service.worker_figures, under patrol's visibility),
    and the tasks sent to them (task_figures, under the cases' visibility), with
    按时回复率 = 按时回复数 / 任务数. With a region, every grid worker attached in it is listed (zeros
    for one who did nothing); for the whole city, those with any patrol, attendance or task.
    [] for someone who supervises no patrols. The period is at most 366 days (400 bad_period)."""
    from cityos.patrol import service as patrol  # patrol reads cases: imported when used

    if not has(actor, "patrol.supervise"):
        return []
    first, last = clock.local(start).date(), clock.local(end).date()
    ids = _rated_workers(session, region) if region else None
    figs = patrol.worker_figures(
        session=session, actor=actor, start=first, end=last, region=region, user_ids=ids
    )
    tasks = task_figures(
        session=session, actor=actor, start=start, end=end, user_ids=[f.user_id for f in figs]
    )
    names = {f.user_id: f.worker_name for f in figs}
    for uid in set(tasks) - set(names):
        names[uid] = identity.get_user(session=session, id=uid).display_name
    by_user = {f.user_id: f for f in figs}
    out = []
    for uid in sorted(names, key=lambda u: (names[u], u)):
        f, t = by_user.get(uid), tasks.get(uid)
        row = WorkerRow(user_id=uid, name=names[uid])
        for key in ("days_checked_in", "patrols", "patrol_hours", "grids_covered", "own_grids_covered"):
            row.figures[key] = getattr(f, key) if f else 0
        row.figures["own_grids"] = f.own_grids if f else 0
        row.figures["reports_on_patrol"] = f.reports_on_patrol if f else 0
        row.figures["tasks_sent"] = t.sent if t else 0
        row.figures["tasks_answered"] = t.answered if t else 0
        row.figures["tasks_on_time"] = t.answered_on_time if t else 0
        row.figures["tasks_overdue"] = t.open_overdue if t else 0
        row.on_time_rate = _ratio(int(row.figures["tasks_on_time"]), int(row.figures["tasks_sent"]))
        out.append(row)
    return out


def to_xlsx(ev: Evaluation) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = "综合评价"
    # the scope is the caller's region text: written as text, never as a formula (OWASP)
    ws.append(spreadsheet.neutralise_row(["综合评价", f"{ev.start:%Y-%m-%d} — {ev.end:%Y-%m-%d}", ev.scope]))
    ws["A1"].font = Font(bold=True)
    ws.append(["指标 indicator", "数值 value", "公式 formula"])
    for row in ev.rows():
        ws.append(spreadsheet.neutralise_row(row))
    ws.column_dimensions["A"].width = 22
    ws.column_dimensions["B"].width = 16
    ws.column_dimensions["C"].width = 60
    if ev.workers:
        _workers_sheet(wb.create_sheet("网格员考评"), ev.workers)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _workers_sheet(ws: Any, workers: list[WorkerRow]) -> None:
    """The grid workers' table: one row a worker, the figures of WORKER_COLUMNS and 按时回复率."""
    ws.append(["网格员", *WORKER_COLUMNS.values(), "按时回复率", "公式 formula"])
    for w in workers:
        rate = "—" if w.on_time_rate is None else f"{w.on_time_rate:.2%}"
        row = [w.name, *(w.figures[k] for k in WORKER_COLUMNS), rate, WORKER_FORMULAS["按时回复率"]]
        ws.append(spreadsheet.neutralise_row(row))
    ws.column_dimensions["A"].width = 16
