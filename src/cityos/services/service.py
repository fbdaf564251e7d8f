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
    statistics,
)
from cityos.services.work import next_in_queue, work_counts


def public_summary(*, session: Session) -> dict[str, Any]:
    """The public page's figures: 好差评 and certificate-free measurement, aggregates only."""
    return {"ratings": statistics(session=session), "certificate_free": certificate_free(session=session)}


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
