"""The worker's timers for the catalog: stale-data reminders and overdue access requests."""

from __future__ import annotations

from cityos.catalog import engine, service
from cityos.core.db import Database
from cityos.core.jobs import Job
from cityos.core.settings import get_settings


def stale(db: Database) -> int:
    with db.transaction() as s:
        return service.remind_stale(session=s)


def overdue_requests(db: Database) -> int:
    with db.transaction() as s:
        return service.escalate_overdue_requests(session=s)


def purge(db: Database) -> int:
    """Files of rejected/discarded loads past their 30 days, and what killed loads left behind:
    temporary files and work folders, and whole files no version names."""
    with db.transaction() as s:
        n = service.purge_rejected_files(session=s)
        n += service.purge_orphan_files(session=s)
    return n + engine.sweep(get_settings().datastore)


JOBS = [
    Job("catalog.stale", 3600, stale),
    Job("catalog.requests", 600, overdue_requests),
    Job("catalog.purge", 86400, purge),  # files of rejected/discarded loads, kept 30 days for the report
]
