"""Bulk validators for Chinese government data, as DuckDB SQL: the string formats of CityOS
Table Schemas (resident ID, unified social credit code, division code, mobile number) and the
date and datetime spellings that government files really use.

Every check is a DuckDB macro, so millions of cells are validated in one vectorised query and
no value ever passes through Python. `register(con)` creates the macros and the two lookup tables
they read (TEMP objects: nothing is written into a persistent database); `check_expr`,
`date_expr` and `datetime_expr` return the SQL to put in a query::

    con = duckdb.connect()
    register(con)
    con.sql(f"SELECT count(*) FILTER (WHERE NOT {check_expr('cn-uscc', 'col')}) FROM t")

python-stdnum is the reference: `cn-resident-id` and `cn-uscc` accept exactly what
`stdnum.cn.ric.is_valid` and `stdnum.cn.uscc.is_valid` accept, including stdnum's clean-up of the
input (full-width and other Unicode digits, surrounding whitespace, lowercase letters; for the
USCC also spaces and dashes anywhere). The tests compare the two on thousands of values.
What stdnum checks, and so what these macros check:

- resident ID: 17 digits and a check character (ISO 7064 MOD 11-2, `X` for 10); the birth date
  is a real calendar date (year 0001-9999; stdnum does not reject future dates, so neither do
  we); the first six digits are a county in stdnum's division-code list (`cn/loc.dat`) that
  existed in the birth year (codes carry year ranges such as `[1983-2019]`).
- USCC: 8 digits (registering authority, entity type and region code, which stdnum does not
  look up), 9 more characters from `0-9A-Z` without I O S V Z, and the check character
  (weights 3^i mod 31).

The other two formats have no stdnum counterpart; surrounding whitespace is ignored:

- division code: 6 digits present in stdnum's list (current or historical), optionally
  followed by 3 (township) or 6 (village) more digits.
- mobile: an optional `+86`, `0086` or `86` prefix (then an optional space or dash) and 11
  digits starting 13-19.

Validators return TRUE or FALSE, and NULL for a NULL input; empty strings are the caller's
"missing" and come out FALSE.
"""

from __future__ import annotations

import functools

import duckdb
import pyarrow as pa
from stdnum import numdb
from stdnum.util import clean

FORMATS: dict[str, str] = {
    "cn-resident-id": "GB 11643 citizen identity number (居民身份证号码), as stdnum.cn.ric",
    "cn-uscc": "GB 32100 unified social credit code (统一社会信用代码), as stdnum.cn.uscc",
    "cn-division-code": "GB/T 2260 division code (行政区划代码), 6 digits, or 9/12 with township/village",
    "cn-mobile": "mainland mobile number (手机号码), optional +86",
}

_MACROS = {
    "cn-resident-id": "cityos_cn_resident_id",
    "cn-uscc": "cityos_cn_uscc",
    "cn-division-code": "cityos_cn_division_code",
    "cn-mobile": "cityos_cn_mobile",
}

_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
# Characters stdnum's clean-up can change lie in the first two Unicode planes.
_SCAN_LIMIT = 0x20000

# Date spellings (the separators of one value must agree) and the times that may follow them.
_DATE_RE = (
    r"[0-9]{4}(?:-[0-9]{1,2}-[0-9]{1,2}|/[0-9]{1,2}/[0-9]{1,2}|\.[0-9]{1,2}\.[0-9]{1,2}"
    r"|年[0-9]{1,2}月[0-9]{1,2}日|[0-9]{4})"
)
_TIME_RE = r"(?: +|T)[0-9]{1,2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,6})?)?"
_MIDNIGHT_RE = r"(?: +0?0:00(?::00(?:\.0{1,6})?)?)?"


def check_expr(fmt: str, col_sql: str) -> str:
    """SQL boolean that is TRUE when `col_sql` (a VARCHAR expression) is a valid `fmt` value.

    >>> check_expr("cn-uscc", '"统一社会信用代码"')
    'cityos_cn_uscc("统一社会信用代码")'
    """
    try:
        return f"{_MACROS[fmt]}({col_sql})"
    except KeyError:
        raise ValueError(f"unknown format {fmt!r}; known: {', '.join(FORMATS)}") from None


def date_expr(col_sql: str) -> str:
    """SQL DATE parsed from `col_sql`, NULL when it is not a real date in an accepted spelling:
    2026-11-23, 2026/11/23, 2026.11.23, 20261123, 2026年11月23日, unpadded months and days
    (2026-1-3, 2026年1月3日), and any of these followed by a midnight time (00:00[:00])."""
    return f"cityos_date({col_sql})"


def datetime_expr(col_sql: str) -> str:
    """SQL TIMESTAMP parsed from `col_sql`, NULL when invalid: any spelling `date_expr` takes
    (at midnight), or one followed by a time H:MM, H:MM:SS or H:MM:SS.ffffff after a space or
    a `T` (2026-11-23 08:30:00, 2026/11/23 8:30, 2026-11-23T08:30)."""
    return f"cityos_datetime({col_sql})"


def register(con: duckdb.DuckDBPyConnection) -> None:
    """Create the lookup tables and macros on `con` (TEMP objects; safe to call again)."""
    codes, places, _window = _division_tables()
    for name, table in (("cityos_cn_division", codes), ("cityos_cn_ric_place", places)):
        con.register(f"{name}_arrow", table)
        try:
            con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM {name}_arrow")
        finally:
            con.unregister(f"{name}_arrow")
    for sql in _macro_sql():
        con.execute(sql)


def _sql_str(text: str) -> str:
    """A SQL string expression for `text`, with control and space characters as chr(n)."""
    parts: list[str] = []
    run = ""
    for char in text:
        if char.isprintable() and not char.isspace():
            run += char.replace("'", "''")
        else:
            if run:
                parts.append(f"'{run}'")
                run = ""
            parts.append(f"chr({ord(char)})")
    if run or not parts:
        parts.append(f"'{run}'")
    return " || ".join(parts)


@functools.cache
def _normalisers() -> tuple[str, str]:
    """SQL bodies (over `v`) reproducing stdnum's compact() for the resident ID and the USCC.

    ric: clean(v).upper().strip(); uscc: clean(v, ' -').upper().strip(). clean() maps Unicode
    digits, dashes, spaces and punctuation to ASCII; upper() only matters where it produces a
    character that can be valid (x -> X for the ID; a-z and the ff/fl/ffl ligatures for the
    USCC); strip() removes what Python counts as whitespace.
    """
    mapped = {c: clean(c) for c in map(chr, range(_SCAN_LIMIT)) if clean(c) != c}
    whitespace = "".join(c for c in map(chr, range(_SCAN_LIMIT)) if c.isspace())

    ric_from = "".join(mapped) + "x"
    ric_to = "".join(mapped.values()) + "X"
    ric = f"trim(translate(v, {_sql_str(ric_from)}, {_sql_str(ric_to)}), {_sql_str(whitespace)})"

    kept = {c: t for c, t in mapped.items() if t not in " -"}
    dropped = "".join(c for c, t in mapped.items() if t in " -") + " -"
    single: dict[str, str] = {}
    multi: dict[str, str] = {}
    for c in map(chr, range(_SCAN_LIMIT)):
        up = c.upper()
        if up != c and all(u in _USCC_ALPHABET for u in up):
            (single if len(up) == 1 else multi)[c] = up
    uscc_from = "".join(kept) + "".join(single) + dropped
    uscc_to = "".join(kept.values()) + "".join(single.values())
    uscc = f"translate(v, {_sql_str(uscc_from)}, {_sql_str(uscc_to)})"
    for c, up in multi.items():
        uscc = f"replace({uscc}, {_sql_str(c)}, '{up}')"
    uscc = f"trim({uscc}, {_sql_str(whitespace)})"
    return ric, uscc


@functools.cache
def _division_tables() -> tuple[pa.Table, pa.Table, tuple[int, int]]:
    """stdnum's division-code list as two key tables, and the window of years that matters.

    `codes`: every 6-digit code in the list, current or historical. `places`: one key
    code * 10000 + year for each year in which the code existed, years clamped to the window
    (the earliest and latest year any range names, widened by one), so a year before or after
    every range boundary stands for all such years. The ranges are read as
    stdnum.cn.ric.get_birth_place reads them: "[start-end]name", either end open.
    """
    spans: dict[int, list[tuple[int, int]]] = {}
    for _length, province, _high, _props, counties in numdb.get("cn/loc").prefixes:
        for _length2, county, _high2, props, _children in counties:
            code_spans = spans.setdefault(int(province + county), [])
            for name in props["county"].split(","):
                if not name.startswith("["):
                    code_spans.append((1, 9999))
                    continue
                start_end, _name = name[1:].split("]")
                start, end = start_end.split("-")
                code_spans.append((int(start) if start else 1, int(end) if end else 9999))
    bounds = {year for code_spans in spans.values() for span in code_spans for year in span} - {1, 9999}
    window = (min(bounds) - 1, max(bounds) + 1)
    places = sorted(
        {
            code * 10000 + year
            for code, code_spans in spans.items()
            for first, last in code_spans
            for year in range(max(first, window[0]), min(last, window[1]) + 1)
        }
    )
    codes = pa.table({"code": pa.array(sorted(spans), pa.int32())})
    return codes, pa.table({"place": pa.array(places, pa.int64())}), window


def _macro_sql() -> list[str]:
    ric_norm, uscc_norm = _normalisers()
    _codes, _places, (first_year, last_year) = _division_tables()
    # ISO 7064 MOD 11-2: weights 2^(18-i) mod 11 = 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2.
    ric_sum = " + ".join(f"(ascii(n[{i + 1}]) - 48) * {2 ** (17 - i) % 11}" for i in range(17))
    uscc_sum = " + ".join(f"(instr('{_USCC_ALPHABET}', n[{i + 1}]) - 1) * {3**i % 31}" for i in range(17))
    place_key = (
        f"TRY_CAST(n[1:6] AS BIGINT) * 10000"
        f" + least(greatest(TRY_CAST(n[7:10] AS INTEGER), {first_year}), {last_year})"
    )
    return [
        # n: a compacted candidate. The CASE keeps the arithmetic off malformed values; the
        # casts are TRY_ casts all the same, as DuckDB may hoist them out of the CASE.
        f"""CREATE OR REPLACE TEMP MACRO cityos_cn_ric_compact_ok(n) AS
        CASE WHEN regexp_full_match(n, '[0-9]{{17}}[0-9X]') THEN
            substr('10X98765432', 1 + ({ric_sum}) % 11, 1) = n[18]
            AND n[7:10] <> '0000' AND try_strptime(n[7:14], '%Y%m%d') IS NOT NULL
        ELSE false END""",
        f"""CREATE OR REPLACE TEMP MACRO cityos_cn_ric_place_key(n) AS {place_key}""",
        # Compact only what needs it (clean values skip the Unicode clean-up), and look the
        # birth place up once, outside the CASE, so the query has a single join.
        f"""CREATE OR REPLACE TEMP MACRO cityos_cn_resident_id(v) AS
        CASE WHEN v IS NOT NULL THEN
            CASE WHEN regexp_full_match(v, '[0-9]{{17}}[0-9X]') THEN cityos_cn_ric_compact_ok(v)
                 ELSE cityos_cn_ric_compact_ok({ric_norm}) END
            AND coalesce(
                CASE WHEN regexp_full_match(v, '[0-9]{{17}}[0-9X]') THEN cityos_cn_ric_place_key(v)
                     ELSE cityos_cn_ric_place_key({ric_norm}) END
                IN (SELECT place FROM cityos_cn_ric_place),
                false)
        END""",
        f"""CREATE OR REPLACE TEMP MACRO cityos_cn_uscc_compact_ok(n) AS
        CASE WHEN regexp_full_match(n, '[0-9]{{8}}[0-9A-HJ-NP-RTUWXY]{{10}}') THEN
            substr('{_USCC_ALPHABET}', 1 + (31 - ({uscc_sum}) % 31) % 31, 1) = n[18]
        ELSE false END""",
        f"""CREATE OR REPLACE TEMP MACRO cityos_cn_uscc(v) AS
        CASE WHEN v IS NULL THEN NULL
             WHEN regexp_full_match(v, '[0-9]{{8}}[0-9A-HJ-NP-RTUWXY]{{10}}')
                THEN cityos_cn_uscc_compact_ok(v)
             ELSE cityos_cn_uscc_compact_ok({uscc_norm}) END""",
        """CREATE OR REPLACE TEMP MACRO cityos_cn_division_code(v) AS
        CASE WHEN v IS NULL THEN NULL
             WHEN regexp_full_match(trim(v), '[0-9]{6}(?:[0-9]{3}){0,2}')
                THEN coalesce(TRY_CAST(trim(v)[1:6] AS INTEGER) IN (SELECT code FROM cityos_cn_division),
                              false)
             ELSE false END""",
        r"""CREATE OR REPLACE TEMP MACRO cityos_cn_mobile(v) AS
        regexp_full_match(trim(v), '(?:(?:\+86|0086|86)[ -]?)?1[3-9][0-9]{9}')""",
        # Dates: check the spelling, bring it to 2026-11-23[ 08:30[:00]], then parse strictly
        # (try_strptime rejects 2026-02-30).
        r"""CREATE OR REPLACE TEMP MACRO cityos_date_canonical(s) AS
        regexp_replace(
            regexp_replace(
                regexp_replace(s, '^([0-9]{4})[-/.年]([0-9]{1,2})[-/.月]([0-9]{1,2})日?', '\1-\2-\3'),
                '^([0-9]{4})([0-9]{2})([0-9]{2})', '\1-\2-\3'),
            'T| +', ' ')""",
        f"""CREATE OR REPLACE TEMP MACRO cityos_date(v) AS
        CASE WHEN regexp_full_match(trim(v), '{_DATE_RE}{_MIDNIGHT_RE}')
            THEN CAST(try_strptime(split_part(cityos_date_canonical(trim(v)), ' ', 1), '%Y-%m-%d')
                      AS DATE)
        END""",
        f"""CREATE OR REPLACE TEMP MACRO cityos_datetime(v) AS
        CASE WHEN regexp_full_match(trim(v), '{_DATE_RE}(?:{_TIME_RE})?')
            THEN try_strptime(
                cityos_date_canonical(trim(v)),
                ['%Y-%m-%d', '%Y-%m-%d %H:%M', '%Y-%m-%d %H:%M:%S', '%Y-%m-%d %H:%M:%S.%f'])
        END""",
    ]
