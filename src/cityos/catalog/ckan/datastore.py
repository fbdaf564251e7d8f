"""CKAN's datastore_search over the current version of an open resource, its public fields only,
filtered, searched and sorted on the fields the caller holds in clear (`policy.require`).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import duckdb

from cityos.catalog import masking, policy, service
from cityos.catalog.ckan.actions import _find_resource
from cityos.catalog.ckan.common import (
    CKAN_TYPES,
    DATASTORE_ROWS_MAX,
    Ctx,
    _bool,
    _int,
    _json,
    _list,
    _required,
    invalid,
    not_found,
)
from cityos.catalog.delivered import lit
from cityos.catalog.delivered import q as ident
from cityos.catalog.schemas import Access
from cityos.core.errors import Forbidden, NotFound

# ---------------------------------------------------------------------------- datastore
_duck: duckdb.DuckDBPyConnection | None = None
_duck_lock = threading.Lock()


def _cursor() -> duckdb.DuckDBPyConnection:
    """One in-process DuckDB database, a cursor per call (cursors may not be shared by threads)."""
    global _duck
    with _duck_lock:
        if _duck is None:
            _duck = duckdb.connect(":memory:")
            _duck.execute("SET enable_progress_bar = false")
        return _duck.cursor()


def _plain(v: Any) -> Any:
    if isinstance(v, datetime):
        return v.isoformat()
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, Decimal):
        return float(v)
    return v


def _filter_value(v: Any) -> str | None:
    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def _like(term: str) -> str:
    return "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


@dataclass
class _Query:
    where: list[str] = field(default_factory=list)
    params: list[Any] = field(default_factory=list)


def _datastore_where(
    data: dict[str, Any], acc: Access, columns: list[str], text_columns: list[str]
) -> tuple[_Query, dict[str, Any], Any]:
    """Filters and q, on fields of the table the caller holds in clear only (`policy.require`;
    `_id`, the row position, is no field of the data)."""
    qy = _Query()
    names = ["_id", *columns]
    filters = _json(data.get("filters"), "filters") or {}
    if not isinstance(filters, dict):
        raise invalid("filters", "Not a JSON object")
    for name in filters:
        if name not in names:
            raise invalid("filters", f'field "{name}" not in table')
    policy.require(acc, [n for n in filters if n != "_id"])
    for name, value in filters.items():
        col = f"CAST({ident(name)} AS VARCHAR)"
        values = value if isinstance(value, list) else [value]
        if any(isinstance(v, dict | list) for v in values):
            raise invalid("filters", f'field "{name}": values must be text, numbers or lists of them')
        given = [_filter_value(v) for v in values]
        parts = []
        plain = [v for v in given if v is not None]
        if plain:
            parts.append(f"{col} IN ({', '.join('?' for _ in plain)})")
            qy.params.extend(plain)
        if None in given:
            parts.append(f"{ident(name)} IS NULL")
        qy.where.append("(" + " OR ".join(parts or ["FALSE"]) + ")")
    q = _json(data.get("q"), "q")
    if isinstance(q, dict):
        for name in q:
            if name not in columns:
                raise invalid("q", f'field "{name}" not in table')
        policy.require(acc, q)
        for name, term in q.items():
            for word in str(term).split():
                qy.where.append(f"CAST({ident(name)} AS VARCHAR) ILIKE ? ESCAPE '\\'")
                qy.params.append(_like(word))
    elif q not in (None, ""):
        for word in str(q).split():
            if not text_columns:
                qy.where.append("FALSE")
                continue
            qy.where.append("(" + " OR ".join(f"{ident(c)} ILIKE ? ESCAPE '\\'" for c in text_columns) + ")")
            qy.params.extend(_like(word) for _ in text_columns)
    return qy, filters, q


def _order(data: dict[str, Any], acc: Access, columns: list[str]) -> tuple[str, str | None]:
    raw = data.get("sort")
    parts = _list(raw, "sort")
    names = ["_id", *columns]
    out = []
    for part in parts:
        bits = part.split()
        name = bits[0].strip('"')
        direction = bits[1].lower() if len(bits) > 1 else "asc"
        if name not in names:
            raise invalid("sort", f'field "{name}" not in table')
        if name != "_id":
            policy.require(acc, [name])
        if direction not in ("asc", "desc") or len(bits) > 2:
            raise invalid("sort", f'sorting can only be asc or desc, not "{part}"')
        out.append(f"{ident(name)} {direction.upper()}")
    out.append('"_id" ASC')
    return ", ".join(out), ", ".join(parts) if parts else None


def _links(path: str, data: dict[str, Any], offset: int, limit: int) -> dict[str, str]:
    args = {
        k: (json.dumps(v, ensure_ascii=False) if isinstance(v, dict | list) else str(v))
        for k, v in data.items()
        if k != "offset"
    }
    out = {
        "start": path + "?" + urlencode(args),
        "next": path + "?" + urlencode({**args, "offset": offset + limit}),
    }
    if offset - limit > 0:
        out["prev"] = path + "?" + urlencode({**args, "offset": offset - limit})
    return out


def datastore_search(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    """Rows of an open dataset's public fields: resource_id, filters (JSON object of field: value
    or [values]), q (text over the string fields, or {field: text}), fields, sort, limit, offset,
    include_total, records_format (objects | lists)."""
    rid = _required(data, "resource_id", "id")
    r, _fmt = _find_resource(ctx, rid)
    try:
        acc = service.open_access(session=ctx.session, code=r.code)
        path, _v = service.version_path(session=ctx.session, code=r.code)
    except (Forbidden, NotFound):
        raise not_found(f'Resource "{rid}" was not found.') from None
    schema = service.version_schema(session=ctx.session, code=r.code)
    columns = list(acc.fields)
    types: dict[str, str] = {"_id": "int"}
    for name in columns:
        spec = schema.get(name)
        types[name] = CKAN_TYPES.get(spec.type if spec else "string", "text")
    # free text searches the text fields the caller holds in clear only (policy.queryable)
    text_columns = [c for c in columns if types[c] == "text" and c in policy.queryable(acc)]
    limit = _int(data, "limit", 100, maximum=DATASTORE_ROWS_MAX)
    offset = _int(data, "offset", 0)
    wanted = _list(data.get("fields"), "fields") or ["_id", *columns]
    for f in wanted:
        if f not in types:
            raise invalid("fields", f'field "{f}" not in table')
    records_format = str(data.get("records_format") or "objects")
    if records_format not in ("objects", "lists"):
        raise invalid("records_format", "Value must be one of ['objects', 'lists']")
    include_total = _bool(data.get("include_total"), True)
    qy, filters, q = _datastore_where(data, acc, columns, text_columns)
    order, sort_given = _order(data, acc, columns)
    select = ", ".join(
        f"{masking.select_sql(schema.get(n), ident(n), clear=n in acc.clear)} AS {ident(n)}"  # type: ignore[arg-type]
        for n in columns
    )
    source = (
        f"(SELECT file_row_number + 1 AS _id, {select} "
        f"FROM read_parquet({lit(str(Path(path)))}, file_row_number = true)) AS t"
    )
    where = (" WHERE " + " AND ".join(qy.where)) if qy.where else ""
    cols = ", ".join(ident(f) for f in wanted)
    cur = _cursor()
    try:
        rows = cur.execute(
            f"SELECT {cols} FROM {source}{where} ORDER BY {order} LIMIT {limit} OFFSET {offset}", qy.params
        ).fetchall()
        total = (
            int(cur.execute(f"SELECT count(*) FROM {source}{where}", qy.params).fetchone()[0])  # type: ignore[index]
            if include_total
            else None
        )
    finally:
        cur.close()
    if records_format == "objects":
        records: list[Any] = [{f: _plain(v) for f, v in zip(wanted, row, strict=True)} for row in rows]
    else:
        records = [[_plain(v) for v in row] for row in rows]
    ctx.records.append((r.code, len(records)))
    result: dict[str, Any] = {
        "include_total": include_total,
        "resource_id": rid,
        "fields": [{"id": f, "type": types[f]} for f in wanted],
        "records_format": records_format,
        "records": records,
        "limit": limit,
        "offset": offset,
        "_links": _links("/api/3/action/datastore_search", data, offset, limit),
    }
    if filters:
        result["filters"] = filters
    if q not in (None, ""):
        result["q"] = q
    if sort_given:
        result["sort"] = sort_given
    if total is not None:
        result["total"] = total
        result["total_was_estimated"] = False
    return result
