from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from cityos.core import clock, events
from cityos.core.events import EventDelivery, OutboxEvent

seen: list[int] = []
flaky_calls: list[int] = []


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
