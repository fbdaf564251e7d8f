"""The registries' JSON routes under /api/v1: base registries (versions, a record with each field's
source), cross-checks (list, save, run or dry-run), 核查任务, discrepancies and their answers,
statistics. Every list is narrowed by the one rule in work.py; record fields by the share rules of
their source resources."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi import Path as PathParam
from sqlalchemy.orm import Session

from cityos.identity import service as identity
from cityos.identity.schemas import Principal
from cityos.registries import service
from cityos.registries.schemas import (
    ID_MAX,
    AnswerIn,
    ArbitrationIn,
    AssignIn,
    CheckIn,
    CheckOut,
    DiscrepancyOut,
    ObjectionIn,
    RegistryVersionOut,
    RunOut,
    TaskDecisionIn,
    TaskOut,
)
from cityos.web.deps import Require, get_session

router = APIRouter(prefix="/api/v1", tags=["registries"])
S = Depends(get_session, scope="function")
CODE = PathParam(pattern=r"^[A-Z][A-Z0-9_]{2,39}$")
# a fresh Path per parameter (one shared Path() object leaves the second name unresolved in OpenAPI)
IdPath = Annotated[int, PathParam(ge=1, le=ID_MAX)]


@router.get("/registries/{code}/versions", response_model=list[RegistryVersionOut])
def versions(
    code: str = PathParam(pattern=r"^[a-z_]{2,20}$"),
    session: Session = S,
    p: Principal = Depends(Require("registries.view")),
) -> Any:
    return service.versions(session=session, actor=p, code=code)


@router.post("/registries/{code}/build", response_model=RegistryVersionOut, status_code=201)
def build(
    code: str = PathParam(pattern=r"^[a-z_]{2,20}$"),
    session: Session = S,
    p: Principal = Depends(Require("registries.build")),
) -> Any:
    """Build a version under the caller's own department's grants; fields it may not read are absent."""
    return service.build(session=session, actor=p, code=code)


@router.get("/registries/{code}/records/{key}")
def record(
    code: str = PathParam(pattern=r"^[a-z_]{2,20}$"),
    key: str = PathParam(pattern=r"^[0-9A-Z]{15,18}$"),
    session: Session = S,
    p: Principal = Depends(Require("registries.view")),
) -> dict[str, Any]:
    return service.record(session=session, actor=p, code=code, key=key)


@router.get("/crosschecks", response_model=list[CheckOut])
def checks(session: Session = S, p: Principal = Depends(Require("registries.view"))) -> Any:
    return service.checks(session=session)


def _definition(code: str, body: CheckIn) -> service.CheckDef:
    """A check's definition as the editor sends it (saved, or dry-run unsaved)."""
    return service.CheckDef(
        code=code,
        name=body.name,
        legal_basis=body.legal_basis,
        owner=body.owner,
        resources=body.resources,
        conditions=body.conditions,
        sql=body.sql,
        due_days=body.due_days,
        schedule=body.schedule,
        form=body.form,
    )


@router.put("/crosschecks/{code}", response_model=CheckOut)
def save(
    body: CheckIn,
    code: str = CODE,
    session: Session = S,
    p: Principal = Depends(Require("registries.checks")),
) -> Any:
    owner = identity.get_department(session=session, code=body.owner)
    data = _definition(code, body)
    return service.save(session=session, actor=p, data=data, owner_department_id=owner.id)


@router.post("/crosschecks/{code}/dry-run", response_model=RunOut)
def dry_run(
    body: CheckIn,
    code: str = CODE,
    sample: int = Query(100, ge=1, le=100_000, description="rows read of each part"),
    session: Session = S,
    p: Principal = Depends(Require("registries.checks")),
) -> Any:
    """The editor's dry run: the definition in the body (SQL or form, saved or not) on a sample,
    read as the owner department; nothing is stored or created. `sql` in the answer is what ran."""
    owner = identity.get_department(session=session, code=body.owner)
    data = _definition(code, body)
    out = service.dry_run(session=session, actor=p, data=data, owner_department_id=owner.id, sample=sample)
    out["rows"] = out["rows"][:200]
    return out


@router.post("/crosschecks/{code}/run", response_model=RunOut)
def run(
    code: str = CODE,
    engine: str | None = Query(None, pattern=r"^(duckdb|spark)$"),
    sample: int | None = Query(None, ge=1, le=100_000, description="dry run on the first rows of each part"),
    session: Session = S,
    p: Principal = Depends(Require("registries.checks")),
) -> Any:
    out = service.execute(session=session, actor=p, code=code, engine=engine, sample=sample)
    out["rows"] = out["rows"][:200]
    return out


@router.get("/crosscheck-tasks", response_model=list[TaskOut])
def tasks(
    state: str | None = Query(None, pattern=r"^(open|confirmed|not_confirmed|data_error)$"),
    check: str | None = Query(None, max_length=40),
    session: Session = S,
    p: Principal = Depends(Require("registries.tasks")),
) -> Any:
    return service.tasks(session=session, actor=p, state=state, check=check)


@router.post("/crosscheck-tasks/{task_id}/decision", response_model=TaskOut)
def decide(
    body: TaskDecisionIn,
    task_id: IdPath,
    session: Session = S,
    p: Principal = Depends(Require("registries.tasks")),
) -> Any:
    return service.decide(
        session=session,
        actor=p,
        task_id=task_id,
        outcome=body.outcome,
        note=body.note,
        wrong_binding_code=body.resource,
        wrong_field=body.field,
    )


@router.post("/crosscheck-tasks/{task_id}/assignee", response_model=TaskOut)
def assign(
    body: AssignIn,
    task_id: IdPath,
    session: Session = S,
    p: Principal = Depends(Require("registries.tasks")),
) -> Any:
    return service.assign(session=session, actor=p, task_id=task_id, assignee=body.assignee)


@router.get("/discrepancies", response_model=list[DiscrepancyOut])
def discrepancies(
    state: str | None = Query(None, pattern=r"^(open|corrected|disputed|accepted|closed)$"),
    session: Session = S,
    p: Principal = Depends(Require("registries.view")),
) -> Any:
    return service.discrepancies(session=session, actor=p, state=state)


@router.post("/discrepancies/{discrepancy_id}/answer", response_model=DiscrepancyOut)
def answer(
    body: AnswerIn,
    discrepancy_id: IdPath,
    session: Session = S,
    p: Principal = Depends(Require("registries.answer")),
) -> Any:
    return service.answer(
        session=session, actor=p, discrepancy_id=discrepancy_id, answer=body.answer, reason=body.reason
    )


@router.post("/discrepancies/{discrepancy_id}/arbitration", response_model=DiscrepancyOut)
def arbitrate(
    body: ArbitrationIn,
    discrepancy_id: IdPath,
    session: Session = S,
    p: Principal = Depends(Require("registries.admin")),
) -> Any:
    return service.arbitrate(
        session=session, actor=p, discrepancy_id=discrepancy_id, uphold=body.uphold, reason=body.reason
    )


@router.get("/registries-statistics")
def statistics(
    session: Session = S, p: Principal = Depends(Require("registries.view"))
) -> list[dict[str, Any]]:
    return service.statistics(session=session, actor=p)


@router.get("/my-registry-data")
def my_subjects(session: Session = S, p: Principal = Depends(Require("registries.object"))) -> dict[str, Any]:
    """The keys the caller may look at and object on: their own resident ID, the USCCs of the
    enterprises they are the legal representative of."""
    return service.own_subjects(session=session, actor=p)


@router.get("/my-registry-data/{code}/{key}")
def my_record(
    code: str = PathParam(pattern=r"^(population|legal_entities)$"),
    key: str = PathParam(pattern=r"^[0-9A-Z]{15,18}$"),
    session: Session = S,
    p: Principal = Depends(Require("registries.object")),
) -> dict[str, Any]:
    """The caller's own record: every field in clear with its source and as-of time (404 for
    anything not theirs, whether or not it exists)."""
    return service.own_record(session=session, actor=p, code=code, key=key)


@router.get("/my-registry-data-objections", response_model=list[DiscrepancyOut])
def my_objections(session: Session = S, p: Principal = Depends(Require("registries.object"))) -> Any:
    return service.my_objections(session=session, actor=p)


@router.post("/my-registry-data-objections", response_model=DiscrepancyOut, status_code=201)
def object_to(
    body: ObjectionIn, session: Session = S, p: Principal = Depends(Require("registries.object"))
) -> Any:
    """数据异议: a discrepancy item for the field's source department, with the reason."""
    return service.object_to(
        session=session,
        actor=p,
        code=body.registry,
        key=body.key.upper(),
        field=body.field,
        reason=body.reason,
    )
