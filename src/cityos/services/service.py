"""一网通办 use cases: what other modules, routes, jobs and tests call.

items.py         the 事项清单: items, materials, Excel import/export
applications.py  applications: submit (online / window), materials through data sharing, accept or
                 return once, decide, issue, supervision tasks, certificate-free measurement
licenses.py      e-license kinds, issuer keys (rotation), issue, revoke, wallet, trust list, verify
identifiers.py   GB/T 36904 identifiers;  credential.py  the signed QR payload and offline verifier
ratings.py       好差评 and rectification;  queue.py  the hall's tickets
work.py          the 待办 counts (home page) and the next application of each queue
oidc.py          the OpenID Connect provider
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from cityos.services import permissions as _permissions  # noqa: F401  (grants services.* to roles)
from cityos.services.applications import (
    accept,
    certificate_free,
    close_supervision,
    counts,
    decide,
    get_application,
    hall_department,
    issue_result,
    real_name,
    return_once,
    search,
    set_real_name,
    submit,
    submit_at_window,
    supervision_tasks,
    supplement,
)
from cityos.services.items import export_workbook, get_item, import_workbook, items, save_item
from cityos.services.licenses import (
    add_kind,
    expire_key,
    kinds,
    license_out,
    lookup,
    revoke,
    rotate_key,
    trust_list,
    verify,
    wallet,
)
from cityos.services.queue import call_next, figures, finish, take, ticket
from cityos.services.ratings import (
    appeal,
    call_back,
    my_ratings,
    rate,
    rectification_due,
    rectifications,
    respond,
    rule_appeal,
    statistics,
)
from cityos.services.work import next_in_queue, work_counts


def public_summary(*, session: Session) -> dict[str, Any]:
    """The public page's figures: 好差评 and certificate-free measurement, aggregates only."""
    return {"ratings": statistics(session=session), "certificate_free": certificate_free(session=session)}


def monthly_figures(*, session: Session, since: datetime) -> dict[str, int]:
    """City-wide counts since `since`, aggregates only (no applicant leaves here), for the
    cockpit's 民生服务 screen: `submitted` applications; `decided` and `on_time` (decided by their
    due time); `ratings` and `satisfied` (好差评 基本满意 or better); `from_data` and `handed_in`
    (materials of the applications submitted, satisfied from shared data or an e-license against
    handed in: the 免证明 share)."""
    from sqlalchemy import case, func, select

    from cityos.services.models import Application, ApplicationMaterial, Rating

    out = dict.fromkeys(
        ("submitted", "decided", "on_time", "ratings", "satisfied", "from_data", "handed_in"), 0
    )
    out["submitted"] = int(
        session.scalar(select(func.count()).select_from(Application).where(Application.submitted_at >= since))
        or 0
    )
    on_time = func.sum(case((Application.decided_at <= Application.due_at, 1), else_=0))
    decided, ok = session.execute(select(func.count(), on_time).where(Application.decided_at >= since)).one()
    out["decided"], out["on_time"] = int(decided or 0), int(ok or 0)
    satisfied = func.sum(case((Rating.level >= 3, 1), else_=0))
    n, good = session.execute(select(func.count(), satisfied).where(Rating.created_at >= since)).one()
    out["ratings"], out["satisfied"] = int(n or 0), int(good or 0)
    for status, k in session.execute(
        select(ApplicationMaterial.status, func.count())
        .join(Application, Application.id == ApplicationMaterial.application_id)
        .where(Application.submitted_at >= since)
        .group_by(ApplicationMaterial.status)
    ):
        if status in ("shared", "license"):
            out["from_data"] += int(k)
        elif status == "uploaded":
            out["handed_in"] += int(k)
    return out


__all__ = [
    "accept",
    "add_kind",
    "appeal",
    "call_back",
    "call_next",
    "certificate_free",
    "close_supervision",
    "counts",
    "decide",
    "expire_key",
    "export_workbook",
    "figures",
    "finish",
    "get_application",
    "get_item",
    "hall_department",
    "import_workbook",
    "issue_result",
    "items",
    "kinds",
    "license_out",
    "lookup",
    "my_ratings",
    "next_in_queue",
    "public_summary",
    "rate",
    "real_name",
    "rectification_due",
    "rectifications",
    "respond",
    "return_once",
    "revoke",
    "rotate_key",
    "rule_appeal",
    "save_item",
    "search",
    "set_real_name",
    "statistics",
    "submit",
    "submit_at_window",
    "supervision_tasks",
    "supplement",
    "take",
    "ticket",
    "trust_list",
    "verify",
    "wallet",
    "work_counts",
]
