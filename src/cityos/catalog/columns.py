"""Whole-column checks for the data engine: the formats that need NumPy (the resident ID, the
unified social credit code, `format: any` dates) run on whole columns, outside DuckDB's query.

Inside a query DuckDB calls a Python function once per vector of ~2,000 values, and every call
holds the GIL: the second core waits, and the per-call overhead is paid five thousand times for
ten million rows. Here each column is read out of table `raw` once, as Arrow, cut into slices of
a million values, and the slices go to a pool of threads: the NumPy and Arrow kernels release the
GIL on arrays that large, so both cores work. The results come back as table `fmt`, one row per
row of `raw` in the same order, which the validation query joins by position (POSITIONAL JOIN):

- `__r<i>` (TINYINT) for a resident ID: the first rule the value breaks, as its index into
  `formats.RIC_REASONS` (0 when valid; `reason_sql` names it), NULL for NULL;
- `__k<i>` (BOOLEAN) for a credit code: valid or not, NULL for NULL;
- `__d<i>` (DATE) for a date with format `any`: the parsed date, NULL when not a real date.

They are the kernels of the functions `formats.register` gives DuckDB (`resident_id_reason`,
`uscc_valid`, `parse_dates`), so what a value is judged does not depend on the path it took.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import duckdb
import pyarrow as pa

from cityos.catalog import formats
from cityos.catalog.tableschema import FieldSpec, Schema

SLICE = 1 << 20  # values per kernel call: large enough to release the GIL, small enough for the cache
FMT_TABLE = "fmt"


@dataclass(frozen=True)
class FieldChecks:
    """The columns of table `fmt` that hold one field's checks (SQL names, None when not computed)."""

    reason: str | None = None  # resident ID: why invalid (index into RIC_REASONS), 0 when valid
    valid: str | None = None  # credit code: valid
    value: str | None = None  # date `any`: the parsed date


_KERNELS: dict[str, tuple[str, Callable[[pa.Array], pa.Array], pa.DataType]] = {
    "cn-resident-id": ("reason", formats.resident_id_reason_codes, pa.int8()),
    "cn-uscc": ("valid", formats.uscc_valid, pa.bool_()),
    "date-any": ("value", formats.parse_dates, pa.date32()),
}
_PREFIX = {"reason": "__r", "valid": "__k", "value": "__d"}


def _kernel(f: FieldSpec) -> str | None:
    if f.type == "string" and f.format in ("cn-resident-id", "cn-uscc"):
        return f.format
    if f.type == "date" and f.format == "any":
        return "date-any"
    return None


def compute(
    con: duckdb.DuckDBPyConnection,
    schema: Schema,
    mapping: dict[str, str],
    *,
    threads: int | None = None,
    slice_rows: int = SLICE,
) -> dict[str, FieldChecks]:
    """Run the column kernels over table `raw` (field name -> file column in `mapping`); register
    table `fmt` on `con` and say, per field, which of its columns hold what."""
    todo = [(i, f, k) for i, f in enumerate(schema.fields) if (k := _kernel(f))]
    if not todo:
        return {}
    cols = ", ".join('"' + mapping[f.name].replace('"', '""') + '"' for _i, f, _k in todo)
    reader = con.cursor()  # its own connection to the same database: `con` may hold a result
    try:
        # in the table's order, in contiguous batches of `slice_rows` values (no copy to cut them)
        source = reader.sql(f"SELECT {cols} FROM raw").to_arrow_table(batch_size=slice_rows)
    finally:
        reader.close()
    out: dict[str, pa.ChunkedArray] = {}
    checks: dict[str, FieldChecks] = {}
    with ThreadPoolExecutor(max_workers=threads or os.cpu_count() or 2) as pool:
        pending = []
        for n, (i, f, kind) in enumerate(todo):
            role, fn, dtype = _KERNELS[kind]
            parts = [pool.submit(fn, chunk) for chunk in source.column(n).chunks]
            name = f"{_PREFIX[role]}{i}"
            pending.append((name, dtype, parts))
            checks[f.name] = FieldChecks(**{role: name})
        for name, dtype, parts in pending:
            out[name] = pa.chunked_array([p.result() for p in parts], type=dtype)
    con.register(FMT_TABLE, pa.table(out))
    return checks


def reason_sql(column: str) -> str:
    """SQL naming the rule a resident ID breaks from its `__r<i>` code (NULL when valid)."""
    names = ", ".join("'" + r + "'" for r in formats.RIC_REASONS[1:])
    return f"CASE WHEN {column} > 0 THEN ([{names}])[{column}] END"


def release(con: duckdb.DuckDBPyConnection) -> None:
    """Drop table `fmt` from `con` once the validation query has read it."""
    with contextlib.suppress(duckdb.Error):
        con.unregister(FMT_TABLE)
