"""Timers run by `cityos worker`; cityos.registry.all_jobs() lists core's and each module's (core
never imports the registry). Each job runs every `every` seconds; with PostgreSQL a job takes
a session-level advisory lock first, so several workers can run for failover and a job never runs
twice at once. Jobs open their own units of work through the Database they are given."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import text

from cityos.core import audit, events
from cityos.core.db import Database

log = logging.getLogger("cityos.worker")


@dataclass(frozen=True)
class Job:
    name: str
    every: float  # seconds
    run: Callable[[Database], int]  # returns how many items it handled


def _lock_key(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


def run_once(db: Database, job: Job) -> int | None:
    """Run a job if no other worker holds it. None when another worker has it."""
    if db.dialect != "postgresql":
        return job.run(db)
    with db.engine.connect() as conn:
        got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": _lock_key(job.name)}).scalar()
        conn.commit()
        if not got:
            return None
        try:
            return job.run(db)
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _lock_key(job.name)})
            conn.commit()


CORE_JOBS = [
    Job("events.redeliver", 15, lambda db: events.redeliver_pending(db, older_than=timedelta(seconds=30))),
    # entries wait unsequenced until this runs: every tick, so they are in the log within seconds
    Job("audit.sequence", 0, lambda db: audit.sequence(db)),
    # an ERROR line every five minutes while any event is abandoned: loud, not flooding
    Job("events.abandoned", 300, events.alert_abandoned),
]


def run_forever(
    db: Database, jobs: list[Job], *, tick: float = 1.0, stop: Callable[[], bool] = lambda: False
) -> None:
    last: dict[str, float] = {}
    while not stop():
        now = time.monotonic()
        for job in jobs:
            if now - last.get(job.name, -1e18) >= job.every:
                last[job.name] = now
                try:
                    n = run_once(db, job)
                    if n:
                        log.info("job %s handled %s", job.name, n)
                except Exception:
                    log.exception("job %s failed", job.name)
        time.sleep(tick)
