"""基础库 + 一数一源 + 数据交叉比对: the registries module's use cases. Other modules call these
functions (never the tables). Keyword-only, the caller's session, never commit.

  build.py       building a registry version, copies compared with their authority
  crosscheck.py  checks, runs on DuckDB or Spark, the 核查任务 hits become
  work.py        tasks, discrepancy answers, arbitration, statistics (and the one visibility rule)
  ids.py         GB 11643 resident IDs (15 → 18 digits)
  linkage.py     probabilistic record linkage (Splink) with a steward's review band
  objections.py  数据异议: a person's own record and their objections to it
"""

from __future__ import annotations

from typing import Any

import pyarrow.parquet as pq
from sqlalchemy import select
from sqlalchemy.orm import Session

from cityos.catalog import service as catalog
from cityos.core import audit, clock
from cityos.core.errors import NotFound
from cityos.core.settings import get_settings
from cityos.identity.permissions import authorize
from cityos.identity.schemas import Principal
from cityos.registries import permissions as _permissions  # noqa: F401  (grants registries.*)
from cityos.registries.build import build, registry_def, resource_of
from cityos.registries.crosscheck import (
    checks,
    compiled,
    dry_run,
    due_checks,
    execute,
    get_check,
    install_shipped,
    save,
)
from cityos.registries.definitions import CHECKS, REGISTRIES, CheckDef
from cityos.registries.forms import compile_form
from cityos.registries.ids import normalise, upgrade_15_to_18
from cityos.registries.models import Binding, RegistryVersion
from cityos.registries.objections import my_objections, object_to, own_record, own_subjects
from cityos.registries.work import (
    answer,
    arbitrate,
    assign,
    decide,
    discrepancies,
    get_discrepancy,
    get_task,
    statistics,
    tasks,
)

__all__ = [
    "CHECKS",
    "REGISTRIES",
    "CheckDef",
    "answer",
    "arbitrate",
    "assign",
    "bind",
    "bindings",
    "build",
    "bureau_principal",
    "checks",
    "compile_form",
    "compiled",
    "decide",
    "discrepancies",
    "dry_run",
    "due_checks",
    "execute",
    "get_check",
    "get_discrepancy",
    "get_task",
    "install_shipped",
    "latest_version",
    "my_objections",
    "normalise",
    "object_to",
    "own_record",
    "own_subjects",
    "record",
    "registry_def",
    "resource_of",
    "save",
    "statistics",
    "tasks",
    "upgrade_15_to_18",
    "versions",
]


def bind(*, session: Session, actor: Principal, name: str, code: str) -> None:
    """Say which catalog resource plays the part `name` (the data bureau)."""
    authorize(actor, "registries.admin")
    catalog.get_resource(session=session, code=code)  # 404 when it does not exist
    b = session.get(Binding, name) or Binding(name=name)
    b.resource_code, b.bound_by, b.bound_at = code, actor.actor, clock.now()
    session.add(b)
    session.flush()
    audit.record(
        session,
        actor=actor.actor,
        action="registries.bind",
        subject_type="registry_binding",
        subject_id=name,
        payload={"resource": code},
    )


def bureau_principal(*, session: Session) -> Principal:
    """The data bureau's service account for scheduled and command-line builds: it reads under the
    bureau's own grants (token:registries-build on the record of use)."""
    from cityos.identity import service as identity

    d = next(iter(identity.departments(session=session, kind="data_bureau")), None)
    if d is None:
        raise NotFound("No data bureau department", code="no_data_bureau")
    return Principal(
        kind="token",
        username="registries-build",
        scopes=frozenset({"data", "registries"}),
        department_id=d.id,
        department_code=d.code,
        department_name=d.name,
    )


def bindings(*, session: Session) -> dict[str, str]:
    return {b.name: b.resource_code for b in session.scalars(select(Binding).order_by(Binding.name))}


def versions(*, session: Session, actor: Principal, code: str) -> list[RegistryVersion]:
    authorize(actor, "registries.view")
    registry_def(code)
    return list(
        session.scalars(
            select(RegistryVersion)
            .where(RegistryVersion.registry_code == code)
            .order_by(RegistryVersion.number.desc())
        )
    )


def latest_version(*, session: Session, code: str) -> RegistryVersion | None:
    return session.scalar(
        select(RegistryVersion)
        .where(RegistryVersion.registry_code == code)
        .order_by(RegistryVersion.number.desc())
        .limit(1)
    )


def record(*, session: Session, actor: Principal, code: str, key: str) -> dict[str, Any]:
    """One subject's record in the latest version: per field its value as `actor` may see it (the
    share rules of the field's source resource: in clear, masked, or left out), the source
    resource, version and as-of time. Each source's look is on the record of use."""
    authorize(actor, "registries.view")
    reg = registry_def(code)
    v = latest_version(session=session, code=code)
    if v is None:
        raise NotFound("{code} has not been built yet", code="registry_not_built", params={"code": code})
    table = pq.read_table(get_settings().datastore / v.path, filters=[(reg.key, "=", key)])
    if table.num_rows == 0:
        raise NotFound("No record for this key", code="record_not_found")
    row = table.slice(0, 1).to_pylist()[0]
    by_source: dict[str, dict[str, Any]] = {}
    for name, prov in v.provenance.items():
        by_source.setdefault(prov["resource"], {})[prov["column"]] = row.get(name)
    shown: dict[str, dict[str, Any]] = {
        res: catalog.shown_values(
            session=session, actor=actor, code=res, values=vals, purpose=f"基础库 {code} record"
        )
        for res, vals in by_source.items()
    }
    fields = []
    for f in reg.fields:
        prov = v.provenance.get(f.name)
        if prov is None:
            fields.append(
                {"name": f.name, "title": f.title, "shown": False, "absent": v.absent.get(f.name, "")}
            )
            continue
        vals = shown.get(prov["resource"], {})
        visible = prov["column"] in vals
        value = vals.get(prov["column"]) if visible else None
        fields.append(
            {
                "name": f.name,
                "title": f.title,
                "shown": visible,
                "value": value.isoformat() if value is not None and hasattr(value, "isoformat") else value,
                "resource": prov["resource"],
                "version": prov["version"],
                "as_of": prov["as_of"],
                "authority": prov["authority"],
            }
        )
    return {"registry": code, "name": reg.name, "key": key, "version": v.number, "fields": fields}
