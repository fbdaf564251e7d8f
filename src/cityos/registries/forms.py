"""A cross-check's small declarative form (join keys, conditions), compiled to the same SQL (DuckDB
dialect) a check written in SQL has, so both run the same way on both engines.

    {
      "subject": {"resource": "dibao", "key": "id_number", "where": [["status", "=", "在保"]]},
      "joins": [
        {"resource": "vehicles", "on": "owner_id", "where": [["status", "<>", "注销"]],
         "count": [">=", 1], "label": "名下车辆"},
        {"resource": "tax", "on": "uscc", "where": [["period_end", ">=", "@since_12m"]],
         "count": ["=", 0]}
      ],
      "match": "any"
    }

The subject's rows (filtered by `where`) are the candidates and its `key` is the hit's subject_key.
Each join counts the rows of another part whose `on` column equals the subject's key (filtered by
its own `where`) and compares the count (`count`: [op, n]; ["=", 0] means "none"); `match` says
whether any or all of the joins' comparisons make a hit. A value "@name" is one of the run's
parameters (as_of, since_12m, since_6m as dates; as_of_ym, since_ym as 'YYYYMM'). A part's alias is
its `alias` or its resource (binding) name. The counts are the evidence the 核查任务 shows.
"""

from __future__ import annotations

import math
import re
from typing import Any

from cityos.core.errors import Invalid

NAME_RE = re.compile(r"^[a-z_][a-z0-9_]{0,59}$")
OPS = ("=", "<>", ">", ">=", "<", "<=", "in", "not in", "is null", "is not null")
COUNT_OPS = ("=", "<>", ">", ">=", "<", "<=")
PARAMS = ("as_of", "since_12m", "since_6m", "as_of_ym", "since_ym")
MAX_JOINS = 8


def _bad(reason: str, **params: Any) -> Invalid:
    return Invalid(reason, field="form", code="bad_form", params=params)


def _name(v: Any, what: str) -> str:
    if not isinstance(v, str) or not NAME_RE.fullmatch(v):  # fullmatch: "$" lets a final newline by
        raise _bad("{what}: a lower-case field or part name is expected", what=what)
    return v


def _literal(v: Any) -> str:
    if isinstance(v, bool) or v is None:
        raise _bad("A value must be text or a number")
    if isinstance(v, int | float):
        if not math.isfinite(v):  # JSON as Python reads it may carry NaN and Infinity
            raise _bad("A number must be finite")
        return repr(v)
    if isinstance(v, str):
        if v.startswith("@"):
            if v[1:] not in PARAMS:
                raise _bad("Unknown parameter {param}", param=v)
            return f"params.{v[1:]}"
        return "'" + v.replace("'", "''") + "'"
    raise _bad("A value must be text or a number")


def _qi(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _where(alias: str, conds: Any) -> tuple[list[str], list[str]]:
    """SQL conditions on `alias` and the fields they read."""
    if conds is None:
        return [], []
    if not isinstance(conds, list):
        raise _bad("A where is a list of [field, op, value]")
    out, fields = [], []
    for c in conds:
        if not isinstance(c, list) or len(c) not in (2, 3):
            raise _bad("A where is a list of [field, op, value]")
        col, op = _name(c[0], "where"), str(c[1]).lower()
        if op not in OPS:
            raise _bad("Unknown operator {op}", op=c[1])
        fields.append(col)
        lhs = f"{alias}.{_qi(col)}"
        if op in ("is null", "is not null"):
            out.append(f"{lhs} {op.upper()}")
        elif op in ("in", "not in"):
            vals = c[2] if len(c) == 3 else None
            if not isinstance(vals, list) or not vals:
                raise _bad("in and not in take a list of values")
            out.append(f"{lhs} {op.upper()} ({', '.join(_literal(v) for v in vals)})")
        else:
            if len(c) != 3:
                raise _bad("{op} needs a value", op=op)
            out.append(f"{lhs} {op} {_literal(c[2])}")
    return out, fields


def _count(spec: Any) -> tuple[str, int]:
    if spec is None:
        return ">=", 1
    if (
        not isinstance(spec, list)
        or len(spec) != 2
        or spec[0] not in COUNT_OPS
        or not isinstance(spec[1], int)
        or isinstance(spec[1], bool)
        or spec[1] < 0
    ):
        raise _bad("A count is [op, n] with n a whole number ≥ 0")
    return spec[0], spec[1]


def compile_form(form: Any) -> tuple[str, dict[str, str], dict[str, list[str]]]:
    """(SQL, resources alias → binding, fields read per alias) for a declarative form."""
    if not isinstance(form, dict) or not isinstance(form.get("subject"), dict):
        raise _bad("The form needs a subject")
    subject = form["subject"]
    s_res = _name(subject.get("resource"), "subject.resource")
    s_alias = _name(subject.get("alias") or s_res, "subject.alias")
    key = _name(subject.get("key"), "subject.key")
    joins = form.get("joins") or []
    if not isinstance(joins, list) or len(joins) > MAX_JOINS:
        raise _bad("The joins are a list of at most 8 parts")
    match = form.get("match", "any")
    if match not in ("any", "all"):
        raise _bad("Match is any or all")
    s_where, s_fields = _where(s_alias, subject.get("where"))
    resources = {s_alias: s_res}
    fields: dict[str, list[str]] = {s_alias: sorted({key, *s_fields})}
    ctes, selects, froms, tests = [], [f"{s_alias}.{_qi(key)} AS subject_key"], [], []
    for i, j in enumerate(joins):
        if not isinstance(j, dict):
            raise _bad("Each join is an object")
        res = _name(j.get("resource"), f"joins[{i}].resource")
        alias = _name(j.get("alias") or res, f"joins[{i}].alias")
        if alias in resources or alias == "params":
            raise _bad("The alias {alias} is used twice", alias=alias)
        on = _name(j.get("on"), f"joins[{i}].on")
        conds, read = _where(alias, j.get("where"))
        op, n = _count(j.get("count"))
        label = j.get("label") or alias
        if not isinstance(label, str) or not label.strip() or len(label) > 40:
            raise _bad("A label is 1–40 characters")
        resources[alias] = res
        fields[alias] = sorted({on, *read})
        filt = f" WHERE {' AND '.join(conds)}" if conds else ""
        ctes.append(
            f"j{i} AS (SELECT {alias}.{_qi(on)} AS k, count(*) AS n FROM {alias} CROSS JOIN params"
            f"{filt} GROUP BY {alias}.{_qi(on)})"
        )
        froms.append(f"LEFT JOIN j{i} ON j{i}.k = {s_alias}.{_qi(key)}")
        selects.append(f"coalesce(j{i}.n, 0) AS {_qi(label.strip())}")
        tests.append(f"coalesce(j{i}.n, 0) {op} {n}")
    if not tests and not s_where:
        raise _bad("The form needs a condition or a join")
    where = list(s_where)
    if tests:
        where.append("(" + (" OR " if match == "any" else " AND ").join(tests) + ")")
    sql = (f"WITH {', '.join(ctes)}\n" if ctes else "") + (
        f"SELECT {', '.join(selects)}\nFROM {s_alias} CROSS JOIN params\n"
        + "".join(f"{f}\n" for f in froms)
        + f"WHERE {' AND '.join(where)}"
    )
    return sql, resources, fields
