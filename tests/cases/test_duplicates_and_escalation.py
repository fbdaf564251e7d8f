"""Duplicates at the radius boundary, merge and undo, auto-merge for trusted channels, and the
worker's reminders and escalation with a controlled clock."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from cityos.cases import jobs, service
from cityos.cases.schemas import ReportIn
from cityos.core import clock
from cityos.geo.service import M_PER_DEG_LAT

TZ = ZoneInfo("Asia/Shanghai")
LON, LAT = 118.3515, 35.0515  # grid 37130200100101


@pytest.fixture
def loop(city, db):  # type: ignore[no-untyped-def]
    with db.transaction() as s:
        service.load_default_taxonomy(session=s, actor=city.as_role("admin"))
    return city


def report(db, city, code="E0404", north_m=0.0, channel="citizen", role="citizen"):  # type: ignore[no-untyped-def]
    with db.transaction() as s:
        return service.report_case(
            session=s,
            actor=city.as_role(role),
            report=ReportIn(
                category_code=code,
                description="机动车乱停放",
                lon=LON,
                lat=LAT + north_m / M_PER_DEG_LAT,
                channel=channel,
            ),
        )


def candidates(db, city, case):  # type: ignore[no-untyped-def]
    with db.reader() as s:
        return service.duplicate_candidates(session=s, actor=city.as_role("dispatcher"), case_id=case.id)


def test_duplicate_at_the_radius_boundary(loop, db):
    # 机动车乱停放 (E0404): radius 30 m, window 12 h
    first = report(db, loop)
    inside = report(db, loop, north_m=29.5)
    outside = report(db, loop, north_m=30.6)
    assert [(c.id, round(d)) for c, d in candidates(db, loop, inside)] == [(first.id, 30)]
    assert [c.id for c, _d in candidates(db, loop, outside)] == [inside.id]  # 1.1 m from the second one
    related = report(db, loop, code="E0405")  # 非机动车乱停放: same 大类 街面秩序 → related
    assert {c.id for c, _d in candidates(db, loop, related)} == {first.id, inside.id}
    assert candidates(db, loop, report(db, loop, code="C0110")) == []  # another class


def test_duplicate_window(loop, db):
    clock.set_now(datetime(2026, 3, 2, 9, 0, tzinfo=TZ))
    first = report(db, loop)
    clock.set_now(datetime(2026, 3, 2, 20, 59, tzinfo=TZ))
    assert [c.id for c, _d in candidates(db, loop, report(db, loop))] == [first.id]
    clock.set_now(datetime(2026, 3, 2, 21, 1, tzinfo=TZ))  # past the 12 h window of the first
    assert first.id not in [c.id for c, _d in candidates(db, loop, report(db, loop))]


def test_merge_and_undo_keep_both_timelines(loop, db):
    first = report(db, loop)
    second = report(db, loop, north_m=5)
    with db.transaction() as s:
        merged = service.transition(
            session=s,
            actor=loop.as_role("dispatcher"),
            case_id=second.id,
            action="merge",
            into_case_id=first.id,
        )
    assert merged.state == "merged"
    with db.reader() as s:
        tl = service.timeline(session=s, actor=loop.as_role("dispatcher"), case_id=first.id)
    assert tl[-1].action == "merged_in" and tl[-1].note == second.number
    with db.transaction() as s:
        back = service.transition(
            session=s,
            actor=loop.as_role("dispatcher"),
            case_id=second.id,
            action="unmerge",
            reason="不是同一辆车",
        )
        tl = service.timeline(session=s, actor=loop.as_role("dispatcher"), case_id=first.id)
    assert back.state == "reported" and tl[-1].action == "unmerged"


def test_sensor_reports_merge_by_themselves(loop, db):
    first = report(db, loop, code="E0505", role="dispatcher", channel="hotline")
    auto = report(db, loop, code="E0505", north_m=50, role="dispatcher", channel="sensor")
    assert auto.state == "merged"
    with db.reader() as s:
        assert (
            service.timeline(session=s, actor=loop.as_role("dispatcher"), case_id=first.id)[-1].action
            == "merged_in"
        )


def test_worker_reminds_then_escalates_level_by_level(loop, db):
    clock.set_now(datetime(2026, 3, 2, 9, 0, tzinfo=TZ))  # Monday
    c = report(db, loop)  # E0404: file within 1 working hour
    clock.set_now(datetime(2026, 3, 2, 9, 50, tzinfo=TZ))  # 50 of 60 minutes: reminder
    assert jobs.deadlines(db) == 1
    assert jobs.deadlines(db) == 0  # once per stage
    levels = []
    for t in [
        datetime(2026, 3, 2, 10, 30, tzinfo=TZ),
        datetime(2026, 3, 2, 11, 30, tzinfo=TZ),
        datetime(2026, 3, 2, 14, 30, tzinfo=TZ),
        datetime(2026, 3, 3, 9, 0, tzinfo=TZ),
    ]:
        clock.set_now(t)
        jobs.deadlines(db)
        with db.reader() as s:
            levels.append(
                service.get_case(session=s, actor=loop.as_role("dispatcher"), case_id=c.id).escalation_level
            )
    assert levels == [1, 2, 3, 3]  # street, district, city — never past the city
    with db.reader() as s:
        tl = service.timeline(session=s, actor=loop.as_role("dispatcher"), case_id=c.id)
    assert [e.data.get("level") for e in tl if e.action == "escalate"] == ["street", "district", "city"]
