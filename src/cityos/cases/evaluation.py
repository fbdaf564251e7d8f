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
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityos.cases.models import Case, CaseCategory, CaseEvent
from cityos.cases.policy import visible
from cityos.core import calendar, spreadsheet
from cityos.identity.permissions import authorize
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


@dataclass
class Evaluation:
    start: datetime
    end: datetime
    scope: str
    counts: dict[str, int] = field(default_factory=dict)
    rates: dict[str, float | None] = field(default_factory=dict)
    scores: dict[str, tuple[float, str] | None] = field(default_factory=dict)

    def rows(self) -> list[tuple[str, str, str]]:
        """(indicator, value, formula) for pages and the Excel export."""
        out = [(k, str(v), "") for k, v in self.counts.items()]
        out += [(k, "—" if v is None else f"{v:.2%}", FORMULAS[k]) for k, v in self.rates.items()]
        out += [
            (f"综合评分({k})", "—" if v is None else f"{v[0]:.1f} ({v[1]})", SCORES[k])
            for k, v in self.scores.items()
        ]
        return out


def evaluate(
    *,
    session: Session,
    actor: Principal,
    start: datetime,
    end: datetime,
    region: str | None = None,
    department_id: int | None = None,
) -> Evaluation:
    authorize(actor, "cases.view", region_code=region, department_id=department_id)
    # the cases the actor may see (policy.visible), as in every list: a handler evaluates their
    # department's cases, a district's dispatcher their district's, a leader the city's
    q = select(Case).where(
        visible(actor), Case.reported_at >= start, Case.reported_at < end, Case.state != "merged"
    )
    if region:
        q = q.where(Case.region_code.startswith(division_prefix(region)))
    if department_id is not None:
        q = q.where(Case.department_id == department_id)
    cases = session.scalars(q).all()
    ids = [c.id for c in cases]
    events: dict[int, list[CaseEvent]] = {i: [] for i in ids}
    for i in range(0, len(ids), 900):  # keep IN lists short for SQLite
        for ev in session.scalars(
            select(CaseEvent).where(CaseEvent.case_id.in_(ids[i : i + 900])).order_by(CaseEvent.id)
        ):
            events[ev.case_id].append(ev)
    cats = {c.code: c for c in session.scalars(select(CaseCategory))}
    cal = calendar.get_calendar(session)
    n = dict.fromkeys(
        (
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
        ),
        0,
    )
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
    due = n["立案数"] - n["缓办数"]
    rates = {
        "结案率": _ratio(n["结案数"], due),
        "按期结案率": _ratio(n["按期结案数"], due),
        "返工率": _ratio(n["返工数"], n["派遣数"]),
        "超期率": _ratio(n["超期数"], n["派遣数"]),
        "按时派遣率": _ratio(n["按时派遣数"], n["派遣数"]),
        "退回率": _ratio(n["退回数"], n["派遣数"]),
        "按时核查率": _ratio(n["按时核查数"], n["核查数"]),
    }

    def score(parts: list[tuple[float, float | None]]) -> tuple[float, str] | None:
        values = [(w, v) for w, v in parts if v is not None]
        if len(values) < len(parts):
            return None
        s = sum(w * v for w, v in values)
        return round(s, 2), grade(s)

    r = rates
    scores = {
        "region": score(
            [(40, r["结案率"]), (40, r["按期结案率"]), (20, None if r["超期率"] is None else 1 - r["超期率"])]
        ),
        "department": score(
            [(50, r["按期结案率"]), (30, r["结案率"]), (20, None if r["返工率"] is None else 1 - r["返工率"])]
        ),
        "dispatcher": score([(60, r["按时派遣率"]), (40, None if r["退回率"] is None else 1 - r["退回率"])]),
        "inspector": score([(100, r["按时核查率"])]),
    }
    scope = region or (f"department {department_id}" if department_id is not None else "city")
    return Evaluation(start=start, end=end, scope=scope, counts=n, rates=rates, scores=scores)


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
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
