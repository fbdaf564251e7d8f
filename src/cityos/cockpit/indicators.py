"""经济运行 indicators in the conventions of Chinese statistics, from a stored monthly series.

For one metric and one region, with `values` {"YYYY-MM": 当月值} (a quarterly metric has its
quarter's value in the quarter's last month):

  value         当月值 (本季值)
  ytd           累计值: the sum from January through the period (additive metrics only; null when
                any month — or quarter — of it is missing)
  yoy_pct       同比 % = (value ÷ value of the same period a year earlier − 1) × 100
  ytd_yoy_pct   累计同比 % on ytd
  mom_pct       环比 % on the previous month (quarter: the previous quarter)
  target_pct    目标完成率 % = ytd ÷ the annual target × 100
  schedule_pct  序时进度 %: the share of the year elapsed at the period's end — month: m/12;
                days: calendar days (a leap year has 366); workdays: working days on the
                working calendar
Null wherever an input does not exist (no value a year earlier, a zero base, no target).
"""

from __future__ import annotations

import calendar as _cal
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any


@dataclass(frozen=True)
class Row:
    period: str
    value: float | None
    ytd: float | None
    yoy_pct: float | None
    ytd_yoy_pct: float | None
    mom_pct: float | None
    target_pct: float | None
    schedule_pct: float | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def shift(period: str, months: int) -> str:
    y, m = int(period[:4]), int(period[5:7])
    n = y * 12 + (m - 1) + months
    return f"{n // 12:04d}-{n % 12 + 1:02d}"


def months_between(first: str, last: str) -> list[str]:
    out, p = [], first
    while p <= last:
        out.append(p)
        p = shift(p, 1)
    return out


def step_of(period_kind: str) -> int:
    return 3 if period_kind == "quarter" else 1


def is_period(period: str, period_kind: str) -> bool:
    return period_kind != "quarter" or int(period[5:7]) % 3 == 0


def pct(a: float | None, b: float | None) -> float | None:
    """(a ÷ b − 1) × 100, rounded to 2 places; None without both or on a zero base."""
    if a is None or b is None or b == 0:
        return None
    return round((a / b - 1) * 100, 2)


def ytd(values: Mapping[str, float | None], period: str, period_kind: str = "month") -> float | None:
    if values.get(period) is None:
        return None
    step = step_of(period_kind)
    total = 0.0
    for m in range(step, int(period[5:7]) + 1, step):
        v = values.get(f"{period[:4]}-{m:02d}")
        if v is None:
            return None
        total += v
    return round(total, 4)


def year_total(values: Mapping[str, float | None], year: int, period_kind: str = "month") -> float | None:
    return ytd(values, f"{year:04d}-12", period_kind)


def schedule(period: str, mode: str = "month", workdays: Callable[[date, date], int] | None = None) -> float:
    """序时进度 (%) at the end of the period."""
    y, m = int(period[:4]), int(period[5:7])
    if mode == "days":
        end = date(y, m, _cal.monthrange(y, m)[1])
        days = 366 if _cal.isleap(y) else 365
        return round(end.timetuple().tm_yday / days * 100, 2)
    if mode == "workdays" and workdays is not None:
        first = date(y, 1, 1)
        upto = date(y + 1, 1, 1) if m == 12 else date(y, m + 1, 1)
        total = workdays(first, date(y + 1, 1, 1))
        return round(workdays(first, upto) / total * 100, 2) if total else round(m / 12 * 100, 2)
    return round(m / 12 * 100, 2)


def rows(
    values: Mapping[str, float | None],
    periods: list[str],
    *,
    additive: bool = True,
    period_kind: str = "month",
    targets: Mapping[int, float | None] | None = None,
    schedule_mode: str = "month",
    workdays: Callable[[date, date], int] | None = None,
) -> list[Row]:
    """The indicator rows of `periods` (those of the metric's kind: a quarterly metric's months
    that end a quarter)."""
    step = step_of(period_kind)
    out = []
    for p in periods:
        if not is_period(p, period_kind):
            continue
        v = values.get(p)
        cum = ytd(values, p, period_kind) if additive else None
        cum_ly = ytd(values, shift(p, -12), period_kind) if additive else None
        target = (targets or {}).get(int(p[:4]))
        out.append(
            Row(
                period=p,
                value=v,
                ytd=cum,
                yoy_pct=pct(v, values.get(shift(p, -12))),
                ytd_yoy_pct=pct(cum, cum_ly),
                mom_pct=pct(v, values.get(shift(p, -step))),
                target_pct=round(cum / target * 100, 2) if cum is not None and target else None,
                schedule_pct=schedule(p, schedule_mode, workdays) if additive else None,
            )
        )
    return out


def target_of(
    values: Mapping[str, float | None],
    year: int,
    *,
    growth_pct: float | None,
    annual: Mapping[int, float] | None = None,
    period_kind: str = "month",
) -> float | None:
    """The annual target: the one given for the year, else last year's total grown by growth_pct."""
    if annual and year in annual:
        return annual[year]
    if growth_pct is None:
        return None
    base = year_total(values, year - 1, period_kind)
    return None if base is None else base * (1 + growth_pct / 100)
