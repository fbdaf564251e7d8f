"""The services module's JSON routes under /api/v1/services (items, applications, licenses,
ratings, queue) — reads narrowed by policy.visible, writes by permission. The public routes (the
license verification API, the trust list, OpenID Connect) are in public.py."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Query, UploadFile
from fastapi import Path as PathParam
from fastapi.responses import Response
from sqlalchemy.orm import Session

from cityos.identity.schemas import Principal
from cityos.services import service
from cityos.services.schemas import (
    ApplicationOut,
    ApplyIn,
    DecisionIn,
    ItemIn,
    ItemOut,
    LicenseOut,
    LookupIn,
    RatingIn,
    RatingOut,
    ReturnIn,
    TicketOut,
)
from cityos.web.deps import Require, authenticated, get_session
from cityos.web.forms import read_upload

router = APIRouter(prefix="/api/v1/services", tags=["services"])
S = Depends(get_session, scope="function")
TicketId = Annotated[int, PathParam(ge=1, le=2**63 - 1)]  # BIGINT ids; a larger one cannot exist
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get("/items", response_model=list[ItemOut])
def items(q: str | None = Query(None, max_length=100), session: Session = S) -> list[ItemOut]:
    """The 事项清单 (public: it is the service guide)."""
    return service.items(session=session, query=q)


@router.get("/items/{code}", response_model=ItemOut)
def item(code: str, session: Session = S) -> ItemOut:
    return service.get_item(session=session, code=code)


@router.put("/items/{code}", response_model=ItemOut)
def save_item(
    code: str, body: ItemIn, session: Session = S, p: Principal = Depends(Require("services.manage"))
) -> ItemOut:
    return service.save_item(session=session, actor=p, data=body.model_copy(update={"code": code}))


@router.get("/items.xlsx")
def export_items(session: Session = S, p: Principal = Depends(Require("services.manage"))) -> Response:
    return Response(
        service.export_workbook(session=session),
        media_type=XLSX,
        headers={"Content-Disposition": 'attachment; filename="items.xlsx"'},
    )


@router.post("/items.xlsx")
def import_items(
    file: UploadFile = File(...), session: Session = S, p: Principal = Depends(Require("services.manage"))
) -> dict[str, int]:
    """All or nothing: 422 `bad_cell` names the sheet, row and column of the first bad cell."""
    return {"items": service.import_workbook(session=session, actor=p, data=read_upload(file))}


@router.post("/applications", response_model=ApplicationOut, status_code=201)
def apply(body: ApplyIn, session: Session = S, p: Principal = Depends(authenticated)) -> ApplicationOut:
    """Apply online (services.apply), or at the window for an applicant (services.window, when
    `applicant_code` names someone else)."""
    from cityos.identity.permissions import has

    if has(p, "services.window") and not has(p, "services.apply"):
        return service.submit_at_window(session=session, actor=p, data=body)
    return service.submit(session=session, actor=p, data=body)


@router.get("/applications", response_model=list[ApplicationOut])
def applications(
    state: str | None = Query(None, max_length=12),
    q: str | None = Query(None, max_length=60),
    mine: bool = False,
    before: int | None = Query(None, ge=1),
    limit: int = Query(50, ge=1, le=200),
    session: Session = S,
    p: Principal = Depends(authenticated),
) -> list[ApplicationOut]:
    return service.search(session=session, actor=p, state=state, q=q, mine=mine, before=before, limit=limit)


@router.get("/applications/{number}", response_model=ApplicationOut)
def application(number: str, session: Session = S, p: Principal = Depends(authenticated)) -> ApplicationOut:
    return service.get_application(session=session, actor=p, number=number)


@router.post("/applications/{number}/accept", response_model=ApplicationOut)
def accept(
    number: str, session: Session = S, p: Principal = Depends(Require("services.window"))
) -> ApplicationOut:
    return service.accept(session=session, actor=p, number=number)


@router.post("/applications/{number}/return", response_model=ApplicationOut)
def return_once(
    number: str, body: ReturnIn, session: Session = S, p: Principal = Depends(Require("services.window"))
) -> ApplicationOut:
    return service.return_once(session=session, actor=p, number=number, data=body)


@router.post("/applications/{number}/supplement", response_model=ApplicationOut)
def supplement(
    number: str, uploads: dict[int, str], session: Session = S, p: Principal = Depends(authenticated)
) -> ApplicationOut:
    return service.supplement(session=session, actor=p, number=number, uploads=uploads)


@router.post("/applications/{number}/decision", response_model=ApplicationOut)
def decide(
    number: str, body: DecisionIn, session: Session = S, p: Principal = Depends(Require("services.review"))
) -> ApplicationOut:
    return service.decide(session=session, actor=p, number=number, data=body)


@router.post("/applications/{number}/issue", response_model=ApplicationOut)
def issue(
    number: str, session: Session = S, p: Principal = Depends(Require("services.window"))
) -> ApplicationOut:
    return service.issue_result(session=session, actor=p, number=number)


@router.post("/applications/{number}/rating", response_model=RatingOut, status_code=201)
def rate(
    number: str, body: RatingIn, session: Session = S, p: Principal = Depends(Require("services.apply"))
) -> RatingOut:
    return service.rate(session=session, actor=p, number=number, data=body)


@router.get("/wallet", response_model=list[LicenseOut])
def wallet(session: Session = S, p: Principal = Depends(authenticated)) -> list[LicenseOut]:
    return service.wallet(session=session, actor=p)


@router.post("/licenses/lookup", response_model=LicenseOut)
def lookup(
    body: LookupIn, session: Session = S, p: Principal = Depends(Require("services.licenses"))
) -> LicenseOut:
    """Another department reads a license: the reason is required and audited."""
    return service.lookup(session=session, actor=p, identifier=body.identifier, reason=body.reason)


@router.get("/statistics")
def statistics(session: Session = S, p: Principal = Depends(Require("services.stats"))) -> dict[str, Any]:
    return service.public_summary(session=session) | {"queue": service.figures(session=session)}


@router.get("/queue")
def queue(session: Session = S) -> list[dict[str, Any]]:
    """Today's figures per window type (the hall's screen): waiting, served, average minutes."""
    return service.figures(session=session)


@router.get("/queue/tickets/{ticket_id}", response_model=TicketOut)
def ticket(ticket_id: TicketId, session: Session = S) -> TicketOut:
    return service.ticket(session=session, ticket_id=ticket_id)


@router.post("/queue/tickets/{ticket_id}/done", response_model=TicketOut)
def finish_ticket(
    ticket_id: TicketId, session: Session = S, p: Principal = Depends(Require("services.window"))
) -> TicketOut:
    return service.finish(session=session, actor=p, ticket_id=ticket_id)


@router.post("/queue/{window_type}", response_model=TicketOut, status_code=201)
def take_ticket(window_type: str, session: Session = S) -> TicketOut:
    return service.take(session=session, window_type=window_type)


@router.post("/queue/{window_type}/next", response_model=TicketOut)
def call_next(
    window_type: str,
    window: str = Query(..., min_length=1, max_length=20),
    session: Session = S,
    p: Principal = Depends(Require("services.window")),
) -> TicketOut:
    return service.call_next(session=session, actor=p, window_type=window_type, window=window)
