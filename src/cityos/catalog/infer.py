"""A first Table Schema for a new resource, inferred from a sample of its data, so a steward reviews
fields instead of writing JSON: names and Chinese titles from the header, types, and the Chinese
formats recognised by the same checks the loader runs (catalog.formats: resident ID, USCC, mobile,
division code), dates, required where no sample value is empty, a short list of values as `enum`,
resident IDs and mobiles sensitive, and a unique ID column as the primary key.

The file is read by the loader's own reader (delivered.read_source: CSV in UTF-8/GBK/GB18030, XLSX,
JSON, NDJSON, Parquet); only the first SAMPLE_ROWS rows are looked at. The result is a proposal:
it goes through tableschema.parse like any schema the steward writes.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

from cityos.catalog import delivered, engine, formats
from cityos.catalog.delivered import q
from cityos.catalog.tableschema import FALSE_VALUES, TRUE_VALUES, parse
from cityos.core.errors import Invalid

SAMPLE_ROWS = 1000
MAX_SAMPLE_BYTES = 50 * 1024 * 1024  # a sample, not the data: the whole file is loaded later
ENUM_MAX = 6  # at most this many distinct values…
ENUM_MIN_ROWS = 20  # …seen in at least this many rows make an enum
# formats in the order they are tried: the strictest first (a USCC is never a division code)
FORMAT_ORDER = ("cn-resident-id", "cn-uscc", "cn-mobile", "cn-division-code")
# what a field with a Chinese header is called, where the title is a common one
KNOWN_NAMES = {
    "公民身份号码": "id_number",
    "身份证号码": "id_number",
    "身份证号": "id_number",
    "姓名": "name",
    "性别": "gender",
    "民族": "ethnicity",
    "出生日期": "birth_date",
    "手机号码": "mobile",
    "手机号": "mobile",
    "联系电话": "phone",
    "统一社会信用代码": "credit_code",
    "企业名称": "company_name",
    "单位名称": "org_name",
    "法定代表人": "legal_representative",
    "行政区划代码": "division",
    "行政区划": "division",
    "地址": "address",
    "住址": "address",
    "登记日期": "registered_on",
    "成立日期": "founded_on",
}
FORMAT_NAMES = {
    "cn-resident-id": "id_number",
    "cn-uscc": "credit_code",
    "cn-mobile": "mobile",
    "cn-division-code": "division",
}
PERSON_NAME_TITLES = ("姓名", "联系人", "法定代表人", "户主姓名")
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_DATE = r"^[0-9]{4}[-/.年][0-9]{1,2}[-/.月][0-9]{1,2}日?$"
_ISO_DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
_DATETIME = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}(:[0-9]{2})?$"
_INTEGER = r"^-?(0|[1-9][0-9]{0,17})$"  # a leading zero makes a code, not a number
_NUMBER = r"^-?(0|[1-9][0-9]*)(\.[0-9]+)?$"


def _all(con: Any, sql_bool: str, col: str) -> bool:
    """Whether every non-empty sample value of `col` satisfies `sql_bool` (over `v`)."""
    row = con.execute(
        f"SELECT count(*) FILTER (WHERE NOT coalesce({sql_bool}, false)) FROM "
        f"(SELECT trim({q(col)}) AS v FROM sample WHERE nullif(trim({q(col)}), '') IS NOT NULL)"
    ).fetchone()
    return bool(row and row[0] == 0)


def _kind(con: Any, col: str) -> tuple[str, str]:
    """(type, format) of a column from its non-empty sample values."""
    for fmt in FORMAT_ORDER:
        if _all(con, formats.check_expr(fmt, "v"), col):
            return "string", fmt
    if _all(con, f"regexp_matches(v, '{_INTEGER}')", col):
        return "integer", "default"
    if _all(con, f"regexp_matches(v, '{_NUMBER}')", col):
        return "number", "default"
    if _all(con, f"regexp_matches(v, '{_ISO_DATE}') AND TRY_CAST(v AS DATE) IS NOT NULL", col):
        return "date", "default"
    if _all(con, f"regexp_matches(v, '{_DATE}')", col):
        return "date", "any"
    if _all(con, f"regexp_matches(v, '{_DATETIME}') AND TRY_CAST(v AS TIMESTAMP) IS NOT NULL", col):
        return "datetime", "default"
    bools = ", ".join(delivered.lit(x) for x in (*TRUE_VALUES, *FALSE_VALUES))
    if _all(con, f"v IN ({bools})", col):
        return "boolean", "default"
    return "string", "default"


def _name(header: str, fmt: str, i: int, taken: set[str]) -> tuple[str, str]:
    """(name, title): an identifier header is the name; a Chinese one is the title, and the name is
    the usual code for that title or format, else field_N."""
    h = header.strip()
    if _IDENT.match(h):
        name, title = h, ""
    else:
        name, title = KNOWN_NAMES.get(h) or FORMAT_NAMES.get(fmt) or f"field_{i + 1}", h
    base, n = name, 2
    while name in taken:
        name, n = f"{base}_{n}", n + 1
    taken.add(name)
    return name, title


def infer(path: Path, *, filename: str = "") -> tuple[dict[str, Any], int]:
    """A Table Schema proposed for the data in `path` (see the module's docstring), and how many
    rows it was inferred from."""
    if path.stat().st_size > MAX_SAMPLE_BYTES:
        raise Invalid(
            "A sample file is at most {mb} MB: the first rows are enough",
            code="sample_too_large",
            field="file",
            params={"mb": MAX_SAMPLE_BYTES // (1024 * 1024)},
        )
    with tempfile.TemporaryDirectory(prefix="cityos-infer-") as work:
        con = engine.connect(threads=1, temp_dir=Path(work) / "duck")
        try:
            info = delivered.read_source(con, path, name=filename or path.name, work_dir=Path(work))
            con.execute(f"CREATE TABLE sample AS SELECT * FROM raw ORDER BY __row LIMIT {SAMPLE_ROWS}")
            n = con.execute("SELECT count(*) FROM sample").fetchone()[0]  # type: ignore[index]
            if not n:
                raise Invalid("The sample has no rows", code="empty_file", field="file")
            fields: list[dict[str, Any]] = []
            taken: set[str] = set()
            key: list[str] = []
            for i, col in enumerate(info.columns):
                fields.append(_field(con, col, i, taken, n))
                f = fields[-1]
                if not key and f.get("format") in ("cn-resident-id", "cn-uscc") and f["x-unique"]:
                    key = [f["name"]]
        finally:
            con.close()
    for f in fields:
        f.pop("x-unique")
    doc: dict[str, Any] = {"fields": fields}
    if key:
        doc["primaryKey"] = key
    parse(doc)  # the proposal is a valid schema, or this is our bug, not the steward's
    return doc, int(n)


def _field(con: Any, col: str, i: int, taken: set[str], n: int) -> dict[str, Any]:
    ftype, fmt = _kind(con, col)
    name, title = _name(col, fmt, i, taken)
    c = q(col)
    filled, distinct = con.execute(
        f"SELECT count(nullif(trim({c}), '')), count(DISTINCT nullif(trim({c}), '')) FROM sample"
    ).fetchone()
    f: dict[str, Any] = {"name": name, "title": title, "type": ftype}
    if fmt != "default":
        f["format"] = fmt
    if fmt in ("cn-resident-id", "cn-mobile"):
        f["sensitivity"] = "sensitive"
    elif title in PERSON_NAME_TITLES or (name == "name" and not title):
        f["sensitivity"], f["mask"] = "sensitive", "name"
    else:
        f["sensitivity"] = "internal"
    constraints: dict[str, Any] = {}
    if filled == n:
        constraints["required"] = True
    few = bool(distinct) and distinct <= ENUM_MAX and filled >= ENUM_MIN_ROWS
    if ftype == "string" and fmt == "default" and few and f["sensitivity"] != "sensitive":
        values = con.execute(
            f"SELECT DISTINCT trim({c}) AS v FROM sample WHERE nullif(trim({c}), '') IS NOT NULL ORDER BY v"
        ).fetchall()
        constraints["enum"] = [v[0] for v in values]
    if constraints:
        f["constraints"] = constraints
    f["x-unique"] = filled == n and distinct == n
    return f
