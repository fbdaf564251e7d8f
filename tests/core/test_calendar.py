"""The working calendar across Spring Festival 2026 (holidays 15–23 Feb, make-up Saturdays
14 and 28 Feb), National Day 2025 (make-up Sundays 28 Sep and Saturday 11 Oct), lunch breaks,
nights, and a year the library does not cover yet (2027)."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from cityos.core import calendar
from cityos.core.calendar import WorkingCalendar
from cityos.core.errors import Invalid

TZ = ZoneInfo("Asia/Shanghai")
cal = WorkingCalendar()


def at(y: int, m: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, m, d, h, mi, tzinfo=TZ)


def test_spring_festival_2026_and_its_make_up_saturdays():
    assert cal.is_workday(date(2026, 2, 13))  # Friday before
    assert cal.is_workday(date(2026, 2, 14))  # Saturday, make-up working day
    for day in range(15, 24):
        assert not cal.is_workday(date(2026, 2, day)), day
    assert cal.is_workday(date(2026, 2, 24))
    assert cal.is_workday(date(2026, 2, 28))  # Saturday, make-up working day
    assert cal.day_info(date(2026, 2, 16)).name == "Spring Festival"


def test_national_day_2025_make_up_days():
    assert cal.is_workday(date(2025, 9, 28))  # Sunday worked
    assert not cal.is_workday(date(2025, 10, 1)) and not cal.is_workday(date(2025, 10, 8))
    assert cal.is_workday(date(2025, 10, 11))  # Saturday worked


def test_hours_skip_lunch_nights_and_the_whole_festival():
    # Friday 13 Feb 16:00 + 1.5 h → 17:30 same day
    assert cal.add_working_hours(at(2026, 2, 13, 16), 1.5) == at(2026, 2, 13, 17, 30)
    # + 8 h → the make-up Saturday 14 Feb: 9-12 (3 h), 13:30-17:00 (3.5 h)
    assert cal.add_working_hours(at(2026, 2, 13, 16), 8) == at(2026, 2, 14, 17, 0)
    # + 9.5 h → 1.5 + 7 used by Saturday, the last hour after the festival: Tuesday 24 Feb 10:00
    assert cal.add_working_hours(at(2026, 2, 13, 16), 9.5) == at(2026, 2, 24, 10, 0)
    # starting in the lunch break counts from 13:30
    assert cal.add_working_hours(at(2026, 3, 2, 12, 10), 1) == at(2026, 3, 2, 14, 30)
    # starting at night counts from the next morning
    assert cal.add_working_hours(at(2026, 3, 2, 22, 0), 2) == at(2026, 3, 3, 11, 0)


def test_working_days_end_at_close_of_business():
    # 10 working days from Thursday 12 Feb 2026: 13,14(Sat make-up),24,25,26,27,28(Sat),2 Mar,3,4
    assert cal.add_working_days(at(2026, 2, 12, 10), 10) == at(2026, 3, 4, 17, 30)
    assert cal.working_days_between(date(2026, 2, 12), date(2026, 3, 4)) == 10
    assert cal.next_workday(date(2026, 2, 14)) == date(2026, 2, 24)


def test_hours_between_over_the_festival():
    assert cal.working_hours_between(at(2026, 2, 13, 9), at(2026, 2, 24, 12)) == pytest.approx(7 + 7 + 3)
    assert cal.working_hours_between(at(2026, 2, 24, 12), at(2026, 2, 13, 9)) == pytest.approx(-17)


@hsettings(max_examples=60, deadline=None)
@given(
    start=st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2026, 12, 1)),
    minutes=st.integers(min_value=0, max_value=60 * 7 * 40),
)
def test_between_is_the_inverse_of_add(start, minutes):
    t0 = start.replace(tzinfo=TZ)
    t1 = cal.add_working_hours(t0, minutes / 60)
    assert cal.working_hours_between(t0, t1) == pytest.approx(minutes / 60, abs=1e-6)


def test_year_not_in_library_falls_back_to_weekends_with_a_warning(caplog):
    calendar._warned_years.discard(2027)
    c = WorkingCalendar()
    with caplog.at_level(logging.WARNING, logger="cityos.calendar"):
        assert c.is_workday(date(2027, 2, 8))  # a Monday
        assert not c.is_workday(date(2027, 2, 6))
    assert any("2027" in r.message for r in caplog.records)
    assert c.source_of_year(2027) == "weekends-fallback"


def test_entered_year_overrides_and_is_noticed(db):
    schedule = [
        (date(2027, 2, 8), False, "春节"),
        (date(2027, 2, 9), False, "春节"),
        (date(2027, 2, 6), True, "调休"),
    ]
    with db.transaction() as s:
        assert calendar.enter_days(session=s, actor_name="user:admin1", year=2027, days=schedule) == 3
    with db.reader() as s:
        c = calendar.get_calendar(s)
        assert not c.is_workday(date(2027, 2, 8)) and c.is_workday(date(2027, 2, 6))
        assert c.is_workday(date(2027, 2, 10))  # unlisted weekday stays a working day
        source, days = calendar.year_overview(session=s, year=2027)
    assert source == "entered" and [d.day for d in days] == [
        date(2027, 2, 6),
        date(2027, 2, 8),
        date(2027, 2, 9),
    ]


def test_entering_a_year_validates_everything_before_writing(db):
    with db.transaction() as s, pytest.raises(Invalid) as e:
        calendar.enter_days(
            session=s,
            actor_name="user:a",
            year=2027,
            days=[(date(2027, 5, 3), False, "劳动节"), (date(2028, 1, 1), False, "元旦")],
        )
    assert e.value.field == "row 2"
    with db.reader() as s:
        assert calendar.year_overview(session=s, year=2027)[0] == "weekends-fallback"


def test_cli_import_names_the_bad_row(tmp_path):
    import os
    import subprocess
    import sys

    f = tmp_path / "2027.csv"
    f.write_text("date,type,name\n2027-02-08,holiday,春节\n2027-02-30,holiday,春节\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "CITYOS_DATABASE_URL"}
    env["CITYOS_HOME"] = str(tmp_path / "home")
    r = subprocess.run(
        [sys.executable, "-m", "cityos", "calendar", "import", "2027", str(f)],
        env=env,
        capture_output=True,
        text=True,
    )
    assert r.returncode == 2 and "row 3" in r.stderr
    f.write_text("date,type,name\n2027-02-08,holiday,春节\n2027-02-06,workday,调休\n", encoding="utf-8")
    r = subprocess.run(
        [sys.executable, "-m", "cityos", "calendar", "import", "2027", str(f)],
        env=env,
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr
    r = subprocess.run(
        [sys.executable, "-m", "cityos", "calendar", "show", "2027"], env=env, capture_output=True, text=True
    )
    assert "2027: entered" in r.stdout and "2027-02-06\tworkday" in r.stdout


def test_deadline_helpers_refuse_naive_times():
    with pytest.raises(ValueError):
        cal.add_working_hours(datetime(2026, 1, 5, 9), 1)
    with pytest.raises(ValueError):
        cal.add_working_days(at(2026, 1, 5) - timedelta(0), -1)
