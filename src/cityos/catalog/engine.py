"""The data engine: validate a delivered file (read into DuckDB by catalog/delivered.py) against a
Table Schema in bulk, and write the accepted snapshot and the quarantine as Parquet.

Everything here is vectorised: a file of ten million rows is checked by a handful of DuckDB queries,
never row by row in Python. The checks that need NumPy (resident ID, credit code, `any` dates) run
first on whole columns on a pool of threads (catalog/columns.py) and the query reads their results.
The engine knows nothing of the database or permissions; the service decides what to do with its
`Outcome` (stage, accept, reject).

Row numbers in reports are the row as the sender sees it: for CSV and Excel the file's row counting
the header (the first data row is row 2, as in Excel); for JSON, NDJSON and Parquet the record's
position (1-based).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from cityos.catalog import columns as kernels_mod
from cityos.catalog import formats
from cityos.catalog.delivered import (
    Progress,
    lit,
    q,
    read_source,
)
from cityos.catalog.tableschema import FALSE_VALUES, TRUE_VALUES, FieldSpec, Schema
from cityos.core.errors import Invalid

QUARANTINE_COLUMNS = ("__row", "__errors")
DUCK_TYPES = {
    "string": "VARCHAR",
    "integer": "BIGINT",
    "number": "DOUBLE",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "datetime": "TIMESTAMP",
    "year": "INTEGER",
}
ERROR_TEXT = {  # English; the pages translate through the catalog module's messages
    "required": "value is required",
    "type": "not a valid {type}",
    "format": "not a valid {format}",
    "enum": "not one of the allowed values",
    "minimum": "below the minimum",
    "maximum": "above the maximum",
    "pattern": "does not match the pattern",
    "minLength": "too short",
    "maxLength": "too long",
    "unique": "duplicate value",
    "primaryKey": "duplicate key",
    "existingKey": "key already in the resource (use upsert)",
    # the resident ID (GB 11643) says which of its rules failed
    "id_length": "not 18 characters long",
    "id_15": "a 15-digit first-generation ID number: give the 18-digit number",
    "id_characters": "must be 17 digits and a digit or X",
    "id_check": "wrong check character (GB 11643 MOD 11-2)",
    "id_date": "the birth date (characters 7-14) is not a real date",
    "id_area": "the area code (first 6 digits) is no county code of any year (GB/T 2260)",
}
NUMBER_RE = r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?"
ISO_DATE_RE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
ISO_DATETIME_RE = (
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?(Z|[+-][0-9]{2}:?[0-9]{2})?"
)


def connect(*, threads: int | None = None, temp_dir: Path | None = None) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:", config={"threads": threads or (os.cpu_count() or 2)})
    con.execute("SET preserve_insertion_order = true")
    con.execute("SET enable_progress_bar = false")
    if temp_dir is not None:
        temp_dir.mkdir(parents=True, exist_ok=True)
        con.execute(f"SET temp_directory = {lit(str(temp_dir))}")
    formats.register(con)
    return con


# ------------------------------------------------------------------------------------ validation
# zstd at level 1: on the 10 M-row benchmark file 3.6 s of CPU and 144 MB, against 4.8 s and
# 154 MB at DuckDB's default level (bench/RESULTS.md, validate)
PARQUET_CODEC = "COMPRESSION zstd, COMPRESSION_LEVEL 1"
SAMPLE_CHARS = 200  # a sample value longer than this is cut, with an ellipsis


@dataclass
class Report:
    rows: int = 0
    valid_rows: int = 0
    invalid_rows: int = 0
    fatal: list[dict[str, Any]] = field(default_factory=list)
    fields: dict[str, dict[str, Any]] = field(default_factory=dict)
    errors: list[dict[str, Any]] = field(default_factory=list)
    samples: list[dict[str, Any]] = field(default_factory=list)
    completeness: float | None = None
    validity: float | None = None
    uniqueness: float | None = None
    source: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.fatal and self.invalid_rows == 0

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "rows": self.rows,
            "valid_rows": self.valid_rows,
            "invalid_rows": self.invalid_rows,
            "fatal": self.fatal,
            "fields": self.fields,
            "errors": self.errors,
            "samples": self.samples,
            "scores": {
                "completeness": self.completeness,
                "validity": self.validity,
                "uniqueness": self.uniqueness,
            },
            "source": self.source,
            "seconds": round(self.seconds, 3),
        }


def _titles(schema: Schema, label: str) -> str:
    """The Chinese titles of a field (or of a key's fields, "a+b"), its name where it has none."""
    return "+".join((s.title if (s := schema.get(n)) and s.title else n) for n in label.split("+"))


def _missing(col: str, schema: Schema) -> str:
    mv = [v for v in schema.missing_values]
    cond = f"{col} IS NULL"
    if mv:
        cond += f" OR {col} IN ({', '.join(lit(v) for v in mv)})"
    return f"({cond})"


def typed_expr(f: FieldSpec, col: str) -> str:
    """The field's value in its type, NULL when it does not parse."""
    t = f.type
    if t == "string":
        return col
    if t == "integer":
        return f"TRY_CAST(CASE WHEN regexp_full_match({col}, '[+-]?[0-9]+') THEN {col} END AS BIGINT)"
    if t == "number":
        return f"TRY_CAST(CASE WHEN regexp_full_match({col}, {lit(NUMBER_RE)}) THEN {col} END AS DOUBLE)"
    if t == "boolean":
        return (
            f"CASE WHEN {col} IN ({', '.join(map(lit, TRUE_VALUES))}) THEN true "
            f"WHEN {col} IN ({', '.join(map(lit, FALSE_VALUES))}) THEN false END"
        )
    if t == "year":
        return f"TRY_CAST(CASE WHEN regexp_full_match({col}, '[0-9]{{4}}') THEN {col} END AS INTEGER)"
    if t == "date":
        if f.format == "any":
            return formats.date_expr(col)
        if "%" in f.format:
            return f"CAST(try_strptime({col}, {lit(f.format)}) AS DATE)"
        return f"CASE WHEN regexp_full_match({col}, {lit(ISO_DATE_RE)}) THEN TRY_CAST({col} AS DATE) END"
    if t == "datetime":
        if f.format == "any":
            return formats.datetime_expr(col)
        if "%" in f.format:
            return f"try_strptime({col}, {lit(f.format)})"
        return (
            f"CASE WHEN regexp_full_match({col}, {lit(ISO_DATETIME_RE)})"
            f" THEN TRY_CAST(replace(replace({col}, 'T', ' '), 'Z', '') AS TIMESTAMP) END"
        )
    raise ValueError(t)


def _const_lit(f: FieldSpec, v: Any) -> str:
    if f.type == "date":
        return f"DATE {lit(str(v))}"
    if f.type == "datetime":
        return f"TIMESTAMP {lit(str(v))}"
    if f.type == "boolean":
        return lit(v in TRUE_VALUES or v is True)
    if f.type in ("integer", "number", "year"):
        return lit(float(v) if f.type == "number" else int(v))
    return lit(v)


def _field_errors(
    f: FieldSpec, col: str, typed: str, missing: str, key: bool, sole_key: bool = False, format_ok: str = ""
) -> list[tuple[str, str]]:
    """(code, SQL condition that is TRUE when the value breaks the rule). `col`, `typed` and
    `missing` may be expressions or the columns of a subquery that computed them once;
    `format_ok`, when given, is such a column for the field's format check."""
    c = f.constraints
    present = f"NOT {missing}"
    out: list[tuple[str, str]] = []
    if f.required or key:
        out.append(("required", missing))
    if f.type != "string":
        out.append(("type", f"{present} AND ({typed}) IS NULL"))
    elif f.format != "default":
        ok = format_ok or f"coalesce({formats.check_expr(f.format, col)}, false)"
        out.append(("format", f"{present} AND NOT {ok}"))
    if "enum" in c:
        out.append(
            ("enum", f"{present} AND ({typed}) NOT IN ({', '.join(_const_lit(f, v) for v in c['enum'])})")
        )
    if "minimum" in c:
        out.append(("minimum", f"{present} AND ({typed}) < {_const_lit(f, c['minimum'])}"))
    if "maximum" in c:
        out.append(("maximum", f"{present} AND ({typed}) > {_const_lit(f, c['maximum'])}"))
    if "pattern" in c:
        out.append(("pattern", f"{present} AND NOT regexp_full_match({col}, {lit(c['pattern'])})"))
    if "minLength" in c:
        out.append(("minLength", f"{present} AND length({col}) < {int(c['minLength'])}"))
    if "maxLength" in c:
        out.append(("maxLength", f"{present} AND length({col}) > {int(c['maxLength'])}"))
    if c.get("unique") and not sole_key:
        out.append(("unique", f"{present} AND row_number() OVER (PARTITION BY {col} ORDER BY __row) > 1"))
    return out


def match_columns(schema: Schema, columns: list[str]) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """Map each schema field to the file's column (by name, else by title); report what is missing
    or left over. The quarantine's own columns (__row, __errors) are ignored on reload."""
    by_label = {c.strip(): c for c in columns}
    mapping: dict[str, str] = {}
    fatal: list[dict[str, Any]] = []
    for f in schema.fields:
        col = by_label.get(f.name) or (by_label.get(f.title) if f.title else None)
        if col is None:
            fatal.append(
                {
                    "code": "missing_column",
                    "field": f.name,
                    "message": f"column {f.name} ({f.title}) is missing",
                }
            )
        else:
            mapping[f.name] = col
    used = set(mapping.values())
    for c in columns:
        if c not in used and c.strip() not in QUARANTINE_COLUMNS:
            fatal.append({"code": "extra_column", "field": c, "message": f"column {c} is not in the schema"})
    return mapping, fatal


@dataclass
class Outcome:
    report: Report
    snapshot: Path | None = None  # typed Parquet of the whole resource after this load
    sha256: str | None = None
    snapshot_rows: int = 0
    quarantine: Path | None = None
    unchanged: bool = False


def validate(
    con: duckdb.DuckDBPyConnection,
    schema: Schema,
    columns: list[str],
    *,
    mode: str = "replace",
    previous: Path | None = None,
) -> Report:
    """Check table `raw` against `schema`; leaves table `checked` (typed values + __errors)."""
    import time as _time

    t0 = _time.perf_counter()
    rep = Report()
    mapping, fatal = match_columns(schema, columns)
    rep.fatal = fatal
    rep.rows = con.execute("SELECT count(*) FROM raw").fetchall()[0][0]
    if fatal:
        rep.invalid_rows = rep.rows
        rep.seconds = _time.perf_counter() - t0
        return rep
    key = list(schema.primary_key)
    if mode == "upsert" and not key:
        raise Invalid("Upsert needs a primary key in the schema", code="upsert_without_key", field="mode")
    # Each field's typed value, missing flag and format check are computed once, in the inner
    # query; the outer one builds the error list from those columns.
    # The resident ID, credit code and `any` date checks run first, on whole columns (catalog/columns.py);
    # the query reads their results from table `fmt`, joined to `raw` by position.
    kernels = kernels_mod.compute(con, schema, mapping)
    inner = ["__row"]
    selects = ["__row"]
    errors_sql: list[str] = []
    missing_sql: list[str] = []
    value, typed_col = {}, {}
    for i, f in enumerate(schema.fields):
        col = q(mapping[f.name])
        value[f.name], typed_col[f.name], missing, format_ok = (f"__v{i}", f"__t{i}", f"__m{i}", "")
        done = kernels.get(f.name, kernels_mod.FieldChecks())
        inner += [
            f"{col} AS {value[f.name]}",
            f"CAST({done.value or typed_expr(f, col)} AS {DUCK_TYPES[f.type]}) AS {typed_col[f.name]}",
            f"{_missing(col, schema)} AS {missing}",
        ]
        if f.type == "string" and f.format != "default":
            format_ok = f"__f{i}"
            check = f"({done.reason} = 0)" if done.reason else done.valid or formats.check_expr(f.format, col)
            inner.append(f"coalesce({check}, false) AS {format_ok}")
            if done.reason:  # the rule it breaks, named
                inner.append(f"{kernels_mod.reason_sql(done.reason)} AS __y{i}")
        selects.append(f"{typed_col[f.name]} AS {q(f.name)}")
        missing_sql.append(f"count(*) FILTER (WHERE {_missing(col, schema)}) AS {q(f.name)}")
        for code, cond in _field_errors(
            f, value[f.name], typed_col[f.name], missing, f.name in key, key == [f.name], format_ok
        ):
            why = None
            if code == "format":
                why = f"__y{i}" if done.reason else formats.reason_expr(f.format, value[f.name])
            # a format with several rules (the resident ID) says which one the value breaks
            label_sql = f"{lit(f.name + ':')} || {why}" if why else lit(f.name + ":" + code)
            errors_sql.append(f"CASE WHEN {cond} THEN {label_sql} END")
    if key:
        kcols = ", ".join(value[k] for k in key)
        label = "+".join(key)
        errors_sql.append(
            f"CASE WHEN row_number() OVER (PARTITION BY {kcols} ORDER BY __row) > 1 "
            f"THEN {lit(label + ':primaryKey')} END"
        )
        if mode == "append" and previous is not None:
            tuple_new = "(" + ", ".join(typed_col[k] for k in key) + ")"
            con.execute(
                f"CREATE TEMP TABLE prev_keys AS SELECT {', '.join(q(k) for k in key)} FROM read_parquet(?)",
                [str(previous)],
            )
            errors_sql.append(
                f"CASE WHEN {tuple_new} IN (SELECT ({', '.join(q(k) for k in key)}) FROM prev_keys) "
                f"THEN {lit(label + ':existingKey')} END"
            )
    err_list = (
        "list_filter([" + ", ".join(errors_sql) + "]::VARCHAR[], lambda x: x IS NOT NULL)"
        if errors_sql
        else "[]::VARCHAR[]"
    )
    source = f"raw POSITIONAL JOIN {kernels_mod.FMT_TABLE}" if kernels else "raw"
    try:
        con.execute(
            f"CREATE TABLE checked AS SELECT {', '.join(selects)}, {err_list} AS __errors "
            f"FROM (SELECT {', '.join(inner)} FROM {source})"
        )
    finally:
        if kernels:
            kernels_mod.release(con)
    # counts per field and rule
    counts = con.execute(
        "SELECT e, count(*) FROM (SELECT unnest(__errors) AS e FROM checked) GROUP BY e ORDER BY e"
    ).fetchall()
    rep.invalid_rows = con.execute("SELECT count(*) FROM checked WHERE len(__errors) > 0").fetchone()[0]  # type: ignore[index]
    rep.valid_rows = rep.rows - rep.invalid_rows
    miss = con.execute(f"SELECT {', '.join(missing_sql)} FROM raw").fetchone() or ()
    for f, m in zip(schema.fields, miss, strict=True):
        rep.fields[f.name] = {"missing": int(m), "errors": {}}
    error_cells = 0
    for e, n in counts:
        fname, code = e.rsplit(":", 1)
        error_cells += n
        rep.fields.setdefault(fname, {"missing": 0, "errors": {}})["errors"][code] = n
        spec = schema.get(fname)
        rep.errors.append(
            {
                "field": fname,
                "title": _titles(schema, fname),  # stewards know their columns by these names
                "code": code,
                "count": n,
                "message": ERROR_TEXT[code].format(
                    type=spec.type if spec else "", format=spec.format if spec else ""
                ),
            }
        )
    # up to five sample rows per field and rule, with the value as sent
    sample_rows = con.execute(
        "SELECT e, __row FROM (SELECT __row, unnest(__errors) AS e FROM checked) "
        "QUALIFY row_number() OVER (PARTITION BY e ORDER BY __row) <= 5 ORDER BY e, __row"
    ).fetchall()
    # the values as sent, of every sample row at once (one scan, however many rules failed);
    # cut in SQL: a 300 MB cell must not become a 300 MB report row (nor be read into Python)
    sent: dict[int, dict[str, str]] = {}
    if sample_rows:
        file_cols = list(dict.fromkeys(mapping.values()))
        cut = ", ".join(
            f"CASE WHEN length(CAST({q(c)} AS VARCHAR)) > {SAMPLE_CHARS} "
            f"THEN left(CAST({q(c)} AS VARCHAR), {SAMPLE_CHARS}) || '…' ELSE CAST({q(c)} AS VARCHAR) END"
            for c in file_cols
        )
        wanted = sorted({int(row) for _e, row in sample_rows})
        found = con.execute(
            f"SELECT __row, {cut} FROM raw WHERE __row IN ({', '.join(map(str, wanted))})"
        ).fetchall()
        sent = {
            int(r[0]): dict(zip(file_cols, ("" if v is None else str(v) for v in r[1:]), strict=True))
            for r in found
        }
    for e, row in sample_rows:
        fname, code = e.rsplit(":", 1)
        cols = [mapping[k] for k in (fname.split("+") if code in ("primaryKey", "existingKey") else [fname])]
        parts = [sent.get(int(row), {}).get(c, "") for c in cols]
        rep.samples.append(
            {
                "row": int(row),
                "field": fname,
                "title": _titles(schema, fname),
                "code": code,
                "value": " | ".join(parts),
                "values": parts,
            }
        )
    cells = rep.rows * len(schema.fields)
    missing_cells = sum(v["missing"] for v in rep.fields.values())
    if cells:
        rep.completeness = round(1 - missing_cells / cells, 6)
        rep.validity = round(1 - min(error_cells, cells) / cells, 6)
    if rep.rows:
        if key:
            # every row but the first of each key value was told `primaryKey` (NULLs are one value
            # there as in DISTINCT): the distinct keys are counted already
            distinct = rep.rows - dict(counts).get("+".join(key) + ":primaryKey", 0)
        else:
            # Rows with distinct hashes are distinct rows: only when some hashes collide (duplicates,
            # or rarely a collision) is the exact, costlier DISTINCT over every column needed.
            every = ", ".join(q(mapping[f.name]) for f in schema.fields)
            distinct = con.execute(f"SELECT count(DISTINCT hash({every})) FROM raw").fetchone()[0]  # type: ignore[index]
            if distinct < rep.rows:
                exact = f"SELECT count(*) FROM (SELECT DISTINCT {every} FROM raw)"
                distinct = con.execute(exact).fetchone()[0]  # type: ignore[index]
        rep.uniqueness = round(distinct / rep.rows, 6)
    rep.source["columns"] = mapping
    rep.seconds = _time.perf_counter() - t0
    return rep


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def write_outputs(
    con: duckdb.DuckDBPyConnection,
    schema: Schema,
    columns_map: dict[str, str],
    *,
    mode: str,
    previous: Path | None,
    out_dir: Path,
) -> tuple[Path, str, int, Path | None, int]:
    """Write the snapshot (typed, sorted by key) and the quarantine (as sent, with reasons)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    names = ", ".join(q(f.name) for f in schema.fields)
    key = [q(k) for k in schema.primary_key]
    new_rows = f"SELECT {names} FROM checked WHERE len(__errors) = 0"
    if mode == "replace" or previous is None:
        snap = new_rows
    elif mode == "append":
        snap = f"SELECT {names} FROM read_parquet({lit(str(previous))}) UNION ALL {new_rows}"
    else:  # upsert
        snap = (
            f"SELECT {names} FROM read_parquet({lit(str(previous))}) p "
            f"WHERE ({', '.join('p.' + k for k in key)}) "
            f"NOT IN (SELECT ({', '.join(key)}) FROM checked WHERE len(__errors) = 0) UNION ALL {new_rows}"
        )
    order = f" ORDER BY {', '.join(key)}" if key else ""
    tmp = out_dir / f".{uuid.uuid4().hex}.parquet"
    con.execute(
        f"COPY ({snap}{order}) TO {lit(str(tmp))} (FORMAT parquet, {PARQUET_CODEC}, ROW_GROUP_SIZE 100000)"
    )
    rows = con.execute(f"SELECT count(*) FROM read_parquet({lit(str(tmp))})").fetchone()[0]  # type: ignore[index]
    sha = _sha256(tmp)
    final = out_dir / f"{sha}.parquet"
    if final.exists():
        tmp.unlink()
    else:
        os.replace(tmp, final)
    quarantine: Path | None = None
    bad = con.execute("SELECT count(*) FROM checked WHERE len(__errors) > 0").fetchone()[0]  # type: ignore[index]
    if bad:
        raw_cols = ", ".join(f"r.{q(columns_map[f.name])} AS {q(f.name)}" for f in schema.fields)
        quarantine = out_dir / f"quarantine-{uuid.uuid4().hex}.parquet"
        part = (
            out_dir / f".{quarantine.name}"
        )  # written whole, then renamed: a killed load leaves no half file
        con.execute(
            f"COPY (SELECT {raw_cols}, r.__row AS __row, array_to_string(c.__errors, '; ') AS __errors "
            f"FROM raw r JOIN checked c USING (__row) WHERE len(c.__errors) > 0 ORDER BY r.__row) "
            f"TO {lit(str(part))} (FORMAT parquet, {PARQUET_CODEC})"
        )
        os.replace(part, quarantine)
    return final, sha, int(rows), quarantine, int(bad)


def run(
    path: Path,
    schema: Schema,
    *,
    name: str = "",
    mode: str = "replace",
    previous: Path | None = None,
    out_dir: Path,
    progress: Progress | None = None,
) -> Outcome:
    """Read, validate and (unless something fatal) write the snapshot and quarantine files."""
    if mode not in ("replace", "append", "upsert"):
        raise Invalid("Mode must be replace, append or upsert", code="bad_mode", field="mode")
    work = Path(tempfile.mkdtemp(prefix="load-", dir=_ensure(out_dir / "tmp")))
    try:
        con = connect(temp_dir=work)
        try:
            if progress:
                progress("read", 0.0)
            info = read_source(con, path, name=name, work_dir=work, progress=progress)
            if progress:
                progress("validate", float(info.rows))
            rep = validate(con, schema, info.columns, mode=mode, previous=previous)
            rep.source.update(
                {
                    "name": info.name,
                    "format": info.format,
                    "encoding": info.encoding,
                    "delimiter": info.delimiter,
                }
            )
            if rep.fatal:
                return Outcome(report=rep)
            if progress:
                progress("write", float(info.rows))
            snap, sha, rows, quarantine, _bad = write_outputs(
                con, schema, rep.source["columns"], mode=mode, previous=previous, out_dir=out_dir
            )
            return Outcome(report=rep, snapshot=snap, sha256=sha, snapshot_rows=rows, quarantine=quarantine)
        finally:
            con.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)


LEFTOVER_HOURS = 12  # no load runs this long; anything temporary older than this was abandoned


def sweep(store: Path, *, older_than_hours: float = LEFTOVER_HOURS) -> int:
    """Remove what a load killed half-way (kill -9, power loss) left in the data store: its work
    folders (`<resource>/tmp/load-*`) and the temporary files every output is written to before
    its atomic rename (hidden `.<name>` files: Parquet snapshots, quarantines, serving copies).
    Finished files never have such names, so only leftovers go; recent ones may belong to a load
    still running and are kept."""
    if not store.is_dir():
        return 0
    import time

    cutoff = time.time() - older_than_hours * 3600
    n = 0
    for resource in store.iterdir():
        if not resource.is_dir():
            continue
        found = [*(resource / "tmp").glob("load-*"), *resource.glob(".*")]
        for p in found:
            try:
                if p.lstat().st_mtime >= cutoff:
                    continue
                if p.is_dir() and not p.is_symlink():
                    shutil.rmtree(p, ignore_errors=True)
                else:
                    p.unlink(missing_ok=True)
                n += 1
            except FileNotFoundError:
                continue
    return n


def _ensure(p: Path) -> Path:
    p.mkdir(parents=True, exist_ok=True)
    return p
