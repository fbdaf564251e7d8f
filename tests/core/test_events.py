from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlalchemy import select

from cityos.core import clock, events
from cityos.core.events import EventDelivery, OutboxEvent

seen: list[int] = []
flaky_calls: list[int] = []
late: list[int] = []


@pytest.fixture(autouse=True)
def _process_knows_all_subscribers():
    """As in the app and the worker (cityos.registry.load_handlers); restored afterwards."""
    before = events.knows_all_subscribers()
    events.all_subscribers_loaded(True)
    yield
    events.all_subscribers_loaded(before)


@events.subscriber("test.Thing")
def _record_thing(session, event):  # type: ignore[no-untyped-def]
    seen.append(event.payload["n"])


@events.subscriber("test.Flaky")
def _flaky(session, event):  # type: ignore[no-untyped-def]
    flaky_calls.append(event.id)
    if len(flaky_calls) == 1:
        raise RuntimeError("first delivery fails")


def test_event_is_delivered_after_commit_only(db):
    seen.clear()
    with db.transaction() as s:
        events.publish(s, "test.Thing", {"n": 1})
        assert seen == []  # not before commit
    assert seen == [1]
    try:
        with db.transaction() as s:
            events.publish(s, "test.Thing", {"n": 2})
            raise ValueError("rolled back")
    except ValueError:
        pass
    assert seen == [1]
    with db.reader() as s:
        assert s.scalar(select(OutboxEvent).where(OutboxEvent.name == "test.Thing")).delivered_at is not None


def test_worker_redelivers_what_a_crash_left(db):
    seen.clear()
    with db.transaction(deliver_events=False) as s:  # the process "crashed" right after commit
        events.publish(s, "test.Thing", {"n": 7})
    assert seen == []
    clock.set_now(clock.now() + timedelta(minutes=1))
    assert events.redeliver_pending(db) == 1
    assert seen == [7]
    assert events.redeliver_pending(db) == 0  # delivered once, never again
    assert seen == [7]


def test_failed_handler_is_retried_and_succeeds_once(db):
    flaky_calls.clear()
    with db.transaction() as s:
        ev = events.publish(s, "test.Flaky", {})
    with db.reader() as s:
        row = s.get(OutboxEvent, ev.id)
        assert row.delivered_at is None and "first delivery fails" in row.last_error
    clock.set_now(clock.now() + timedelta(minutes=1))
    events.redeliver_pending(db)
    with db.reader() as s:
        assert s.get(OutboxEvent, ev.id).delivered_at is not None
        assert len(s.scalars(select(EventDelivery).where(EventDelivery.event_id == ev.id)).all()) == 1
    assert len(flaky_calls) == 2


def test_event_published_where_no_subscriber_is_loaded_reaches_them_later(db):
    """A process that loaded no handlers (a script, a CLI) publishes an event its subscribers live
    elsewhere for: it must stay pending until the worker, which knows them, delivers it."""
    late.clear()
    events.all_subscribers_loaded(False)  # this process imported no handlers
    with db.transaction() as s:
        ev = events.publish(s, "test.LateSubscriber", {"n": 5})
    with db.reader() as s:
        assert s.get(OutboxEvent, ev.id).delivered_at is None  # not "nobody subscribes"

    # the worker's process: every module's handlers are loaded, among them this one
    events.subscriber("test.LateSubscriber")(_late_handler)
    try:
        events.all_subscribers_loaded(True)
        clock.set_now(clock.now() + timedelta(minutes=1))
        assert events.redeliver_pending(db) == 1
        assert late == [5]
        with db.reader() as s:
            assert s.get(OutboxEvent, ev.id).delivered_at is not None
    finally:
        events._subscribers["test.LateSubscriber"].remove(_late_handler)  # the next run's "CLI" has none


def _late_handler(session, event):  # type: ignore[no-untyped-def]
    late.append(event.payload["n"])


def test_a_process_with_some_handlers_leaves_the_rest_to_the_worker(db):
    seen.clear()
    events.all_subscribers_loaded(False)
    with db.transaction() as s:
        ev = events.publish(s, "test.Thing", {"n": 9})
    assert seen == [9]  # the handler it has ran after commit
    with db.reader() as s:
        assert s.get(OutboxEvent, ev.id).delivered_at is None  # others may not have
    events.all_subscribers_loaded(True)
    clock.set_now(clock.now() + timedelta(minutes=1))
    events.redeliver_pending(db)
    assert seen == [9]  # not run twice
    with db.reader() as s:
        assert s.get(OutboxEvent, ev.id).delivered_at is not None


@events.subscriber("test.AlwaysFails")
def _always_fails(session, event):  # type: ignore[no-untyped-def]
    raise RuntimeError("the handler is broken")


def test_abandoned_events_raise_an_alert(db, caplog):
    with db.transaction() as s:
        ev = events.publish(s, "test.AlwaysFails", {})
        ok = events.publish(s, "test.Thing", {"n": 1})
    for _ in range(events.MAX_ATTEMPTS):
        clock.set_now(clock.now() + timedelta(minutes=1))
        events.redeliver_pending(db)
    with db.reader() as s:
        assert [r.id for r in events.abandoned(s)] == [ev.id]
        assert events.count_abandoned(s) == 1
    assert events.ABANDONED._value.get() == 1  # the gauge /metrics serves
    assert events.redeliver_pending(db) == 0  # given up on

    with caplog.at_level(logging.ERROR, logger="cityos.events"):
        assert events.alert_abandoned(db) == 1
    alarm = [r for r in caplog.records if r.levelno == logging.ERROR and "abandoned" in r.getMessage()]
    assert alarm and f"#{ev.id} test.AlwaysFails" in alarm[0].getMessage()
    assert "the handler is broken" in alarm[0].getMessage()

    with db.transaction() as s:
        assert events.retry(s, event_id=ev.id)
        assert not events.retry(s, event_id=ok.id)  # delivered: nothing to retry
    with db.reader() as s:
        assert events.count_abandoned(s) == 0


def test_an_event_no_worker_delivers_for_an_hour_is_abandoned(db):
    events.all_subscribers_loaded(False)
    with db.transaction() as s:
        events.publish(s, "test.NobodyHere", {})
    with db.reader() as s:
        assert events.count_abandoned(s) == 0
    clock.set_now(clock.now() + events.ABANDON_AFTER + timedelta(seconds=1))
    with db.reader() as s:
        assert events.count_abandoned(s) == 1


def test_metrics_and_cli_show_abandoned_events(db, client):
    from typer.testing import CliRunner

    from cityos.cli import app

    with db.transaction() as s:
        ev = events.publish(s, "test.AlwaysFails", {})
    with db.transaction() as s:
        s.get(OutboxEvent, ev.id).attempts = events.MAX_ATTEMPTS
    assert "cityos_events_abandoned 1.0" in client.get("/metrics").text
    out = CliRunner().invoke(app, ["events", "abandoned"])
    assert out.exit_code == 1 and f"{ev.id}\ttest.AlwaysFails" in out.output
    out = CliRunner().invoke(app, ["events", "retry", str(ev.id)])
    assert out.exit_code == 0, out.output
    assert "cityos_events_abandoned 0.0" in client.get("/metrics").text
