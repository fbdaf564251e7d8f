"""The worker's timers for the registries: checks whose schedule is due, and a nightly build of
every base registry (which also closes the discrepancies whose copies were corrected)."""

from __future__ import annotations

import logging

from cityos.core.db import Database
from cityos.core.errors import CityOSError
from cityos.core.jobs import Job
from cityos.identity import service as identity
from cityos.registries import service

log = logging.getLogger(__name__)


def scheduled_checks(db: Database) -> int:
    with db.reader() as s:
        due = service.due_checks(session=s)
    n = 0
    for code in due:
        try:
            with db.transaction() as s:
                service.execute(session=s, actor=identity.SYSTEM, code=code)
            n += 1
        except CityOSError as exc:  # e.g. a grant expired: the next run tries again
            log.warning("crosscheck %s not run: %s %s", code, exc.code, exc.message)
    return n


def builds(db: Database) -> int:
    n = 0
    for code in service.REGISTRIES:
        try:
            with db.transaction() as s:
                service.build(session=s, actor=service.bureau_principal(session=s), code=code)
            n += 1
        except CityOSError as exc:
            log.warning("registry %s not built: %s %s", code, exc.code, exc.message)
    return n


JOBS = [
    Job("registries.checks", 3600, scheduled_checks),
    Job("registries.build", 86400, builds),
]
