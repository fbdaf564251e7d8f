"""The home page's 待办 for 一网通办 (both databases): the window's applications to accept and
results to issue, the back office's decisions, the regulator's supervision tasks and the 差评
rectifications (overdue in red) — each count equal to the rows of the list it links to, counted
here straight from the tables, and the 下一件 link to the oldest application of the queue."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import func, select

from cityos.core import clock, files
from cityos.services import service
from cityos.services.models import Application, Rectification, SupervisionTask
from cityos.services.schemas import ApplyIn, DecisionIn, RatingIn
from tests.factories import PASSWORD

from .helpers import world
from .test_applications import NOW

TODO = re.compile(
    r'data-testid="todo-services-(\w+)">\s*<a href="([^"]+)"><span class="count" data-count="(\d+)"'
)


def _home(client, username: str) -> tuple[dict[str, tuple[str, int]], str]:  # type: ignore[no-untyped-def]
    client.cookies.clear()
    r = client.post("/login", data={"username": username, "password": PASSWORD, "next": "/"})
    assert r.status_code == 200, r.text[:200]
    html = client.get("/").text
    return {k: (href, int(n)) for k, href, n in TODO.findall(html)}, html


def _count(db, *where) -> int:  # type: ignore[no-untyped-def]
    with db.reader() as s:
        return int(s.scalar(select(func.count()).select_from(where[0]).where(*where[1:])) or 0)


def test_services_todos_match_the_tables_and_link_the_next_application(db, city, client) -> None:  # type: ignore[no-untyped-def]
    clock.set_now(NOW)
    w = world(db, city)
    form = b"registration form"
    with db.transaction() as s:
        item = service.get_item(session=s, code="GA-001")
        mat = next(m.id for m in item.materials if m.name == "居住登记表")
        done = service.submit(
            session=s, actor=w["citizen"], data=ApplyIn(item_code="GA-001", uploads={mat: files.store(form)})
        )
        waiting = [
            service.submit(
                session=s,
                actor=w["citizen"],
                data=ApplyIn(item_code="GA-001", uploads={mat: files.store(form + bytes([i]))}),
            ).number
            for i in range(3)
        ]
        at_window = service.submit_at_window(
            session=s,
            actor=w["staff"],
            data=ApplyIn(
                item_code="GA-001",
                applicant_name="李四",
                applicant_code=w["id_number"],
                uploads={mat: files.store(form)},
            ),
        )
        for number in (done.number, at_window.number, waiting[0]):
            service.accept(session=s, actor=w["staff"], number=number)
        for number in (done.number, at_window.number):
            service.decide(session=s, actor=w["staff"], number=number, data=DecisionIn(decision="approve"))
        rating = service.rate(
            session=s, actor=w["citizen"], number=done.number, data=RatingIn(level=1, comment="排队太久")
        )
    assert rating.rectification is not None

    shown, html = _home(client, "window9")
    gaj = city.departments["gaj"]
    in_gaj = Application.department_id == gaj
    expected = {
        "to_accept": _count(db, Application, in_gaj, Application.state.in_(("submitted", "sent_back"))),
        "to_issue": _count(db, Application, in_gaj, Application.state == "approved"),
        "to_decide": _count(db, Application, in_gaj, Application.state == "accepted"),
        "rectify": _count(db, Rectification, Rectification.department_id == gaj),
    }
    assert expected == {"to_accept": 2, "to_issue": 1, "to_decide": 1, "rectify": 1}
    assert {k: n for k, (_, n) in shown.items() if k in expected} == expected
    assert shown["to_accept"][0] == "/services/window" and shown["to_decide"][0] == "/services/inbox"
    assert shown["supervision"][1] == 0 and shown["rectify_overdue"][1] == 0  # GA-001's regulator is cgj
    # 下一件: the oldest of each queue, first come first served
    assert f'href="/services/applications/{waiting[1]}" data-testid="next-services-to_accept"' in html
    assert f'href="/services/applications/{waiting[0]}" data-testid="next-services-to_decide"' in html
    assert f'href="/services/applications/{at_window.number}" data-testid="next-services-to_issue"' in html
    assert 'data-testid="next-services-rectify"' not in html  # not an application: the list only
    # the linked lists hold the same rows
    window = client.get("/services/window").text
    assert all(n in window for n in waiting[1:]) and at_window.number in window
    inbox = client.get("/services/inbox").text
    assert waiting[0] in inbox and waiting[1] not in inbox
    assert "待受理申请" in html and "待审批申请" in html

    # the regulator (城管, cgj) sees the supervision tasks the two approvals opened, nothing to decide
    shown, _ = _home(client, "other9")
    tasks = _count(db, SupervisionTask, SupervisionTask.department_id == city.departments["cgj"])
    assert tasks == 2 and shown["supervision"] == ("/services/supervision", 2)
    assert shown["to_accept"][1] == shown["to_decide"][1] == shown["rectify"][1] == 0

    # past the rectification's deadline (5 working days) the overdue count turns red
    clock.set_now(rating.rectification.due_at + timedelta(minutes=1))
    shown, html = _home(client, "window9")
    assert shown["rectify_overdue"][1] == 1
    assert re.search(r'class="todo urgent" data-testid="todo-services-rectify_overdue"', html)

    # the citizen applies but works no queue: no services 待办
    shown, _ = _home(client, "citizen9")
    assert shown == {}

    # 兰山区城市管理局's handler holds the handler's services permissions, but the department neither
    # owns nor regulates a service item: its home shows no (empty) services 待办 — its cases' still
    shown, html = _home(client, "handler1")
    assert shown == {} and 'data-testid="todo-to_accept"' in html
