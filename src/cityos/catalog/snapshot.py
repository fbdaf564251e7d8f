"""Governed bulk reads for other modules (基础库 builds, 交叉比对 runs) and the per-value view of a
record assembled from several resources — both under the one share rule (`access.read_plan` /
`access.access`) and both on the record of use (`usage.record_call`), refused reads included.

Part of the catalog's service; other modules call `cityos.catalog.service`, which re-exports this.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pyarrow as pa
from sqlalchemy import select
from sqlalchemy.orm import Session

from cityos.catalog import masking, policy, reader
from cityos.catalog.access import _access, read_plan
from cityos.catalog.delivered import lit
from cityos.catalog.models import Version
from cityos.catalog.resources import _fields_of, _get, _schema_from_rows
from cityos.catalog.schemas import Access
from cityos.catalog.usage import record_call
from cityos.core.errors import CityOSError
from cityos.identity.schemas import Principal


@dataclass(frozen=True)
class Snapshot:
    """One resource's current version as `actor` may read it: allowed fields only, sensitive ones
    masked unless held in clear; `as_of` is when that version was accepted."""

    code: str
    version: int
    as_of: datetime
    provider_department_id: int
    access: Access
    table: pa.Table


def snapshot(
    *,
    session: Session,
    actor: Principal,
    code: str,
    fields: list[str] | None = None,
    conditions: list[str] | None = None,
    purpose: str = "",
) -> Snapshot:
    """Read the current version of `code` in bulk, as the data API would serve it to `actor`.

    `conditions` are the fields the caller will join or filter on: like every condition, each must
    be held in clear (`policy.require`), else 403 `field_masked` / `field_not_granted`. A refusal
    is recorded as a refused call and raised; an allowed read is recorded with its row count."""
    t0 = time.perf_counter()
    try:
        plan = read_plan(session=session, actor=actor, code=code, fields=fields)
        policy.require(plan.access, conditions or [])
        r = _get(session, code)
        v = session.scalar(select(Version).where(Version.resource_id == r.id, Version.number == plan.version))
        assert v is not None
        sql = f"SELECT {reader._select(plan.schema, plan.access)} FROM read_parquet({lit(str(plan.path))}) t"
        cur = reader._base_cursor()
        try:
            table = cur.sql(sql).to_arrow_table()
        finally:
            cur.close()
    except CityOSError as exc:
        record_call(
            session=session,
            actor=actor,
            code=code,
            kind="snapshot",
            fields=fields or [],
            filters={"purpose": purpose},
            rows=0,
            latency_ms=(time.perf_counter() - t0) * 1000,
            outcome=exc.code,
        )
        raise
    record_call(
        session=session,
        actor=actor,
        code=code,
        kind="snapshot",
        fields=plan.access.fields,
        filters={"purpose": purpose},
        rows=table.num_rows,
        latency_ms=(time.perf_counter() - t0) * 1000,
        outcome="ok",
        version=plan.version,
    )
    return Snapshot(
        code=r.code,
        version=plan.version,
        as_of=v.decided_at or v.created_at,
        provider_department_id=r.provider_department_id,
        access=plan.access,
        table=table,
    )


def shown_values(
    *, session: Session, actor: Principal, code: str, values: Mapping[str, Any], purpose: str = ""
) -> dict[str, Any]:
    """Values taken from resource `code` (a registry record's fields), as `actor` may see them:
    in clear, masked by the field's rule, or left out when the share rules give `actor` nothing of
    the field (or of the resource). The look is recorded as a call of kind `view`."""
    r = _get(session, code)
    rows = _fields_of(session, r.id)
    specs = _schema_from_rows(rows)
    try:
        acc = _access(session, actor, r, rows, None)
    except CityOSError as exc:
        record_call(
            session=session,
            actor=actor,
            code=code,
            kind="view",
            fields=list(values),
            filters={"purpose": purpose},
            rows=0,
            latency_ms=0.0,
            outcome=exc.code,
        )
        return {}
    out: dict[str, Any] = {}
    clear = set(acc.clear)
    for name, value in values.items():
        spec = specs.get(name)
        if spec is None or name not in acc.fields:
            continue
        if value is None or not masking.masks(spec, clear=name in clear):
            out[name] = value
        else:
            out[name] = masking.mask_value(spec.mask_kind(), str(value))
    record_call(
        session=session,
        actor=actor,
        code=code,
        kind="view",
        fields=sorted(out),
        filters={"purpose": purpose},
        rows=1,
        latency_ms=0.0,
        outcome="ok",
    )
    return out
