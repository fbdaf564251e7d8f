"""Tasks sent to grid workers (核实 / 核查) on both databases, through the real services and routes:
sent only to a worker who can see the case, in the worker's 待办 and message centre, answered with
a note and a photo, and the answer flows into the loop (a failed re-check orders rework, a passed
one closes the case), each step on the timeline and in the audit trail."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from PIL import Image
from sqlalchemy import select

from cityos import registry
from cityos.cases import service
from cityos.cases.schemas import ReportIn, TaskAnswerIn, TaskIn
from cityos.core import audit, clock, events
from cityos.core.errors import Conflict, Forbidden, Invalid, NotFound
from cityos.identity import service as identity
from cityos.identity.schemas import UserIn
from cityos.notify import service as notify
from tests.factories import PASSWORD

IN_G1 = {"lon": 118.3515, "lat": 35.0515}  # 金雀山社区第1网格, the grid worker's grid
IN_LUOZHUANG = {"lon": 118.2815, "lat": 34.9915}


def _report(db, city, where=IN_G1):  # type: ignore[no-untyped-def]
    body = {"category_code": "E0402", "description": "店外经营占道", "channel": "citizen", **where}
    with db.transaction() as s:
        return service.report_case(session=s, actor=city.as_role("citizen"), report=ReportIn(**body))


def _step(db, city, case_id, role, action, **kw):  # type: ignore[no-untyped-def]
    with db.transaction() as s:
        return service.transition(session=s, actor=city.as_role(role), case_id=case_id, action=action, **kw)


def _handled(db, city):  # type: ignore[no-untyped-def]
    case = _report(db, city)
    for role, action, kw in (
        ("dispatcher", "file", {}),
        ("dispatcher", "dispatch", {"department_code": "ls-cgj"}),
        ("handler", "accept", {}),
        ("handler", "report_back", {"reason": "已清理"}),
    ):
        case = _step(db, city, case.id, role, action, **kw)
    return case


@pytest.fixture
def tasked(city, db):  # type: ignore[no-untyped-def]
    with db.transaction() as s:
        service.load_default_taxonomy(session=s, actor=city.as_role("admin"))
    return city


def _photo() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), (90, 140, 60)).save(buf, "JPEG")
    return buf.getvalue()


def test_a_recheck_that_fails_orders_rework_and_one_that_passes_closes(tasked, db):  # type: ignore[no-untyped-def]
    city = tasked
    worker = city.as_role("grid_worker")
    case = _handled(db, city)
    with db.transaction() as s:
        assert [
            p.id for p in service.task_assignees(session=s, actor=city.as_role("inspector"), case_id=case.id)
        ] == [worker.id]
        task = service.send_task(
            session=s,
            actor=city.as_role("inspector"),
            case_id=case.id,
            task=TaskIn(kind="recheck", assignee_id=worker.id, instruction="请到现场核查是否清理干净"),
        )
    assert task.state == "open" and task.due_at > task.sent_at and task.assignee_name == "测试grid_worker"
    with db.reader() as s:
        assert service.task_counts(session=s, actor=worker) == {"open_tasks": 1, "overdue_tasks": 0}
        assert [t.id for t in service.tasks(session=s, actor=worker, mine=True)] == [task.id]
        # the same task twice: refused
    with pytest.raises(Conflict) as e, db.transaction() as s:
        service.send_task(
            session=s,
            actor=city.as_role("dispatcher"),
            case_id=case.id,
            task=TaskIn(kind="recheck", assignee_id=worker.id),
        )
    assert e.value.code == "task_open"
    # a failed re-check needs a note, then orders rework as the worker's own step
    with pytest.raises(Invalid), db.transaction() as s:
        service.answer_task(session=s, actor=worker, task_id=task.id, answer=TaskAnswerIn(result="failed"))
    with pytest.raises(Forbidden), db.transaction() as s:  # someone else's task
        service.answer_task(
            session=s, actor=city.as_role("inspector"), task_id=task.id, answer=TaskAnswerIn(result="passed")
        )
    with db.transaction() as s:
        photo = service_attach(s, worker, case.id)
        done = service.answer_task(
            session=s,
            actor=worker,
            task_id=task.id,
            answer=TaskAnswerIn(result="failed", note="仍有杂物", attachment_id=photo),
        )
    assert done.state == "answered" and done.on_time is True and done.attachment_id == photo
    with db.reader() as s:
        c = service.get_case(session=s, actor=worker, case_id=case.id)
        assert c.state == "handling" and c.rework_count == 1
        steps = [(e.action, e.actor) for e in service.timeline(session=s, actor=worker, case_id=case.id)]
        assert steps[-3:] == [
            ("task_sent", "user:inspector1"),
            ("task_answered", "user:grid_worker1"),
            ("rework", "user:grid_worker1"),
        ]
        assert service.task_counts(session=s, actor=worker) == {"open_tasks": 0, "overdue_tasks": 0}
        actions = [r.action for r in audit.history(s, subject_type="case", subject_id=case.number)]
        assert "case.task_sent" in actions and "case.task_answered" in actions
        names = set(s.scalars(select(events.OutboxEvent.name)))
        assert {"cases.TaskSent", "cases.TaskAnswered"} <= names
    with pytest.raises(Conflict), db.transaction() as s:  # answered once
        service.answer_task(session=s, actor=worker, task_id=task.id, answer=TaskAnswerIn(result="passed"))
    # handled again, re-checked again: passed closes the case
    _step(db, city, case.id, "handler", "report_back", reason="已再次清理")
    with db.transaction() as s:
        again = service.send_task(
            session=s,
            actor=city.as_role("dispatcher"),
            case_id=case.id,
            task=TaskIn(kind="recheck", assignee_id=worker.id),
        )
        service.answer_task(session=s, actor=worker, task_id=again.id, answer=TaskAnswerIn(result="passed"))
    with db.reader() as s:
        assert service.get_case(session=s, actor=worker, case_id=case.id).state == "closed"


def service_attach(s, actor, case_id):  # type: ignore[no-untyped-def]
    from cityos.cases import attachments

    return attachments.add_attachment(
        session=s, actor=actor, case_id=case_id, stage="after", filename="现场.jpg", data=_photo()
    ).id


def test_tasks_go_only_to_a_worker_who_sees_the_case_and_are_read_under_its_visibility(tasked, db):  # type: ignore[no-untyped-def]
    city = tasked
    worker = city.as_role("grid_worker")
    far = _report(db, city, IN_LUOZHUANG)  # outside the worker's grid
    near = _report(db, city)
    with pytest.raises(Invalid) as e, db.transaction() as s:
        service.send_task(
            session=s,
            actor=city.as_role("dispatcher"),
            case_id=far.id,
            task=TaskIn(kind="verify_report", assignee_id=worker.id),
        )
    assert e.value.code == "bad_assignee"
    with pytest.raises(Conflict) as e, db.transaction() as s:  # a recheck before handling
        service.send_task(
            session=s,
            actor=city.as_role("dispatcher"),
            case_id=near.id,
            task=TaskIn(kind="recheck", assignee_id=worker.id),
        )
    assert e.value.code == "bad_state"
    with pytest.raises(Forbidden), db.transaction() as s:  # a handler sends no tasks
        service.send_task(
            session=s,
            actor=city.as_role("handler"),
            case_id=near.id,
            task=TaskIn(kind="verify_report", assignee_id=worker.id),
        )
    with db.transaction() as s:
        t = service.send_task(
            session=s,
            actor=city.as_role("dispatcher"),
            case_id=near.id,
            task=TaskIn(kind="verify_report", assignee_id=worker.id, instruction="核实是否属实"),
        )
    with db.reader() as s:
        assert [x.id for x in service.tasks(session=s, actor=city.as_role("inspector"))] == [t.id]  # 兰山区
        assert service.tasks(session=s, actor=city.as_role("handler")) == []  # not dispatched to them
    # overdue once its due time has passed
    clock.set_now(t.due_at + timedelta(minutes=1))
    try:
        with db.reader() as s:
            assert service.task_counts(session=s, actor=worker) == {"open_tasks": 1, "overdue_tasks": 1}
        with pytest.raises(NotFound), db.transaction() as s:
            service.answer_task(
                session=s, actor=worker, task_id=10**12, answer=TaskAnswerIn(result="confirmed")
            )
        with db.transaction() as s:
            out = service.answer_task(
                session=s, actor=worker, task_id=t.id, answer=TaskAnswerIn(result="confirmed", note="属实")
            )
        assert out.on_time is False
        with db.reader() as s:  # a verification changes no state: the dispatcher files it
            assert service.get_case(session=s, actor=worker, case_id=near.id).state == "reported"
    finally:
        clock.set_now(None)


def test_the_worker_answers_on_the_phone_page_with_a_photo(tasked, db, client):  # type: ignore[no-untyped-def]
    """On the pages, with the app's subscribers loaded: the worker is told in the message centre,
    sees the task in their 待办, and answers it with a photo; the inspector who sent it is told."""
    city = tasked
    before = events.knows_all_subscribers()
    registry.load_handlers()
    try:
        _answer_on_the_pages(city, db, client)
    finally:
        events.all_subscribers_loaded(before)


def _answer_on_the_pages(city, db, client):  # type: ignore[no-untyped-def]
    worker = city.as_role("grid_worker")
    case = _handled(db, city)
    city.login(client, "inspector")
    page = client.get(f"/cases/{case.id}").text
    assert 'data-testid="send-task"' in page and "测试grid_worker" in page
    r = client.post(
        f"/cases/{case.id}/tasks",
        data={
            "csrf_token": city.csrf(client),
            "kind": "recheck",
            "assignee_id": str(worker.id),
            "instruction": "请核查",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    client.post("/logout", data={"csrf_token": city.csrf(client)})
    city.login(client, "grid_worker")
    with db.reader() as s:
        box = notify.inbox(session=s, actor=worker)
    assert [m.kind for m in box.items] == ["task_sent"] and box.items[0].link == "/cases/tasks"
    home = client.get("/").text
    assert re.search(r'data-testid="todo-open_tasks">\s*<a [^>]*><span class="count" data-count="1"', home)
    tasks_page = client.get("/cases/tasks").text
    m = re.search(r'action="/cases/tasks/(\d+)/answer"', tasks_page)
    assert m and case.number in tasks_page
    r = client.post(
        f"/cases/tasks/{m.group(1)}/answer",
        data={"csrf_token": city.csrf(client), "result": "passed", "note": "已清理干净"},
        files={"photo": ("现场.jpg", _photo(), "image/jpeg")},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    with db.reader() as s:
        assert service.get_case(session=s, actor=worker, case_id=case.id).state == "closed"
        (t,) = service.tasks(session=s, actor=worker, mine=True)
        assert t.result == "passed" and t.attachment_id is not None
        told = notify.inbox(session=s, actor=city.as_role("inspector"))
    assert [m.kind for m in told.items] == ["task_answered"] and told.items[0].link == f"/cases/{case.id}"


def test_tasks_api(tasked, db, client):  # type: ignore[no-untyped-def]
    city = tasked
    worker = city.as_role("grid_worker")
    case = _report(db, city)
    with db.transaction() as s:
        identity.add_user(
            session=s,
            actor=identity.SYSTEM,
            user=UserIn(
                username="gw_other",
                display_name="外网格员",
                password=PASSWORD,
                roles=["grid_worker"],
                department_code="cgj",
                region_code="37131100100101",
            ),
        )
    city.login(client, "dispatcher")
    csrf = city.csrf(client)
    h = {"X-CSRF-Token": csrf}
    r = client.post(
        f"/api/v1/cases/{case.id}/tasks", json={"kind": "verify_report", "assignee_id": worker.id}, headers=h
    )
    assert r.status_code == 201, r.text
    task_id = r.json()["id"]
    r = client.get(f"/api/v1/cases/{case.id}/tasks")
    assert [t["id"] for t in r.json()] == [task_id]
    client.post("/logout", data={"csrf_token": csrf})
    city.login(client, "grid_worker")
    h = {"X-CSRF-Token": city.csrf(client)}
    r = client.post(f"/api/v1/cases/tasks/{task_id}/answer", json={"result": "passed"}, headers=h)
    assert r.status_code == 422 and r.json()["error"]["code"] == "bad_result"
    assert r.json()["error"]["message"]["zh-CN"] == "该结果不适用于此任务"
    r = client.post(
        f"/api/v1/cases/tasks/{task_id}/answer", json={"result": "not_found", "note": "现场未见"}, headers=h
    )
    assert r.status_code == 200 and r.json()["state"] == "answered"
    assert client.get("/api/v1/cases/tasks?mine=true").json()[0]["result"] == "not_found"
