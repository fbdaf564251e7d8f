"""The worker's timers for cases: reminders at 80 % of a stage's time, escalation when overdue."""

from __future__ import annotations

from cityos.cases import service
from cityos.core.db import Database
from cityos.core.jobs import Job


def deadlines(db: Database) -> int:
    with db.transaction() as s:
        counts = service.check_deadlines(session=s)
    return counts["reminded"] + counts["escalated"]


JOBS = [Job("cases.deadlines", 60, deadlines)]
