"""Notifications through the real event delivery (core.events' outbox, the notify handlers as the
app loads them): a case dispatched to a department reaches its handlers' message centre, an
escalation reaches who acts on the case, an answered request reaches its requester, and the
callback to a reporter goes out through the outbound channel (the logging one by default) — on
SQLite and PostgreSQL."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from cityos import registry
from cityos.cases import service as cases
from cityos.cases.schemas import ReportIn
from cityos.catalog import service as catalog
from cityos.catalog.schemas import AccessRequestIn, DecisionIn
from cityos.core import clock, events
from cityos.core.errors import NotFound
from cityos.notify import channels, service
from cityos.notify.models import Notification
from tests.catalog.helpers import population

IN_LANSHAN = {"lon": 118.3515, "lat": 35.0515}


@pytest.fixture
def loop(city, db):  # type: ignore[no-untyped-def]
    """As in the app and the worker: every module's subscribers loaded (restored afterwards)."""
    before = events.knows_all_subscribers()
    registry.load_handlers()
    with db.transaction() as s:
        cases.load_default_taxonomy(session=s, actor=city.as_role("admin"))
    yield city
    events.all_subscribers_loaded(before)


def _report(db, city, **kw):  # type: ignore[no-untyped-def]
    body = {"category_code": "E0402", "description": "店外经营占道", "channel": "citizen", **IN_LANSHAN, **kw}
    with db.transaction() as s:
        return cases.report_case(session=s, actor=city.as_role("citizen"), report=ReportIn(**body))


def _step(db, city, role, case, action, **kw):  # type: ignore[no-untyped-def]
    with db.transaction() as s:
        return cases.transition(session=s, actor=city.as_role(role), case_id=case.id, action=action, **kw)


def _messages(db, city, role):  # type: ignore[no-untyped-def]
    with db.reader() as s:
        return service.inbox(session=s, actor=city.as_role(role))


def test_dispatch_notifies_the_departments_handlers_and_nobody_else(loop, db):  # type: ignore[no-untyped-def]
    c = _report(db, loop)
    _step(db, loop, "dispatcher", c, "file")
    assert _messages(db, loop, "handler").unread == 0
    _step(db, loop, "dispatcher", c, "dispatch", department_code="ls-cgj")
    box = _messages(db, loop, "handler")
    assert box.unread == 1 and [m.kind for m in box.items] == ["case_assigned"]
    assert box.items[0].title == f"本单位有新派案件 {c.number}" and box.items[0].link == f"/cases/{c.id}"
    for other in ("dispatcher", "inspector", "citizen", "leader"):
        assert _messages(db, loop, other).items == [], other
    # the outbox event was delivered (not left for the worker) and to this handler once
    with db.reader() as s:
        pending = s.scalar(
            select(func.count())
            .select_from(events.OutboxEvent)
            .where(events.OutboxEvent.delivered_at.is_(None))
        )
    assert pending == 0


def test_a_message_is_its_recipients_own_and_posting_twice_adds_nothing(loop, db):  # type: ignore[no-untyped-def]
    handler, dispatcher = loop.as_role("handler"), loop.as_role("dispatcher")
    with db.transaction() as s:
        assert (
            service.post(session=s, user_ids=[handler.id], kind="case_assigned", title="x", dedupe_key="k")
            == 1
        )
        assert (
            service.post(session=s, user_ids=[handler.id], kind="case_assigned", title="x", dedupe_key="k")
            == 0
        )
    with db.reader() as s:
        mid = s.scalar(select(Notification.id).where(Notification.user_id == handler.id))
    assert mid is not None
    with db.transaction() as s, pytest.raises(NotFound):
        service.mark_read(session=s, actor=dispatcher, notification_id=mid)
    with db.transaction() as s:
        assert service.mark_read(session=s, actor=handler, notification_id=mid).read_at is not None
    assert _messages(db, loop, "handler").unread == 0


def test_the_message_centre_pages_and_api(loop, db, client):  # type: ignore[no-untyped-def]
    c = _report(db, loop)
    _step(db, loop, "dispatcher", c, "file")
    _step(db, loop, "dispatcher", c, "dispatch", department_code="ls-cgj")
    loop.login(client, "handler")
    assert 'data-testid="unread">1<' in client.get("/messages/badge").text
    page = client.get("/messages")
    assert page.status_code == 200 and f"本单位有新派案件 {c.number}" in page.text and "新派案件" in page.text
    api = client.get("/api/v1/notifications").json()
    assert api["unread"] == 1 and api["items"][0]["kind"] == "case_assigned"
    mid = api["items"][0]["id"]
    r = client.post(f"/messages/{mid}/read", data={"csrf_token": loop.csrf(client)}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/cases/{c.id}"
    assert client.get("/api/v1/notifications/unread").json() == {"unread": 0}
    assert client.get("/messages/badge").text == ""
    missing = client.post(
        f"/api/v1/notifications/{mid + 1000}/read", headers={"X-CSRF-Token": loop.csrf(client)}
    )
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "message_not_found"


def test_rework_and_escalation_reach_who_acts_on_the_case(loop, db):  # type: ignore[no-untyped-def]
    c = _report(db, loop)
    for role, action, kw in [
        ("dispatcher", "file", {}),
        ("dispatcher", "dispatch", {"department_code": "ls-cgj"}),
        ("handler", "accept", {}),
        ("handler", "report_back", {"reason": "已清理"}),
        ("inspector", "rework", {"reason": "未清理干净"}),
    ]:
        c = _step(db, loop, role, c, action, **kw)
    kinds = [m.kind for m in _messages(db, loop, "handler").items]
    assert kinds == ["case_rework", "case_assigned"]
    with db.transaction() as s:
        done = cases.check_deadlines(session=s, now=clock.now() + timedelta(days=60))
    assert done["escalated"] == 1 and done["reminded"] == 1
    handler_kinds = {m.kind for m in _messages(db, loop, "handler").items}
    assert {"deadline_near", "case_escalated"} <= handler_kinds
    assert [m.kind for m in _messages(db, loop, "dispatcher").items] == ["case_escalated"]
    escalated = next(m for m in _messages(db, loop, "dispatcher").items if m.kind == "case_escalated")
    assert escalated.body.endswith("已升级至市一级")  # the level, in Chinese


def test_the_reporters_callback_goes_through_the_logging_channel(loop, db, caplog):  # type: ignore[no-untyped-def]
    assert isinstance(channels.configured_channel(), channels.LoggingChannel)  # the default
    c = _report(db, loop, reporter_name="王女士", reporter_phone="13905391234")
    for role, action, kw in [
        ("dispatcher", "file", {}),
        ("dispatcher", "dispatch", {"department_code": "ls-cgj"}),
        ("handler", "accept", {}),
        ("handler", "report_back", {"reason": "已清理"}),
    ]:
        c = _step(db, loop, role, c, action, **kw)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="cityos.notify.outbound"):
        _step(db, loop, "inspector", c, "verify")
    sent = [r for r in caplog.records if r.name == "cityos.notify.outbound"]
    assert len(sent) == 1
    line = sent[0].getMessage()
    assert c.number in line and "case_closed" in line and "139****1234" in line and "13905391234" not in line
    assert sent[0].notify_user == loop.as_role("citizen").id  # type: ignore[attr-defined]
    mine = _messages(db, loop, "citizen")
    assert [m.kind for m in mine.items] == ["case_closed"] and c.number in mine.items[0].title


def test_a_deployments_channel_replaces_the_log(loop, db):  # type: ignore[no-untyped-def]
    """A gateway plugged in receives the callback with the reporter's phone in full."""

    class Gateway:
        def __init__(self) -> None:
            self.sent: list[tuple[channels.Recipient, channels.OutboundMessage]] = []

        def send(self, recipient: channels.Recipient, message: channels.OutboundMessage) -> None:
            self.sent.append((recipient, message))

    gw = Gateway()
    channels.use_channel(gw)
    try:
        c = _report(db, loop, reporter_phone="13905391234")
        for role, action, kw in [
            ("dispatcher", "file", {}),
            ("dispatcher", "dispatch", {"department_code": "ls-cgj"}),
            ("handler", "accept", {}),
            ("handler", "report_back", {"reason": "已清理"}),
            ("inspector", "verify", {}),
        ]:
            c = _step(db, loop, role, c, action, **kw)
    finally:
        channels.use_channel(None)
    assert [(r.phone, m.kind) for r, m in gw.sent] == [("13905391234", "case_closed")]
    assert c.number in gw.sent[0][1].title


def test_an_answered_request_reaches_its_requester(loop, db):  # type: ignore[no-untyped-def]
    with db.transaction() as s:
        code = population(s, loop.as_role("data_bureau"), provider="swj")
    with db.transaction() as s:
        req = catalog.request_access(
            session=s,
            actor=loop.as_role("handler"),
            code=code,
            data=AccessRequestIn(
                purpose="城管执法身份核验", legal_basis="《城市管理执法办法》", fields=["name"]
            ),
        )
    with db.transaction() as s:
        catalog.decide_request(
            session=s,
            actor=loop.as_role("data_steward"),
            request_id=req.id,
            decision=DecisionIn(approve=False, reason="用途与共享条件不符"),
        )
    box = _messages(db, loop, "handler")
    assert [m.kind for m in box.items] == ["request_answered"]
    assert (
        box.items[0].title == "您对“人口基础信息”的共享申请未通过"
        and "用途与共享条件不符" in box.items[0].body
    )


def test_an_event_delivered_after_the_case_moved_on_tells_nobody(loop, db):  # type: ignore[no-untyped-def]
    """The worker may deliver late: a dispatch whose case was handled and closed meanwhile is no
    longer anyone's work to accept (the department is still the case's; only its state says so)."""
    c = _report(db, loop)
    _step(db, loop, "dispatcher", c, "file")
    with db.transaction(deliver_events=False) as s:  # as if the process died before delivering
        c = cases.transition(
            session=s,
            actor=loop.as_role("dispatcher"),
            case_id=c.id,
            action="dispatch",
            department_code="ls-cgj",
        )
    for role, action, kw in [
        ("handler", "accept", {}),
        ("handler", "report_back", {"reason": "已清理"}),
        ("inspector", "verify", {}),
    ]:
        c = _step(db, loop, role, c, action, **kw)
    assert c.state == "closed" and c.department_id == loop.departments["ls-cgj"]
    assert events.redeliver_pending(db, older_than=timedelta(0)) == 1
    with db.reader() as s:
        left = s.scalar(
            select(func.count())
            .select_from(events.OutboxEvent)
            .where(events.OutboxEvent.delivered_at.is_(None))
        )
    assert left == 0 and _messages(db, loop, "handler").items == []
