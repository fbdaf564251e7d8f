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
from cityos.cases.models import Case
from cityos.cases.policy import visible
from cityos.cases.schemas import ReportIn
from cityos.catalog import service as catalog
from cityos.catalog.models import AccessRequest, Resource, Version
from cityos.catalog.schemas import AccessRequestIn
from cityos.core import clock
from cityos.identity.schemas import ROLES
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
    return case_counts, data_counts


def _perms(actor):  # type: ignore[no-untyped-def]
    from cityos.identity.permissions import permissions_of

    return permissions_of(actor)


# which 待办 each role must see on its home page
TODOS = {
    "dispatcher": ["to_file", "to_dispatch", "returned", "red"],
    "admin": ["to_file", "to_dispatch", "returned", "red", "to_answer", "stale", "to_review", "overdue"],
    "handler": ["to_accept", "due_soon", "rework"],
    "inspector": ["to_verify"],
    "grid_worker": ["to_verify"],
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
