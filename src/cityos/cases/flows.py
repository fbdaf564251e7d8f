"""The closed loop as one declarative table: states, the transitions between them, the permission
each needs (permissions.py maps roles to them), and whether a reason is required. The service
(loop.py, where each row's effect sits under the same action name), the pages' buttons and the docs
read it.

    reported ──file──▶ filed ──dispatch──▶ dispatched ──accept──▶ handling ──report_back──▶ handled
       │                 ▲  ▲                  │                     │  ▲                     │
     reject              │  └──return─(wrong department)─────────────┘  └──rework (failed)──────┤
       ▼                 │                                                                      verify
    rejected          reopen ◀──────────────────────────────────────────────────────── closed ◀─┘
    filed/dispatched/handling ──suspend──▶ suspended ──resume──▶ (back where it was)
    reported/filed ──merge──▶ merged (a duplicate; its reporter follows the earlier case) ──unmerge──▶
    reported
"""

from __future__ import annotations

from dataclasses import dataclass

from cityos.identity.permissions import has
from cityos.identity.schemas import Principal

STATES = (
    "reported",
    "filed",
    "rejected",
    "merged",
    "dispatched",
    "handling",
    "handled",
    "closed",
    "suspended",
)
OPEN_STATES = ("reported", "filed", "dispatched", "handling", "handled", "suspended")


@dataclass(frozen=True)
class Transition:
    action: str
    sources: tuple[str, ...]
    target: str | None  # None: decided by the service (resume returns to where it was)
    permission: str  # cases.dispatch | cases.handle | cases.verify
    reason_required: bool = False
    label: str = ""  # English msgid for the button


def _t(
    action: str,
    sources: tuple[str, ...],
    target: str | None,
    permission: str,
    reason: bool = False,
    label: str = "",
) -> Transition:
    return Transition(action, sources, target, permission, reason, label or action)


DISPATCH, HANDLE, VERIFY = "cases.dispatch", "cases.handle", "cases.verify"
TRANSITIONS: dict[str, Transition] = {
    t.action: t
    for t in [
        _t("file", ("reported",), "filed", DISPATCH, label="File"),
        _t("reject", ("reported",), "rejected", DISPATCH, reason=True, label="Reject"),
        _t("dispatch", ("filed",), "dispatched", DISPATCH, label="Dispatch"),
        _t("accept", ("dispatched",), "handling", HANDLE, label="Accept"),
        _t(
            "return",
            ("dispatched", "handling"),
            "filed",
            HANDLE,
            reason=True,
            label="Return (wrong department)",
        ),
        _t("report_back", ("handling",), "handled", HANDLE, reason=True, label="Report back"),
        _t("verify", ("handled",), "closed", VERIFY, label="Verified: close"),
        _t("rework", ("handled",), "handling", VERIFY, reason=True, label="Rework"),
        _t("extend", ("handling",), "handling", DISPATCH, reason=True, label="Grant extension"),
        _t(
            "suspend",
            ("filed", "dispatched", "handling"),
            "suspended",
            DISPATCH,
            reason=True,
            label="Suspend",
        ),
        _t("resume", ("suspended",), None, DISPATCH, label="Resume"),
        _t("reopen", ("closed", "rejected"), "filed", DISPATCH, reason=True, label="Reopen"),
        _t("merge", ("reported", "filed"), "merged", DISPATCH, label="Merge into the earlier case"),
        _t("unmerge", ("merged",), "reported", DISPATCH, reason=True, label="Undo merge"),
    ]
}


def allowed(action: str, state: str, actor: Principal) -> bool:
    t = TRANSITIONS.get(action)
    return t is not None and state in t.sources and has(actor, t.permission)


def actions_for(state: str, actor: Principal) -> list[Transition]:
    """The transitions this viewer may take from this state (the case page's buttons)."""
    return [t for t in TRANSITIONS.values() if state in t.sources and has(actor, t.permission)]
