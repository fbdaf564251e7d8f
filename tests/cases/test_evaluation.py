"""The evaluation formulas on a hand-computed data set. Six 店外经营 (E0402) cases reported on
Monday 2 March 2026 (file 1 h, dispatch 1 h, handle 8 h, verify 4 h — working hours):

  A  filed 09:10, dispatched 09:30, back 10:00, verified 11:00          closed on time
  B  filed 09:10, dispatched 11:00 (late), back Tue 17:00 (deadline Tue 12:00), verified Wed 09:30
                                                                        closed late
  C  filed, dispatched on time, accepted, suspended                     缓办
  D  filed, dispatched on time, back, rework, back again, verified      closed on time, 1 rework
  E  rejected                                                           not filed
  F  filed 09:10, dispatched 09:20, returned, dispatched again 14:00, still open at the end (Mon 9th)
                                                                        returned, overdue

  受理 6, 立案 = 应结案 5, 缓办 1, 结案 3, 按期结案 2, 派遣 5, 返工 1, 退回 1, 超期 2 (B, F), 按时派遣 4,
  核查 4 (A, B, D×2), 按时核查 4
  结案率 3/(5−1) = 75 %, 按期结案率 2/4 = 50 %, 返工率 1/5 = 20 %, 超期率 2/5 = 40 %, 按时派遣率 4/5 = 80 %,
  退回率 1/5 = 20 %, 按时核查率 4/4 = 100 %
  region 40×.75 + 40×.5 + 20×.6 = 62 → C;  department 50×.5 + 30×.75 + 20×.8 = 63.5 → C;
  dispatcher 60×.8 + 40×.8 = 80 → B;  inspector 100 → A
"""

from __future__ import annotations

from datetime import datetime
from io import BytesIO
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from cityos.cases import evaluation, service
from cityos.cases.schemas import ReportIn
from cityos.core import clock

TZ = ZoneInfo("Asia/Shanghai")


def at(day: int, h: int, m: int = 0) -> datetime:
    return datetime(2026, 3, day, h, m, tzinfo=TZ)


@pytest.fixture
def data(city, db):  # type: ignore[no-untyped-def]
    with db.transaction() as s:
        service.load_default_taxonomy(session=s, actor=city.as_role("admin"))

    def new() -> int:
        clock.set_now(at(2, 9))
        with db.transaction() as s:
            return service.report_case(
                session=s,
                actor=city.as_role("citizen"),
                report=ReportIn(category_code="E0402", description="店外经营", lon=118.3515, lat=35.0515),
            ).id

    def go(case_id: int, *steps) -> None:  # type: ignore[no-untyped-def]
        for when, role, action, kw in steps:
            clock.set_now(when)
            with db.transaction() as s:
                service.transition(session=s, actor=city.as_role(role), case_id=case_id, action=action, **kw)

    d = {"department_code": "ls-cgj"}
    back = {"reason": "已处理"}
    go(
        new(),
        (at(2, 9, 10), "dispatcher", "file", {}),
        (at(2, 9, 30), "dispatcher", "dispatch", d),
        (at(2, 9, 40), "handler", "accept", {}),
        (at(2, 10), "handler", "report_back", back),
        (at(2, 11), "inspector", "verify", {}),
    )
    go(
        new(),
        (at(2, 9, 10), "dispatcher", "file", {}),
        (at(2, 11), "dispatcher", "dispatch", d),
        (at(2, 11, 10), "handler", "accept", {}),
        (at(3, 17), "handler", "report_back", back),
        (at(4, 9, 30), "inspector", "verify", {}),
    )
    go(
        new(),
        (at(2, 9, 10), "dispatcher", "file", {}),
        (at(2, 9, 30), "dispatcher", "dispatch", d),
        (at(2, 9, 40), "handler", "accept", {}),
        (at(2, 10), "dispatcher", "suspend", {"reason": "待协调"}),
    )
    go(
        new(),
        (at(2, 9, 10), "dispatcher", "file", {}),
        (at(2, 9, 30), "dispatcher", "dispatch", d),
        (at(2, 9, 40), "handler", "accept", {}),
        (at(2, 10), "handler", "report_back", back),
        (at(2, 10, 30), "inspector", "rework", {"reason": "未整改"}),
        (at(2, 11), "handler", "report_back", back),
        (at(2, 11, 30), "inspector", "verify", {}),
    )
    go(new(), (at(2, 9, 5), "dispatcher", "reject", {"reason": "不属于受理范围"}))
    go(
        new(),
        (at(2, 9, 10), "dispatcher", "file", {}),
        (at(2, 9, 20), "dispatcher", "dispatch", d),
        (at(2, 9, 30), "handler", "return", {"reason": "不属于本单位"}),
        (at(2, 14), "dispatcher", "dispatch", d),
    )
    clock.set_now(at(9, 9))
    return city


def test_the_formulas_match_the_hand_computation(data, db):
    with db.reader() as s:
        ev = evaluation.evaluate(session=s, actor=data.as_role("leader"), start=at(1, 0), end=at(9, 0))
    assert ev.counts == {
        "受理数": 6,
        "立案数": 5,
        "派遣数": 5,
        "缓办数": 1,
        "结案数": 3,
        "按期结案数": 2,
        "返工数": 1,
        "退回数": 1,
        "超期数": 2,
        "按时派遣数": 4,
        "核查数": 4,
        "按时核查数": 4,
    }
    assert ev.rates == {
        "结案率": 0.75,
        "按期结案率": 0.5,
        "返工率": 0.2,
        "超期率": 0.4,
        "按时派遣率": 0.8,
        "退回率": 0.2,
        "按时核查率": 1.0,
    }
    assert ev.scores == {
        "region": (62.0, "C"),
        "department": (63.5, "C"),
        "dispatcher": (80.0, "B"),
        "inspector": (100.0, "A"),
    }


def test_scope_and_period_filter(data, db, city):
    with db.reader() as s:
        other = evaluation.evaluate(
            session=s, actor=city.as_role("leader"), start=at(1, 0), end=at(9, 0), region="371311"
        )
        before = evaluation.evaluate(session=s, actor=city.as_role("leader"), start=at(1, 0), end=at(2, 0))
    assert other.counts["受理数"] == 0 and other.rates["结案率"] is None and other.scores["region"] is None
    assert before.counts["受理数"] == 0


def test_grades_at_their_boundaries():
    assert [evaluation.grade(x) for x in (90, 89.99, 75, 60, 40, 39.9)] == ["A", "B", "B", "C", "D", "E"]


def test_api_and_excel_show_the_formulas(data, client):
    data.login(client, "leader")
    r = client.get("/api/v1/cases/evaluation", params={"start": "2026-03-01", "end": "2026-03-08"})
    body = r.json()
    assert r.status_code == 200 and body["rates"]["结案率"] == 0.75
    assert body["formulas"]["结案率"] == "结案数 / (应结案数 − 缓办数)"
    x = client.get("/api/v1/cases/evaluation.xlsx", params={"start": "2026-03-01", "end": "2026-03-08"})
    ws = load_workbook(BytesIO(x.content)).active
    rows = {r[0]: (r[1], r[2]) for r in ws.iter_rows(min_row=3, values_only=True)}
    assert rows["结案率"] == ("75.00%", "结案数 / (应结案数 − 缓办数)")
    assert rows["综合评分(dispatcher)"][0] == "80.0 (B)"
