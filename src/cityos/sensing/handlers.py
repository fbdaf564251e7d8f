"""sensing's event subscribers: an alarm whose rule maps to a case category opens the case through
cases.service; closing that case acknowledges the alarm."""

from __future__ import annotations

from sqlalchemy.orm import Session

from cityos.core.events import Event, subscriber
from cityos.sensing import service


@subscriber("sensing.AlarmRaised")
def open_case(session: Session, event: Event) -> None:
    service.open_case_for_alarm(session=session, alarm_id=int(event.payload["alarm_id"]))


@subscriber("cases.CaseClosed")
def acknowledge_alarm(session: Session, event: Event) -> None:
    service.acknowledge_for_case(session=session, case_id=int(event.payload["case_id"]))
