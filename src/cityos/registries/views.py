"""Registries pages: /registries (the base registries, their provenance, a record lookup, the
figures), /registries/discrepancies (the department's inbox), /registries/checks (list, editor and
dry run), /registries/tasks (核查任务), /registries/mine (one's own record and objections).
Writes are plain forms (CSRF-checked by the app)."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from cityos.catalog import service as catalog
from cityos.core.errors import CityOSError, Invalid
from cityos.identity import service as identity
from cityos.identity.permissions import has
from cityos.identity.schemas import Principal
from cityos.registries import service
from cityos.registries.schemas import ID_MAX
from cityos.web.deps import RequirePage, get_session
from cityos.web.templating import NavItem, render

router = APIRouter(prefix="/registries", include_in_schema=False)
S = Depends(get_session, scope="function")
NAV = [
    NavItem("Base registries", "/registries", perm="registries.view", order=46),
    NavItem("Verification tasks", "/registries/tasks", perm="registries.tasks", order=47),
    NavItem("My data", "/registries/mine", perm="registries.object", order=48),
]


def _depts(session: Session) -> dict[int, str]:
    return {d.id: d.name for d in identity.departments(session=session)}


def _names(session: Session) -> dict[str, Any]:
    """Names where codes are stored: resources, departments and registry fields."""
    rnames = {}
    for code in service.bindings(session=session).values():
        try:
            rnames[code] = catalog.get_resource(session=session, code=code).name
        except CityOSError:
            continue
    titles = {f"{r.code}.{f.name}": f.title for r in service.REGISTRIES.values() for f in r.fields}
    return {
        "rnames": rnames,
        "dept_names": {d.code: d.name for d in identity.departments(session=session)},
        "titles": titles,
    }


@router.get("")
def overview(
    request: Request,
    registry: str = Query("population", pattern=r"^[a-z_]{2,20}$"),
    key: str = Query("", max_length=18),
    session: Session = S,
    p: Principal = Depends(RequirePage("registries.view")),
) -> Response:
    record, error = None, None
    if key.strip():
        try:
            record = service.record(session=session, actor=p, code=registry, key=key.strip().upper())
        except CityOSError as exc:
            error = exc
    latest = {c: service.latest_version(session=session, code=c) for c in service.REGISTRIES}
    return render(
        request,
        "registries/overview.html",
        {
            "registries": service.REGISTRIES,
            "latest": latest,
            "registry": registry,
            "key": key,
            "record": record,
            "error": error,
            "stats": service.statistics(session=session, actor=p),
            "depts": _depts(session),
            "can_build": has(p, "registries.build"),
            **_names(session),
        },
    )


@router.post("/{code}/build")
def build(
    code: Annotated[str, PathParam(pattern=r"^[a-z_]{2,20}$")],
    session: Session = S,
    p: Principal = Depends(RequirePage("registries.build")),
) -> Response:
    service.build(session=session, actor=p, code=code)
    return RedirectResponse("/registries", status_code=303)


@router.get("/discrepancies")
def inbox(
    request: Request,
    state: str = Query("open", pattern=r"^(open|corrected|disputed|accepted|closed|)$"),
    session: Session = S,
    p: Principal = Depends(RequirePage("registries.view")),
) -> Response:
    items = service.discrepancies(session=session, actor=p, state=state or None)
    return render(
        request,
        "registries/discrepancies.html",
        {
            "items": items,
            "state": state,
            "depts": _depts(session),
            "can_answer": has(p, "registries.answer"),
            "can_arbitrate": has(p, "registries.admin"),
            **_names(session),
        },
    )


@router.post("/discrepancies/{discrepancy_id}/answer")
def answer(
    discrepancy_id: Annotated[int, PathParam(ge=1, le=ID_MAX)],
    answer: str = Form(...),
    reason: str = Form(""),
    session: Session = S,
    p: Principal = Depends(RequirePage("registries.answer")),
) -> Response:
    service.answer(session=session, actor=p, discrepancy_id=discrepancy_id, answer=answer, reason=reason)
    return RedirectResponse("/registries/discrepancies", status_code=303)


@router.post("/discrepancies/{discrepancy_id}/arbitration")
def arbitrate(
    discrepancy_id: Annotated[int, PathParam(ge=1, le=ID_MAX)],
    uphold: str = Form(...),
    reason: str = Form(""),
    session: Session = S,
    p: Principal = Depends(RequirePage("registries.admin")),
) -> Response:
    service.arbitrate(
        session=session, actor=p, discrepancy_id=discrepancy_id, uphold=uphold == "yes", reason=reason
    )
    return RedirectResponse("/registries/discrepancies?state=disputed", status_code=303)


@router.get("/tasks")
def task_list(
    request: Request,
    state: str = Query("open", pattern=r"^(open|confirmed|not_confirmed|data_error|)$"),
    session: Session = S,
    p: Principal = Depends(RequirePage("registries.tasks")),
) -> Response:
    items = service.tasks(session=session, actor=p, state=state or None)
    checks = {c.code: c for c in service.checks(session=session)}
    return render(
        request,
        "registries/tasks.html",
        {
            "items": items,
            "state": state,
            "checks": checks,
            "bindings": service.bindings(session=session),
            **_names(session),
        },
    )


@router.post("/tasks/{task_id}/decision")
def decide(
    task_id: Annotated[int, PathParam(ge=1, le=ID_MAX)],
    outcome: str = Form(...),
    note: str = Form(""),
    resource: str = Form(""),
    field: str = Form(""),
    session: Session = S,
    p: Principal = Depends(RequirePage("registries.tasks")),
) -> Response:
    service.decide(
        session=session,
        actor=p,
        task_id=task_id,
        outcome=outcome,
        note=note,
        wrong_binding_code=resource or None,
        wrong_field=field or None,
    )
    return RedirectResponse("/registries/tasks", status_code=303)


@router.get("/checks")
def check_list(
    request: Request,
    edit: str = Query("", max_length=40),
    session: Session = S,
    p: Principal = Depends(RequirePage("registries.view")),
) -> Response:
    items = service.checks(session=session)
    chosen = next((c for c in items if c.code == edit), None)
    return render(
        request,
        "registries/checks.html",
        {
            "items": items,
            "chosen": chosen,
            "depts": _depts(session),
            "dept_codes": {d.id: d.code for d in identity.departments(session=session)},
            "result": None,
            "can_edit": has(p, "registries.checks"),
        },
    )


def _edited(code: str, form_data: dict[str, str]) -> service.CheckDef:
    """The definition as typed in the editor (resources, fields and form are JSON)."""
    try:
        res = json.loads(form_data["resources"] or "{}")
        cond = json.loads(form_data["conditions"] or "{}")
    except json.JSONDecodeError:
        raise Invalid(
            "Resources and fields must be JSON objects", field="resources", code="bad_json"
        ) from None
    form = None
    if form_data["form"].strip():
        try:
            form = json.loads(form_data["form"])
        except json.JSONDecodeError:
            form = None
        if not isinstance(form, dict):
            raise Invalid("The check form must be a JSON object", field="form", code="bad_json")
    return service.CheckDef(
        code=code,
        name=form_data["name"],
        legal_basis=form_data["legal_basis"],
        owner=form_data["owner"],
        resources=res,
        conditions=cond,
        sql=form_data["sql"],
        form=form,
    )


@router.post("/checks/{code}")
def check_save_or_run(
    request: Request,
    code: Annotated[str, PathParam(pattern=r"^[A-Z][A-Z0-9_]{2,39}$")],
    action: str = Form("dry_run", pattern=r"^(dry_run|save|run)$"),
    name: str = Form(""),
    legal_basis: str = Form(""),
    owner: str = Form(""),
    resources: str = Form("{}"),
    conditions: str = Form("{}"),
    sql: str = Form(""),
    form: str = Form("", max_length=20_000),
    sample: int = Form(100, ge=1, le=100_000),
    session: Session = S,
    p: Principal = Depends(RequirePage("registries.checks")),
) -> Response:
    """save: store the definition as edited; dry_run: run the definition as edited (unsaved) on the
    first `sample` rows of each part, creating nothing; run: run the stored check (hits become
    tasks)."""
    typed = {
        "name": name,
        "legal_basis": legal_basis,
        "owner": owner,
        "resources": resources,
        "conditions": conditions,
        "sql": sql,
        "form": form,
    }
    result: dict[str, Any] | None = None
    if action == "run":
        result = service.execute(session=session, actor=p, code=code, engine="duckdb")
    else:
        data = _edited(code, typed)
        owner_dept = identity.get_department(session=session, code=owner)
        if action == "save":
            service.save(session=session, actor=p, data=data, owner_department_id=owner_dept.id)
            return RedirectResponse(f"/registries/checks?edit={code}", status_code=303)
        result = service.dry_run(
            session=session, actor=p, data=data, owner_department_id=owner_dept.id, sample=sample
        )
    items = service.checks(session=session)
    return render(
        request,
        "registries/checks.html",
        {
            "items": items,
            "chosen": next((c for c in items if c.code == code), None),
            "typed": typed if action != "run" else None,
            "depts": _depts(session),
            "dept_codes": {d.id: d.code for d in identity.departments(session=session)},
            "result": result,
            "can_edit": True,
        },
    )


@router.get("/mine")
def mine(
    request: Request,
    registry: str = Query("population", pattern=r"^(population|legal_entities)$"),
    key: str = Query("", max_length=18),
    session: Session = S,
    p: Principal = Depends(RequirePage("registries.object")),
) -> Response:
    """数据异议: the signed-in person's own record (or an enterprise they represent), each field with
    its source, and their objections with the answers. The key only chooses among their own."""
    subjects: dict[str, list[str]] = {}
    record, error = None, None
    try:
        subjects = service.own_subjects(session=session, actor=p)
        keys = subjects.get(registry, [])
        chosen = key.strip().upper() or (keys[0] if keys else "")
        if chosen:
            record = service.own_record(session=session, actor=p, code=registry, key=chosen)
    except CityOSError as exc:
        error = exc
    return render(
        request,
        "registries/mine.html",
        {
            "registry": registry,
            "registries": service.REGISTRIES,
            "subjects": subjects,
            "record": record,
            "error": error,
            "items": service.my_objections(session=session, actor=p),
            "titles": _names(session)["titles"],
        },
    )


@router.post("/mine/objections")
def object_to(
    registry: str = Form(..., pattern=r"^(population|legal_entities)$"),
    key: str = Form(..., max_length=18),
    field: str = Form(..., max_length=60),
    reason: str = Form(""),
    session: Session = S,
    p: Principal = Depends(RequirePage("registries.object")),
) -> Response:
    key = key.strip().upper()
    service.object_to(session=session, actor=p, code=registry, key=key, field=field, reason=reason)
    return RedirectResponse(f"/registries/mine?registry={registry}&key={key}", status_code=303)
