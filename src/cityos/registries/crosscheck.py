"""Cross-checks (数据交叉比对): definitions, runs on DuckDB or Spark, and the 核查任务 their hits become.

A check reads its parts as its OWNER department (the department whose legal basis it is): a service
principal `token:crosscheck-<CODE>` of that department, so the owner's grants — and nothing else —
decide what it may join, and every read is on the record of use. Each field a check's SQL reads is
a condition and must be held in clear. A run writes the parts to a scratch folder as Parquet, runs
the SQL on the chosen engine and removes the folder; the hits become tasks for the owner (one open
task per subject and check), due in working days. A dry run reads a sample and creates nothing; the
editor's dry run takes the definition as edited, unsaved. A check is written in SQL or as a small
declarative form (forms.py) compiled to the same SQL.
"""

from __future__ import annotations

import re
import shutil
import time
import uuid
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from sqlalchemy import select
from sqlalchemy.orm import Session

from cityos.catalog import service as catalog
from cityos.core import audit, calendar, clock, events
from cityos.core.errors import Invalid, NotFound
from cityos.core.settings import get_settings
from cityos.identity import service as identity
from cityos.identity.permissions import authorize
from cityos.identity.schemas import Principal
from cityos.registries import engines
from cityos.registries.build import resource_of
from cityos.registries.definitions import CHECKS, CheckDef
from cityos.registries.forms import compile_form
from cityos.registries.models import Check, Run, Task

CODE_RE = re.compile(r"^[A-Z][A-Z0-9_]{2,39}$")
ALIAS_RE = re.compile(r"^[a-z][a-z0-9_]{0,30}$")
SCHEDULES = {"daily": 1, "weekly": 7, "monthly": 30, "manual": 0}


def install_shipped(*, session: Session, actor: Principal) -> list[str]:
    """Store the shipped checks that are not stored yet (their owner department must exist)."""
    authorize(actor, "registries.admin")
    depts = {d.code: d.id for d in identity.departments(session=session)}
    have = set(session.scalars(select(Check.code)))
    out = []
    for c in CHECKS.values():
        if c.code in have or c.owner not in depts:
            continue
        save(session=session, actor=actor, data=c, owner_department_id=depts[c.owner])
        out.append(c.code)
    return out


def _validate(data: CheckDef) -> None:
    if not CODE_RE.match(data.code):
        raise Invalid("A check code is 3–40 capital letters, digits or _", field="code", code="bad_code")
    if not data.name.strip():
        raise Invalid("Name the check", field="name", code="name_required")
    if not data.legal_basis.strip():
        raise Invalid("A check needs its legal basis", field="legal_basis", code="basis_required")
    if not data.resources:
        raise Invalid("A check joins at least one resource", field="resources", code="no_resources")
    for alias in data.resources:
        if not ALIAS_RE.match(alias) or alias == "params":
            raise Invalid("Bad alias {alias}", field="resources", code="bad_alias", params={"alias": alias})
        if not data.conditions.get(alias):
            raise Invalid(
                "List the fields the check reads of {alias}",
                field="conditions",
                code="fields_required",
                params={"alias": alias},
            )
    if data.schedule not in SCHEDULES:
        raise Invalid("Schedule: daily, weekly, monthly or manual", field="schedule", code="bad_schedule")
    if not 1 <= data.due_days <= 60:
        raise Invalid("Due days: 1 to 60 working days", field="due_days", code="bad_due_days")
    if "subject_key" not in data.sql:
        raise Invalid("The SQL must return a subject_key column", field="sql", code="no_subject_key")


def compiled(data: CheckDef) -> CheckDef:
    """A definition written as a declarative form, with its SQL, parts and fields read compiled from
    the form (a definition written in SQL is returned as it is)."""
    if data.form is None:
        return data
    sql, resources, fields = compile_form(data.form)
    return replace(data, sql=sql, resources=resources, conditions=fields)


def save(*, session: Session, actor: Principal, data: CheckDef, owner_department_id: int) -> Check:
    """Create or change a check (the owner department's stewards, or the data bureau)."""
    authorize(actor, "registries.checks", department_id=owner_department_id)
    data = compiled(data)
    _validate(data)
    c = session.scalar(select(Check).where(Check.code == data.code))
    if c is not None:
        authorize(actor, "registries.checks", department_id=c.owner_department_id)
    else:
        c = Check(code=data.code)
        session.add(c)
    c.name, c.legal_basis, c.owner_department_id = data.name, data.legal_basis, owner_department_id
    c.resources, c.conditions, c.sql = (
        dict(data.resources),
        {k: list(v) for k, v in data.conditions.items()},
        data.sql,
    )
    c.form = dict(data.form) if data.form is not None else None
    c.due_days, c.schedule, c.active = data.due_days, data.schedule, True
    c.updated_by, c.updated_at = actor.actor, clock.now()
    session.flush()
    audit.record(
        session,
        actor=actor.actor,
        action="crosscheck.check.saved",
        subject_type="crosscheck_check",
        subject_id=c.code,
        payload={"resources": c.resources, "sql": c.sql, "owner": owner_department_id},
    )
    return c


def get_check(session: Session, code: str) -> Check:
    c = session.scalar(select(Check).where(Check.code == code))
    if c is None:
        raise NotFound("No such check: {code}", code="check_not_found", params={"code": code})
    return c


def checks(*, session: Session) -> list[Check]:
    return list(session.scalars(select(Check).order_by(Check.code)))


def owner_principal(session: Session, c: Check) -> Principal:
    """The check's service principal: reads as its owner department, under that department's grants."""
    d = identity.get_department(session=session, id=c.owner_department_id)
    return Principal(
        kind="token",
        username=f"crosscheck-{c.code}",
        display_name=c.name,
        scopes=frozenset({"data"}),
        department_id=d.id,
        department_code=d.code,
        department_name=d.name,
    )


def params_for(today: date) -> dict[str, Any]:
    since = today - timedelta(days=365)
    since6 = today - timedelta(days=182)
    return {
        "as_of": today,
        "since_12m": since,
        "since_6m": since6,
        "as_of_ym": today.strftime("%Y%m"),
        "since_ym": since.strftime("%Y%m"),
    }


def _read_parts(
    session: Session, c: Check, folder: Path, sample: int | None
) -> tuple[dict[str, Path], dict[str, str]]:
    reader = owner_principal(session, c)
    parts: dict[str, Path] = {}
    versions: dict[str, str] = {}
    for alias, binding in sorted(c.resources.items()):
        code = resource_of(session, binding)
        fields = list(c.conditions.get(alias) or [])
        snap = catalog.snapshot(
            session=session,
            actor=reader,
            code=code,
            fields=fields,
            conditions=fields,
            purpose=f"交叉比对 {c.code}",
        )
        table = snap.table if sample is None else snap.table.slice(0, sample)
        path = folder / f"{alias}.parquet"
        pq.write_table(table, path)
        parts[alias] = path
        versions[alias] = f"{snap.code}@{snap.version}"
    return parts, versions


def _run(
    session: Session, c: Check, engine: str, sample: int | None
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    today = clock.now().astimezone(calendar.get_calendar(session).tz).date()
    folder = get_settings().datastore / "crosscheck" / "work" / uuid.uuid4().hex
    folder.mkdir(parents=True, exist_ok=True)
    try:
        parts, versions = _read_parts(session, c, folder, sample)
        return engines.run(engine, c.sql, parts, params_for(today)), versions
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _keys(rows: list[dict[str, Any]]) -> list[str]:
    return sorted({str(r["subject_key"]) for r in rows if r.get("subject_key") is not None})


def dry_run(
    *, session: Session, actor: Principal, data: CheckDef, owner_department_id: int, sample: int = 100
) -> dict[str, Any]:
    """The check editor's dry run: a definition as edited (saved or not, SQL or form) run on the
    first `sample` rows of each part, read as the owner department; nothing is created."""
    authorize(actor, "registries.checks", department_id=owner_department_id)
    data = compiled(data)
    _validate(data)
    c = Check(
        code=data.code,
        name=data.name,
        owner_department_id=owner_department_id,
        resources=dict(data.resources),
        conditions={k: list(v) for k, v in data.conditions.items()},
        sql=data.sql,
    )
    rows, _versions = _run(session, c, "duckdb", max(1, min(sample, 100_000)))
    keys = _keys(rows)
    return {
        "check": c.code,
        "engine": "duckdb",
        "hits": len(keys),
        "keys": keys,
        "rows": rows,
        "sql": c.sql,
        "run_id": None,
        "tasks_created": 0,
        "dry_run": True,
    }


def execute(
    *, session: Session, actor: Principal, code: str, engine: str | None = None, sample: int | None = None
) -> dict[str, Any]:
    """Run check `code`: {"check", "engine", "hits", "keys", "rows", "run_id", "tasks_created"}.
    With `sample` (a dry run) only the first rows of each part are read and nothing is created."""
    c = get_check(session, code)
    authorize(actor, "registries.checks", department_id=c.owner_department_id)
    engine = engine or engines.default_engine()
    t0 = time.perf_counter()
    rows, versions = _run(session, c, engine, sample)
    keys = _keys(rows)
    out: dict[str, Any] = {"check": c.code, "engine": engine, "hits": len(keys), "keys": keys, "rows": rows}
    if sample is not None:
        out.update(run_id=None, tasks_created=0, dry_run=True)
        return out
    run = Run(
        check_code=c.code,
        engine=engine,
        actor=actor.actor,
        started_at=clock.now(),
        duration_ms=round((time.perf_counter() - t0) * 1000, 1),
        hits=len(keys),
        keys=keys,
        versions=versions,
        tasks_created=0,
    )
    session.add(run)
    session.flush()
    run.tasks_created = _tasks_from(session, c, run, rows)
    c.last_run_at = run.started_at
    audit.record(
        session,
        actor=actor.actor,
        action="crosscheck.run",
        subject_type="crosscheck_check",
        subject_id=c.code,
        payload={"engine": engine, "hits": len(keys), "versions": versions, "tasks": run.tasks_created},
    )
    events.publish(session, "registries.CheckRun", {"check": c.code, "run": run.id, "hits": len(keys)})
    out.update(run_id=run.id, tasks_created=run.tasks_created)
    return out


def _tasks_from(session: Session, c: Check, run: Run, rows: list[dict[str, Any]]) -> int:
    open_keys = set(
        session.scalars(select(Task.subject_key).where(Task.check_code == c.code, Task.state == "open"))
    )
    due = calendar.get_calendar(session).add_working_days(clock.now(), c.due_days)
    n = 0
    seen: set[str] = set()
    for r in rows:
        key = str(r.get("subject_key"))
        if key in open_keys or key in seen or r.get("subject_key") is None:
            continue
        seen.add(key)
        t = Task(
            check_code=c.code,
            run_id=run.id,
            subject_key=key,
            evidence={k: v for k, v in r.items() if k != "subject_key"} | {"versions": run.versions},
            owner_department_id=c.owner_department_id,
            state="open",
            created_at=clock.now(),
            due_at=due,
            note="",
        )
        session.add(t)
        n += 1
    session.flush()
    return n


def due_checks(*, session: Session) -> list[str]:
    """Active checks whose schedule says they are due (the worker runs them)."""
    now = clock.now()
    out = []
    for c in checks(session=session):
        days = SCHEDULES.get(c.schedule, 0)
        if not c.active or days == 0:
            continue
        if c.last_run_at is None or c.last_run_at <= now - timedelta(days=days):
            out.append(c.code)
    return out
