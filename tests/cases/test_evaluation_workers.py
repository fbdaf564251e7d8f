"""The grid workers' evaluation (网格员考评) on a hand-computed data set, on both databases.

Working hours 09:00–12:00 and 13:30–17:30; 店外经营 (E0402) is verified within 4 working hours, so
a task is due 4 working hours after it was sent. Worker W owns 金雀山社区第1网格 (G1), worker V the
第2网格 (G2). The week of Monday 2 March 2026:

  W  checks in Mon 08:30, Tue 08:35 and Tue 13:00                  2 days, 3 check-ins
  W  patrols Mon 09:00–10:00 from G1 into G2                       1 patrol, 1 h, 2 grids, own 1/1
  W  reports case P at Mon 09:30 (patrol open)                     reported on patrol
  W  reports case Q at Tue 15:00 (no patrol open)                  not on patrol
  V  checks in Wed 08:00; no patrol                                1 day
  a citizen reports case R in G2 on Wed 08:50
  inspector → W  核实 P, sent Mon 10:30, due Mon 16:00 (1.5 h + 2.5 h); answered Mon 11:00: on time
  inspector → W  核实 Q, sent Tue 15:10, due Wed 10:40 (2 h 20 min + 1 h 40 min); never answered
  inspector → V  核实 R, sent Wed 09:00, due Wed 14:30 (3 h + 1 h); answered Thu 16:00: late

  evaluated over Mon 2 – Sun 8 March, on Mon 9 (出勤天数 / 巡查次数 / 巡查时长 / 巡查网格数 /
  责任网格已巡查 / 巡查上报数 / 任务数 / 已回复 / 按时回复数 / 超期未回复 → 按时回复率):
  W   2 / 1 / 1.0 h / 2 / 1 of 1 / 1 / 2 / 1 / 1 / 1   →  1/2 = 50 %
  V   1 / 0 / 0 / 0 / 0 of 1 / 0 / 1 / 1 / 0 / 0        →  0/1 = 0 %
"""

from __future__ import annotations

from datetime import datetime
from io import BytesIO
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from cityos.cases import evaluation, service
from cityos.cases.schemas import ReportIn, TaskAnswerIn, TaskIn
from cityos.core import clock
from cityos.geo import service as geo
from cityos.identity import service as identity
from cityos.identity.schemas import UserIn
from cityos.patrol import service as patrol
from cityos.patrol.schemas import PointIn, PositionIn
from tests.factories import PASSWORD

TZ = ZoneInfo("Asia/Shanghai")
G1, G2 = "37130200100101", "37130200100102"
IN_G1 = {"lon": 118.3515, "lat": 35.0515}
IN_G2 = {"lon": 118.3545, "lat": 35.0515}


def at(day: int, h: int, m: int = 0) -> datetime:
    return datetime(2026, 3, day, h, m, tzinfo=TZ)


@pytest.fixture
def week(city, db):  # type: ignore[no-untyped-def]
    with db.transaction() as s:
        service.load_default_taxonomy(session=s, actor=city.as_role("admin"))
        identity.add_user(
            session=s,
            actor=identity.SYSTEM,
            user=UserIn(
                username="gw_v",
                display_name="王网格",
                password=PASSWORD,
                roles=["grid_worker"],
                department_code="cgj",
                region_code=G2,
            ),
        )
        v = identity.principal_for(session=s, username="gw_v")
        w = city.as_role("grid_worker")
        geo.assign_grid_worker(session=s, actor=identity.SYSTEM, grid_code=G1, user_id=w.id)
        geo.assign_grid_worker(session=s, actor=identity.SYSTEM, grid_code=G2, user_id=v.id)
    inspector = city.as_role("inspector")

    def when(t: datetime):  # type: ignore[no-untyped-def]
        clock.set_now(t)
        return db.transaction()

    def report(who, where):  # type: ignore[no-untyped-def]
        body = ReportIn(category_code="E0402", description="店外经营", **where)
        return service.report_case(session=s, actor=who, report=body).id

    def task(case_id, worker):  # type: ignore[no-untyped-def]
        return service.send_task(
            session=s,
            actor=inspector,
            case_id=case_id,
            task=TaskIn(kind="verify_report", assignee_id=worker.id),
        ).id

    try:
        for t, who in ((at(2, 8, 30), w), (at(3, 8, 35), w), (at(3, 13), w), (at(4, 8), v)):
            with when(t) as s:
                patrol.check_in(session=s, actor=who, position=PositionIn(**(IN_G1 if who is w else IN_G2)))
        with when(at(2, 9)) as s:
            pid = patrol.start_patrol(session=s, actor=w).id
            patrol.add_points(
                session=s, actor=w, patrol_id=pid, points=[PointIn(lon=118.3505, lat=35.0515, at=at(2, 9))]
            )
        with when(at(2, 9, 30)) as s:
            p_case = report(w, IN_G1)
        with when(at(2, 10)) as s:
            patrol.end_patrol(
                session=s, actor=w, patrol_id=pid, points=[PointIn(lon=118.3545, lat=35.0515, at=at(2, 10))]
            )
        with when(at(2, 10, 30)) as s:
            t1 = task(p_case, w)
        with when(at(2, 11)) as s:
            service.answer_task(session=s, actor=w, task_id=t1, answer=TaskAnswerIn(result="confirmed"))
        with when(at(3, 15)) as s:
            q_case = report(w, IN_G1)
        with when(at(3, 15, 10)) as s:
            task(q_case, w)
        with when(at(4, 8, 50)) as s:
            r_case = report(city.as_role("citizen"), IN_G2)
        with when(at(4, 9)) as s:
            t3 = task(r_case, v)
        with when(at(5, 16)) as s:
            service.answer_task(session=s, actor=v, task_id=t3, answer=TaskAnswerIn(result="confirmed"))
        clock.set_now(at(9, 9))
        yield city, w, v
    finally:
        clock.set_now(None)


def test_the_grid_workers_figures_match_the_hand_computation(week, db):  # type: ignore[no-untyped-def]
    city, _w, _v = week
    with db.reader() as s:
        # the due times as computed by hand
        due = sorted(t.due_at for t in service.tasks(session=s, actor=city.as_role("leader")))
        assert due == [at(2, 16), at(4, 10, 40), at(4, 14, 30)]
        ev = evaluation.evaluate(
            session=s, actor=city.as_role("leader"), start=at(2, 0), end=at(9, 0), with_workers=True
        )
        district = evaluation.evaluate(
            session=s,
            actor=city.as_role("dispatcher"),
            start=at(2, 0),
            end=at(9, 0),
            region="371302",
            with_workers=True,
        )
    assert ev.workers is not None
    rows = {r.name: (r.figures, r.on_time_rate) for r in ev.workers}
    assert rows["测试grid_worker"] == (
        {
            "days_checked_in": 2,
            "patrols": 1,
            "patrol_hours": 1.0,
            "grids_covered": 2,
            "own_grids_covered": 1,
            "own_grids": 1,
            "reports_on_patrol": 1,
            "tasks_sent": 2,
            "tasks_answered": 1,
            "tasks_on_time": 1,
            "tasks_overdue": 1,
        },
        0.5,
    )
    assert rows["王网格"] == (
        {
            "days_checked_in": 1,
            "patrols": 0,
            "patrol_hours": 0,
            "grids_covered": 0,
            "own_grids_covered": 0,
            "own_grids": 1,
            "reports_on_patrol": 0,
            "tasks_sent": 1,
            "tasks_answered": 1,
            "tasks_on_time": 0,
            "tasks_overdue": 0,
        },
        0.0,
    )
    assert set(rows) == {"测试grid_worker", "王网格"}
    # a district's evaluation lists every grid worker attached there, with the same figures
    assert district.workers is not None and {r.name: r.figures for r in district.workers} == {
        k: f for k, (f, _r) in rows.items()
    }


def test_who_sees_the_grid_workers_table(week, db, client):  # type: ignore[no-untyped-def]
    city, _w, _v = week
    with db.reader() as s:
        for role in ("handler", "inspector"):  # they supervise no patrols
            ev = evaluation.evaluate(
                session=s, actor=city.as_role(role), start=at(2, 0), end=at(9, 0), with_workers=True
            )
            assert ev.workers == [], role
        # the tasks answered after the period are not in it: Mon–Wed only
        short = evaluation.evaluate(
            session=s, actor=city.as_role("leader"), start=at(2, 0), end=at(5, 0), with_workers=True
        )
    assert short.workers is not None
    v_row = next(r for r in short.workers if r.name == "王网格")
    assert v_row.figures["tasks_answered"] == 0 and v_row.figures["tasks_overdue"] == 1
    # the page, the API and the Excel export carry the same table
    city.login(client, "leader")
    html = client.get("/cases/evaluation?start=2026-03-02&end=2026-03-08").text
    assert 'data-testid="workers"' in html and "王网格" in html and "50.0%" in html
    body = client.get("/api/v1/cases/evaluation", params={"start": "2026-03-02", "end": "2026-03-08"}).json()
    api_rows = {r["name"]: r for r in body["workers"]}
    assert api_rows["测试grid_worker"]["figures"]["reports_on_patrol"] == 1
    assert body["formulas"]["按时回复率"] == "按时回复数 / 任务数"
    x = client.get("/api/v1/cases/evaluation.xlsx", params={"start": "2026-03-02", "end": "2026-03-08"})
    ws = load_workbook(BytesIO(x.content))["网格员考评"]
    sheet = {r[0]: r[1:] for r in ws.iter_rows(min_row=2, values_only=True)}
    assert sheet["测试grid_worker"][:3] == (2, 1, 1.0) and sheet["测试grid_worker"][-2] == "50.00%"
    assert sheet["王网格"][-2] == "0.00%"
