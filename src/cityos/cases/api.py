"""Cases JSON API (/api/v1/cases): report, list in the caller's scope, read, timeline, act, attach
photos and files."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, File, Form, Query, UploadFile
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from cityos.cases import attachments, evaluation, export, service
from cityos.cases.admin_views import api_router as consoles_api
from cityos.cases.attachments import EXTENSIONS
from cityos.cases.filters import CaseFilter, list_arguments
from cityos.cases.schemas import (
    DB_INT_MAX,
    ID_MAX,
    AttachmentOut,
    CaseOut,
    CategoryOut,
    ReportIn,
    TimelineEntry,
)
from cityos.cases.task_views import api_router as tasks_api
from cityos.core.errors import Invalid
from cityos.identity import service as identity
from cityos.identity.schemas import Principal
from cityos.web.deps import Require, get_session
from cityos.web.forms import read_upload

router = APIRouter(prefix="/api/v1/cases", tags=["cases"])
router.include_router(consoles_api)  # the map's points, nearby open cases: before /{case_id}
router.include_router(tasks_api)  # the grid workers' tasks: /tasks before /{case_id}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Ids past what an id column holds are refused as invalid input (422), not sent to SQL.
CaseId = Annotated[int, PathParam(ge=1, le=ID_MAX)]
AttachmentId = Annotated[int, PathParam(ge=1, le=ID_MAX)]


class CasePage(BaseModel):
    total: int = Field(description="exact when total_exact; else the count stopped there: at least this many")
    total_exact: bool = True
    next_after: str | None = Field(None, description="pass as `after` for the next page; null on the last")
    items: list[CaseOut]


class TransitionIn(BaseModel):
    action: str
    reason: str = Field("", max_length=2000)
    expected_version: int | None = Field(None, ge=0, le=DB_INT_MAX)
    department_code: str | None = Field(None, max_length=40)
    hours: float | None = Field(None, allow_inf_nan=False)


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
    f: Annotated[CaseFilter, Query()],
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0, le=DB_INT_MAX),
    after: str | None = Query(None, max_length=40, description="keyset cursor: the last page's next_after"),
    session: Session = Depends(get_session, scope="function"),
    p: Principal = Depends(Require("cases.read")),
) -> CasePage:
    """Newest first, filtered by cases.filters.CaseFilter (the list page's and the export's filter).
    Page with `after` (each page's `next_after`: as fast on page 10,000 as on page 1) or with
    `offset`. `total` counts up to 10,000 cases; beyond that `total_exact` is false."""
    page = service.list_cases(
        session=session, actor=p, **list_arguments(f, p), limit=limit, offset=offset, after=after
    )
    return CasePage(
        total=page.total, total_exact=page.total_exact, next_after=page.next_after, items=page.items
    )


@router.get("/export.xlsx", response_class=Response)
def list_cases_xlsx(
    f: Annotated[CaseFilter, Query()],
    session: Session = Depends(get_session, scope="function"),
    p: Principal = Depends(Require("cases.view")),
) -> Response:
    """The same list as `GET /api/v1/cases` with the same filter, every page, as an Excel sheet
    (Chinese headers; at most 20,000 cases, past that 422 `export_too_large`)."""
    cases = export.export_cases(session=session, actor=p, filters=f)
    return Response(
        export.to_xlsx(session=session, cases=cases),
        media_type=XLSX,
        headers={"Content-Disposition": 'attachment; filename="cases.xlsx"'},
    )


class ScoreOut(BaseModel):
    score: float = Field(description="0–100")
    grade: str = Field(description="A ≥ 90, B ≥ 75, C ≥ 60, D ≥ 40, E below")


# An object per score, not a [score, grade] pair: a tuple becomes a JSON Schema `prefixItems`,
# which OpenAPI 3.0 tools and client generators do not read.
class WorkerOut(BaseModel):
    """One grid worker's attendance, patrols, reports on patrol and tasks over the period."""

    user_id: int
    name: str
    figures: dict[str, float]
    on_time_rate: float | None


class EvaluationOut(BaseModel):
    start: datetime
    end: datetime
    scope: str
    counts: dict[str, int]
    rates: dict[str, float | None]
    scores: dict[str, ScoreOut | None]
    formulas: dict[str, str]
    workers: list[WorkerOut] | None = Field(
        None,
        description="the grid workers' figures, over at most the period's last 366 days (patrol supervisors)",
    )


FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(9998, 12, 31)  # a period the calendar can count in


def _evaluation(
    session: Session, p: Principal, start: date, end: date, region: str | None, department: str | None
) -> evaluation.Evaluation:
    if not FIRST_DAY <= start <= end <= LAST_DAY:
        raise Invalid(
            "The period must start before it ends, within 2000–9998", field="start", code="bad_period"
        )
    tz = ZoneInfo("Asia/Shanghai")
    dept_id = identity.get_department(session=session, code=department).id if department else None
    return evaluation.evaluate(
        session=session,
        actor=p,
        start=datetime.combine(start, time(0), tz),
        end=datetime.combine(end, time(0), tz) + timedelta(days=1),
        region=region,
        department_id=dept_id,
        with_workers=True,
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
        scores={k: None if v is None else ScoreOut(score=v[0], grade=v[1]) for k, v in ev.scores.items()},
        formulas={**evaluation.FORMULAS, **evaluation.SCORES, **evaluation.WORKER_FORMULAS},
        workers=None
        if ev.workers is None
        else [
            WorkerOut(user_id=w.user_id, name=w.name, figures=w.figures, on_time_rate=w.on_time_rate)
            for w in ev.workers
        ],
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
    case_id: CaseId,
    session: Session = Depends(get_session, scope="function"),
    p: Principal = Depends(Require("cases.read")),
) -> CaseOut:
    return service.get_case(session=session, actor=p, case_id=case_id)


@router.get("/{case_id}/timeline", response_model=list[TimelineEntry])
def timeline(
    case_id: CaseId,
    session: Session = Depends(get_session, scope="function"),
    p: Principal = Depends(Require("cases.read")),
) -> list[TimelineEntry]:
    return service.timeline(session=session, actor=p, case_id=case_id)


@router.post("/{case_id}/transitions", response_model=CaseOut)
def transition(
    case_id: CaseId,
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


@router.get("/{case_id}/attachments", response_model=list[AttachmentOut])
def list_attachments(
    case_id: CaseId,
    session: Session = Depends(get_session, scope="function"),
    p: Principal = Depends(Require("cases.read")),
) -> list[AttachmentOut]:
    """The case's photos, documents and links, for the reporter and staff who may see the case."""
    return attachments.attachments(session=session, actor=p, case_id=case_id)


@router.post("/{case_id}/attachments", response_model=list[AttachmentOut], status_code=201)
def add_attachments(
    case_id: CaseId,
    files: list[UploadFile] = File(
        ..., description="JPEG, PNG, WebP or PDF; the type is read from the bytes"
    ),
    stage: str = Form("before", description="before | after | other"),
    session: Session = Depends(get_session, scope="function"),
    p: Principal = Depends(Require("cases.read")),
) -> list[AttachmentOut]:
    """Attach one or more files (multipart field `files`). Too large: 413 `file_too_large`; not a
    photo or PDF: 422 `file_type_not_allowed`. The same bytes twice on one stage are one attachment."""
    return [
        attachments.add_attachment(
            session=session,
            actor=p,
            case_id=case_id,
            stage=stage,
            filename=f.filename or "",
            data=read_upload(f),
        )
        for f in files
    ]


@router.get("/{case_id}/attachments/{attachment_id}/file")
def attachment_file(
    case_id: CaseId,
    attachment_id: AttachmentId,
    rendition: str = Query("original", description="original (as uploaded) | public (no EXIF)"),
    session: Session = Depends(get_session, scope="function"),
    p: Principal = Depends(Require("cases.read")),
) -> Response:
    """The file as uploaded (GPS and all, for people who may see the case), or the photo's public
    rendition without metadata."""
    att, path = attachments.open_attachment(
        session=session, actor=p, case_id=case_id, attachment_id=attachment_id, rendition=rendition
    )
    return file_response(att, path, cache="private, max-age=3600")


def file_response(att: AttachmentOut, path: Path, *, cache: str) -> FileResponse:
    """Send a stored file with the type found in its bytes: photos inline, documents as downloads,
    under a sandboxing CSP so nothing in the file runs as this site."""
    name = att.filename or f"{att.id}.{EXTENSIONS.get(att.media_type, 'bin')}"
    ascii_name = name.encode("ascii", "ignore").decode().replace('"', "") or f"{att.id}"
    disposition = "inline" if att.is_image else "attachment"
    disposition += f"; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"
    return FileResponse(
        path,
        media_type=att.media_type,
        headers={
            "Content-Disposition": disposition,
            "Cache-Control": cache,
            "Content-Security-Policy": "default-src 'none'; img-src 'self'; sandbox",
        },
    )
