"""Spreadsheet cells going out and coming in.

Out: one place that makes every CSV/XLSX export safe to open.

A cell whose text starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read
by Excel, WPS and LibreOffice as a formula (CSV/formula injection). OWASP's recommendation,
followed here: prefix such a text with a single quote so the program shows it as text, and
keep everything else byte for byte. Numbers stay numbers (a negative number is not a formula);
only strings are touched. Every export of the project (data API, portal downloads, quarantine,
catalog Excel, usage, case evaluation) writes through these two functions.

`neutralise_sql` is the same rule as a DuckDB/SQL expression, for exports that DuckDB renders
itself (COPY ... TO CSV) so millions of rows never pass through Python.

In: `open_workbook`, `read_rows`, `read_cell` (and `read_records` for a header + rows table, from
an .xlsx or CSV text) — the one way every import reads a spreadsheet (see below).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from datetime import date, datetime, time
from pathlib import Path
from typing import IO, Any

from cityos.core.errors import Invalid

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


# ---------------------------------------------------------------- cells coming in
# One reader for every Excel import (catalog workbook, case taxonomy, calendar): the workbook is
# opened one way (read-only, values not formulas, refused when it is not a workbook, unpacks to
# more than MAX_UNPACKED, or its XML is an entity bomb) and each cell becomes text one way.

MAX_UNPACKED = 1024 * 1024 * 1024  # what the members of an .xlsx may unpack to, in total


def open_workbook(
    data: bytes | Path | IO[bytes],
    *,
    code: str = "not_xlsx",
    field: str = "file",
    max_unpacked: int = MAX_UNPACKED,
) -> Any:
    """An openpyxl workbook in read-only mode (rows stream; values, not formulas). Every way a file
    can fail to be a workbook is one Invalid(code, field); a zip that would unpack past
    `max_unpacked` (a zip bomb) is refused before anything is inflated. XML entity bombs stop in
    expat's amplification limit and are reported the same way."""
    import openpyxl

    source: Any = io.BytesIO(data) if isinstance(data, bytes | bytearray) else data
    try:
        with zipfile.ZipFile(source) as z:
            unpacked = sum(i.file_size for i in z.infolist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise _not_workbook(code, field) from None
    if unpacked > max_unpacked:
        raise Invalid(
            "The workbook unpacks to more than {mb} MB",
            code="xlsx_too_large",
            field=field,
            params={"mb": max_unpacked // 1024 // 1024},
        )
    if isinstance(source, io.BytesIO):
        source.seek(0)
    try:
        return openpyxl.load_workbook(source, read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds (KeyError, ParseError, TypeError …) for a non-workbook
        raise _not_workbook(code, field) from None


def _not_workbook(code: str, field: str) -> Invalid:
    return Invalid("The file is not an Excel workbook (.xlsx)", code=code, field=field)


def read_rows(
    sheet: Any, *, code: str = "not_xlsx", field: str = "file"
) -> Iterator[tuple[int, tuple[Any, ...]]]:
    """(Excel row number from 1, raw cell values) for each row of a read-only worksheet, the header
    included. The sheet's XML is parsed as the rows are read, so a malformed or bomb sheet fails
    here; it becomes the same Invalid as a file that is not a workbook."""
    from xml.etree.ElementTree import ParseError

    rows = sheet.iter_rows(values_only=True)
    n = 0
    while True:
        try:
            values = next(rows)
        except StopIteration:
            return
        except (ParseError, ValueError, KeyError, TypeError, zipfile.BadZipFile):
            raise _not_workbook(code, field) from None
        n += 1
        yield n, tuple(values)


def read_cell(value: Any) -> str:
    """A cell as the text a person typed: empty for None, dates as YYYY-MM-DD (a datetime at midnight
    too, which is how Excel stores a date), whole floats without '.0' (Excel keeps every number as
    a float; past 1e15 they keep their float form, a 15-digit float is no longer exact), booleans
    as 1/0, and text stripped."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value).strip()


def read_records(
    data: bytes | str, *, sheet: str | None = None
) -> tuple[list[str], Iterator[tuple[int, dict[str, str]]]]:
    """(header, rows) of a table given as an .xlsx (its first sheet, or `sheet`) or as CSV text:
    every cell through read_cell, each row as {header: text} with its row number; empty rows skipped."""
    import csv

    if isinstance(data, bytes) and data[:2] == b"PK":
        wb = open_workbook(data)
        ws = wb[sheet] if sheet and sheet in wb.sheetnames else wb.worksheets[0]
        rows: Iterator[tuple[int, tuple[Any, ...]]] = read_rows(ws)
    else:
        try:  # read whole, so a broken file is refused here and not halfway through its rows
            text = data.decode("utf-8-sig") if isinstance(data, bytes) else data
            parsed = [(i, tuple(r)) for i, r in enumerate(csv.reader(io.StringIO(text.strip())), start=1)]
        except (UnicodeDecodeError, csv.Error) as e:
            raise Invalid(
                "The file is neither an Excel workbook (.xlsx) nor UTF-8 CSV text",
                field="file",
                code="unreadable_file",
            ) from e
        rows = iter(parsed)
    first = next(rows, None)
    header = [read_cell(h) for h in first[1]] if first else []

    def records() -> Iterator[tuple[int, dict[str, str]]]:
        for n, values in rows:
            cells = [read_cell(v) for v in values]
            if any(cells):
                yield n, {h: (cells[i] if i < len(cells) else "") for i, h in enumerate(header) if h}

    return header, records()
