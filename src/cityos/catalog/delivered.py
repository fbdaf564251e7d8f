"""Reading a delivered file into DuckDB: its format (CSV, XLSX, JSON, NDJSON, Parquet) and, for
CSV, its encoding (UTF-8, GBK/GB18030, transcoded when needed) and delimiter, read as all-text columns
into the table `raw`, with the sender's row numbers. The first step of a load (catalog/engine.py
validates what this reads); also used to infer a schema from a sample (catalog/infer.py).
"""

from __future__ import annotations

import codecs
import csv
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb

from cityos.core import spreadsheet
from cityos.core.errors import Invalid

FORMATS = ("csv", "xlsx", "json", "ndjson", "parquet")
Progress = Callable[[str, float], None]


def q(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def lit(value: Any) -> str:
    """A SQL literal for a constraint value written in a schema (strings, numbers, booleans)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


# ---------------------------------------------------------------------------------------- intake
@dataclass
class SourceInfo:
    name: str
    format: str
    encoding: str = ""
    delimiter: str = ""
    rows: int = 0
    columns: list[str] = field(default_factory=list)


def detect_format(path: Path, name: str = "") -> str:
    ext = (name or path.name).rsplit(".", 1)[-1].lower() if "." in (name or path.name) else ""
    with open(path, "rb") as f:
        head = f.read(8)
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    if ext in ("jsonl", "ndjson"):
        return "ndjson"
    if ext == "json":
        return "json"
    if ext in ("csv", "txt", "tsv", ""):
        return "csv"
    if ext in ("xls",):
        raise Invalid("Old .xls files are not read; save the sheet as .xlsx", code="unsupported_format")
    if ext in ("xlsx", "xlsm"):  # named a workbook but not a zip: say so, not "unsupported type"
        raise Invalid("The file is not an Excel workbook (.xlsx)", code="unreadable_file")
    raise Invalid(
        "Unsupported file type {ext}: send CSV, XLSX, JSON, NDJSON or Parquet",
        code="unsupported_format",
        params={"ext": ext},
    )


def detect_encoding(path: Path, chunk: int = 1 << 20) -> str:
    """UTF-8 (with or without BOM), else GBK, else GB18030 — whichever decodes the whole file."""
    with open(path, "rb") as f:
        if f.read(3) == codecs.BOM_UTF8:
            return "utf-8-sig"
    for enc in ("utf-8", "gbk", "gb18030"):
        dec = codecs.getincrementaldecoder(enc)()
        try:
            with open(path, "rb") as f:
                while block := f.read(chunk):
                    dec.decode(block)
                dec.decode(b"", final=True)
            return enc
        except UnicodeDecodeError:
            continue
    raise Invalid(
        "The file's text encoding was not recognised (UTF-8, GBK and GB18030 are read)", code="bad_encoding"
    )


def sniff_delimiter(text_sample: str) -> str:
    try:
        return csv.Sniffer().sniff(text_sample, delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def _transcode(path: Path, encoding: str, out_dir: Path) -> Path:
    out = out_dir / f"{uuid.uuid4().hex}.csv"
    with (
        open(path, encoding=encoding, newline="") as src,
        open(out, "w", encoding="utf-8", newline="") as dst,
    ):
        shutil.copyfileobj(src, dst, 1 << 20)
    return out


def _xlsx_value(v: Any) -> str | None:
    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, datetime):
        if v.hour == v.minute == v.second == 0 and v.microsecond == 0:
            return v.date().isoformat()
        return v.isoformat(sep=" ", timespec="seconds")
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    s = str(v)
    return s


def _load_xlsx(con: duckdb.DuckDBPyConnection, path: Path, progress: Progress | None) -> list[str]:

    # the project's one way to open a workbook: not a zip, a zip bomb or an XML entity bomb is a
    # clear Invalid (422), never a 500; cells keep the engine's reading (text as sent, unstripped)
    # opened here, so the file is closed even when openpyxl gives up half-way through a sheet
    with open(path, "rb") as fh:
        return _read_xlsx(con, spreadsheet.open_workbook(fh, code="unreadable_file"), progress)


def _read_xlsx(con: duckdb.DuckDBPyConnection, wb: Any, progress: Progress | None) -> list[str]:
    import pyarrow as pa

    try:
        ws = wb.worksheets[0]
        rows = (values for _n, values in spreadsheet.read_rows(ws, code="unreadable_file"))
        header_row = next(rows, None)
        if header_row is None:
            raise Invalid("The sheet is empty", code="empty_file")
        header = [str(h).strip() if h is not None else "" for h in header_row]
        while header and header[-1] == "":
            header.pop()
        if not header:
            raise Invalid("The first row must name the columns", code="no_header")
        n = len(header)
        cols = [f"c{i}" for i in range(n)]
        con.execute("CREATE TABLE raw_in (" + ", ".join(f"{q(c)} VARCHAR" for c in cols) + ")")
        batch: list[list[str | None]] = [[] for _ in range(n)]
        count = 0

        def flush() -> None:
            if not batch[0]:
                return
            tbl = pa.table({c: pa.array(batch[i], type=pa.string()) for i, c in enumerate(cols)})
            con.register("xlsx_batch", tbl)
            con.execute("INSERT INTO raw_in SELECT * FROM xlsx_batch")
            con.unregister("xlsx_batch")
            for b in batch:
                b.clear()

        for r in rows:
            values = [_xlsx_value(v) for v in r[:n]] + [None] * max(0, n - len(r))
            extra = [v for v in r[n:] if v not in (None, "")]
            if extra:
                raise Invalid(
                    "Row {row} has values beyond the named columns",
                    code="ragged_row",
                    params={"row": count + 2},
                )
            if all(v is None or v == "" for v in values):
                count += 1
                continue  # Excel keeps formatted empty rows; they carry no data
            for i, v in enumerate(values):
                batch[i].append(v)
            count += 1
            if len(batch[0]) >= 50_000:
                flush()
                if progress:
                    progress("read", float(count))
        flush()
        # a row counter that survives the skipped empty rows is not needed: rows are numbered as read
        return header
    finally:
        wb.close()


def read_source(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    *,
    name: str = "",
    work_dir: Path,
    progress: Progress | None = None,
) -> SourceInfo:
    """Create table `raw` (every column VARCHAR, plus `__row`) from the delivered file."""
    fmt = detect_format(path, name)
    info = SourceInfo(name=name or path.name, format=fmt)
    header: list[str]
    offset = 1  # added to the record position to give the sender's row number
    try:
        if fmt == "csv":
            enc = detect_encoding(path)
            info.encoding = {"utf-8-sig": "UTF-8", "utf-8": "UTF-8", "gbk": "GBK", "gb18030": "GB18030"}[enc]
            src = path if enc == "utf-8" else _transcode(path, enc, work_dir)
            with open(src, encoding="utf-8-sig", newline="") as f:
                sample = f.read(64 * 1024)
            if not sample.strip():
                raise Invalid("The file is empty", code="empty_file")
            info.delimiter = sniff_delimiter(sample)
            con.execute(
                "CREATE TABLE raw_in AS SELECT * FROM read_csv(?, header = true, all_varchar = true, "
                "delim = ?, quote = '\"', escape = '\"', strict_mode = true, null_padding = false, "
                "normalize_names = false)",
                [str(src), info.delimiter],
            )
            header = [r[0] for r in con.execute("DESCRIBE raw_in").fetchall()]
            offset = 2
        elif fmt == "xlsx":
            header = _load_xlsx(con, path, progress)
            offset = 2
            con.execute(
                "CREATE OR REPLACE TABLE raw_in AS SELECT "
                + ", ".join(f"{q(f'c{i}')} AS {q(h or f'column{i + 1}')}" for i, h in enumerate(header))
                + " FROM raw_in"
            )
        elif fmt in ("json", "ndjson"):
            jf = "newline_delimited" if fmt == "ndjson" else "auto"
            con.execute(
                "CREATE TABLE raw_j AS SELECT * FROM read_json(?, format = ?, records = true, "
                "maximum_object_size = 16777216)",
                [str(path), jf],
            )
            header = [r[0] for r in con.execute("DESCRIBE raw_j").fetchall()]
            con.execute(
                "CREATE TABLE raw_in AS SELECT "
                + ", ".join(f"CAST({q(h)} AS VARCHAR) AS {q(h)}" for h in header)
                + " FROM raw_j"
            )
            con.execute("DROP TABLE raw_j")
        else:
            con.execute("CREATE TABLE raw_p AS SELECT * FROM read_parquet(?)", [str(path)])
            header = [r[0] for r in con.execute("DESCRIBE raw_p").fetchall()]
            con.execute(
                "CREATE TABLE raw_in AS SELECT "
                + ", ".join(f"CAST({q(h)} AS VARCHAR) AS {q(h)}" for h in header)
                + " FROM raw_p"
            )
            con.execute("DROP TABLE raw_p")
    except duckdb.Error as exc:
        raise Invalid(
            "The file could not be read as {fmt}: {reason}",
            code="unreadable_file",
            params={"fmt": fmt.upper(), "reason": str(exc).splitlines()[0][:300]},
        ) from None
    except UnicodeDecodeError:
        raise Invalid("The file's text encoding was not recognised", code="bad_encoding") from None
    # a view, not a copy: the rows stay where the reader put them, numbered by their position
    con.execute(f"CREATE VIEW raw AS SELECT *, CAST(rowid + {offset} AS BIGINT) AS __row FROM raw_in")
    info.columns = header
    info.rows = con.execute("SELECT count(*) FROM raw").fetchall()[0][0]  # fetched to the end
    return info
