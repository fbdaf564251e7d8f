"""The cockpit's worker timer: every 30 s, recompute the metrics whose refresh interval has run
out (each metric says its own), store the values and the screens' snapshot, raise or clear alerts."""

from __future__ import annotations

from cityos.cockpit import compute
from cityos.core.jobs import Job

JOBS = [Job("cockpit.refresh", 30, lambda db: compute.refresh(db))]
