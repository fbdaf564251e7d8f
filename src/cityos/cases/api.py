"""Cases JSON API (/api/v1/cases): report, list in the caller's scope, read, timeline, act."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from cityos.cases import evaluation, service
from cityos.cases.admin_views import api_router as consoles_api
from cityos.cases.schemas import CaseOut, CategoryOut, ReportIn, TimelineEntry
from cityos.identity import service as identity
from cityos.identity.schemas import Principal
from cityos.web.deps import Require, get_session

router = APIRouter(prefix="/api/v1/cases", tags=["cases"])
router.include_router(consoles_api)  # the map's points, nearby open cases: before /{case_id}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class CasePage(BaseModel):
    total: int
    items: list[CaseOut]


class TransitionIn(BaseModel):
    action: str
    reason: str = Field("", max_length=2000)
    expected_version: int | None = None
    department_code: str | None = None
    hours: float | None = None


@router.get("/categories", response_model=list[CategoryOut])
def categories(
    session: Session = Depends(get_session, scope="function"),
    _p: Principal = Depends(Require("cases.report")),
) -> list[CategoryOut]:
    return service.categories(session=session)


@router.post("", response_model=CaseOut, status_code=201)
def report(
    body: ReportIn,
    session: Session = Depends(get_session, scope="function"),
    p: Principal = Depends(Require("cases.report")),
) -> CaseOut:
    return service.report_case(session=session, actor=p, report=body)


@router.get("", response_model=CasePage)
def list_cases(
    state: str | None = None,
    category: str | None = None,
    channel: str | None = None,
    region: str | None = None,
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0),
    session: Session = Depends(get_session, scope="function"),
    p: Principal = Depends(Require("cases.view")),
) -> CasePage:
    items, total = service.list_cases(
        session=session,
        actor=p,
        state=state,
        category_code=category,
        channel=channel,
        region=region,
        limit=limit,
        offset=offset,
    )
    return CasePage(total=total, items=items)


class EvaluationOut(BaseModel):
    start: datetime
    end: datetime
    scope: str
    counts: dict[str, int]
    rates: dict[str, float | None]
    scores: dict[str, tuple[float, str] | None]
    formulas: dict[str, str]


def _evaluation(
    session: Session, p: Principal, start: date, end: date, region: str | None, department: str | None
) -> evaluation.Evaluation:
    tz = ZoneInfo("Asia/Shanghai")
    dept_id = identity.get_department(session=session, code=department).id if department else None
    return evaluation.evaluate(
        session=session,
        actor=p,
        start=datetime.combine(start, time(0), tz),
        end=datetime.combine(end, time(0), tz) + timedelta(days=1),
        region=region,
        department_id=dept_id,
    )


@router.get("/evaluation", response_model=EvaluationOut)
def get_evaluation(
    start: date,
    end: date,
    region: str | None = None,
    department: str | None = None,
    session: Session = Depends(get_session, scope="function"),
    p: Principal = Depends(Require("cases.view")),
) -> EvaluationOut:
    """综合评价 for the days start..end (inclusive), a region and/or a handling department."""
    ev = _evaluation(session, p, start, end, region, department)
    return EvaluationOut(
        start=ev.start,
        end=ev.end,
        scope=ev.scope,
        counts=ev.counts,
        rates=ev.rates,
        scores=ev.scores,
        formulas={**evaluation.FORMULAS, **evaluation.SCORES},
    )


@router.get("/evaluation.xlsx")
def evaluation_xlsx(
    start: date,
    end: date,
    region: str | None = None,
    department: str | None = None,
    session: Session = Depends(get_session, scope="function"),
    p: Principal = Depends(Require("cases.view")),
) -> Response:
    ev = _evaluation(session, p, start, end, region, department)
    return Response(
        evaluation.to_xlsx(ev),
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="evaluation-{start}-{end}.xlsx"'},
    )


@router.get("/{case_id}", response_model=CaseOut)
def get_case(
    case_id: int,
    session: Session = Depends(get_session, scope="function"),
    p: Principal = Depends(Require("cases.view")),
) -> CaseOut:
    return service.get_case(session=session, actor=p, case_id=case_id)


@router.get("/{case_id}/timeline", response_model=list[TimelineEntry])
def timeline(
    case_id: int,
    session: Session = Depends(get_session, scope="function"),
    p: Principal = Depends(Require("cases.view")),
) -> list[TimelineEntry]:
    return service.timeline(session=session, actor=p, case_id=case_id)


@router.post("/{case_id}/transitions", response_model=CaseOut)
def transition(
    case_id: int,
    body: TransitionIn,
    session: Session = Depends(get_session, scope="function"),
    p: Principal = Depends(Require("cases.act")),
) -> CaseOut:
    """One step of the loop. Send the `version` you saw as `expected_version`: if someone else acted
    meanwhile the answer is 409 `stale_case`."""
    return service.transition(
        session=session,
        actor=p,
        case_id=case_id,
        action=body.action,
        reason=body.reason,
        expected_version=body.expected_version,
        department_code=body.department_code,
        hours=body.hours,
    )
