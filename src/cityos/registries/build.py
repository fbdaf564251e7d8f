"""Building a base registry version (一数一源) and keeping its copies honest (数据纠错).

For each field: the bound resource must be provided by the field's authority department, and the
builder must be allowed to read it (catalog's share rules, on the record of use) with the key and
the value in clear. What cannot be read is absent from the version, with the reason. The version is
an immutable Parquet file whose schema metadata carries, per field, the source resource, its
version and as-of time; the same provenance is kept on the version's row.

Copies: each non-authoritative resource holding the same fact is compared with the authority; a
difference opens a discrepancy for its holder (unless one is pending or accepted), and a pending
one whose copy now agrees is closed — "re-checked on the next load".
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cityos.catalog import service as catalog
from cityos.core import audit, calendar, clock, events
from cityos.core.errors import CityOSError, Invalid, NotFound
from cityos.core.settings import get_settings
from cityos.identity import service as identity
from cityos.identity.permissions import authorize
from cityos.identity.schemas import Principal
from cityos.registries.definitions import REGISTRIES, FieldDef, RegistryDef
from cityos.registries.models import Binding, Discrepancy, RegistryVersion

DISCREPANCY_DAYS = 10  # working days a holder has to answer
PENDING = ("open", "corrected", "disputed")


def qi(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def resource_of(session: Session, binding: str) -> str:
    code = session.scalar(select(Binding.resource_code).where(Binding.name == binding))
    if code is None:
        raise NotFound("No resource is bound to {name}", code="binding_missing", params={"name": binding})
    return code


def registry_def(code: str) -> RegistryDef:
    r = REGISTRIES.get(code)
    if r is None:
        raise NotFound("No such registry: {code}", code="registry_not_found", params={"code": code})
    return r


@dataclass
class Source:
    binding: str
    code: str = ""
    snap: catalog.Snapshot | None = None
    error: str = ""
    columns: set[str] = field(default_factory=set)


def _read_sources(
    session: Session, actor: Principal, reg: RegistryDef
) -> tuple[dict[str, Source], dict[str, str]]:
    """Read every source once (the columns its fields need), after the authority check."""
    depts = {d.id: d.code for d in identity.departments(session=session)}
    sources: dict[str, Source] = {}
    absent: dict[str, str] = {}
    wanted: dict[str, list[FieldDef]] = {}
    for f in reg.fields:
        wanted.setdefault(f.binding, []).append(f)
    for binding, fields in wanted.items():
        src = Source(binding)
        sources[binding] = src
        try:
            src.code = resource_of(session, binding)
            provider = depts.get(catalog.get_resource(session=session, code=src.code).provider_department_id)
        except CityOSError as exc:
            src.error = f"{exc.code}: {exc.message}"
            continue
        usable = []
        for f in fields:
            if provider != f.authority:
                absent[f.name] = (
                    f"authority_mismatch: {src.code} is provided by {provider}, "
                    f"the authority for {f.name} is {f.authority}"
                )
            else:
                usable.append(f)
        if not usable:
            continue
        cols = sorted(
            {f.key for f in usable} | {f.column for f in usable} | {n for f in usable for n in f.needs}
        )
        try:
            src.snap = catalog.snapshot(
                session=session,
                actor=actor,
                code=src.code,
                fields=cols,
                conditions=cols,
                purpose=f"基础库 {reg.code} build",
            )
            src.columns = set(cols)
        except CityOSError as exc:
            src.error = f"{exc.code}: {exc.message}"
    for f in reg.fields:
        src = sources[f.binding]
        if f.name not in absent and src.snap is None:
            absent[f.name] = src.error or "not_read: not read"
    return sources, absent


def _field_sql(f: FieldDef, table: str) -> str:
    where = f" WHERE {f.where}" if f.where else ""
    value = f.agg or f"min({qi(f.column)})"
    return f"SELECT {qi(f.key)} AS k, {value} AS v FROM {table}{where} GROUP BY {qi(f.key)}"


def _store(reg: RegistryDef, number: int, table: pa.Table, provenance: dict[str, Any]) -> str:
    rel = Path("registries") / reg.code / f"v{number}-{uuid.uuid4().hex[:8]}.parquet"
    dst = get_settings().datastore / rel
    dst.parent.mkdir(parents=True, exist_ok=True)
    meta = {b"cityos.registry": reg.code.encode(), b"cityos.provenance": json.dumps(provenance).encode()}
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), **meta})
    tmp = dst.with_name("." + dst.name)
    pq.write_table(table, tmp, compression="zstd")
    os.replace(tmp, dst)  # never overwritten: each version has its own name
    dst.chmod(0o444)
    return str(rel)


def build(*, session: Session, actor: Principal, code: str) -> RegistryVersion:
    authorize(actor, "registries.build")
    reg = registry_def(code)
    now = clock.now()
    sources, absent = _read_sources(session, actor, reg)
    key_src = sources.get(reg.key_binding)
    con = duckdb.connect()
    try:
        for name, src in sources.items():
            if src.snap is not None:
                con.register(f"src_{name}", src.snap.table)
        if key_src is None or key_src.snap is None:
            raise Invalid(
                "The registry's keys ({binding}) cannot be read: {reason}",
                code="keys_unreadable",
                params={"binding": reg.key_binding, "reason": (key_src.error if key_src else "")},
            )
        present = [f for f in reg.fields if f.name not in absent]
        sql = f"SELECT keys.{qi(reg.key)}" + "".join(
            f", f{i}.v AS {qi(f.name)}" for i, f in enumerate(present)
        )
        sql += (
            f" FROM (SELECT DISTINCT {qi(reg.key_column)} AS {qi(reg.key)} FROM src_{reg.key_binding}"
            f" WHERE {qi(reg.key_column)} IS NOT NULL) keys"
        )
        for i, f in enumerate(present):
            sql += f" LEFT JOIN ({_field_sql(f, 'src_' + f.binding)}) f{i} ON f{i}.k = keys.{qi(reg.key)}"
        table = con.sql(sql + f" ORDER BY keys.{qi(reg.key)}").to_arrow_table()
        provenance: dict[str, Any] = {}
        for f in present:
            snap = sources[f.binding].snap
            assert snap is not None
            provenance[f.name] = {
                "title": f.title,
                "resource": snap.code,
                "version": snap.version,
                "as_of": snap.as_of.isoformat(),
                "authority": f.authority,
                "column": f.column,
            }
        number = (
            session.scalar(
                select(func.max(RegistryVersion.number)).where(RegistryVersion.registry_code == reg.code)
            )
            or 0
        ) + 1
        path = _store(reg, number, table, provenance)
        opened, closed = _sync_copies(session, actor, reg, con, sources, present, number)
    finally:
        con.close()
    v = RegistryVersion(
        registry_code=reg.code,
        number=number,
        built_at=now,
        built_by=actor.actor,
        path=path,
        rows=table.num_rows,
        provenance=provenance,
        absent=absent,
        opened=opened,
        closed=closed,
    )
    session.add(v)
    session.flush()
    audit.record(
        session,
        actor=actor.actor,
        action="registries.build",
        subject_type="registry",
        subject_id=f"{reg.code}@{number}",
        payload={"rows": v.rows, "absent": absent, "opened": opened, "closed": closed},
    )
    events.publish(session, "registries.Built", {"registry": reg.code, "number": number})
    return v


def _sync_copies(
    session: Session,
    actor: Principal,
    reg: RegistryDef,
    con: duckdb.DuckDBPyConnection,
    sources: dict[str, Source],
    present: list[FieldDef],
    number: int,
) -> tuple[int, int]:
    """Compare every copy with its authority; open and close discrepancies accordingly."""
    by_code = {d.id: d for d in identity.departments(session=session)}
    opened = closed = 0
    due = calendar.get_calendar(session).add_working_days(clock.now(), DISCREPANCY_DAYS)
    for f in present:
        auth = sources[f.binding].snap
        assert auth is not None
        for c in f.copies:
            try:
                hcode = resource_of(session, c.binding)
                holder = catalog.get_resource(session=session, code=hcode)
                snap = catalog.snapshot(
                    session=session,
                    actor=actor,
                    code=hcode,
                    fields=sorted({c.key, c.column}),
                    conditions=sorted({c.key, c.column}),
                    purpose=f"基础库 {reg.code} copy check",
                )
            except CityOSError:
                continue  # unreadable copy: nothing to compare, nothing to close
            con.register("copy_t", snap.table)
            rows = con.sql(
                f"WITH a AS ({_field_sql(f, 'src_' + f.binding)}), "
                f"h AS (SELECT DISTINCT {qi(c.key)} AS k, CAST({qi(c.column)} AS VARCHAR) AS v FROM copy_t "
                f"WHERE {qi(c.key)} IS NOT NULL) "
                "SELECT h.k, CAST(a.v AS VARCHAR), h.v FROM h JOIN a ON a.k = h.k "
                "WHERE a.v IS NOT NULL AND h.v IS DISTINCT FROM CAST(a.v AS VARCHAR) ORDER BY h.k"
            ).fetchall()
            con.unregister("copy_t")
            wrong = {str(k): (av, hv) for k, av, hv in rows}
            existing = {
                d.subject_key: d
                for d in session.scalars(
                    select(Discrepancy).where(
                        Discrepancy.origin == "build",
                        Discrepancy.field == f.name,
                        Discrepancy.holder_code == hcode,
                        Discrepancy.state.in_((*PENDING, "accepted")),
                    )
                )
            }
            for key, d in existing.items():
                if key not in wrong and d.state in ("open", "corrected"):
                    d.state, d.closed_at = "closed", clock.now()
                    closed += 1
                    audit.record(
                        session,
                        actor=actor.actor,
                        action="registries.discrepancy.closed",
                        subject_type="registry_discrepancy",
                        subject_id=d.id,
                        payload={"registry": reg.code, "version": number, "holder_version": snap.version},
                    )
                elif key in wrong and d.state == "corrected":  # said corrected, but still differs
                    d.state = "open"
                    d.holder_value = wrong[key][1]
                    d.due_at = due
                    audit.record(
                        session,
                        actor=actor.actor,
                        action="registries.discrepancy.reopened",
                        subject_type="registry_discrepancy",
                        subject_id=d.id,
                        payload={"registry": reg.code, "version": number, "holder_version": snap.version},
                    )
            for key, (av, hv) in wrong.items():
                if key in existing:
                    continue
                d = Discrepancy(
                    origin="build",
                    registry_code=reg.code,
                    subject_key=key,
                    field=f.name,
                    authority_code=auth.code,
                    authority_value=av,
                    holder_code=hcode,
                    holder_field=c.column,
                    holder_department_id=holder.provider_department_id,
                    holder_value=hv,
                    evidence={
                        "authority": {
                            "resource": auth.code,
                            "version": auth.version,
                            "as_of": auth.as_of.isoformat(),
                            "department": f.authority,
                        },
                        "holder": {
                            "resource": hcode,
                            "version": snap.version,
                            "as_of": snap.as_of.isoformat(),
                            "department": getattr(by_code.get(holder.provider_department_id), "code", ""),
                        },
                        "registry_version": number,
                    },
                    state="open",
                    opened_at=clock.now(),
                    due_at=due,
                    raised_by=actor.actor,
                    answer="",
                )
                session.add(d)
                session.flush()
                opened += 1
                audit.record(
                    session,
                    actor=actor.actor,
                    action="registries.discrepancy.opened",
                    subject_type="registry_discrepancy",
                    subject_id=d.id,
                    payload={"registry": reg.code, "field": f.name, "holder": hcode},
                )
    return opened, closed
