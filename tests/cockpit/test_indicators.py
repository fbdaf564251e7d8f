"""经济运行 indicators on a hand-computed table (2024 is a leap year; March 2023 has no value).

Monthly, additive, annual target 2024 = 200 亿元 (当月, 累计, 同比 on 2023, 累计同比, 环比):

  month  2023  2024 | 累计 | 同比%            累计同比%          环比%
  01      10    11  |  11  | 11/10−1 = 10.00   11/10−1 = 10.00   — (no 2023-12)
  02       8    10  |  21  | 10/8−1  = 25.00   21/18−1 = 16.67   10/11−1 = −9.09
  03       —    13  |  34  | —                 — (2023 累计 gap)  13/10−1 = 30.00
  04      12    15  |  49  | 15/12−1 = 25.00   —                 15/13−1 = 15.38

  month | 目标完成率%  | 序时 by month | 序时 by calendar days (366 in 2024)
  01    | 11/200 = 5.5 |  1/12 =  8.33 |  31/366 =  8.47
  02    | 21/200 = 10.5|  2/12 = 16.67 |  60/366 = 16.39   (2025-02, a common year: 59/365 = 16.16)
  03    | 34/200 = 17.0|  3/12 = 25.00 |  91/366 = 24.86
  04    | 49/200 = 24.5|  4/12 = 33.33 | 121/366 = 33.06

Quarterly GDP (the quarter's value in its last month); target = 2023 total × 1.06 = 460 × 1.06 = 487.6:

  quarter  2023  2024 | 累计 | 同比%             累计同比%          环比%
  Q1 (03)   100   105 |  105 | 5.00              105/100−1 = 5.00   105/130−1 = −19.23
  Q2 (06)   110    99 |  204 | 99/110−1 = −10.00  204/210−1 = −2.86  99/105−1 = −5.71
  目标完成率 Q1 105/487.6 = 21.53, Q2 204/487.6 = 41.84;  序时 25.00, 50.00

By working days (Monday–Friday): January 2024 has 23 of the year's 262 → 8.78.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from cityos.cockpit import indicators as ind
from cityos.cockpit import report

MONTHLY = {
    "2023-01": 10.0, "2023-02": 8.0, "2023-04": 12.0,
    "2024-01": 11.0, "2024-02": 10.0, "2024-03": 13.0, "2024-04": 15.0,
}  # fmt: skip
QUARTERLY = {
    "2023-03": 100.0,
    "2023-06": 110.0,
    "2023-09": 120.0,
    "2023-12": 130.0,
    "2024-03": 105.0,
    "2024-06": 99.0,
}

EXPECTED = [  # period, value, ytd, yoy, ytd_yoy, mom, target, schedule (month), schedule (days)
    ("2024-01", 11.0, 11.0, 10.0, 10.0, None, 5.5, 8.33, 8.47),
    ("2024-02", 10.0, 21.0, 25.0, 16.67, -9.09, 10.5, 16.67, 16.39),
    ("2024-03", 13.0, 34.0, None, None, 30.0, 17.0, 25.0, 24.86),
    ("2024-04", 15.0, 49.0, 25.0, None, 15.38, 24.5, 33.33, 33.06),
]


def test_monthly_table_by_hand() -> None:
    periods = ind.months_between("2024-01", "2024-04")
    by_month = ind.rows(MONTHLY, periods, targets={2024: 200.0})
    by_days = ind.rows(MONTHLY, periods, targets={2024: 200.0}, schedule_mode="days")
    for (period, value, ytd, yoy, ytd_yoy, mom, target, sched_m, sched_d), r, d in zip(
        EXPECTED, by_month, by_days, strict=True
    ):
        assert (r.period, r.value, r.ytd) == (period, value, ytd)
        assert (r.yoy_pct, r.ytd_yoy_pct, r.mom_pct, r.target_pct) == (yoy, ytd_yoy, mom, target), period
        assert r.schedule_pct == sched_m
        assert d.schedule_pct == sched_d, period
    assert ind.schedule("2025-02", "days") == 16.16  # a common year: 59/365


def test_quarterly_table_by_hand() -> None:
    target = ind.target_of(QUARTERLY, 2024, growth_pct=6.0, period_kind="quarter")
    assert target == pytest.approx(487.6)
    rows = ind.rows(
        QUARTERLY, ind.months_between("2024-01", "2024-06"), period_kind="quarter", targets={2024: target}
    )
    assert [r.period for r in rows] == ["2024-03", "2024-06"]  # months that end no quarter are not rows
    q1, q2 = rows
    assert (q1.ytd, q1.yoy_pct, q1.ytd_yoy_pct, q1.mom_pct, q1.target_pct, q1.schedule_pct) == (
        105.0, 5.0, 5.0, -19.23, 21.53, 25.0,
    )  # fmt: skip
    assert (q2.ytd, q2.yoy_pct, q2.ytd_yoy_pct, q2.mom_pct, q2.target_pct, q2.schedule_pct) == (
        204.0, -10.0, -2.86, -5.71, 41.84, 50.0,
    )  # fmt: skip


def test_null_where_inputs_do_not_exist() -> None:
    (r,) = ind.rows({"2024-05": 7.0, "2023-05": 0.0}, ["2024-05"])
    assert r.yoy_pct is None  # a zero base has no growth rate
    assert r.ytd is None and r.ytd_yoy_pct is None and r.target_pct is None  # January–April missing
    (rate,) = ind.rows({"2024-05": 91.5, "2023-05": 90.0}, ["2024-05"], additive=False)
    assert (rate.ytd, rate.target_pct, rate.schedule_pct, rate.yoy_pct) == (None, None, None, 1.67)
    assert ind.target_of(MONTHLY, 2024, growth_pct=6.0) is None  # 2023 is not complete


def test_schedule_by_working_days() -> None:
    def weekdays(a: date, b: date) -> int:  # [a, b), Monday–Friday
        return sum((a + timedelta(days=i)).weekday() < 5 for i in range((b - a).days))

    assert weekdays(date(2024, 1, 1), date(2025, 1, 1)) == 262
    assert ind.schedule("2024-01", "workdays", weekdays) == round(23 / 262 * 100, 2) == 8.78


def test_standard_phrasing() -> None:
    (row,) = ind.rows(
        {f"2025-{m:02d}": 10.0 for m in range(1, 11)} | {f"2026-{m:02d}": 10.52 for m in range(1, 11)},
        ["2026-10"],
        targets={2026: 130.0},
    )
    assert report.sentence("规上工业增加值", "亿元", row, "month") == (
        "1—10月，全市规上工业增加值同比增长5.2%，累计105.20亿元，完成年度目标的80.9%，落后序时进度2.4个百分点。"
    )
    assert report.span("2026-01") == "1月" and report.span("2026-09", "quarter") == "前三季度"
    assert report.change(-1.26) == "同比下降1.3%" and report.change(0.01) == "与上年同期持平"
