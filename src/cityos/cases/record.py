"""What every step of the loop leaves on the case: its timeline entry; and the system actor that
takes the automatic steps (auto-filing, merging, reminders, escalation)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from cityos.cases.models import Case, CaseEvent
from cityos.core import clock
from cityos.identity.schemas import Principal

_SYSTEM = Principal(
    kind="user", id=0, username="system", display_name="系统", roles=frozenset({"admin", "dispatcher"})
)


def _timeline(
    session: Session,
    case: Case,
    actor: Principal,
    action: str,
    src: str | None,
    dst: str,
    note: str,
    data: dict[str, Any],
) -> None:
    session.add(
        CaseEvent(
            case_id=case.id,
            at=clock.now(),
            actor=actor.actor,
            action=action,
            from_state=src,
            to_state=dst,
            note=note,
            data=data,
        )
    )
