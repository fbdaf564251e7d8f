"""One row by its key for another module's use case (一网通办 fetching a material the government
already holds), under the one share rule (`access.read_plan`) and on the record of use
(`usage.record_call`) with the caller's stated purpose — refused reads included.

Part of the catalog's service; other modules call `cityos.catalog.service.lookup_row`.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy.orm import Session

from cityos.catalog import reader
from cityos.catalog.access import read_plan
from cityos.catalog.usage import record_call
from cityos.core.errors import CityOSError, Invalid
from cityos.identity.schemas import Principal


def lookup_row(
    *,
    session: Session,
    actor: Principal,
    code: str,
    key: str,
    purpose: str,
    fields: list[str] | None = None,
) -> dict[str, Any] | None:
    """The row of `code` whose primary key is `key` (None when there is none), as the data API
    would serve it to `actor`. `purpose` is required and goes into the audit record of the call."""
    if not purpose.strip():
        raise Invalid("State the purpose of the lookup", field="purpose", code="purpose_required")
    t0 = time.perf_counter()
    plan = None
    row: dict[str, Any] | None = None
    outcome = "ok"
    try:
        plan = read_plan(session=session, actor=actor, code=code, fields=fields)
        row = reader.lookup(plan.path, plan.schema, plan.access, key.split(","))
        return row
    except CityOSError as exc:
        outcome = exc.code
        raise
    finally:
        record_call(
            session=session,
            actor=actor,
            code=code,
            kind="lookup",
            fields=plan.access.fields if plan else (fields or []),
            filters={"key": key, "purpose": purpose},
            rows=1 if row is not None else 0,
            latency_ms=(time.perf_counter() - t0) * 1000,
            outcome=outcome,
            version=plan.version if plan else None,
        )
