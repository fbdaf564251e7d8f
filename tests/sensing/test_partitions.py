"""Readings partitioned by month on PostgreSQL (migration 0016): the worker creates the coming
months, a reading outside every month waits in the default partition and moves into its month when
that month is created, retention drops whole months. SQLite keeps one plain table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from cityos.core import clock
from cityos.sensing import partitions, service, storage

JUNE = datetime(2026, 6, 15, 8, 0, tzinfo=UTC)


def rows(device: str, start: datetime, n: int) -> list[storage.Row]:
    return [(device, "currentLevel", start + timedelta(minutes=i), i / 10, None) for i in range(n)]


def where(s, at: datetime) -> str:  # type: ignore[no-untyped-def]
    """The partition a reading at `at` lives in."""
    return str(
        s.scalar(
            text("SELECT tableoid::regclass::text FROM sensing_readings WHERE at = :at LIMIT 1"),
            {"at": at.replace(tzinfo=None)},
        )
    )


def test_months_are_created_ahead_filled_from_the_default_and_dropped_whole(sensed, db):  # type: ignore[no-untyped-def]
    now = datetime(2027, 3, 10, tzinfo=UTC)
    clock.set_now(now)
    with db.transaction() as s:
        if not partitions.partitioned(s):
            assert service.ensure_partitions(session=s) == 0
            assert partitions.months(s) == []
            return
        service.ensure_partitions(session=s)
        have = partitions.months(s)
        assert {datetime(2027, 3, 1), datetime(2027, 4, 1), datetime(2027, 5, 1)} <= set(have)
        assert service.ensure_partitions(session=s) == 0  # idempotent
        storage.write(s, rows("dr-1", JUNE, 30))  # June 2026 has no partition of its own yet
        assert where(s, JUNE) == "sensing_partitions.readings_default"
        storage.write(s, rows("dr-1", now, 5))
        assert where(s, now) == "sensing_partitions.readings_2027_03"
        assert partitions.create_month(s, JUNE) is True
        assert partitions.create_month(s, JUNE) is False
        assert where(s, JUNE) == "sensing_partitions.readings_2026_06"
        assert s.scalar(text("SELECT count(*) FROM sensing_partitions.readings_default")) == 0
        assert storage.count_readings(s, "dr-1") == 35
        # the same reading again (an MQTT redelivery) is still a no-op across partitions
        storage.write(s, rows("dr-1", JUNE, 30))
        assert storage.count_readings(s, "dr-1") == 35
    with db.transaction() as s:
        n = service.purge(session=s)  # 90 days before 10 March: all of June goes with its table
        assert n == 0
        assert datetime(2026, 6, 1) not in partitions.months(s)
        assert datetime(2027, 3, 1) in partitions.months(s)
        assert storage.count_readings(s, "dr-1") == 5


def test_retention_trims_the_month_the_cutoff_falls_in(sensed, db):  # type: ignore[no-untyped-def]
    start = datetime(2026, 12, 1, tzinfo=UTC)
    with db.transaction() as s:
        storage.write(s, rows("dr-1", start, 60 * 24 * 4))  # four days of minutes
    clock.set_now(start + timedelta(days=91))  # cutoff: 2 December, inside December's partition
    with db.transaction() as s:
        assert service.purge(session=s) == 60 * 24
        assert storage.count_readings(s, "dr-1") == 60 * 24 * 3
