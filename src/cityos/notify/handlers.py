"""Event subscribers that turn what happens in cases and the catalog into messages: to the
department a case is dispatched to (its handlers), to the people who act on a case whose deadline
is near or that was escalated, to the requester of an answered access request, to the stewards of
a stale resource, to the grid worker sent a task about a case and back to its sender, and —
through the outbound channel — to the citizen whose case was closed.

Each runs in its own transaction after the change committed (core.events); a message is posted once
per recipient and event (`dedupe_key`), so a redelivery adds nothing. Titles are English msgids
filled in the reader's language.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.orm import Session

from cityos.cases import queries as cases
from cityos.cases.schemas import CaseNotice
from cityos.catalog import service as catalog
from cityos.core import events
from cityos.core.errors import NotFound
from cityos.core.events import Event
from cityos.identity import service as identity
from cityos.notify import channels, service


def _case_link(case_id: int) -> str:
    return f"/cases/{case_id}"


def _still(case: CaseNotice | None, states: tuple[str, ...], department_id: object = None) -> bool:
    """Is the work the event announced still waiting (the worker may deliver an event late, after
    the case moved on; a message about work already done is noise)?"""
    if case is None or case.state not in states:
        return False
    return department_id is None or case.department_id == department_id


def _post_about(
    session: Session,
    event: Event,
    case: CaseNotice,
    user_ids: Iterable[int],
    kind: str,
    title: str,
    body: str,
) -> None:
    """One message about a case to `user_ids`, once per event (a redelivery adds nothing)."""
    service.post(
        session=session,
        user_ids=user_ids,
        kind=kind,
        title=title,
        body=body,
        params={"number": case.number, "category": case.category_name},
        link=_case_link(case.id),
        dedupe_key=f"event:{event.id}",
    )


@events.subscriber("cases.CaseDispatched")
def case_dispatched(session: Session, event: Event) -> None:
    """A case dispatched to a department: to that department's handlers (who accept it)."""
    case = cases.notice_of(session=session, case_id=int(event.payload["case_id"]))
    if case is None or not _still(case, ("dispatched", "handling"), event.payload.get("department_id")):
        return
    _post_about(
        session,
        event,
        case,
        service.people_with(session=session, permission="cases.handle", department_id=case.department_id),
        kind="case_assigned",
        title="New case {number} for your department",
        body="{category}: accept it or return it if it is not your department's",
    )


@events.subscriber("cases.CaseReworked")
def case_reworked(session: Session, event: Event) -> None:
    """Verification failed: back to the department's handlers."""
    case = cases.notice_of(session=session, case_id=int(event.payload["case_id"]))
    if case is None or not _still(case, ("handling",), event.payload.get("department_id")):
        return
    _post_about(
        session,
        event,
        case,
        service.people_with(session=session, permission="cases.handle", department_id=case.department_id),
        kind="case_rework",
        title="Case {number} needs rework",
        body="{category}: the verification on site did not pass",
    )


@events.subscriber("cases.TaskSent")
def task_sent(session: Session, event: Event) -> None:
    """A task about a case (核实/核查) sent to a grid worker: to that worker, who answers it."""
    case = cases.notice_of(session=session, case_id=int(event.payload["case_id"]))
    if case is None or not case.is_open:
        return
    service.post(
        session=session,
        user_ids=[int(event.payload["assignee_id"])],
        kind="task_sent",
        title="A task about case {number}",
        body="{category}: go and look on the spot, then answer",
        params={"number": case.number, "category": case.category_name},
        link="/cases/tasks",
        dedupe_key=f"event:{event.id}",
    )


@events.subscriber("cases.TaskAnswered")
def task_answered(session: Session, event: Event) -> None:
    """A grid worker answered a task: to the person who sent it."""
    case = cases.notice_of(session=session, case_id=int(event.payload["case_id"]))
    sender = event.payload.get("sent_by_user_id")
    if case is None or not sender:
        return
    _post_about(
        session,
        event,
        case,
        [int(sender)],
        kind="task_answered",
        title="The task about case {number} was answered",
        body="{category}: see the answer on the case",
    )


@events.subscriber("cases.CaseReturned")
def case_returned(session: Session, event: Event) -> None:
    """A department returned a case: to the dispatchers whose region covers it (who dispatch again)."""
    case = cases.notice_of(session=session, case_id=int(event.payload["case_id"]))
    if case is None or not _still(case, ("filed",)):  # not dispatched again meanwhile
        return
    _post_about(
        session,
        event,
        case,
        service.people_with(session=session, permission="cases.dispatch", region_code=case.region_code),
        kind="case_returned",
        title="Case {number} was returned",
        body="{category}: dispatch it again",
    )


def _who_acts(session: Session, case: CaseNotice) -> list[int]:
    """Who moves the case on from its state: the department's handlers while it is theirs, the
    inspectors and grid workers covering it while it waits for verification, else the dispatchers."""
    if case.state in ("dispatched", "handling") and case.department_id is not None:
        return service.people_with(
            session=session, permission="cases.handle", department_id=case.department_id
        )
    perm = "cases.verify" if case.state == "handled" else "cases.dispatch"
    return service.people_with(session=session, permission=perm, region_code=case.region_code)


@events.subscriber("cases.CaseReminded")
def deadline_near(session: Session, event: Event) -> None:
    case = cases.notice_of(session=session, case_id=int(event.payload["case_id"]))
    if case is None or not _still(case, (str(event.payload.get("state", "")),)):
        return
    _post_about(
        session,
        event,
        case,
        _who_acts(session, case),
        kind="deadline_near",
        title="Case {number} is nearly due",
        body="{category}: most of this stage's time is used",
    )


@events.subscriber("cases.CaseEscalated")
def case_escalated(session: Session, event: Event) -> None:
    """Overdue and escalated: to who acts on it and to the dispatchers who follow it up."""
    case = cases.notice_of(session=session, case_id=int(event.payload["case_id"]))
    if case is None or not case.is_open:
        return
    people = set(_who_acts(session, case)) | set(
        service.people_with(session=session, permission="cases.dispatch", region_code=case.region_code)
    )
    service.post(
        session=session,
        user_ids=people,
        kind="case_escalated",
        title="Case {number} is overdue and was escalated",
        body="{category}: escalated to the {level} level",
        params={
            "number": case.number,
            "category": case.category_name,
            "level": event.payload.get("level", ""),
        },
        link=_case_link(case.id),
        dedupe_key=f"event:{event.id}",
    )


@events.subscriber("cases.CaseClosed")
def case_closed(session: Session, event: Event) -> None:
    """The callback to the reporter (回访): in their message centre when they have an account, and
    through the outbound channel (SMS gateway, 政务微信, email; the log by default) in any case."""
    case = cases.notice_of(session=session, case_id=int(event.payload["case_id"]))
    if case is None or (case.reporter_user_id is None and not case.reporter_phone):
        return
    title, body = (
        "Your report {number} was handled",
        "{category}: the case is closed. Please rate the handling.",
    )
    params = {"number": case.number, "category": case.category_name}
    if case.reporter_user_id is not None:
        service.post(
            session=session,
            user_ids=[case.reporter_user_id],
            kind="case_closed",
            title=title,
            body=body,
            params=params,
            link=_case_link(case.id),
            dedupe_key=f"event:{event.id}",
        )
    phone, name = case.reporter_phone, case.reporter_name
    if case.reporter_user_id is not None and not phone:
        user = identity.get_user(session=session, id=case.reporter_user_id)
        phone, name = user.phone or "", name or user.display_name
    # the message leaves in the default language: a text message has no reader's locale to follow
    channels.configured_channel().send(
        channels.Recipient(user_id=case.reporter_user_id, name=name, phone=phone),
        channels.OutboundMessage(
            kind="case_closed",
            title=service.render_text(title, params),
            body=service.render_text(body, params),
            link=_case_link(case.id),
        ),
    )


@events.subscriber("catalog.AccessDecided")
def request_answered(session: Session, event: Event) -> None:
    """An access request was approved or refused: to the person who asked."""
    req = catalog.request_notice(session=session, request_id=int(event.payload["id"]))
    if req is None or req["consumer_user_id"] is None:
        return
    approved = req["state"] == "approved"
    service.post(
        session=session,
        user_ids=[req["consumer_user_id"]],
        kind="request_answered",
        title="Your request for {resource} was approved"
        if approved
        else "Your request for {resource} was refused",
        body="" if approved else "Reason: {reason}",
        params={"resource": req["resource_name"], "reason": req["reason"]},
        link="/catalog/requests?box=outgoing",
        dedupe_key=f"event:{event.id}",
    )


@events.subscriber("catalog.AccessRequestOverdue")
def request_overdue(session: Session, event: Event) -> None:
    """A request unanswered past its deadline: to the data bureau, which follows it up."""
    req = catalog.request_notice(session=session, request_id=int(event.payload["id"]))
    if req is None:
        return
    service.post(
        session=session,
        user_ids=service.people_with(session=session, permission="catalog.admin"),
        kind="request_overdue",
        title="A request for {resource} is overdue",
        body="The providing department has not answered within the time limit",
        params={"resource": req["resource_name"]},
        link="/catalog/requests?box=escalated",
        dedupe_key=f"event:{event.id}",
    )


@events.subscriber("catalog.ResourceStale")
def data_stale(session: Session, event: Event) -> None:
    """A resource missed its update cycle: to the stewards the catalog named in the event."""
    ids = []
    for username in event.payload.get("stewards", []):
        try:
            ids.append(identity.get_user(session=session, username=username).id)
        except NotFound:  # a steward removed since: the others still get it
            continue
    code = str(event.payload.get("code", ""))
    service.post(
        session=session,
        user_ids=ids,
        kind="data_stale",
        title="{resource} is out of date",
        body="It has not been loaded within its update cycle",
        params={"resource": event.payload.get("name", code)},
        link="/catalog?stale=true",
        dedupe_key=f"event:{event.id}",
    )
