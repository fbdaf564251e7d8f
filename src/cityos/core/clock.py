"""The one clock. Everything asks `now()`; tests and the demo generator move time explicitly."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

_fixed: datetime | None = None


def now() -> datetime:
    """Aware UTC now (or the fixed time a test or the demo generator set)."""
    return _fixed if _fixed is not None else datetime.now(UTC)


def set_now(moment: datetime | None) -> None:
    if moment is not None and moment.tzinfo is None:
        raise ValueError("clock.set_now needs an aware datetime")
    global _fixed
    _fixed = moment.astimezone(UTC) if moment else None


def advance(delta: timedelta) -> datetime:
    set_now(now() + delta)
    return now()


@contextmanager
def frozen(moment: datetime) -> Iterator[None]:
    previous = _fixed
    set_now(moment)
    try:
        yield
    finally:
        set_now(previous)


def local(moment: datetime, tz: str = "Asia/Shanghai") -> datetime:
    return moment.astimezone(ZoneInfo(tz))
