"""The closed loop: report → file → dispatch → accept → report back → verify → close, every
refusal (role, scope, state, reason, stale version), deadlines on the working calendar and the
traffic light — on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from cityos.cases import flows, service
from cityos.cases.schemas import ReportIn
from cityos.core import clock
from cityos.core.audit import AuditRecord
from cityos.core.errors import Conflict, Forbidden, Invalid, NotFound, Unauthorized
from cityos.identity.schemas import ROLES

TZ = ZoneInfo("Asia/Shanghai")
IN_LANSHAN = {"lon": 118.3515, "lat": 35.0515}  # grid 37130200100101, 兰山区
IN_LUOZHUANG = {"lon": 118.2815, "lat": 34.9915}  # grid 37131100100101, 罗庄区


@pytest.fixture
def loop(city, db):  # type: ignore[no-untyped-def]
    with db.transaction() as s:
        service.load_default_taxonomy(session=s, actor=city.as_role("admin"))
    return city


def report(db, city, role="citizen", where=IN_LANSHAN, **kw):  # type: ignore[no-untyped-def]
    body = {"category_code": "E0402", "description": "店外经营占道", "channel": "citizen", **where, **kw}
    with db.transaction() as s:
        return service.report_case(session=s, actor=city.as_role(role), report=ReportIn(**body))


def step(db, city, role, case, action, **kw):  # type: ignore[no-untyped-def]
    with db.transaction() as s:
        return service.transition(session=s, actor=city.as_role(role), case_id=case.id, action=action, **kw)


def test_the_whole_loop_with_timeline_and_audit(loop, db):
    c = report(db, loop)
    assert c.state == "reported" and c.grid_code == "37130200100101" and c.number.endswith(f"{c.id:08d}")
    c = step(db, loop, "dispatcher", c, "file")
    c = step(db, loop, "dispatcher", c, "dispatch", department_code="ls-cgj")
    assert c.department_id == loop.departments["ls-cgj"]
    c = step(db, loop, "handler", c, "accept")
    c = step(db, loop, "handler", c, "report_back", reason="已清理,附处置后照片")
    c = step(db, loop, "inspector", c, "verify")
    assert c.state == "closed" and c.closed_at is not None and c.closed_on_time is True and c.light is None
    with db.reader() as s:
        tl = service.timeline(session=s, actor=loop.as_role("dispatcher"), case_id=c.id)
        audited = s.scalar(
            select(func.count())
            .select_from(AuditRecord)
            .where(AuditRecord.subject_type == "case", AuditRecord.subject_id == c.number)
        )
    assert [e.action for e in tl] == ["report", "file", "dispatch", "accept", "report_back", "verify"]
    assert [e.to_state for e in tl][-1] == "closed" and tl[4].note == "已清理,附处置后照片"
    assert audited == 6


def test_rework_return_suspend_resume_and_reopen(loop, db):
    c = report(db, loop)
    for role, action, kw in [
        ("dispatcher", "file", {}),
        ("dispatcher", "dispatch", {"department_code": "ls-cgj"}),
        ("handler", "return", {"reason": "不属于本单位"}),
    ]:
        c = step(db, loop, role, c, action, **kw)
    assert c.state == "filed" and c.return_count == 1 and c.department_id is None
    c = step(db, loop, "dispatcher", c, "dispatch", department_code="ls-cgj")
    c = step(db, loop, "handler", c, "accept")
    c = step(db, loop, "dispatcher", c, "suspend", reason="待汛期结束后处理")
    assert c.state == "suspended" and c.deadline is None
    c = step(db, loop, "dispatcher", c, "resume")
    assert c.state == "handling" and c.deadline is not None
    c = step(db, loop, "handler", c, "report_back", reason="已处理")
    c = step(db, loop, "grid_worker", c, "rework", reason="现场仍有摊位")
    assert c.state == "handling" and c.rework_count == 1
    c = step(db, loop, "handler", c, "report_back", reason="已取缔")
    c = step(db, loop, "grid_worker", c, "verify")
    c = step(db, loop, "dispatcher", c, "reopen", reason="市民反映复发")
    assert c.state == "filed" and c.closed_at is None


ACTION_SETUP = {  # the steps that bring a fresh case to where `action` can be taken
    "file": [],
    "reject": [],
    "dispatch": [("dispatcher", "file", {})],
    "accept": [("dispatcher", "file", {}), ("dispatcher", "dispatch", {"department_code": "ls-cgj"})],
    "report_back": [
        ("dispatcher", "file", {}),
        ("dispatcher", "dispatch", {"department_code": "ls-cgj"}),
        ("handler", "accept", {}),
    ],
    "verify": [
        ("dispatcher", "file", {}),
        ("dispatcher", "dispatch", {"department_code": "ls-cgj"}),
        ("handler", "accept", {}),
        ("handler", "report_back", {"reason": "done"}),
    ],
}


# Who takes which step, as permissions.py maps the roles to the table's permissions.
STEP_ROLES = {
    "cases.dispatch": {"dispatcher", "admin"},
    "cases.handle": {"handler"},
    "cases.verify": {"inspector", "grid_worker"},
}


@pytest.mark.parametrize("action", list(ACTION_SETUP))
def test_each_step_is_allowed_exactly_to_its_roles(loop, db, action):
    """Everyone else is refused: 403 if they can see the case, 404 if they cannot (a handler
    before the case is their department's, a citizen who did not report it)."""
    t = flows.TRANSITIONS[action]
    for role in ROLES:
        c = report(db, loop)
        for r, a, kw in ACTION_SETUP[action]:
            c = step(db, loop, r, c, a, **kw)
        kw = {"reason": "因为"} if t.reason_required else {}
        if action == "dispatch":
            kw["department_code"] = "ls-cgj"
        if role in STEP_ROLES[t.permission]:
            assert step(db, loop, role, c, action, **kw).state == t.target, role
        else:
            with pytest.raises((Forbidden, NotFound)):
                step(db, loop, role, c, action, **kw)


def test_scope_refusals(loop, db):
    c = report(db, loop, where=IN_LUOZHUANG)
    c = step(db, loop, "dispatcher", c, "file")  # the dispatcher is citywide
    c = step(db, loop, "dispatcher", c, "dispatch", department_code="cgj")
    with pytest.raises(NotFound):  # handler1 works for 兰山区城市管理局: the case is not theirs to see
        step(db, loop, "handler", c, "accept")
    c2 = report(db, loop, where=IN_LUOZHUANG)
    for r, a, kw in ACTION_SETUP["verify"]:
        c2 = step(db, loop, r, c2, a, **kw)
    with pytest.raises(NotFound):  # the inspector covers 兰山区 only
        step(db, loop, "inspector", c2, "verify")


def test_reason_state_and_version_are_checked(loop, db):
    c = report(db, loop)
    with pytest.raises(Invalid) as e:
        step(db, loop, "dispatcher", c, "reject", reason="  ")
    assert e.value.code == "reason_required"
    with pytest.raises(Conflict) as e:
        step(db, loop, "inspector", c, "verify")
    assert e.value.code == "bad_state"
    seen = c.version
    step(db, loop, "dispatcher", c, "file", expected_version=seen)
    with pytest.raises(Conflict) as e:
        step(db, loop, "dispatcher", c, "reject", reason="重复", expected_version=seen)
    assert e.value.code == "stale_case" and e.value.status == 409


def test_bad_reports(loop, db):
    with pytest.raises(Invalid) as e:
        report(db, loop, where={})
    assert e.value.code == "location_required"
    with pytest.raises(Invalid) as e:
        report(db, loop, where={"lon": 100.0, "lat": 30.0})
    assert e.value.code == "outside_city"
    with pytest.raises(Invalid) as e:
        report(db, loop, category_code="E9999")
    assert e.value.code == "unknown_category"
    with pytest.raises(Unauthorized), db.transaction() as s:
        from cityos.identity.schemas import Principal

        service.report_case(
            session=s,
            actor=Principal(kind="anonymous"),
            report=ReportIn(category_code="E0402", description="x", **IN_LANSHAN),
        )
    # an operator places an address-only report by region
    c = report(
        db,
        loop,
        role="dispatcher",
        where={"region_code": "371302001001", "address": "沂蒙路 12 号"},
        channel="hotline",
    )
    assert c.grid_code is None and c.region_code == "371302001001"


def test_html_in_the_description_is_kept_as_text(loop, db):
    c = report(db, loop, description="<script>alert(1)</script> 井盖缺失")
    assert c.description == "<script>alert(1)</script> 井盖缺失"  # stored as typed; templates escape it


def test_deadlines_follow_the_working_calendar_and_the_light_changes(loop, db):
    # Friday 13 Feb 2026 16:00: 8 working hours to handle 店外经营 end on the make-up Saturday at 17:00
    clock.set_now(datetime(2026, 2, 13, 15, 0, tzinfo=TZ))
    c = report(db, loop)
    c = step(db, loop, "dispatcher", c, "file")
    clock.set_now(datetime(2026, 2, 13, 16, 0, tzinfo=TZ))
    c = step(db, loop, "dispatcher", c, "dispatch", department_code="ls-cgj")
    assert c.deadline == datetime(2026, 2, 14, 17, 0, tzinfo=TZ)
    assert c.light == "green"
    clock.set_now(datetime(2026, 2, 14, 15, 0, tzinfo=TZ))  # 1.5 + 4.5 = 6 of 8 hours used: 75 %
    with db.reader() as s:
        assert service.get_case(session=s, actor=loop.as_role("dispatcher"), case_id=c.id).light == "green"
    clock.set_now(datetime(2026, 2, 14, 16, 30, tzinfo=TZ))  # 7.5 of 8: yellow
    with db.reader() as s:
        assert service.get_case(session=s, actor=loop.as_role("dispatcher"), case_id=c.id).light == "yellow"
    clock.set_now(datetime(2026, 2, 24, 9, 30, tzinfo=TZ))  # after the festival: overdue
    with db.reader() as s:
        assert service.get_case(session=s, actor=loop.as_role("dispatcher"), case_id=c.id).light == "red"
    c = step(db, loop, "handler", c, "accept")
    c = step(db, loop, "handler", c, "report_back", reason="已处理")
    assert c.closed_on_time is False
    # verification gets 4 working hours from 09:30: 2.5 before lunch, 1.5 after → 15:00
    assert c.deadline == datetime(2026, 2, 24, 15, 0, tzinfo=TZ)


def test_default_taxonomy_is_complete(loop, db):
    with db.reader() as s:
        cats = service.categories(session=s)
    assert len(cats) >= 60
    assert {c.case_class for c in cats} == {"component", "event"}
    assert {c.major_name for c in cats if c.case_class == "component"} == {
        "公用设施",
        "道路交通",
        "市容环境",
        "园林绿化",
        "房屋土地",
        "其他设施",
    }
    assert {c.major_name for c in cats if c.case_class == "event"} == {
        "市容环境",
        "宣传广告",
        "施工管理",
        "街面秩序",
        "突发事件",
        "其他事件",
    }


def test_every_row_of_the_table_has_its_effect_next_to_it():
    """loop.py registers one effect per row of flows.TRANSITIONS, in the table's order, so reading
    the table and the effects side by side shows every step."""
    from cityos.cases import loop

    assert list(loop.EFFECTS) == list(flows.TRANSITIONS)
    assert {t.permission for t in flows.TRANSITIONS.values()} == set(STEP_ROLES)


def test_an_extension_of_nan_or_infinite_hours_is_refused(loop, db):
    c = report(db, loop)
    for r, a, kw in ACTION_SETUP["report_back"]:
        c = step(db, loop, r, c, a, **kw)
    for hours in (float("nan"), float("inf"), 0.0, 721.0):
        with pytest.raises(Invalid) as e:
            step(db, loop, "dispatcher", c, "extend", reason="等材料", hours=hours)
        assert e.value.code == "bad_hours", hours
