"""Patrol use cases (网格化管理): what other modules, routes, jobs and tests call.

work.py         the grid worker's own work: check in/out inside their own grids, patrols, the track
supervision.py  the supervisor's day, the grids nobody covered in a week, `worker_figures` (the
                patrol and attendance figures the grid workers' evaluation reads) and
                `work_counts` (what waits for a person, for the home page's 待办)
"""

from __future__ import annotations

from cityos.patrol.policy import region_scope
from cityos.patrol.supervision import uncovered_grids, week_of, work_counts, worker_day, worker_figures
from cityos.patrol.work import (
    add_points,
    attendance,
    check_in,
    check_out,
    distance_to_m,
    end_patrol,
    get_patrol,
    open_patrol,
    patrols,
    start_patrol,
    today,
)

__all__ = [
    "add_points",
    "attendance",
    "check_in",
    "check_out",
    "distance_to_m",
    "end_patrol",
    "get_patrol",
    "open_patrol",
    "patrols",
    "region_scope",
    "start_patrol",
    "today",
    "uncovered_grids",
    "week_of",
    "work_counts",
    "worker_day",
    "worker_figures",
]
