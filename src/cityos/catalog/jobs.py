"""The worker's timers for the catalog: stale-data reminders and overdue access requests."""

from __future__ import annotations

from cityos.catalog import service
from cityos.core.db import Database
from cityos.core.jobs import Job


def stale(db: Database) -> int:
    with db.transaction() as s:
        return service.remind_stale(session=s)


def overdue_requests(db: Database) -> int:
    with db.transaction() as s:
        return service.escalate_overdue_requests(session=s)


def purge(db: Database) -> int:
    with db.transaction() as s:
        return service.purge_rejected_files(session=s)


JOBS = [
    Job("catalog.stale", 3600, stale),
    Job("catalog.requests", 600, overdue_requests),
    Job("catalog.purge", 86400, purge),  # files of rejected/discarded loads, kept 30 days for the report
]
