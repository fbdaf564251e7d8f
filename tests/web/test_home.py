"""The work-first home page: every role's 待办 counts are the database's counts under that
person's visibility (cases.policy.visible; the catalog's department rules), on SQLite and
PostgreSQL. The cases are built through the real loop in several states and regions, and the
expected numbers are counted here directly, not through the page's functions."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from cityos.cases import flows
from cityos.cases import service as cases
from cityos.cases.models import Case, CaseTask
from cityos.cases.policy import visible
from cityos.cases.schemas import ReportIn, TaskIn
from cityos.catalog import service as catalog
from cityos.catalog.models import AccessRequest, Resource, Version
from cityos.catalog.schemas import AccessRequestIn
from cityos.core import clock
from cityos.geo import service as geo
from cityos.identity import service as identity
from cityos.identity.schemas import ROLES
from cityos.patrol import service as patrol
from cityos.patrol.models import Attendance, Patrol
from cityos.patrol.schemas import PointIn
from tests.catalog.helpers import population

IN_LANSHAN = {"lon": 118.3515, "lat": 35.0515}  # grid 37130200100101, 兰山区
IN_LUOZHUANG = {"lon": 118.2815, "lat": 34.9915}  # grid 37131100100101, 罗庄区


def _report(db, city, where=IN_LANSHAN, role="citizen"):  # type: ignore[no-untyped-def]
    body = {"category_code": "E0402", "description": "店外经营占道", "channel": "citizen", **where}
    with db.transaction() as s:
        return cases.report_case(session=s, actor=city.as_role(role), report=ReportIn(**body))


def _steps(db, city, case, *steps):  # type: ignore[no-untyped-def]
    for role, action, kw in steps:
        with db.transaction() as s:
            case = cases.transition(session=s, actor=city.as_role(role), case_id=case.id, action=action, **kw)
    return case


FILE = ("dispatcher", "file", {})
DISPATCH = ("dispatcher", "dispatch", {"department_code": "ls-cgj"})
DISPATCH_CITY = ("dispatcher", "dispatch", {"department_code": "cgj"})
ACCEPT = ("handler", "accept", {})
BACK = ("handler", "report_back", {"reason": "已清理"})


@pytest.fixture
def work(city, db):  # type: ignore[no-untyped-def]
    """Cases in every state of the loop, in two districts, one of them long overdue; a stale
    resource of the steward's department with a pending request and a loaded version."""
    with db.transaction() as s:
        cases.load_default_taxonomy(session=s, actor=city.as_role("admin"))
    clock.set_now(clock.now() - timedelta(days=40))  # past every deadline, and a monthly cycle
    try:
        _steps(db, city, _report(db, city), FILE)  # filed, red
        _steps(db, city, _report(db, city, IN_LUOZHUANG), FILE, DISPATCH_CITY)  # dispatched elsewhere, red
        with db.transaction() as s:
            code = population(
                s, city.as_role("data_bureau"), provider="swj"
            )  # stale: monthly, loaded 40 days ago
    finally:
        clock.set_now(None)
    _report(db, city)  # reported
    _report(db, city, IN_LUOZHUANG)  # reported, outside 兰山区
    _steps(db, city, _report(db, city), FILE, DISPATCH, ("handler", "return", {"reason": "非本单位"}))
    _steps(db, city, _report(db, city), FILE, DISPATCH)  # dispatched to the handler's department
    _steps(db, city, _report(db, city), FILE, DISPATCH, ACCEPT)  # handling
    _steps(db, city, _report(db, city), FILE, DISPATCH, ACCEPT, BACK)  # handled: to verify
    _steps(
        db,
        city,
        _report(db, city),
        FILE,
        DISPATCH,
        ACCEPT,
        BACK,
        ("inspector", "rework", {"reason": "未清理干净"}),
    )
    _steps(db, city, _report(db, city), FILE, DISPATCH, ACCEPT, BACK, ("inspector", "verify", {}))  # closed
    # the grid worker's day: owns 金雀山 grids 1 and 2, patrolled grid 1 this week, not checked in
    # today, and was sent a task about the case waiting to be verified
    worker = city.as_role("grid_worker")
    with db.transaction() as s:
        for grid in ("37130200100101", "37130200100102"):
            geo.assign_grid_worker(session=s, actor=identity.SYSTEM, grid_code=grid, user_id=worker.id)
        p = patrol.start_patrol(session=s, actor=worker)
        patrol.end_patrol(
            session=s,
            actor=worker,
            patrol_id=p.id,
            points=[PointIn(lon=118.3505, lat=35.0515), PointIn(lon=118.3525, lat=35.0515)],
        )
        handled = s.scalar(select(Case.id).where(Case.state == "handled"))
        cases.send_task(
            session=s,
            actor=city.as_role("inspector"),
            case_id=handled,
            task=TaskIn(kind="recheck", assignee_id=worker.id),
        )
    with db.transaction() as s:
        catalog.request_access(
            session=s,
            actor=city.as_role("handler"),
            code=code,
            data=AccessRequestIn(
                purpose="城管执法身份核验", legal_basis="《城市管理执法办法》", fields=["name"]
            ),
        )
    return city


def _page_counts(client, city, role):  # type: ignore[no-untyped-def]
    city.login(client, role)
    html = client.get("/").text
    todos = dict(
        re.findall(r'data-testid="todo-(\w+)">\s*<a [^>]*><span class="count" data-count="(\d+)"', html)
    )
    client.post("/logout", data={"csrf_token": city.csrf(client)})
    return {k: int(v) for k, v in todos.items()}, html


def _expected(db, city, role):  # type: ignore[no-untyped-def]
    """Counted here with the policy and the models: what the page must show."""
    actor = city.as_role(role)
    now = clock.now()
    with db.reader() as s:

        def n(*conds):  # type: ignore[no-untyped-def]
            return s.scalar(select(func.count()).select_from(Case).where(visible(actor), *conds))

        open_ = Case.state.in_(flows.OPEN_STATES)
        every = (
            cases.list_cases(session=s, actor=actor, limit=500, count_cap=None).items
            if actor.roles != {"data_steward"}
            else []
        )
        case_counts = {
            "to_file": n(Case.state == "reported"),
            "to_dispatch": n(Case.state == "filed"),
            "returned": n(Case.state == "filed", Case.return_count > 0),
            "red": sum(1 for c in every if c.light == "red"),  # the traffic light the lists show
            "to_accept": n(Case.state == "dispatched"),
            "due_soon": n(Case.state == "handling", Case.deadline <= now + timedelta(hours=24)),
            "rework": n(Case.state == "handling", Case.rework_count > 0),
            "to_verify": n(Case.state == "handled"),
            "open": n(open_),
        }
        dept = actor.department_id or -1
        every_dept = "catalog.admin" in _perms(actor)
        own = (
            select(Resource.id)
            if every_dept
            else select(Resource.id).where(Resource.provider_department_id == dept)
        )
        stale = {r.code for r in catalog.stale_resources(session=s)}
        data_counts = {
            "to_answer": s.scalar(
                select(func.count())
                .select_from(AccessRequest)
                .where(
                    AccessRequest.state == "pending",
                    AccessRequest.resource_id.in_(
                        select(Resource.id).where(Resource.provider_department_id == dept)
                    ),
                )
            ),
            "stale": len(
                [c for c in s.scalars(select(Resource.code).where(Resource.id.in_(own))) if c in stale]
            ),
            "to_review": s.scalar(
                select(func.count())
                .select_from(Version)
                .where(Version.state == "staged", Version.resource_id.in_(own))
            ),
            "overdue": s.scalar(
                select(func.count())
                .select_from(AccessRequest)
                .where(AccessRequest.state == "pending", AccessRequest.due_at < now)
            ),
        }
        case_counts |= _day(s, actor, now)
    return case_counts, data_counts


def _day(s, actor, now):  # type: ignore[no-untyped-def]
    """The grid worker's day, counted from the tables: check-in today, own grids no patrol of theirs
    touched this week, tasks sent to them (open, and open past their due time)."""
    if actor.roles != {"grid_worker"}:
        return {}
    local = clock.local(now)
    day0 = local.replace(hour=0, minute=0, second=0, microsecond=0)
    monday = day0 - timedelta(days=day0.weekday())
    checked = s.scalar(
        select(func.count())
        .select_from(Attendance)
        .where(Attendance.user_id == actor.id, Attendance.kind == "in", Attendance.at >= day0)
    )
    covered = set()
    for (grids,) in s.execute(
        select(Patrol.covered).where(Patrol.user_id == actor.id, Patrol.started_at >= monday)
    ):
        covered |= set(grids)
    own = set(geo.grid_polygons(session=s, worker_id=actor.id))
    mine = (
        select(func.count())
        .select_from(CaseTask)
        .where(CaseTask.assignee_id == actor.id, CaseTask.state == "open")
    )
    return {
        "not_checked_in": 0 if checked else 1,
        "own_grids_uncovered": len(own - covered),
        "open_tasks": s.scalar(mine),
        "overdue_tasks": s.scalar(mine.where(CaseTask.due_at < now)),
    }


def _perms(actor):  # type: ignore[no-untyped-def]
    from cityos.identity.permissions import permissions_of

    return permissions_of(actor)


# which 待办 each role must see on its home page
TODOS = {
    "dispatcher": ["to_file", "to_dispatch", "returned", "red"],
    "admin": ["to_file", "to_dispatch", "returned", "red", "to_answer", "stale", "to_review", "overdue"],
    "handler": ["to_accept", "due_soon", "rework"],
    "inspector": ["to_verify"],
    "grid_worker": ["to_verify", "not_checked_in", "own_grids_uncovered", "open_tasks", "overdue_tasks"],
    "data_steward": ["to_answer", "stale", "to_review"],
    "data_bureau": ["to_answer", "stale", "to_review", "overdue"],
    "leader": ["overdue"],
    "citizen": [],
}


@pytest.mark.parametrize("role", ROLES)
def test_every_roles_home_shows_its_todo_counts_as_the_database_has_them(work, db, client, role):  # type: ignore[no-untyped-def]
    shown, _html = _page_counts(client, work, role)
    assert sorted(shown) == sorted(TODOS[role])
    case_counts, data_counts = _expected(db, work, role)
    expected = {k: (case_counts | data_counts)[k] for k in TODOS[role]}
    assert shown == expected
    # the fixture gives every acting role something to do, so a zero everywhere would be a failure
    if role in ("dispatcher", "handler", "inspector", "grid_worker", "data_steward"):
        assert any(shown.values()), shown


def test_counts_follow_each_persons_visibility(work, db, client):  # type: ignore[no-untyped-def]
    """The inspector sees 兰山区, the handler their department: the Luozhuang cases are not theirs,
    the city-wide dispatcher sees them."""
    dispatcher, _ = _page_counts(client, work, "dispatcher")
    assert dispatcher["to_file"] == 2 and dispatcher["red"] == 2 and dispatcher["returned"] == 1
    handler, html = _page_counts(client, work, "handler")
    # the shortcut to the next item: the one case waiting for the handler's department to accept
    with db.reader() as s:
        waiting = s.scalars(
            select(Case.id).where(
                Case.state == "dispatched", Case.department_id == work.departments["ls-cgj"]
            )
        ).all()
    assert len(waiting) == 1
    assert f'href="/cases/{waiting[0]}" data-testid="next-to_accept"' in html
    assert 'data-testid="next-to_verify"' not in html
    assert handler == {"to_accept": 1, "due_soon": handler["due_soon"], "rework": 1}
    worker, _ = _page_counts(client, work, "grid_worker")  # the day: as the fixture left it
    assert {k: worker[k] for k in ("not_checked_in", "own_grids_uncovered", "open_tasks")} == {
        "not_checked_in": 1,
        "own_grids_uncovered": 1,
        "open_tasks": 1,
    }
    steward, _ = _page_counts(client, work, "data_steward")
    assert steward["to_answer"] == 1 and steward["stale"] == 1


def test_leader_sees_the_citys_figures_and_citizen_their_reports(work, db, client):  # type: ignore[no-untyped-def]
    _, html = _page_counts(client, work, "leader")
    case_counts, _ = _expected(db, work, "leader")
    assert f'data-testid="fig-open">{case_counts["open"]}<' in html
    assert "兰山区" in html and "罗庄区" in html  # overdue by district, by name
    assert 'data-testid="fig-on-time">100.0%<' in html  # the one closed case was on time
    assert 'data-testid="since"' in html and "今日城市运行" in html and 'data-testid="todos"' in html
    _, html = _page_counts(client, work, "citizen")
    with db.reader() as s:
        mine = s.execute(
            select(Case.id, Case.number).where(Case.reporter_user_id == work.as_role("citizen").id)
        ).all()
    assert len(mine) == 10 and 'data-testid="my-reports"' in html
    for case_id, number in mine:  # each with its state in Chinese
        assert f'href="/cases/{case_id}">{number}</a>' in html
    assert html.count("已上报") >= 2 and "已结案" in html
