"""Monthly partitions of `sensing_readings` on PostgreSQL (migration 0016): one table per calendar
month in the schema `sensing_partitions`, plus a default partition for readings outside every
month created so far (a device whose clock is wrong, a backfill of old data).

The worker creates the current month and the next `AHEAD` months (`ensure`); retention drops a month
whole once all of it is older than the retention period (`drop_before`), which costs nothing next
to deleting its rows. Readings that reached the default partition move into their month when that
month is created. On SQLite the readings stay one plain table and both functions do nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.orm import Session

SCHEMA = "sensing_partitions"
AHEAD = 2


def _month(at: datetime, add: int = 0) -> datetime:
    n = at.year * 12 + at.month - 1 + add
    return datetime(n // 12, n % 12 + 1, 1)


def _name(lo: datetime) -> str:
    return f"readings_{lo:%Y_%m}"


def partitioned(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def months(session: Session) -> list[datetime]:
    """The first day of every month that has its partition, oldest first."""
    if not partitioned(session):
        return []
    names = session.scalars(
        text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE i.inhparent = 'sensing_readings'::regclass AND n.nspname = :schema"
        ),
        {"schema": SCHEMA},
    )
    out = []
    for name in names:
        try:
            out.append(datetime.strptime(name, "readings_%Y_%m"))
        except ValueError:
            continue  # the default partition
    return sorted(out)


def create_month(session: Session, lo: datetime) -> bool:
    """Create the month starting at `lo` (moving its readings out of the default partition first).
    Returns False when it existed."""
    lo = _month(lo)
    if lo in months(session):
        return False
    hi = _month(lo, 1)
    table = f"{SCHEMA}.{_name(lo)}"
    bounds = {"lo": lo, "hi": hi}
    session.execute(text(f"LOCK TABLE {SCHEMA}.readings_default IN ACCESS EXCLUSIVE MODE"))
    session.execute(text(f"CREATE TABLE {table} (LIKE sensing_readings INCLUDING DEFAULTS)"))
    session.execute(
        text(
            f"WITH moved AS (DELETE FROM {SCHEMA}.readings_default WHERE at >= :lo AND at < :hi "
            f"RETURNING device_id, attr, at, value, text) INSERT INTO {table} SELECT * FROM moved"
        ),
        bounds,
    )
    session.execute(
        text(
            f"ALTER TABLE sensing_readings ATTACH PARTITION {table} "
            f"FOR VALUES FROM ('{lo:%Y-%m-%d}') TO ('{hi:%Y-%m-%d}')"
        )
    )
    return True


def ensure(session: Session, now: datetime) -> int:
    """The current month and the next AHEAD months exist. Returns partitions created."""
    if not partitioned(session):
        return 0
    base = now.astimezone(UTC)
    return sum(create_month(session, _month(base, k)) for k in range(AHEAD + 1))


def drop_before(session: Session, cutoff: datetime) -> int:
    """Drop every month that ends at or before `cutoff`. Returns partitions dropped."""
    if not partitioned(session):
        return 0
    limit = cutoff.astimezone(UTC).replace(tzinfo=None)
    n = 0
    for lo in months(session):
        if _month(lo, 1) <= limit:
            session.execute(text(f"DROP TABLE {SCHEMA}.{_name(lo)}"))
            n += 1
    return n
