"""Masking of sensitive fields, as SQL over the version's Parquet, following the display conventions
Chinese government systems use:

    id       resident ID number: first 1 and last 2 characters     3***************12
    mobile   mobile number: first 3 and last 4 digits                138****5678
    name     person's name: first character                          张**
    partial  anything else: first and last quarter kept              山东省****号
    none     shown in clear (the field is not sensitive)

A masked value has the original's length, so a consumer can still tell a value from an empty one.
"""

from __future__ import annotations

from cityos.catalog.tableschema import FieldSpec


def mask_sql(kind: str, col: str) -> str:
    v = f"CAST({col} AS VARCHAR)"
    n = f"length({v})"
    stars = f"repeat('*', {n})"
    if kind == "id":
        return (
            f"CASE WHEN {n} > 3 THEN left({v}, 1) || repeat('*', {n} - 3) || right({v}, 2) ELSE {stars} END"
        )
    if kind == "mobile":
        return (
            f"CASE WHEN {n} > 7 THEN left({v}, 3) || repeat('*', {n} - 7) || right({v}, 4) ELSE {stars} END"
        )
    if kind == "name":
        return f"CASE WHEN {n} > 1 THEN left({v}, 1) || repeat('*', {n} - 1) ELSE '*' END"
    if kind == "partial":
        keep = f"CAST(floor({n} / 4) AS INTEGER)"
        return (
            f"CASE WHEN {n} >= 4 THEN left({v}, {keep}) || repeat('*', {n} - 2 * {keep}) "
            f"|| right({v}, {keep}) "
            f"ELSE repeat('*', {n}) END"
        )
    return col


def masks(f: FieldSpec, *, clear: bool) -> bool:
    """Whether field `f` is shown masked (as text) to a caller who holds it in clear or not."""
    return not clear and f.sensitivity == "sensitive" and f.mask_kind() != "none"


def select_sql(f: FieldSpec, col: str, *, clear: bool) -> str:
    """The SELECT expression for field `f`: in clear, or masked per its kind (NULL stays NULL)."""
    if not masks(f, clear=clear):
        return col
    return f"CASE WHEN {col} IS NULL THEN NULL ELSE {mask_sql(f.mask_kind(), col)} END"


def mask_value(kind: str, value: str | None) -> str | None:
    """The same conventions in Python, for single values shown on pages."""
    if value is None:
        return None
    n = len(value)
    if kind == "id":
        return value[:1] + "*" * (n - 3) + value[-2:] if n > 3 else "*" * n
    if kind == "mobile":
        return value[:3] + "*" * (n - 7) + value[-4:] if n > 7 else "*" * n
    if kind == "name":
        return value[:1] + "*" * (n - 1) if n > 1 else "*"
    if kind == "partial":
        k = n // 4
        return value[:k] + "*" * (n - 2 * k) + value[n - k :] if n >= 4 else "*" * n
    return value
