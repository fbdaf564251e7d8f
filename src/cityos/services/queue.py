"""The service hall's queue (排队叫号): a ticket per window type, numbered per local day
(A001, B001 …), called in order by the window staff; waiting time = called − taken, service
time = done − called."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cityos.core import audit, clock
from cityos.core.errors import Conflict, Invalid, NotFound
from cityos.identity.permissions import authorize
from cityos.identity.schemas import Principal
from cityos.services.models import QueueTicket
from cityos.services.schemas import TicketOut

TZ = ZoneInfo("Asia/Shanghai")
WINDOW_TYPES = {"A": "综合受理", "B": "企业开办", "C": "不动产登记", "D": "出件"}


def _day_start() -> datetime:
    d = clock.local(clock.now()).date()
    return datetime.combine(d, time.min, TZ).astimezone(UTC)


def _out(session: Session, t: QueueTicket) -> TicketOut:
    ahead = 0
    if t.state == "waiting":
        ahead = int(
            session.scalar(
                select(func.count())
                .select_from(QueueTicket)
                .where(
                    QueueTicket.window_type == t.window_type,
                    QueueTicket.state == "waiting",
                    QueueTicket.id < t.id,
                )
            )
            or 0
        )
    return TicketOut(
        id=t.id,
        number=t.number,
        window_type=t.window_type,
        state=t.state,
        taken_at=t.taken_at,
        called_at=t.called_at,
        done_at=t.done_at,
        window=t.window,
        ahead=ahead,
    )


def take(*, session: Session, window_type: str) -> TicketOut:
    """A ticket for a window type (anyone at the hall's kiosk)."""
    if window_type not in WINDOW_TYPES:
        raise Invalid("Unknown window type", field="window_type", code="bad_window_type")
    n = int(
        session.scalar(
            select(func.count())
            .select_from(QueueTicket)
            .where(QueueTicket.window_type == window_type, QueueTicket.taken_at >= _day_start())
        )
        or 0
    )
    t = QueueTicket(
        window_type=window_type,
        number=f"{window_type}{n + 1:03d}",
        state="waiting",
        taken_at=clock.now(),
        window="",
        called_by="",
    )
    session.add(t)
    session.flush()
    return _out(session, t)


def call_next(*, session: Session, actor: Principal, window_type: str, window: str) -> TicketOut:
    """The window calls the longest-waiting ticket of its type; the one it served is done."""
    authorize(actor, "services.window")
    if window_type not in WINDOW_TYPES:
        raise Invalid("Unknown window type", field="window_type", code="bad_window_type")
    now = clock.now()
    for prev in session.scalars(
        select(QueueTicket).where(QueueTicket.state == "called", QueueTicket.window == window)
    ):
        prev.state, prev.done_at = "done", now
    t = session.scalar(
        select(QueueTicket)
        .where(QueueTicket.window_type == window_type, QueueTicket.state == "waiting")
        .order_by(QueueTicket.id)
        .limit(1)
    )
    if t is None:
        raise NotFound("Nobody is waiting", code="queue_empty")
    t.state, t.called_at, t.window, t.called_by = "called", now, window, actor.actor
    audit.record(
        session,
        actor=actor.actor,
        action="services.queue.call",
        subject_type="svc_ticket",
        subject_id=t.number,
        payload={"window": window},
    )
    return _out(session, t)


def _ticket(session: Session, ticket_id: int) -> QueueTicket:
    t = session.get(QueueTicket, ticket_id)
    if t is None:
        raise NotFound("Ticket not found", code="ticket_not_found")
    return t


def ticket(*, session: Session, ticket_id: int) -> TicketOut:
    """A ticket's state and how many wait ahead of it (the holder's phone or the hall screen)."""
    return _out(session, _ticket(session, ticket_id))


def finish(*, session: Session, actor: Principal, ticket_id: int) -> TicketOut:
    """The window is done with the ticket it called: its service time ends now."""
    authorize(actor, "services.window")
    t = _ticket(session, ticket_id)
    if t.state != "called":
        raise Conflict("This ticket is not at a window", code="bad_state")
    t.state, t.done_at = "done", clock.now()
    return _out(session, t)


def figures(*, session: Session, day_start: datetime | None = None) -> list[dict[str, Any]]:
    """Per window type today: waiting now, served, average waiting and service minutes."""
    since = day_start or _day_start()
    out = []
    for code, name in WINDOW_TYPES.items():
        rows = list(
            session.scalars(
                select(QueueTicket).where(QueueTicket.window_type == code, QueueTicket.taken_at >= since)
            )
        )
        waits = [(t.called_at - t.taken_at) for t in rows if t.called_at]
        serves = [(t.done_at - t.called_at) for t in rows if t.done_at and t.called_at]
        out.append(
            {
                "code": code,
                "name": name,
                "waiting": sum(1 for t in rows if t.state == "waiting"),
                "served": len(serves),
                "avg_wait_min": _minutes(waits),
                "avg_service_min": _minutes(serves),
            }
        )
    return out


def _minutes(spans: list[timedelta]) -> float:
    return round(sum(s.total_seconds() for s in spans) / 60 / len(spans), 1) if spans else 0.0
