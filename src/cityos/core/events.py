"""Domain events through a transactional outbox.

A module publishes an event in the same transaction as the change it describes:

    events.publish(session, "cases.CaseClosed", {"case_id": 42})

The row lands in `outbox` with the change, or not at all. After the transaction commits the
dispatcher delivers it to the in-process subscribers:

    @events.subscriber("sensing.AlarmRaised")
    def open_case(session: Session, event: Event) -> None: ...

Each handler runs in its own transaction and its success is recorded in `event_deliveries`
(event id, handler name) in that same transaction, so a handler runs at most once to success per
event even when `cityos worker` redelivers what a crash left undelivered. Handlers still keep
their own effects idempotent (an event may be redelivered after a handler failed halfway).
Subscribers live in each module's `handlers.py`; `cityos.registry.load_handlers()` imports them
and then calls `all_subscribers_loaded()`. Only a process that has done so knows every subscriber,
so only it may mark an event delivered: a process that loaded none (a script, a CLI command that
skipped the registry) delivers to what it has and leaves the event pending, and the worker's
redelivery finishes the job with the full set (handlers already run are skipped by
`event_deliveries`).

An event still undelivered after MAX_ATTEMPTS deliveries or ABANDON_AFTER is abandoned: the
worker's `events.abandoned` job logs it at ERROR, the `cityos_events_abandoned` gauge (served at
/metrics) counts it, and `cityos events abandoned` lists it (`cityos events retry` starts it over).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from prometheus_client import Gauge
from sqlalchemy import BigInteger, Index, Integer, String, Text, event, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from cityos.core import clock
from cityos.core.db import Base, Database, JSONType, UTCDateTime, get_db

log = logging.getLogger("cityos.events")
MAX_ATTEMPTS = 20
ABANDON_AFTER = timedelta(hours=1)
ABANDONED = Gauge("cityos_events_abandoned", "Outbox events left undelivered (attempts or age exhausted)")


class OutboxEvent(Base):
    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    name: Mapped[str] = mapped_column(String(120), nullable=False)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)

    __table_args__ = (Index("ix_outbox_pending", "delivered_at", "id"),)


class EventDelivery(Base):
    __tablename__ = "event_deliveries"
    event_id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    handler: Mapped[str] = mapped_column(String(200), primary_key=True)
    delivered_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)


@dataclass(frozen=True)
class Event:
    id: int
    name: str
    payload: dict[str, Any]
    created_at: datetime


Handler = Callable[[Session, Event], None]
_subscribers: dict[str, list[Handler]] = defaultdict(list)
_all_loaded = False  # has this process imported every module's handlers (cityos.registry)?


def all_subscribers_loaded(loaded: bool = True) -> None:
    """Called by cityos.registry.load_handlers(): from now on this process knows every subscriber."""
    global _all_loaded
    _all_loaded = loaded


def knows_all_subscribers() -> bool:
    return _all_loaded


def subscriber(name: str) -> Callable[[Handler], Handler]:
    def deco(fn: Handler) -> Handler:
        if fn not in _subscribers[name]:
            _subscribers[name].append(fn)
        return fn

    return deco


def subscribers(name: str) -> list[Handler]:
    return list(_subscribers.get(name, []))


def handler_name(fn: Handler) -> str:
    return f"{fn.__module__}.{fn.__qualname__}"


def publish(session: Session, name: str, payload: dict[str, Any]) -> OutboxEvent:
    """Write an event to the outbox in the caller's transaction; it is delivered after commit."""
    return publish_many(session, [(name, payload)])[0]


def publish_many(session: Session, items: Sequence[tuple[str, dict[str, Any]]]) -> list[OutboxEvent]:
    """`publish` for many events at once: one flush (one multi-row INSERT) whatever their number."""
    now = clock.now()
    # A process that loaded every module's handlers records an event nobody subscribes to as
    # delivered at once: no extra transactions after commit for it. A process that did not cannot
    # know that nobody subscribes, and leaves it to the worker.
    rows = [
        OutboxEvent(
            name=name,
            payload=payload,
            created_at=now,
            attempts=0,
            delivered_at=now if _all_loaded and not _subscribers.get(name) else None,
        )
        for name, payload in items
    ]
    session.add_all(rows)
    session.flush()
    subscribed = [row.id for row in rows if _subscribers.get(row.name)]
    if subscribed:
        session.info.setdefault("cityos_published", []).extend(subscribed)
    return rows


@event.listens_for(Session, "after_commit")
def _remember_committed(session: Session) -> None:
    ids = session.info.pop("cityos_published", None)
    if ids:
        session.info.setdefault("cityos_to_deliver", []).extend(ids)


@event.listens_for(Session, "after_rollback")
def _forget_rolled_back(session: Session) -> None:
    session.info.pop("cityos_published", None)


@event.listens_for(Session, "after_soft_rollback")
def _forget_soft_rolled_back(session: Session, previous_transaction: Any) -> None:
    session.info.pop("cityos_published", None)


def take_committed(session: Session) -> list[int]:
    return list(session.info.pop("cityos_to_deliver", []))


def deliver(event_ids: list[int], db: Database | None = None) -> int:
    """Deliver the given outbox events to their subscribers. Returns handlers run."""
    db = db or get_db()
    ran = 0
    for eid in event_ids:
        ran += _deliver_one(db, eid)
    return ran


def _deliver_one(db: Database, event_id: int) -> int:
    with db.reader() as s:
        row = s.get(OutboxEvent, event_id)
        if row is None or row.delivered_at is not None:
            return 0
        ev = Event(id=row.id, name=row.name, payload=dict(row.payload), created_at=row.created_at)
        done = set(s.scalars(select(EventDelivery.handler).where(EventDelivery.event_id == event_id)))
    ran = 0
    failed: str | None = None
    for fn in subscribers(ev.name):
        hname = handler_name(fn)
        if hname in done:
            continue
        try:
            with db.transaction() as hs:
                fn(hs, ev)
                hs.add(EventDelivery(event_id=ev.id, handler=hname, delivered_at=clock.now()))
            ran += 1  # events the handler published were delivered when its transaction committed
        except IntegrityError:
            log.info("event %s already delivered to %s", ev.id, hname)
        except Exception as exc:  # a failing handler must not block the others; the worker retries
            log.exception("handler %s failed for event %s", hname, ev.id)
            failed = f"{hname}: {exc!r}"[:2000]
    if not failed and not _all_loaded:
        return ran  # subscribers this process does not know may remain: the worker completes it
    with db.transaction() as s:
        row = s.get(OutboxEvent, event_id)
        if row is not None:
            row.attempts += 1
            if failed:
                row.last_error = failed
            else:
                row.delivered_at = clock.now()
                row.last_error = None
    return ran


def redeliver_pending(
    db: Database | None = None,
    *,
    older_than: timedelta = timedelta(seconds=30),
    limit: int = 500,
    max_attempts: int = MAX_ATTEMPTS,
) -> int:
    """What a crash left undelivered (or a handler failed on): deliver it again. The worker calls this."""
    db = db or get_db()
    cutoff = clock.now() - older_than
    with db.reader() as s:
        ids = list(
            s.scalars(
                select(OutboxEvent.id)
                .where(
                    OutboxEvent.delivered_at.is_(None),
                    OutboxEvent.created_at <= cutoff,
                    OutboxEvent.attempts < max_attempts,
                )
                .order_by(OutboxEvent.id)
                .limit(limit)
            )
        )
    deliver(ids, db)
    return len(ids)


# ---------------------------------------------------------------- abandoned events
def _abandoned_clause(now: datetime) -> Any:
    return (OutboxEvent.delivered_at.is_(None)) & or_(
        OutboxEvent.attempts >= MAX_ATTEMPTS, OutboxEvent.created_at <= now - ABANDON_AFTER
    )


def abandoned(session: Session, *, limit: int = 100) -> list[OutboxEvent]:
    """Events redelivery has given up on (or that no worker has delivered for ABANDON_AFTER)."""
    q = select(OutboxEvent).where(_abandoned_clause(clock.now())).order_by(OutboxEvent.id).limit(limit)
    return list(session.scalars(q))


def count_abandoned(session: Session) -> int:
    """How many events are abandoned; also sets the `cityos_events_abandoned` gauge."""
    n = session.scalar(select(func.count()).select_from(OutboxEvent).where(_abandoned_clause(clock.now())))
    ABANDONED.set(n or 0)
    return n or 0


def alert_abandoned(db: Database | None = None) -> int:
    """The worker's alarm: an ERROR line naming the abandoned events while any remain."""
    db = db or get_db()
    with db.reader() as s:
        n = count_abandoned(s)
        if n:
            rows = abandoned(s, limit=20)
            log.error(
                "%s outbox events abandoned (undelivered after %s attempts or %s): %s",
                n,
                MAX_ATTEMPTS,
                ABANDON_AFTER,
                "; ".join(
                    f"#{r.id} {r.name} attempts={r.attempts} error={(r.last_error or '')[:200]}" for r in rows
                ),
            )
    return n


def retry(session: Session, *, event_id: int) -> bool:
    """Start an abandoned event over (after its handler was fixed): the next redelivery runs it."""
    row = session.get(OutboxEvent, event_id)
    if row is None or row.delivered_at is not None:
        return False
    row.attempts = 0
    row.created_at = clock.now() - timedelta(minutes=1)
    return True
