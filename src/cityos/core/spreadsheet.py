"""Spreadsheet cells going out: one place that makes every CSV/XLSX export safe to open.

A cell whose text starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read
by Excel, WPS and LibreOffice as a formula (CSV/formula injection). OWASP's recommendation,
followed here: prefix such a text with a single quote so the program shows it as text, and
keep everything else byte for byte. Numbers stay numbers (a negative number is not a formula);
only strings are touched. Every export of the project (data API, portal downloads, quarantine,
catalog Excel, usage, case evaluation) writes through these two functions.

`neutralise_sql` is the same rule as a DuckDB/SQL expression, for exports that DuckDB renders
itself (COPY ... TO CSV) so millions of rows never pass through Python.
"""

from __future__ import annotations

from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    """The value to write into a CSV or XLSX cell: formula-looking text prefixed with '."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def neutralise_row(values: list[Any] | tuple[Any, ...]) -> list[Any]:
    return [neutralise(v) for v in values]


def neutralise_sql(expr: str) -> str:
    """A SQL expression (DuckDB dialect) applying `neutralise` to a VARCHAR expression."""
    return (
        f"CASE WHEN left({expr}, 1) IN ('=', '+', '-', '@', chr(9), chr(13)) "
        f"THEN '''' || {expr} ELSE {expr} END"
    )
