"""The work-first home page: each person's 待办 (what waits for them, with counts and links to the
filtered lists), what changed since yesterday, and for those who follow the city rather than act
on cases, its figures.

Which blocks a person gets is decided by their permissions, never by a role's name; every count
comes from the modules' own functions (cases.service.work_counts under cases.policy.visible,
catalog.service.work_counts under the catalog's department rules, services.service.work_counts
under services.policy), so a number on this page is the
number of rows the linked list holds for the same person.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from cityos.cases import service as cases
from cityos.catalog import service as catalog
from cityos.core.errors import NotFound
from cityos.identity import service as identity
from cityos.identity.permissions import has
from cityos.identity.schemas import Principal
from cityos.patrol import service as patrol
from cityos.services import service as services


@dataclass(frozen=True)
class Todo:
    key: str  # stable name (tests and the page's data-testid)
    label: str  # English msgid
    count: int
    href: str
    urgent: bool = False  # shown in red when not zero
    next_href: str | None = None  # the next item to take up, when there is one


# (permission, key, label, link, urgent): the 待办 each permission brings
CASE_TODOS: list[tuple[str, str, str, str, bool]] = [
    ("cases.dispatch", "to_file", "Reports to file", "/cases?state=reported", False),
    ("cases.dispatch", "to_dispatch", "Cases to dispatch", "/cases?state=filed", False),
    ("cases.dispatch", "returned", "Returned by departments", "/cases?state=filed", True),
    ("cases.dispatch", "red", "Red-light cases (past the deadline)", "/cases", True),
    ("cases.handle", "to_accept", "Cases to accept", "/cases?state=dispatched", False),
    ("cases.handle", "due_soon", "Handling, due within 24 hours", "/cases?state=handling", True),
    ("cases.handle", "rework", "Rework ordered", "/cases?state=handling", True),
    ("cases.verify", "to_verify", "Cases to verify on site", "/cases?state=handled", False),
]
CATALOG_TODOS: list[tuple[str, str, str, str, bool]] = [
    ("catalog.decide", "to_answer", "Access requests to answer", "/catalog/requests?box=incoming", False),
    ("catalog.manage", "stale", "Resources out of date", "/catalog?stale=true", True),
    ("catalog.manage", "to_review", "Loaded versions to review", "/catalog", False),
    (
        "catalog.admin",
        "overdue",
        "Requests overdue (escalated to the bureau)",
        "/catalog/requests?box=escalated",
        True,
    ),
]


PATROL_TODOS: list[tuple[str, str, str, str, bool]] = [
    ("patrol.work", "not_checked_in", "Not checked in today", "/patrol", True),
    ("patrol.work", "own_grids_uncovered", "Own grids not patrolled this week", "/patrol", False),
    ("cases.answer_task", "open_tasks", "Tasks sent to me", "/cases/tasks", False),
    ("cases.answer_task", "overdue_tasks", "Tasks past their due time", "/cases/tasks", True),
]
SERVICE_TODOS: list[tuple[str, str, str, str, bool]] = [
    ("services.window", "to_accept", "Applications to accept", "/services/window", False),
    ("services.window", "to_issue", "Results to issue", "/services/window", False),
    ("services.review", "to_decide", "Applications to decide", "/services/inbox", False),
    ("services.supervise", "supervision", "Supervision tasks open", "/services/supervision", False),
    ("services.supervise", "rectify", "Rectifications open", "/services/supervision", False),
    ("services.manage", "appeals", "Appeals to rule on", "/services/supervision", False),
    (
        "services.supervise",
        "rectify_overdue",
        "Rectifications past their due date",
        "/services/supervision",
        True,
    ),
]


def todos(*, session: Session, actor: Principal) -> tuple[list[Todo], dict[str, int], dict[str, int]]:
    """The actor's 待办 and the raw counts of cases and of the catalog they came from (the grid
    worker's day — check-in, patrols, tasks — from patrol.service.work_counts)."""
    case_counts = cases.work_counts(session=session, actor=actor) if has(actor, "cases.read") else {}
    data_counts = catalog.work_counts(session=session, actor=actor)
    day_counts = patrol.work_counts(session=session, actor=actor) if has(actor, "patrol.work") else {}
    service_counts = services.work_counts(session=session, actor=actor)
    out: list[Todo] = []
    for table, counts in (
        (CASE_TODOS, case_counts),
        (PATROL_TODOS, day_counts),
        (CATALOG_TODOS, data_counts),
        (SERVICE_TODOS, service_counts),
    ):
        for perm, key, label, href, urgent in table:
            if has(actor, perm) and key in counts:
                nxt = None
                if counts is case_counts and counts[key]:
                    case_id = cases.next_in_queue(session=session, actor=actor, queue=key)
                    nxt = f"/cases/{case_id}" if case_id else None
                if counts is service_counts and counts[key]:
                    number = services.next_in_queue(session=session, actor=actor, queue=key)
                    nxt = f"/services/applications/{number}" if number else None
                # a key names its module when two modules share it (cases' and services' to_accept)
                out.append(
                    Todo(
                        key if table is not SERVICE_TODOS else f"services-{key}",
                        label,
                        counts[key],
                        href,
                        urgent,
                        nxt,
                    )
                )
    return out, case_counts, data_counts


def _district_name(session: Session, code: str) -> str:
    try:
        return identity.get_region(session=session, code=code).name
    except NotFound:
        return code


def page(*, session: Session, actor: Principal) -> dict[str, Any]:
    """Everything the home page shows for `actor`."""
    items, case_counts, data_counts = todos(session=session, actor=actor)
    ctx: dict[str, Any] = {"todos": items, "since": None, "figures": None, "my_reports": None}
    if has(actor, "cases.view"):
        ctx["since"] = {"new": case_counts["new_today"], "closed": case_counts["closed_today"]}
        if not has(actor, "cases.act"):  # those who follow the city rather than act on cases
            closed = case_counts["closed"]
            overdue = cases.overdue_by_district(session=session, actor=actor)
            ctx["figures"] = {
                "open": case_counts["open"],
                "closed": closed,
                "on_time_rate": round(100.0 * case_counts["closed_on_time"] / closed, 1) if closed else None,
                "overdue": case_counts["red"],
                "overdue_by_district": [(_district_name(session, c), n) for c, n in overdue.items()],
                "calls_today": data_counts["calls_today"] if has(actor, "catalog.admin") else None,
            }
    elif has(actor, "cases.report"):  # a citizen follows their own reports
        ctx["my_reports"] = cases.my_reports(session=session, actor=actor, limit=20)
    return ctx
