"""The working calendar every deadline in CityOS uses.

Which days are working days: an admin-entered schedule for a year (table `calendar_days`) wins;
otherwise the maintained `chinesecalendar` library (statutory holidays and make-up working days,
调休); a year neither covers falls back to plain Monday–Friday with a logged warning (once per
year per process) until an admin enters that year's published schedule.

Working hours per day come from settings (`CITYOS_WORK_HOURS`, default 09:00-12:00,13:30-17:30,
local time Asia/Shanghai). All datetimes in and out are aware; results are UTC.

Definitions:
- add_working_hours(t, h): the moment when h working hours have elapsed after t.
- add_working_days(t, n): close of business of the n-th working day after the day of t (the day
  of t itself never counts, whatever the time). n = 10 is the 10-working-day answer deadline.
- working_hours_between(a, b): working hours inside [a, b] (negative if b < a).
- working_days_between(d1, d2): working days in (d1, d2].

Caching: a calendar is built once per process for a set of entries and a year's day table is
computed once; `get_calendar(session)` re-reads the entries when their fingerprint (count and
last entry time) changed, checked at most every CHECK_SECONDS, so another process's entry is
noticed within seconds.
"""

from __future__ import annotations

import logging
import time as _time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import chinese_calendar
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from cityos.core import audit, clock
from cityos.core.calendar_models import CalendarDay
from cityos.core.errors import Invalid

log = logging.getLogger("cityos.calendar")
CHECK_SECONDS = 5.0
_warned_years: set[int] = set()


def parse_work_hours(spec: str) -> tuple[tuple[time, time], ...]:
    periods: list[tuple[time, time]] = []
    for part in spec.split(","):
        try:
            a, b = part.strip().split("-")
            start, end = time.fromisoformat(a.strip()), time.fromisoformat(b.strip())
        except ValueError:
            raise Invalid(
                "Working hours must look like 09:00-12:00,13:30-17:30",
                field="work_hours",
                code="bad_work_hours",
            ) from None
        if end <= start or (periods and start < periods[-1][1]):
            raise Invalid(
                "Working hours must look like 09:00-12:00,13:30-17:30",
                field="work_hours",
                code="bad_work_hours",
            )
        periods.append((start, end))
    if not periods:
        raise Invalid(
            "Working hours must look like 09:00-12:00,13:30-17:30", field="work_hours", code="bad_work_hours"
        )
    return tuple(periods)


def library_covers(year: int) -> bool:
    try:
        chinese_calendar.is_workday(date(year, 6, 1))
        return True
    except NotImplementedError:
        return False


@lru_cache(maxsize=64)
def _library_year(year: int) -> tuple[tuple[bool, str], ...] | None:
    """(is_workday, holiday name) for each day of the year, or None if the library lacks the year."""
    if not library_covers(year):
        return None
    out = []
    d = date(year, 1, 1)
    while d.year == year:
        on_holiday, name = chinese_calendar.get_holiday_detail(d)
        work = chinese_calendar.is_workday(d)
        label = name or ""
        if work and d.weekday() >= 5:
            label = "make-up working day"
        out.append((work, label if (on_holiday or (work and d.weekday() >= 5)) else ""))
        d += timedelta(days=1)
    return tuple(out)


@dataclass(frozen=True)
class DayInfo:
    day: date
    is_workday: bool
    name: str
    source: str  # "entered" | "library" | "weekends-fallback"


class WorkingCalendar:
    def __init__(
        self,
        entries: dict[date, tuple[bool, str]] | None = None,
        work_hours: str = "09:00-12:00,13:30-17:30",
        tz: str = "Asia/Shanghai",
    ) -> None:
        self.entries = dict(entries or {})
        self.periods = parse_work_hours(work_hours)
        self.tz = ZoneInfo(tz)
        self.hours_per_day = sum(
            (datetime.combine(date.min, b) - datetime.combine(date.min, a)).total_seconds() / 3600
            for a, b in self.periods
        )
        self._years: dict[int, bytearray] = {}
        self._prefix: dict[int, list[int]] = {}
        self._entered_years = {d.year for d in self.entries}

    # ------------------------------------------------------------ days
    def source_of_year(self, year: int) -> str:
        if year in self._entered_years:
            return "entered"
        return "library" if library_covers(year) else "weekends-fallback"

    def _year_table(self, year: int) -> bytearray:
        table = self._years.get(year)
        if table is not None:
            return table
        lib = _library_year(year)
        if lib is None and year not in self._entered_years and year not in _warned_years:
            _warned_years.add(year)
            log.warning(
                "no holiday schedule for %s: counting Monday–Friday as working days until an "
                "admin enters the year's published schedule",
                year,
            )
        table = bytearray()
        d = date(year, 1, 1)
        i = 0
        while d.year == year:
            if d in self.entries:
                work = self.entries[d][0]
            elif year in self._entered_years:
                work = d.weekday() < 5  # an entered year lists only its exceptions
            elif lib is not None:
                work = lib[i][0]
            else:
                work = d.weekday() < 5
            table.append(1 if work else 0)
            d += timedelta(days=1)
            i += 1
        self._years[year] = table
        return table

    def is_workday(self, d: date) -> bool:
        return bool(self._year_table(d.year)[d.timetuple().tm_yday - 1])

    def day_info(self, d: date) -> DayInfo:
        src = self.source_of_year(d.year)
        if d in self.entries:
            return DayInfo(d, self.entries[d][0], self.entries[d][1], "entered")
        name = ""
        lib = _library_year(d.year) if src == "library" else None
        if lib is not None:
            name = lib[d.timetuple().tm_yday - 1][1]
        return DayInfo(d, self.is_workday(d), name, src)

    def next_workday(self, d: date) -> date:
        d += timedelta(days=1)
        while not self.is_workday(d):
            d += timedelta(days=1)
        return d

    def working_days_between(self, d1: date, d2: date) -> int:
        if d2 < d1:
            return -self.working_days_between(d2, d1)
        n = 0
        d = d1 + timedelta(days=1)
        while d <= d2:
            n += self.is_workday(d)
            d += timedelta(days=1)
        return n

    # ------------------------------------------------------------ hours
    def _periods_of(self, d: date) -> list[tuple[datetime, datetime]]:
        if not self.is_workday(d):
            return []
        return [(datetime.combine(d, a, self.tz), datetime.combine(d, b, self.tz)) for a, b in self.periods]

    def add_working_hours(self, start: datetime, hours: float) -> datetime:
        if start.tzinfo is None:
            raise ValueError("add_working_hours needs an aware datetime")
        if hours < 0:
            raise ValueError("hours must not be negative")
        remaining = timedelta(hours=hours)
        t = start.astimezone(self.tz)
        d = t.date()
        # skip whole working days quickly when far away
        while True:
            for a, b in self._periods_of(d):
                if b <= t:
                    continue
                begin = max(a, t)
                span = b - begin
                if remaining <= span:
                    return (begin + remaining).astimezone(UTC)
                remaining -= span
            d += timedelta(days=1)  # a day at a time: a year of deadline is 365 cheap steps
            t = datetime.combine(d, time(0), self.tz)

    def add_working_days(self, start: datetime, days: int) -> datetime:
        if start.tzinfo is None:
            raise ValueError("add_working_days needs an aware datetime")
        if days < 0:
            raise ValueError("days must not be negative")
        d = start.astimezone(self.tz).date()
        for _ in range(days):
            d = self.next_workday(d)
        if days == 0:
            return start.astimezone(UTC)
        return datetime.combine(d, self.periods[-1][1], self.tz).astimezone(UTC)

    def _workdays_before(self, d: date) -> int:
        """Working days from 1 January of d's year up to, not including, d (prefix sums per year)."""
        sums = self._prefix.get(d.year)
        if sums is None:
            table = self._year_table(d.year)
            sums = [0]
            for x in table:
                sums.append(sums[-1] + x)
            self._prefix[d.year] = sums
        return sums[d.timetuple().tm_yday - 1]

    def workdays_between(self, d1: date, d2: date) -> int:
        """Working days in [d1, d2) — O(years), not O(days)."""
        if d2 <= d1:
            return 0
        if d1.year == d2.year:
            return self._workdays_before(d2) - self._workdays_before(d1)
        n = (
            self._workdays_before(date(d1.year, 12, 31))
            + self.is_workday(date(d1.year, 12, 31))
            - self._workdays_before(d1)
        )
        for y in range(d1.year + 1, d2.year):
            n += self._workdays_before(date(y, 12, 31)) + self.is_workday(date(y, 12, 31))
        return n + self._workdays_before(d2)

    def working_hours_between(self, a: datetime, b: datetime) -> float:
        if a.tzinfo is None or b.tzinfo is None:
            raise ValueError("working_hours_between needs aware datetimes")
        if b < a:
            return -self.working_hours_between(b, a)
        a, b = a.astimezone(self.tz), b.astimezone(self.tz)
        if (b.date() - a.date()).days > 2:  # whole days in the middle from the prefix sums
            first = self.working_hours_between(
                a, datetime.combine(a.date() + timedelta(days=1), time(0), self.tz)
            )
            last = self.working_hours_between(datetime.combine(b.date(), time(0), self.tz), b)
            middle = self.workdays_between(a.date() + timedelta(days=1), b.date())
            return first + middle * self.hours_per_day + last
        total = timedelta()
        d = a.date()
        while d <= b.date():
            for p0, p1 in self._periods_of(d):
                lo, hi = max(p0, a), min(p1, b)
                if hi > lo:
                    total += hi - lo
            d += timedelta(days=1)
        return total.total_seconds() / 3600


# ---------------------------------------------------------------- the process's calendar
_cache: dict[str, object] = {"fingerprint": None, "calendar": None, "checked": 0.0}


def _fingerprint(session: Session) -> tuple[int, str]:
    n, last = session.execute(select(func.count(), func.max(CalendarDay.entered_at))).one()
    return int(n or 0), str(last)


def get_calendar(session: Session | None = None) -> WorkingCalendar:
    """The calendar with the admin-entered days; cheap to call on every deadline computation."""
    from cityos.core.settings import get_settings

    cal = _cache["calendar"]
    now = _time.monotonic()
    if session is None:
        if isinstance(cal, WorkingCalendar):
            return cal
        s = get_settings()
        return WorkingCalendar({}, s.work_hours, s.timezone)
    if isinstance(cal, WorkingCalendar) and now - float(_cache["checked"]) < CHECK_SECONDS:  # type: ignore[arg-type]
        return cal
    fp = _fingerprint(session)
    _cache["checked"] = now
    if isinstance(cal, WorkingCalendar) and fp == _cache["fingerprint"]:
        return cal
    s = get_settings()
    entries = {r.day: (r.is_workday, r.name) for r in session.scalars(select(CalendarDay))}
    cal = WorkingCalendar(entries, s.work_hours, s.timezone)
    _cache.update(calendar=cal, fingerprint=fp)
    return cal


def invalidate() -> None:
    _cache.update(calendar=None, fingerprint=None, checked=0.0)


def enter_days(
    *, session: Session, actor_name: str, year: int, days: Iterable[tuple[date, bool, str]]
) -> int:
    """Replace a year's entered schedule (holidays and make-up working days) atomically.
    Callers check that the actor may do this (permission `admin.calendar`)."""
    rows = list(days)
    seen: set[date] = set()
    for i, (d, work, _name) in enumerate(rows, start=1):
        if not isinstance(d, date) or d.year != year:
            raise Invalid(
                "Row {row}: the date is not in year {year}",
                field=f"row {i}",
                code="wrong_year",
                params={"row": i, "year": year},
            )
        if d in seen:
            raise Invalid(
                "Row {row}: the date appears twice", field=f"row {i}", code="duplicate_day", params={"row": i}
            )
        seen.add(d)
        if (work and d.weekday() < 5) or (not work and d.weekday() >= 5):
            raise Invalid(
                "Row {row}: a weekday is already a working day and a weekend already a rest day",
                field=f"row {i}",
                code="redundant_day",
                params={"row": i},
            )
    session.execute(
        delete(CalendarDay).where(CalendarDay.day >= date(year, 1, 1), CalendarDay.day <= date(year, 12, 31))
    )
    now = clock.now()
    for d, work, name in rows:
        session.add(
            CalendarDay(day=d, is_workday=work, name=name[:60], entered_by=actor_name, entered_at=now)
        )
    session.flush()
    audit.record(
        session,
        actor=actor_name,
        action="calendar.enter",
        subject_type="calendar_year",
        subject_id=year,
        payload={"days": [[d.isoformat(), w, n] for d, w, n in rows]},
    )
    invalidate()
    return len(rows)


SCHEDULE_TYPES = {"holiday": False, "假日": False, "休": False, "workday": True, "班": True, "上班": True}


def parse_schedule(data: str | bytes) -> list[tuple[date, bool, str]]:
    """A table with the header date,type,name (type: holiday|workday, or 休/班), as CSV text or an
    .xlsx (read by core.spreadsheet, like every import: a date cell is a date). Errors name the row."""
    from cityos.core import spreadsheet

    header, records = spreadsheet.read_records(data)
    if not {"date", "type"} <= set(header):
        raise Invalid("The file needs the columns date,type,name", field="header", code="bad_header")
    rows: list[tuple[date, bool, str]] = []
    for i, row in records:
        try:
            d = date.fromisoformat(row.get("date", ""))
        except ValueError:
            raise Invalid(
                "Row {row}: the date is not YYYY-MM-DD", field=f"row {i}", code="bad_date", params={"row": i}
            ) from None
        kind = row.get("type", "").lower()
        if kind not in SCHEDULE_TYPES:
            raise Invalid(
                "Row {row}: type must be holiday or workday",
                field=f"row {i}",
                code="bad_type",
                params={"row": i},
            )
        rows.append((d, SCHEDULE_TYPES[kind], row.get("name", "")))
    return rows


def year_overview(*, session: Session, year: int) -> tuple[str, list[DayInfo]]:
    """The year's source and every day that is not an ordinary weekday/weekend (holidays,
    make-up working days), for the admin page and `cityos calendar show`."""
    cal = get_calendar(session)
    if not any(d.year == year for d in cal.entries) and cal.source_of_year(year) == "entered":
        invalidate()
        cal = get_calendar(session)
    out = []
    d = date(year, 1, 1)
    while d.year == year:
        info = cal.day_info(d)
        if info.is_workday != (d.weekday() < 5):
            out.append(info)
        d += timedelta(days=1)
    return cal.source_of_year(year), out
