"""Reads of a version's Parquet file for the data API and the portal, with the caller's `Access`
applied in SQL: only the allowed fields are selected, sensitive ones masked unless in clear.

Filters (on the resource's key and index fields only, so every call is an indexed read):
    eq.V   in.(V1,V2)   gt.V  gte.V  lt.V  lte.V   prefix.V
written PostgREST-style in query strings: `?id_number=eq.371302199001011234`; a field given twice
must meet both (`?id_number=gte.A&id_number=lt.B`). Only fields the caller holds in clear may be
filtered on or looked up by (`policy.require`): a filter on a masked field is an oracle.

Pages are keyset-paginated on the primary key (on the row position when there is none). The
cursor is sealed: the position is encrypted and authenticated (AES-GCM, key derived from the
installation's secret) together with the listing it belongs to (resource, version file, filters),
so it reveals nothing of the key values, cannot be forged to start anywhere, and is refused
(400 `bad_cursor`) when tampered with, cut short or used on another listing.
"""

from __future__ import annotations

import base64
import binascii
import functools
import io
import json
import os
import threading
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from cityos.catalog import masking, policy
from cityos.catalog.delivered import lit, q
from cityos.catalog.engine import DUCK_TYPES
from cityos.catalog.schemas import Access
from cityos.catalog.tableschema import FieldSpec, Schema
from cityos.core.errors import CityOSError, Invalid
from cityos.core.settings import get_settings
from cityos.core.spreadsheet import neutralise_sql

OPS = ("eq", "in", "gt", "gte", "lt", "lte", "prefix")
MAX_FILTERS = 50  # conditions in one call; more is not a query anyone needs
MAX_CURSOR = 2048  # characters; a sealed position of a few key values is far shorter
_SQL_OPS = {"eq": "=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}

_base: duckdb.DuckDBPyConnection | None = None
_lock = threading.Lock()
_local = threading.local()
_attached: dict[Path, str] = {}


def serving_path(parquet: Path) -> Path:
    """The keyed serving copy of a version: a read-only DuckDB file with the rows and an index on
    the primary key, derived from (and named like) the version's Parquet file."""
    return parquet.with_suffix(".duckdb")


def build_serving(parquet: Path, key: list[str]) -> Path | None:
    """Build the serving copy once per version (atomically; content-addressed like the Parquet).
    Keyed lookups and filtered pages then read an index instead of decompressing row groups."""
    if not key:
        return None
    dst = serving_path(parquet)
    if dst.exists():
        return dst
    tmp = dst.with_name(f".{uuid.uuid4().hex}.duckdb")
    con = duckdb.connect(str(tmp))
    try:
        con.execute(f"CREATE TABLE data AS SELECT * FROM read_parquet({lit(str(parquet))})")
        con.execute(f"CREATE INDEX data_key ON data ({', '.join(q(k) for k in key)})")
        con.execute("CHECKPOINT")
    finally:
        con.close()
    os.replace(tmp, dst)
    return dst


def _table(parquet: Path, *, row_numbers: bool = False) -> str:
    """The SQL source for a version: its serving copy when there is one, else the Parquet file."""
    sp = serving_path(parquet)
    if not row_numbers and sp.exists():
        alias = _attached.get(sp)
        if alias is None:
            _con()
            assert _base is not None
            with _lock:
                alias = _attached.get(sp)
                if alias is None:
                    alias = "v_" + uuid.uuid4().hex[:12]
                    _base.execute(f"ATTACH {lit(str(sp))} AS {alias} (READ_ONLY)")
                    _attached[sp] = alias
        return f"{alias}.data t"
    extra = ", file_row_number = true" if row_numbers else ""
    return f"read_parquet({lit(str(parquet))}{extra}) t"


def _con() -> duckdb.DuckDBPyConnection:
    """One DuckDB database per process, one cursor per thread (cursors may not be shared)."""
    global _base
    cur = getattr(_local, "cur", None)
    if cur is not None:
        return cur
    with _lock:
        if _base is None:
            _base = duckdb.connect(":memory:")
            _base.execute("SET parquet_metadata_cache = true")
            _base.execute("SET enable_progress_bar = false")
        cur = _base.cursor()
    _local.cur = cur
    return cur


@dataclass(frozen=True)
class Filter:
    field: str
    op: str
    value: Any


def parse_filters(
    params: Mapping[str, str] | Iterable[tuple[str, str]], schema: Schema, access: Access
) -> list[Filter]:
    """Filters from query parameters (a mapping, or (name, value) pairs where a name may repeat:
    every condition applies). A field the caller does not hold in clear is refused (403) before
    anything else is said about it."""
    items = list(params.items()) if isinstance(params, Mapping) else list(params)
    if len(items) > MAX_FILTERS:
        raise Invalid(
            "At most {n} filter conditions",
            field="filter",
            code="too_many_filters",
            params={"n": MAX_FILTERS},
        )
    for name, _raw in items:
        if schema.get(name) is None:
            raise Invalid("Unknown field {field}", field=name, code="unknown_field", params={"field": name})
    policy.require(access, [name for name, _raw in items])
    out = []
    filterable = set(schema.filterable())
    for name, raw in items:
        if name not in filterable:
            raise Invalid(
                "Filtering is allowed on key and index fields only: {fields}",
                field=name,
                code="filter_not_indexed",
                params={"fields": ", ".join(sorted(filterable))},
            )
        op, sep, value = raw.partition(".")
        if not sep or op not in OPS:
            raise Invalid(
                "Filter {field} must be op.value with op one of eq, in, gt, gte, lt, lte, prefix",
                field=name,
                code="bad_filter",
                params={"field": name},
            )
        if op == "in":
            if not (value.startswith("(") and value.endswith(")")):
                raise Invalid(
                    "in.(a,b,…) needs parentheses", field=name, code="bad_filter", params={"field": name}
                )
            values = [v for v in value[1:-1].split(",") if v != ""]
            if not values or len(values) > 1000:
                raise Invalid(
                    "in.(…) takes 1 to 1000 values", field=name, code="bad_filter", params={"field": name}
                )
            out.append(Filter(name, op, values))
        else:
            out.append(Filter(name, op, value))
    return out


def _cast(schema: Schema, name: str) -> str:
    f = schema.get(name)
    return DUCK_TYPES[f.type] if f else "VARCHAR"


def _where(schema: Schema, filters: list[Filter]) -> tuple[str, list[Any]]:
    parts: list[str] = []
    params: list[Any] = []
    for f in filters:
        col = "t." + q(f.field)
        t = _cast(schema, f.field)
        if f.op == "in":
            parts.append(f"{col} IN ({', '.join(f'TRY_CAST(? AS {t})' for _ in f.value)})")
            params.extend(f.value)
        elif f.op == "prefix":
            parts.append(f"starts_with(CAST({col} AS VARCHAR), ?)")
            params.append(f.value)
        else:
            parts.append(f"{col} {_SQL_OPS[f.op]} TRY_CAST(? AS {t})")
            params.append(f.value)
    return (" WHERE " + " AND ".join(parts)) if parts else "", params


def _select(schema: Schema, access: Access) -> str:
    """Columns are qualified with the source alias `t`: DuckDB lets a select list refer to its own
    aliases, and a masked alias must never stand in for the stored value in ORDER BY or keys."""
    cols = []
    clear = set(access.clear)
    for name in access.fields:
        f = schema.get(name)
        assert f is not None
        cols.append(f"{masking.select_sql(f, 't.' + q(name), clear=name in clear)} AS {q(name)}")
    return ", ".join(cols)


def _jsonable(v: Any) -> Any:
    if isinstance(v, datetime):
        return v.isoformat(sep=" ")
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, Decimal):
        return float(v)
    return v


def _bad_cursor() -> CityOSError:
    return CityOSError("The page cursor is not valid", field="after", code="bad_cursor")


@functools.lru_cache(maxsize=8)
def _sealer(home: Path) -> AESGCM:
    """The cursor key of an installation: derived from its secret (never the secret itself)."""
    secret = get_settings().secret_key()
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"cityos catalog cursor v1").derive(
        secret
    )
    return AESGCM(key)


def listing(access: Access, path: Path, filters: list[Filter], order: list[str]) -> bytes:
    """What a cursor is bound to: the resource, the version's file, the filters and the order."""
    flt = sorted([f.field, f.op, f.value] for f in filters)
    return json.dumps([access.resource_code, path.name, flt, order], ensure_ascii=False).encode()


def encode_cursor(values: list[Any], bound_to: bytes) -> str:
    """A sealed position: the key values encrypted and authenticated with what they belong to."""
    nonce = os.urandom(12)
    plain = json.dumps([_jsonable(v) for v in values], ensure_ascii=False).encode()
    sealed = _sealer(get_settings().home).encrypt(nonce, plain, bound_to)
    return base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")


def decode_cursor(cursor: str, n: int, bound_to: bytes) -> list[Any]:
    if len(cursor) > MAX_CURSOR:
        raise _bad_cursor()
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        plain = _sealer(get_settings().home).decrypt(raw[:12], raw[12:], bound_to)
        values = json.loads(plain)
    except (ValueError, binascii.Error, InvalidTag):
        raise _bad_cursor() from None
    if not isinstance(values, list) or len(values) != n:
        raise _bad_cursor()
    return values


def page(
    path: Path,
    schema: Schema,
    access: Access,
    *,
    filters: list[Filter],
    limit: int = 100,
    after: str | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    key = list(schema.primary_key)
    src = _table(path, row_numbers=not key)
    order_cols = ["t." + q(k) for k in key] if key else ["t.file_row_number"]
    where, params = _where(schema, filters)
    bound_to = listing(access, path, filters, order_cols)
    if after:
        values = decode_cursor(after, len(order_cols), bound_to)
        types = [_cast(schema, k) for k in key] if key else ["BIGINT"]
        cond = f"({', '.join(order_cols)}) > ({', '.join(f'CAST(? AS {t})' for t in types)})"
        where = (where + " AND " + cond) if where else " WHERE " + cond
        params.extend(values)
    sel = _select(schema, access)
    extra = ", ".join(f"{c} AS __k{i}" for i, c in enumerate(order_cols))
    sql = f"SELECT {sel}, {extra} FROM {src}{where} ORDER BY {', '.join(order_cols)} LIMIT {int(limit) + 1}"
    cur = _con().execute(sql, params)
    names = [d[0] for d in cur.description]
    rows = cur.fetchall()
    more = len(rows) > limit
    rows = rows[:limit]
    nk = len(order_cols)
    out = [{n: _jsonable(v) for n, v in zip(names[:-nk], r[:-nk], strict=True)} for r in rows]
    nxt = encode_cursor(list(rows[-1][-nk:]), bound_to) if more and rows else None
    return out, nxt


def lookup(path: Path, schema: Schema, access: Access, key_values: list[str]) -> dict[str, Any] | None:
    key = list(schema.primary_key)
    if not key:
        raise Invalid("This resource has no key to look up by", code="no_key")
    policy.require(access, key)  # a lookup by a masked key would tell whether that value exists
    if len(key_values) != len(key):
        raise Invalid(
            "The key has {n} parts: {fields}",
            code="bad_key",
            params={"n": len(key), "fields": ", ".join(key)},
        )
    # Values are converted here, not with a SQL cast, so the predicate stays a plain comparison
    # that DuckDB answers from the serving copy's index (a cast on the parameter loses the index).
    params: list[Any] = []
    for k, raw in zip(key, key_values, strict=True):
        value = _key_value(schema, k, raw)
        if value is None:
            return None  # a key that cannot be of the field's type matches no row
        params.append(value)
    cond = " AND ".join(f"t.{q(k)} = ?" for k in key)
    cols = ", ".join(f"t.{q(n)}" for n in access.fields)
    # one row: plain columns, masked here by the same conventions as the SQL masking (binding the
    # masking expressions would cost DuckDB more than the indexed read itself)
    row = _con().execute(f"SELECT {cols} FROM {_table(path)} WHERE {cond} LIMIT 1", params).fetchone()
    if row is None:
        return None
    clear = set(access.clear)
    out: dict[str, Any] = {}
    for name, value in zip(access.fields, row, strict=True):
        f = schema.get(name)
        if f is not None and masking.masks(f, clear=name in clear):
            out[name] = masking.mask_value(f.mask_kind(), None if value is None else str(_jsonable(value)))
        else:
            out[name] = _jsonable(value)
    return out


def _key_value(schema: Schema, name: str, raw: str) -> Any:
    f = schema.get(name)
    t = f.type if f else "string"
    try:
        if t in ("integer", "year"):
            return int(raw)
        if t == "number":
            return float(raw)
        if t == "date":
            return date.fromisoformat(raw)
        if t == "datetime":
            return datetime.fromisoformat(raw)
        if t == "boolean":
            return {"true": True, "false": False}.get(raw.lower())
    except ValueError:
        return None
    return raw


def count(path: Path, schema: Schema, filters: list[Filter]) -> int:
    where, params = _where(schema, filters)
    row = _con().execute(f"SELECT count(*) FROM {_table(path)}{where}", params).fetchone()
    return int(row[0]) if row else 0


def export(
    path: Path, schema: Schema, access: Access, fmt: str, *, filters: list[Filter], chunk_rows: int = 100_000
) -> Iterator[bytes]:
    """Stream the (filtered, masked) rows as CSV, NDJSON or Parquet, in Arrow record batches."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    where, params = _where(schema, filters)
    # the version's Parquet is written sorted by key and read in file order: no re-sort (and no
    # ORDER BY that could bind to a masked alias)
    sql = f"SELECT {_select(schema, access)} FROM read_parquet({lit(str(path))}) t{where}"
    if fmt == "ndjson":  # DuckDB renders each row as JSON; Python only joins the lines
        sql = f"SELECT to_json(r)::VARCHAR AS line FROM ({sql}) r"
    elif fmt == "csv":  # a spreadsheet opens it: text cells that look like formulas are neutralised
        sql = f"SELECT {_csv_cells(schema, access)} FROM ({sql}) r"
    cur = _base_cursor()
    try:
        reader = cur.sql(sql, params=params).to_arrow_reader(chunk_rows)
        if fmt == "parquet":
            buf = io.BytesIO()
            writer = pq.ParquetWriter(buf, reader.schema, compression="zstd")
            for batch in reader:
                writer.write_batch(batch)
                if buf.tell() > (8 << 20):
                    yield buf.getvalue()
                    buf.seek(0)
                    buf.truncate()
            writer.close()
            yield buf.getvalue()
        elif fmt == "csv":
            first = True
            for batch in reader:
                buf = io.BytesIO()
                if first:
                    buf.write(b"\xef\xbb\xbf")  # Excel opens UTF-8 CSV with a BOM in the right encoding
                pacsv.write_csv(pa.Table.from_batches([batch]), buf, pacsv.WriteOptions(include_header=first))
                first = False
                yield buf.getvalue()
            if first:
                yield b"\xef\xbb\xbf" + (",".join(access.fields) + "\n").encode()
        elif fmt == "ndjson":
            for batch in reader:
                lines = batch.column(0).to_pylist()
                if lines:
                    yield ("\n".join(lines) + "\n").encode()
        else:
            raise Invalid("Export format must be csv, ndjson or parquet", code="bad_format")
    finally:
        cur.close()


def _csv_cells(schema: Schema, access: Access) -> str:
    """The CSV's columns over the selected (masked) ones: text through `neutralise_sql`, numbers,
    dates and booleans as they are (a negative number is not a formula)."""
    cols = []
    for name in access.fields:
        f = schema.get(name)
        text = f is None or f.type == "string" or masking.masks(f, clear=name in access.clear)
        col = "r." + q(name)
        cols.append(f"{neutralise_sql(col) if text else col} AS {q(name)}")
    return ", ".join(cols)


def _base_cursor() -> duckdb.DuckDBPyConnection:
    _con()
    assert _base is not None
    with _lock:
        return _base.cursor()


def _same(f: FieldSpec, before: FieldSpec | None) -> str:
    """The condition "field `f` holds the same value in the old row `o` as in the new row `t`". A
    field the old version did not have counts as unchanged only where the new value is empty; one
    whose type changed is compared as text (the two Parquet columns have different types)."""
    col = q(f.name)
    if before is None:
        return f"t.{col} IS NULL"
    if DUCK_TYPES[before.type] != DUCK_TYPES[f.type]:
        return f"CAST(o.{col} AS VARCHAR) IS NOT DISTINCT FROM CAST(t.{col} AS VARCHAR)"
    return f"o.{col} IS NOT DISTINCT FROM t.{col}"


def changes(
    old: Path | None,
    new: Path,
    schema: Schema,
    access: Access,
    *,
    old_schema: Schema | None = None,
    limit: int = 10_000,
) -> dict[str, Any]:
    """Rows added or changed and keys removed between two versions (by the newer one's primary key).
    Each version is read with its own schema (`old_schema`, by default the same): a field added,
    dropped or retyped between them never breaks the comparison; rows are shown with the newer
    version's fields, removed keys masked as the newer version masks them."""
    key = list(schema.primary_key)
    if not key:
        raise Invalid("Changes need a primary key in the schema", code="no_key")
    before = old_schema or schema
    if old is not None and any(before.get(k) is None for k in key):
        raise Invalid(
            "The primary key changed between the two versions: their rows cannot be matched",
            code="key_changed",
            field="since",
        )
    sel = _select(schema, access)
    con = _con()
    new_src = f"read_parquet({lit(str(new))})"
    order = ", ".join("t." + q(k) for k in key)
    if old is None:
        upserts_sql = f"SELECT {sel} FROM {new_src} t"
        removed_sql = None
    else:
        old_src = f"read_parquet({lit(str(old))})"
        same = " AND ".join(_same(f, before.get(f.name)) for f in schema.fields)
        upserts_sql = (
            f"SELECT {sel} FROM {new_src} t WHERE NOT EXISTS (SELECT 1 FROM {old_src} o WHERE {same}) "
            f"ORDER BY {order}"
        )
        match = " AND ".join(_same(schema.get(k), before.get(k)) for k in key)  # type: ignore[arg-type]
        masked_keys = ", ".join(
            f"{masking.select_sql(schema.get(k), 'o.' + q(k), clear=k in access.clear)} AS {q(k)}"  # type: ignore[arg-type]
            for k in key
        )
        removed_sql = (
            f"SELECT {masked_keys} FROM {old_src} o "
            f"WHERE NOT EXISTS (SELECT 1 FROM {new_src} t WHERE {match}) "
            f"ORDER BY {', '.join('o.' + q(k) for k in key)}"
        )
    cur = con.execute(upserts_sql + f" LIMIT {limit + 1}")
    cols = [d[0] for d in cur.description]
    up = [{c: _jsonable(v) for c, v in zip(cols, r, strict=True)} for r in cur.fetchall()]
    removed: list[dict[str, Any]] = []
    if removed_sql:
        cur = con.execute(removed_sql + f" LIMIT {limit + 1}")
        kc = [d[0] for d in cur.description]
        removed = [{c: _jsonable(v) for c, v in zip(kc, r, strict=True)} for r in cur.fetchall()]
    truncated = len(up) > limit or len(removed) > limit
    return {"upserted": up[:limit], "removed": removed[:limit], "truncated": truncated}
