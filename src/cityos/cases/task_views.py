"""Tasks sent to grid workers, on the pages and over the API: the worker's task list on the phone
(answer with a result, a note and a photo; the case page's form to send one is in views.py), and
/api/v1/cases/{id}/tasks, /api/v1/cases/tasks. Mounted before /cases/{case_id} by views.py and
api.py."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi import Path as PathParam
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from cityos.cases import attachments, service
from cityos.cases.schemas import ID_MAX, TASK_RESULTS, TaskAnswerIn, TaskIn, TaskOut
from cityos.core.errors import Invalid
from cityos.identity.permissions import has
from cityos.identity.schemas import Principal
from cityos.web.deps import Require, RequirePage, get_session
from cityos.web.forms import attempt, chosen_files, read_upload
from cityos.web.templating import render

router = APIRouter()
api_router = APIRouter()
CaseId = Annotated[int, PathParam(ge=1, le=ID_MAX)]
TaskId = Annotated[int, PathParam(ge=1, le=ID_MAX)]
# the stage a task's photo is filed under on the case: what the worker found before / after handling
PHOTO_STAGE = {"verify_report": "before", "recheck": "after"}


@router.get("/tasks")
def task_list(
    request: Request,
    session: Session = Depends(get_session, scope="function"),
    p: Principal = Depends(RequirePage("cases.read")),
) -> Response:
    return _task_page(request, session, p)


def _task_page(
    request: Request, session: Session, p: Principal, error: str | None = None, status: int = 200
) -> Response:
    mine = has(p, "cases.answer_task")
    items = service.tasks(session=session, actor=p, mine=mine, limit=100)
    return render(
        request,
        "cases/tasks.html",
        {"items": items, "mine": mine, "results": TASK_RESULTS, "error": error},
        status_code=status,
    )


@router.post("/tasks/{task_id}/answer")
def answer_page(
    request: Request,
    task_id: TaskId,
    result: str = Form(""),
    note: str = Form(""),
    photo: list[UploadFile] = File(default=[]),
    session: Session = Depends(get_session, scope="function"),
    p: Principal = Depends(RequirePage("cases.answer_task")),
) -> Response:
    files = chosen_files(photo)

    def answer() -> TaskOut:
        task = next((t for t in service.tasks(session=session, actor=p, mine=True) if t.id == task_id), None)
        attachment_id = None
        if task is not None and files:  # the photo and the answer together: a refused one adds neither
            attachment_id = attachments.add_attachment(
                session=session,
                actor=p,
                case_id=task.case_id,
                stage=PHOTO_STAGE[task.kind],
                filename=files[0].filename or "",
                data=read_upload(files[0]),
            ).id
        try:
            body = TaskAnswerIn(result=result, note=note, attachment_id=attachment_id)
        except ValueError:
            raise Invalid("Choose a result", field="result", code="bad_result") from None
        return service.answer_task(session=session, actor=p, task_id=task_id, answer=body)

    _r, err, status = attempt(session, answer)
    if err:
        return _task_page(request, session, p, error=err, status=status)
    return RedirectResponse("/cases/tasks", status_code=303)


# ---------------------------------------------------------------- JSON


@api_router.get("/tasks", response_model=list[TaskOut])
def api_tasks(
    mine: bool = False,
    state: str | None = Query(None, pattern="^(open|answered)$"),
    session: Session = Depends(get_session, scope="function"),
    p: Principal = Depends(Require("cases.read")),
) -> list[TaskOut]:
    """Tasks about the cases the caller may see (`mine`: those sent to the caller), open first."""
    return service.tasks(session=session, actor=p, mine=mine, state=state)


@api_router.post("/tasks/{task_id}/answer", response_model=TaskOut)
def api_answer(
    task_id: TaskId,
    body: TaskAnswerIn,
    session: Session = Depends(get_session, scope="function"),
    p: Principal = Depends(Require("cases.answer_task")),
) -> TaskOut:
    """The assignee's answer. A recheck `passed` verifies the case, `failed` orders rework (a note is
    required); `attachment_id` is a photo already attached to the case."""
    return service.answer_task(session=session, actor=p, task_id=task_id, answer=body)


@api_router.get("/{case_id}/tasks", response_model=list[TaskOut])
def api_case_tasks(
    case_id: CaseId,
    session: Session = Depends(get_session, scope="function"),
    p: Principal = Depends(Require("cases.read")),
) -> list[TaskOut]:
    service.get_case(session=session, actor=p, case_id=case_id)  # 404 outside the caller's scope
    return service.tasks(session=session, actor=p, case_id=case_id)


@api_router.post("/{case_id}/tasks", response_model=TaskOut, status_code=201)
def api_send(
    case_id: CaseId,
    body: TaskIn,
    session: Session = Depends(get_session, scope="function"),
    p: Principal = Depends(Require("cases.send_task")),
) -> TaskOut:
    """Send a grid worker who covers the case a task: `verify_report` (核实) while the case waits to be
    filed, `recheck` (核查) once it was reported back. Due within the category's verify limit."""
    return service.send_task(session=session, actor=p, case_id=case_id, task=body)
