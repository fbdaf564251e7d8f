"""Intake: load a delivered file into an immutable version (validate, stage, accept or reject),
with ONE entry point, `load`, that the CLI, the API, the upload page and the tests all use.

Part of the catalog's service; other modules call `cityos.catalog.service`, which re-exports this.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cityos.catalog import delivered, engine, reader
from cityos.catalog import permissions as _permissions  # noqa: F401  (grants catalog.* to roles)
from cityos.catalog.access import shown_report
from cityos.catalog.models import Resource, Version
from cityos.catalog.resources import (
    _fields_of,
    _get,
    _may_manage,
    _schema_from_rows,
    _set_fields,
    _version_schema,
)
from cityos.catalog.schemas import (
    VersionOut,
)
from cityos.catalog.tableschema import Schema, parse
from cityos.core import audit, clock, events
from cityos.core.db import Database
from cityos.core.errors import Conflict, Invalid, NotFound
from cityos.core.settings import get_settings
from cityos.identity.schemas import Principal


# ------------------------------------------------------------------------------------- versions
def _store_dir(code: str) -> Path:
    return get_settings().datastore / code.replace("/", "-")


def _vout(v: Version, code: str) -> VersionOut:
    out = VersionOut.model_validate(v)
    out.resource_code = code
    out.table_schema = dict(v.schema or {})
    return out


def _shown(session: Session, actor: Principal, r: Resource, v: Version) -> VersionOut:
    """A version as `actor` may see it: its report's sample values follow the share rules."""
    out = _vout(v, r.code)
    out.report = shown_report(session, actor, r, out.table_schema, out.report)
    return out


def version_schema(*, session: Session, code: str, number: int | None = None) -> Schema:
    """The schema to read an accepted version (the current one by default) with: its own, under
    today's share rules (see resources._version_schema). Readers use this, never the live schema,
    which may have changed since the version was loaded."""
    r = _get(session, code)
    n = number if number is not None else r.current_version
    v = session.scalar(select(Version).where(Version.resource_id == r.id, Version.number == n))
    if n is None or v is None:
        raise NotFound(
            "Version {n} of {code} does not exist", code="version_not_found", params={"n": n, "code": r.code}
        )
    return _version_schema(session, r, v.schema)


def version_path(*, session: Session, code: str, number: int | None = None) -> tuple[Path, VersionOut]:
    """The Parquet file of an accepted version (the current one by default)."""
    r = _get(session, code)
    n = number if number is not None else r.current_version
    if n is None:
        raise NotFound("{code} has no data yet", code="no_data", params={"code": r.code})
    v = session.scalar(select(Version).where(Version.resource_id == r.id, Version.number == n))
    if v is None or v.path is None:
        raise NotFound(
            "Version {n} of {code} does not exist", code="version_not_found", params={"n": n, "code": r.code}
        )
    return get_settings().datastore / v.path, _vout(v, r.code)


@dataclass(frozen=True)
class LoadPlan:
    """What a load needs, read in one short unit of work; the validation then runs with no
    database transaction open, so a long load never holds a lock other requests wait on."""

    code: str
    schema: Schema
    new_schema: bool  # the load brings a schema that replaces the resource's fields
    mode: str
    policy: str
    previous: Path | None
    out_dir: Path


def _plan(
    *,
    session: Session,
    actor: Principal,
    code: str,
    mode: str = "replace",
    policy: str | None = None,
    table_schema: dict[str, Any] | None = None,
) -> LoadPlan:
    r = _get(session, code)
    _may_manage(actor, r.provider_department_id)
    if mode not in ("replace", "append", "upsert"):
        raise Invalid("Mode must be replace, append or upsert", code="bad_mode", field="mode")
    schema = parse(table_schema) if table_schema is not None else _schema_from_rows(_fields_of(session, r.id))
    if not schema.fields:
        raise Invalid(
            "{code} has no schema yet: give its Table Schema first", code="no_schema", params={"code": r.code}
        )
    policy = policy or r.policy
    if policy not in ("reject", "quarantine"):
        raise Invalid("Policy must be reject or quarantine", field="policy", code="bad_policy")
    previous = None
    if mode != "replace" and r.current_version is not None:
        previous, prev_v = version_path(session=session, code=r.code)
        if prev_v.report.get("schema_fields") and prev_v.report["schema_fields"] != schema.names():
            raise Invalid(
                "The schema changed since the last version; load the whole data with mode replace",
                field="mode",
                code="schema_changed",
            )
    return LoadPlan(
        code=r.code,
        schema=schema,
        new_schema=table_schema is not None,
        mode=mode,
        policy=policy,
        previous=previous,
        out_dir=_store_dir(r.code),
    )


def _validate(
    plan: LoadPlan, path: Path, *, filename: str = "", progress: delivered.Progress | None = None
) -> engine.Outcome:
    """Read and validate the file and write its Parquet files (no database work)."""
    return engine.run(
        path,
        plan.schema,
        name=filename or path.name,
        mode=plan.mode,
        previous=plan.previous,
        out_dir=plan.out_dir,
        progress=progress,
    )


def replace_counts(before: int, after: int) -> dict[str, Any]:
    """What a `replace` does to the rows: a file that lost most of its rows by mistake (a partial
    export, the wrong sheet) must be seen before it becomes the resource. `drops_most` when it
    removes more than half of the current rows; the version page and the API report say so."""
    dropped = max(before - after, 0)
    return {"before": before, "after": after, "dropped": dropped, "drops_most": dropped * 2 > before}


def _record(
    *, session: Session, actor: Principal, plan: LoadPlan, outcome: engine.Outcome, filename: str
) -> VersionOut:
    """Record a validated load as a staged (or rejected) version. Re-checks what may have changed
    while the file was validated: permission, and the current version an append/upsert built on."""
    r = _get(session, plan.code)
    _may_manage(actor, r.provider_department_id)
    if plan.mode != "replace" and plan.previous is not None:
        now_path, _ = version_path(session=session, code=r.code)
        if now_path != plan.previous:
            raise Conflict(
                "A new version of {code} was accepted while this file was validated; load it again",
                code="version_moved",
                params={"code": r.code},
            )
    schema, policy, mode = plan.schema, plan.policy, plan.mode
    rep = outcome.report
    report = rep.to_json()
    report["schema_fields"] = schema.names()
    # a schema the load brought becomes the resource's only when the version is accepted: a
    # rejected (or discarded) load changes nothing
    report["new_schema"] = plan.new_schema
    state = "staged"
    if rep.fatal or (policy == "reject" and rep.invalid_rows) or (rep.rows and rep.valid_rows == 0):
        state = "rejected"
    store = get_settings().datastore
    v = Version(
        resource_id=r.id,
        state=state,
        mode=mode,
        policy=policy,
        sha256=outcome.sha256,
        path=str(outcome.snapshot.relative_to(store)) if outcome.snapshot else None,
        quarantine_path=str(outcome.quarantine.relative_to(store)) if outcome.quarantine else None,
        row_count=outcome.snapshot_rows,
        loaded_rows=rep.rows,
        valid_rows=rep.valid_rows,
        quarantined_rows=rep.invalid_rows if not rep.fatal else 0,
        completeness=rep.completeness,
        validity=rep.validity,
        uniqueness=rep.uniqueness,
        schema=schema.to_json(),
        report=report,
        source_name=filename[:200],
        source_format=rep.source.get("format", ""),
        source_encoding=rep.source.get("encoding", "") or "",
        created_by=actor.actor,
        created_at=clock.now(),
        decided_at=clock.now() if state == "rejected" else None,
    )
    if state == "staged" and r.current_version is not None:
        cur = session.scalar(
            select(Version).where(Version.resource_id == r.id, Version.number == r.current_version)
        )
        if cur is not None and cur.sha256 == outcome.sha256:
            v.report = {**report, "unchanged": True}
        elif cur is not None and mode == "replace":
            v.report = {**v.report, "replace": replace_counts(cur.row_count, outcome.snapshot_rows)}
    session.add(v)
    session.flush()
    audit.record(
        session,
        actor=actor.actor,
        action="catalog.version.stage" if state == "staged" else "catalog.version.reject",
        subject_type="catalog_resource",
        subject_id=r.code,
        payload={
            "version_id": v.id,
            "file": v.source_name,
            "rows": rep.rows,
            "valid": rep.valid_rows,
            "invalid": rep.invalid_rows,
            "fatal": [f["code"] for f in rep.fatal],
            "sha256": v.sha256,
        },
    )
    return _vout(v, r.code)


def load(
    *,
    db: Database,
    actor: Principal,
    code: str,
    path: Path,
    filename: str = "",
    mode: str = "replace",
    policy: str | None = None,
    table_schema: dict[str, Any] | None = None,
    accept: bool = True,
    progress: delivered.Progress | None = None,
    confirm_drop: bool = False,
) -> VersionOut:
    """The one way a file becomes a version, for the CLI, the API, the upload page, the demo and
    the tests alike, so what they check is what runs. Three units of work: plan (read-only),
    validate (none open: a long load holds no lock other requests wait on), record. A file with
    fatal problems (wrong columns, unreadable) or, under the reject policy, any invalid row, is
    recorded as rejected and changes nothing else. With accept=True an acceptable version is
    accepted at once; with accept=False it is staged for the steward to decide.

    A `replace` that drops most of the current rows (replace_counts' `drops_most`, the threshold
    of the upload page's warning) is not accepted without `confirm_drop`: it stays staged, on
    record, and Conflict `replace_drops_rows` (409) says the counts and the staged version's id,
    so the caller either accepts that version explicitly or loads again with confirm_drop."""
    with db.transaction(read_only=True) as s:
        plan = _plan(session=s, actor=actor, code=code, mode=mode, policy=policy, table_schema=table_schema)
    outcome = _validate(plan, path, filename=filename, progress=progress)
    if accept and outcome.snapshot is not None:  # the slow part of accepting, outside any transaction
        reader.build_serving(outcome.snapshot, list(plan.schema.primary_key))
    with db.transaction() as s:
        v = _record(session=s, actor=actor, plan=plan, outcome=outcome, filename=filename or path.name)
        drops = (v.report or {}).get("replace") or {}
        held = accept and v.state == "staged" and bool(drops.get("drops_most")) and not confirm_drop
        if accept and v.state == "staged" and not held:
            v = accept_version(session=s, actor=actor, code=code, version_id=v.id)
    if held:  # after the commit: the staged version stays for the steward to look at
        raise Conflict(
            "This replacement removes {dropped} of the {before} rows; it was staged as version "
            "#{version_id}, not accepted. Check the file, then accept that version or load again "
            "confirming the drop",
            code="replace_drops_rows",
            params={"dropped": drops["dropped"], "before": drops["before"], "version_id": v.id},
            details={
                "version_id": v.id,
                "before": drops["before"],
                "after": drops["after"],
                "dropped": drops["dropped"],
            },
        )
    return v


def _staged(session: Session, r: Resource, version_id: int) -> Version:
    v = session.get(Version, version_id)
    if v is None or v.resource_id != r.id:
        raise NotFound("No such staged version", code="version_not_found")
    if v.state != "staged":
        raise Invalid(
            "This version is {state}, not waiting for a decision",
            code="not_staged",
            params={"state": v.state},
        )
    return v


def accept_version(*, session: Session, actor: Principal, code: str, version_id: int) -> VersionOut:
    r = _get(session, code)
    _may_manage(actor, r.provider_department_id)
    v = _staged(session, r, version_id)
    if v.path:  # before any write: building the keyed serving copy of a big version takes seconds
        reader.build_serving(get_settings().datastore / v.path, list(v.schema.get("primaryKey") or []))
    n = (session.scalar(select(func.max(Version.number)).where(Version.resource_id == r.id)) or 0) + 1
    now = clock.now()
    v.number = n
    v.state = "accepted"
    v.decided_at = now
    r.current_version = n
    if (v.report or {}).get("new_schema"):  # the schema the load brought, now that it is accepted
        _set_fields(session, r, parse(v.schema))
    r.last_loaded_at = now
    r.stale_reminded_at = None
    r.updated_at = now
    session.flush()
    audit.record(
        session,
        actor=actor.actor,
        action="catalog.version.accept",
        subject_type="catalog_resource",
        subject_id=r.code,
        payload={"version": n, "sha256": v.sha256, "rows": v.row_count, "quarantined": v.quarantined_rows},
    )
    events.publish(session, "catalog.VersionAccepted", {"code": r.code, "version": n, "rows": v.row_count})
    return _vout(v, r.code)


def discard_version(*, session: Session, actor: Principal, code: str, version_id: int) -> VersionOut:
    r = _get(session, code)
    _may_manage(actor, r.provider_department_id)
    v = _staged(session, r, version_id)
    v.state = "discarded"
    v.decided_at = clock.now()
    audit.record(
        session,
        actor=actor.actor,
        action="catalog.version.discard",
        subject_type="catalog_resource",
        subject_id=r.code,
        payload={"version_id": v.id},
    )
    return _vout(v, r.code)


def versions(*, session: Session, actor: Principal, code: str) -> list[VersionOut]:
    r = _get(session, code)
    rows = session.scalars(select(Version).where(Version.resource_id == r.id).order_by(Version.id.desc()))
    return [_shown(session, actor, r, v) for v in rows]


def get_version(*, session: Session, actor: Principal, code: str, version_id: int) -> VersionOut:
    r = _get(session, code)
    v = session.get(Version, version_id)
    if v is None or v.resource_id != r.id:
        raise NotFound("No such version", code="version_not_found")
    return _shown(session, actor, r, v)


def quarantine_path(*, session: Session, actor: Principal, code: str, version_id: int) -> Path:
    """The rows a version kept out, as sent, with their reasons (provider's stewards only)."""
    r = _get(session, code)
    _may_manage(actor, r.provider_department_id)
    v = session.get(Version, version_id)
    if v is None or v.resource_id != r.id or not v.quarantine_path:
        raise NotFound("This version has no quarantined rows", code="no_quarantine")
    return get_settings().datastore / v.quarantine_path


def purge_rejected_files(*, session: Session, older_than_days: int = 30) -> int:
    """Files of rejected or discarded versions are kept for a while for the report, then removed."""
    cutoff = clock.now() - timedelta(days=older_than_days)
    n = 0
    store = get_settings().datastore
    for v in session.scalars(
        select(Version).where(Version.state.in_(("rejected", "discarded")), Version.decided_at < cutoff)
    ):
        used = session.scalar(
            select(func.count())
            .select_from(Version)
            .where(Version.path == v.path, Version.state == "accepted")
        )
        if v.path and not used:
            (store / v.path).unlink(missing_ok=True)
        if v.quarantine_path:
            (store / v.quarantine_path).unlink(missing_ok=True)
        v.path = None
        v.quarantine_path = None
        n += 1
    return n


def purge_orphan_files(*, session: Session, older_than_hours: float = engine.LEFTOVER_HOURS) -> int:
    """Whole files no version names, older than `older_than_hours`: a load killed after it wrote
    its snapshot (renamed when complete) but before it recorded the version leaves one, and its
    serving copy. Recent ones may belong to a load still being recorded and are kept."""
    store = get_settings().datastore
    if not store.is_dir():
        return 0
    used = {
        p
        for row in session.execute(select(Version.path, Version.quarantine_path))
        for p in row
        if p is not None
    }
    cutoff = time.time() - older_than_hours * 3600
    n = 0
    for f in store.glob("*/*.parquet"):
        if f.name.startswith(".") or str(f.relative_to(store)) in used:
            continue
        try:
            if f.stat().st_mtime >= cutoff:
                continue
            f.unlink()
            reader.serving_path(f).unlink(missing_ok=True)
            n += 1
        except FileNotFoundError:
            continue
    return n
