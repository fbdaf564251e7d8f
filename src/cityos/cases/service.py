"""一网统管 use cases: the public face of the cases module. Other modules (and routes, jobs, the CLI
and tests) call these names; the work is done in sub-modules by concern:

- intake.py     reports from every channel (report_case; report_cases for many in one unit of work)
- loop.py       the transitions of the closed loop, each effect next to its action (transition, actions,
                rate_case)
- queries.py    the read side: one case, timeline, lists, duplicates, the public view, categories
- routing.py    the taxonomy, dispatch rules and channel settings (route, add_dispatch_rule, set_channel)
- placing.py    moving a case filed with an address only to a finer region (place_case)
- tasks.py      tasks sent to grid workers about a case: verify a report, re-check the handling
- deadlines.py  stage deadlines, traffic lights, reminders and escalation (check_deadlines)

Each transition is checked against the table in flows.py (state, permission, reason), against the
actor's scope, and against the version the caller saw (optimistic concurrency: two people acting on
the same case at once — the second gets Conflict/409, never a silent lost update). Who sees which
case is decided once, in policy.py (`visible`, `public_projection`).
"""

from __future__ import annotations

from cityos.cases import permissions as _permissions  # noqa: F401  (grants cases.* to roles)
from cityos.cases.deadlines import LEVELS, YELLOW_AT, check_deadlines
from cityos.cases.intake import AUTO_MERGE_CHANNELS, report_case, report_cases
from cityos.cases.loop import actions, rate_case, transition
from cityos.cases.placing import place_case, region_choices
from cityos.cases.queries import (
    COUNT_CAP,
    _code_prefix,
    categories,
    category_exists,
    common_categories,
    decode_cursor,
    duplicate_candidates,
    encode_cursor,
    figures,
    find_by_number,
    get_case,
    list_cases,
    my_reports,
    next_in_queue,
    notice_of,
    overdue_by_district,
    public_case,
    public_cases,
    public_updates,
    reporter_of,
    timeline,
    visible_case,
    work_counts,
)
from cityos.cases.record import _SYSTEM
from cityos.cases.routing import (
    add_dispatch_rule,
    dispatch_choices,
    load_default_taxonomy,
    route,
    set_channel,
)
from cityos.cases.tasks import (
    answer_task,
    report_times,
    send_task,
    task_assignees,
    task_counts,
    task_figures,
    tasks,
)

__all__ = [
    "AUTO_MERGE_CHANNELS",
    "COUNT_CAP",
    "LEVELS",
    "YELLOW_AT",
    "_SYSTEM",
    "_code_prefix",
    "actions",
    "add_dispatch_rule",
    "answer_task",
    "categories",
    "category_exists",
    "check_deadlines",
    "common_categories",
    "decode_cursor",
    "dispatch_choices",
    "duplicate_candidates",
    "encode_cursor",
    "figures",
    "find_by_number",
    "get_case",
    "list_cases",
    "load_default_taxonomy",
    "my_reports",
    "next_in_queue",
    "notice_of",
    "overdue_by_district",
    "place_case",
    "public_case",
    "public_cases",
    "public_updates",
    "rate_case",
    "region_choices",
    "report_case",
    "report_cases",
    "report_times",
    "reporter_of",
    "route",
    "send_task",
    "set_channel",
    "task_assignees",
    "task_counts",
    "task_figures",
    "tasks",
    "timeline",
    "transition",
    "visible_case",
    "work_counts",
]
