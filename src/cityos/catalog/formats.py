"""Bulk validators for Chinese government data in DuckDB: the string formats of CityOS Table
Schemas (resident ID, unified social credit code, division code, mobile number) and the date and
datetime spellings that government files really use.

`register(con)` creates on a connection what the checks need (SQL macros, vectorised functions and
a lookup table, all TEMP: nothing is written into a persistent database); `check_expr`,
`date_expr` and `datetime_expr` return the SQL to put in a query::

    con = duckdb.connect()
    register(con)
    con.sql(f"SELECT count(*) FILTER (WHERE NOT {check_expr('cn-uscc', 'col')}) FROM t")

The resident ID, the USCC and `format: any` dates are DuckDB functions over Arrow arrays: DuckDB
hands them a vector of ~2,000 values at a time and NumPy checks the whole vector at once (the
values seen as a byte matrix, check digits as one matrix product, calendar and birth place by
table lookups), so no value is looked at one by one in Python. The division code, the mobile
number and datetimes are SQL macros.

python-stdnum is the reference: `cn-resident-id` and `cn-uscc` accept what
`stdnum.cn.ric.is_valid` and `stdnum.cn.uscc.is_valid` accept (with one difference for the
resident ID's area, below), including stdnum's clean-up of the
input (full-width and other Unicode digits, surrounding whitespace, lowercase letters; for the
USCC also spaces and dashes anywhere). Values already in the compact form (18 ASCII characters,
the usual case) are checked by the vectorised path; an ASCII value that stdnum's clean-up leaves
unchanged and is not of that form is invalid outright; the rare rest — non-ASCII characters,
whitespace, lowercase letters, for the USCC spaces and dashes — is given to stdnum itself. The
tests compare the two on thousands of values.
What stdnum checks, and so what these functions check:

- resident ID: 17 digits and a check character (ISO 7064 MOD 11-2, `X` for 10); the birth date
  is a real calendar date (year 0001-9999; stdnum does not reject future dates, so neither do
  we); the first six digits are a county in stdnum's division-code list (`cn/loc.dat`, which
  carries every code since 1980 with the years it existed) — in ANY year. Here we differ from
  stdnum, which wants the code to exist in the birth year: GB 11643-1999 (5.2, 地址码) makes the
  area "编码对象常住户口所在县(市、旗、区)的行政区划代码", the county of household registration
  when the number was assigned, not of birth, and 居民身份证法 第三条 makes the number
  "终身不变": a resident of 兰山区 (371302, created 1994) born in 1960 carries 371302. So stdnum
  falsely rejects most residents of counties created or recoded after their birth.
  `resident_id_reason` names the first rule a value breaks: `id_length`, `id_15` (a 15-digit
  first-generation number, not accepted), `id_characters`, `id_check`, `id_date`, `id_area`.
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

import contextlib
import functools
from collections.abc import Callable
from typing import Any

import duckdb
import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
from duckdb import func
from stdnum import numdb
from stdnum.cn import ric, uscc
from stdnum.util import isdigits

FORMATS: dict[str, str] = {
    "cn-resident-id": "GB 11643 citizen identity number (居民身份证号码), as stdnum.cn.ric",
    "cn-uscc": "GB 32100 unified social credit code (统一社会信用代码), as stdnum.cn.uscc",
    "cn-division-code": "GB/T 2260 division code (行政区划代码), 6 digits, or 9/12 with township/village",
    "cn-mobile": "mainland mobile number (手机号码), optional +86",
}

_FUNCTIONS = {
    "cn-resident-id": "cityos_cn_resident_id",
    "cn-uscc": "cityos_cn_uscc",
    "cn-division-code": "cityos_cn_division_code",
    "cn-mobile": "cityos_cn_mobile",
}

_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
# ISO 7064 MOD 11-2 weights 2^(17-i) mod 11, and GB 32100 weights 3^i mod 31.
_RIC_WEIGHTS = np.array([2 ** (17 - i) % 11 for i in range(17)], np.int32)
_USCC_WEIGHTS = np.array([3**i % 31 for i in range(17)], np.int32)
_RIC_CHECK = np.frombuffer(b"10X98765432", np.uint8)
# Bytes that stdnum's clean-up (clean(), upper(), strip(); for the USCC also dropping spaces and
# dashes) may change in an ASCII value: whitespace, the backtick clean() maps, lowercase letters
# where upper() can make a valid character. A value with none of them (and no byte >= 0x80) is
# its own compact form.
_WHITESPACE = b"\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f "
_RIC_CLEANUP = np.zeros(256, np.bool_)
_RIC_CLEANUP[list(_WHITESPACE + b"`x")] = True
_RIC_CLEANUP[0x80:] = True
_USCC_CLEANUP = _RIC_CLEANUP.copy()
_USCC_CLEANUP[list(b"abcdefghijklmnopqrstuvwxyz-")] = True
_USCC_INDEX = np.full(256, 99, np.uint8)  # byte -> position in the alphabet, 99 when not in it
_USCC_INDEX[list(_USCC_ALPHABET.encode())] = np.arange(len(_USCC_ALPHABET), dtype=np.uint8)
_DAYS_IN_MONTH = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], np.int32)

# Date spellings (the separators of one value must agree) and the times that may follow them.
_DATE_RE = (
    r"[0-9]{4}(?:-[0-9]{1,2}-[0-9]{1,2}|/[0-9]{1,2}/[0-9]{1,2}|\.[0-9]{1,2}\.[0-9]{1,2}"
    r"|年[0-9]{1,2}月[0-9]{1,2}日|[0-9]{4})"
)
_TIME_RE = r"(?: +|T)[0-9]{1,2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,6})?)?"
_MIDNIGHT_RE = r"(?: +0?0:00(?::00(?:\.0{1,6})?)?)?"
# Year, month and day of a value that matched _DATE_RE: the month takes two digits when it can,
# which is right for 20261123 and for 2026-11-3 alike.
_DATE_PARTS_RE = r"^(?P<y>[0-9]{4})[^0-9]?(?P<m>[0-9]{1,2})[^0-9]?(?P<d>[0-9]{1,2})"

Bools = npt.NDArray[np.bool_]
Ints = npt.NDArray[np.int64]


def check_expr(fmt: str, col_sql: str) -> str:
    """SQL boolean that is TRUE when `col_sql` (a VARCHAR expression) is a valid `fmt` value.

    >>> check_expr("cn-uscc", '"统一社会信用代码"')
    'cityos_cn_uscc("统一社会信用代码")'
    """
    try:
        return f"{_FUNCTIONS[fmt]}({col_sql})"
    except KeyError:
        raise ValueError(f"unknown format {fmt!r}; known: {', '.join(FORMATS)}") from None


def reason_expr(fmt: str, col_sql: str) -> str | None:
    """SQL VARCHAR naming the first rule an invalid `fmt` value breaks (None: the format has one
    rule only, reported as `format`)."""
    return f"cityos_cn_resident_id_reason({col_sql})" if fmt == "cn-resident-id" else None


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
    """Create the lookup table, macros and functions on `con` (TEMP objects; safe to call again)."""
    codes = pa.table({"code": pa.array(_division_spans()[0], pa.int32())})
    con.register("cityos_cn_division_arrow", codes)
    try:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE cityos_cn_division AS SELECT * FROM cityos_cn_division_arrow"
        )
    finally:
        con.unregister("cityos_cn_division_arrow")
    for sql in _macro_sql():
        con.execute(sql)
    functions: list[tuple[str, Callable[[pa.ChunkedArray], pa.Array], str]] = [
        ("cityos_cn_resident_id", resident_id_valid, "BOOLEAN"),
        ("cityos_cn_resident_id_reason", resident_id_reason, "VARCHAR"),
        ("cityos_cn_uscc", uscc_valid, "BOOLEAN"),
        ("cityos_date", parse_dates, "DATE"),
    ]
    for name, fn, returns in functions:
        with contextlib.suppress(duckdb.InvalidInputException):  # not registered here yet
            con.remove_function(name)
        con.create_function(
            name,
            fn,
            ["VARCHAR"],
            returns,
            type=func.PythonUDFType.ARROW,
            null_handling=func.FunctionNullHandling.SPECIAL,
        )


# ------------------------------------------------------------------- vectorised checks (Arrow)
def _strings(values: pa.Array | pa.ChunkedArray) -> pa.StringArray:
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks() if values.num_chunks != 1 else values.chunk(0)
    if values.type != pa.string():
        values = values.cast(pa.string())
    return values


def _layout(values: pa.StringArray) -> tuple[Ints, npt.NDArray[np.uint8], Bools]:
    """Offsets (n + 1, into `data`), the UTF-8 bytes, and which values are not NULL."""
    n = len(values)
    buffers = values.buffers()
    offsets = np.frombuffer(buffers[1], np.int32, n + 1, values.offset * 4).astype(np.int64)
    data = np.frombuffer(buffers[2], np.uint8) if buffers[2] is not None else np.zeros(0, np.uint8)
    present = values.is_valid().to_numpy(zero_copy_only=False)
    return offsets, data, present


def _any_byte(offsets: Ints, data: npt.NDArray[np.uint8], table: Bools) -> Bools:
    """Per value: does any of its bytes have `table[byte]` set?"""
    start, end = offsets[0], offsets[-1]
    at = np.flatnonzero(np.take(table, data[start:end])) + start
    hit = np.zeros(len(offsets) - 1, np.bool_)
    hit[np.searchsorted(offsets, at, side="right") - 1] = True
    return hit


def _rows_with_bytes(values: pa.StringArray, rows: Ints, table: Bools) -> Ints:
    """Those of `rows` whose value has a byte with `table[byte]` set (only their bytes are read)."""
    if not len(rows):
        return rows
    offsets, data, _present = _layout(values.take(pa.array(rows)))
    return rows[_any_byte(offsets, data, table)]


def _fixed(
    values: pa.StringArray, offsets: Ints, data: npt.NDArray[np.uint8], present: Bools, width: int
) -> tuple[Ints, npt.NDArray[np.uint8]]:
    """The values exactly `width` bytes long: their positions and their bytes as a matrix (a view
    of the data when every value has that length, the usual case; else the bytes of those values,
    gathered by Arrow's filter kernel: never an index per byte)."""
    wanted = present & (offsets[1:] - offsets[:-1] == width)
    rows = np.flatnonzero(wanted)
    if len(rows) == len(offsets) - 1:
        start = offsets[0]
        return rows, data[start : start + width * len(rows)].reshape(-1, width)
    if not len(rows):
        return rows, np.zeros((0, width), np.uint8)
    picked, kept, _present = _layout(values.filter(pa.array(wanted)))
    return rows, kept[picked[0] : picked[0] + width * len(rows)].reshape(-1, width)


def _weighted(digits: npt.NDArray[np.uint8], terms: npt.NDArray[np.int64]) -> Ints:
    """`digits @ terms` in exact integers, one column at a time over the transposed digits (each
    a contiguous row): no BLAS call (whose threads spin on a shared machine and cost more CPU
    than the sums) and no float conversion of the matrix."""
    by_digit = np.ascontiguousarray(digits[:, : terms.shape[0]].T)
    out = np.empty((terms.shape[1], len(digits)), np.int64)
    for j in range(terms.shape[1]):
        acc = np.zeros(len(digits), np.int32)
        for k in np.flatnonzero(terms[:, j]):
            acc += by_digit[k] * np.int32(terms[k, j])
        out[j] = acc
    return out.T


def _rows_with(flags: Bools) -> Ints:
    """Rows of a 2-D flag matrix with any flag set (flags are rare: no per-row reduction)."""
    return np.unique(np.flatnonzero(flags.ravel()) // flags.shape[1])


def _keep(rows: Ints, bad: Ints, *matrices: npt.NDArray[Any]) -> tuple[Any, ...]:
    if not len(bad):
        return (rows, *matrices)
    keep = np.ones(len(rows), np.bool_)
    keep[bad] = False
    return (rows[keep], *(m[keep] for m in matrices))


def _real_dates(year: Ints, month: Ints, day: Ints) -> Bools:
    """Proleptic Gregorian calendar dates, as Python's datetime.date (years 1-9999 checked apart)."""
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    ok = (month >= 1) & (month <= 12) & (day >= 1)
    last = _DAYS_IN_MONTH[np.where(ok, month, 0)] + (leap & (month == 2))
    return ok & (day <= last)


def _bits(flags: Bools) -> pa.Buffer:
    return pa.py_buffer(np.packbits(flags, bitorder="little"))


def _answer(ok: Bools, present: Bools) -> pa.Array:
    validity = None if present.all() else _bits(present)
    return pa.Array.from_buffers(pa.bool_(), len(ok), [validity, _bits(ok)])


def _ric_reason_one(value: str) -> int:
    """The rules of `_ric_reasons` for one value, after stdnum's clean-up (`ric.compact`)."""
    try:
        number = ric.compact(value)
    except Exception:  # stdnum's clean-up refuses some characters outright
        return _R_CHARACTERS
    if len(number) == 15 and number.isascii() and number.isdigit():
        return _R_15
    if len(number) != 18:
        return _R_LENGTH
    if not isdigits(number[:-1]):  # stdnum's own test, so the two agree on odd input
        return _R_CHARACTERS
    if ric.calc_check_digit(number) != number[17]:
        return _R_CHECK if number[17] in "0123456789X" else _R_CHARACTERS
    try:
        ric.get_birth_date(number)
    except ValueError:  # stdnum's InvalidComponent is a ValueError
        return _R_DATE
    return 0 if _known_areas()[int(number[:6])] else _R_AREA


def _uscc_reference(value: str) -> bool:
    try:
        return uscc.is_valid(value)
    except ValueError:  # stdnum raises for a newline among the first 8 characters: not valid
        return False


def _rest(
    values: pa.StringArray,
    offsets: Ints,
    data: npt.NDArray[np.uint8],
    ok: Bools,
    rest: Bools,
    cleanup: Bools,
    reference: Callable[[str], bool],
) -> None:
    """Values the vectorised path did not decide (`rest`): those stdnum's clean-up may change go
    to stdnum, the others (their own compact form, and not of the valid form) are invalid."""
    if rest.any():
        rows = _rows_with_bytes(values, np.flatnonzero(rest), cleanup)
        if len(rows):
            ok[rows] = [reference(v) for v in values.take(pa.array(rows)).to_pylist()]


# Digits 1-17 of a resident ID -> checksum, year, month, day, county.
_RIC_TERMS = np.zeros((17, 5), np.int64)
_RIC_TERMS[:, 0] = _RIC_WEIGHTS
_RIC_TERMS[6:10, 1] = [1000, 100, 10, 1]
_RIC_TERMS[10:12, 2] = [10, 1]
_RIC_TERMS[12:14, 3] = [10, 1]
_RIC_TERMS[0:6, 4] = [100000, 10000, 1000, 100, 10, 1]


# Why a resident ID is invalid, in the order the rules are checked (0: valid).
RIC_REASONS = ("", "id_length", "id_15", "id_characters", "id_check", "id_date", "id_area")
_R_LENGTH, _R_15, _R_CHARACTERS, _R_CHECK, _R_DATE, _R_AREA = range(1, 7)


def _ric_reasons(values: pa.StringArray) -> tuple[npt.NDArray[np.int8], Bools]:
    """Per value, the first rule it breaks (an index into RIC_REASONS, 0 when valid), and which
    values are not NULL. Clean 18-byte values are decided on whole vectors; the rest one by one."""
    offsets, data, present = _layout(values)
    reason = np.zeros(len(values), np.int8)
    rows, m = _fixed(values, offsets, data, present, 18)
    digits = m - np.uint8(48)  # wraps below '0', so one comparison checks 0-9
    bad = digits > 9
    bad[:, 17] &= m[:, 17] != ord("X")
    rows, digits = _keep(rows, _rows_with(bad), digits)
    rest = present.copy()
    rest[rows] = False
    terms = _weighted(digits, _RIC_TERMS)
    total, year, month, day, county = terms.T
    check = _RIC_CHECK[total % 11] == digits[:, 17] + np.uint8(48)
    born = (year >= 1) & _real_dates(year, month, day)
    place = _known_areas()[county]
    reason[rows] = np.where(~check, _R_CHECK, np.where(~born, _R_DATE, np.where(~place, _R_AREA, 0)))
    if rest.any():
        # an ASCII value stdnum's clean-up leaves as it is: the wrong length or wrong characters
        # (a 15-digit first-generation number apart); only the others go to stdnum's clean-up
        length = offsets[1:] - offsets[:-1]
        reason[rest] = np.where(length[rest] == 18, _R_CHARACTERS, _R_LENGTH)
        rows15, m15 = _fixed(values, offsets, data, rest, 15)
        reason[rows15[~_rows_with_mask(m15 - np.uint8(48) > 9, len(rows15))]] = _R_15
        more = _rows_with_bytes(values, np.flatnonzero(rest), _RIC_CLEANUP)
        if len(more):
            reason[more] = [_ric_reason_one(v) for v in values.take(pa.array(more)).to_pylist()]
    return reason, present


def _rows_with_mask(flags: Bools, n: int) -> Bools:
    """As a boolean mask of n rows: which rows of a 2-D flag matrix have any flag set."""
    out = np.zeros(n, np.bool_)
    out[_rows_with(flags)] = True
    return out


def resident_id_valid(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Valid resident IDs over an array of strings (NULL stays NULL): stdnum.cn.ric.is_valid,
    except that the area may be a county of any year (see the module's docstring)."""
    reason, present = _ric_reasons(_strings(values))
    return _answer(reason == 0, present)


_REASON_NAMES = pa.array(RIC_REASONS[1:], pa.string())


def resident_id_reason(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """The first rule each resident ID breaks (`id_check`, `id_date`, ...), NULL when valid or NULL."""
    reason, present = _ric_reasons(_strings(values))
    index = pa.array(np.where(present & (reason > 0), reason - 1, 0).astype(np.int32))
    names = _REASON_NAMES.take(index)
    return pc.if_else(pa.array(present & (reason > 0)), names, pa.scalar(None, pa.string()))


def resident_id_reason_codes(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """`resident_id_reason` as numbers: the index into RIC_REASONS of the first rule each resident
    ID breaks (0 when valid), NULL for NULL. Cheaper than the names when most values are valid."""
    reason, present = _ric_reasons(_strings(values))
    validity = None if present.all() else _bits(present)
    return pa.Array.from_buffers(pa.int8(), len(reason), [validity, pa.py_buffer(reason)])


_USCC_LIMITS = np.array([10] * 8 + [31] * 10, np.uint8)  # 8 digits, then the alphabet


def uscc_valid(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """`stdnum.cn.uscc.is_valid` over an array of strings (NULL stays NULL)."""
    values = _strings(values)
    offsets, data, present = _layout(values)
    ok = np.zeros(len(values), np.bool_)
    rows, m = _fixed(values, offsets, data, present, 18)
    index = np.take(_USCC_INDEX, m)
    rows, index = _keep(rows, _rows_with(index >= _USCC_LIMITS), index)
    rest = present.copy()
    rest[rows] = False
    total = _weighted(index, _USCC_WEIGHTS[:, None].astype(np.int64))[:, 0]
    ok[rows] = (31 - total % 31) % 31 == index[:, 17]
    _rest(values, offsets, data, ok, rest, _USCC_CLEANUP, _uscc_reference)
    return _answer(ok, present)


_NOT_DIGIT = np.ones(256, np.bool_)
_NOT_DIGIT[list(b"0123456789")] = False
_DATE_TERMS = np.zeros((8, 3), np.int64)  # YYYYMMDD digits -> year, month, day
_DATE_TERMS[0:4, 0] = [1000, 100, 10, 1]
_DATE_TERMS[4:6, 1] = [10, 1]
_DATE_TERMS[6:8, 2] = [10, 1]
# The padded spellings by byte length: where their digits are, and the bytes between them.
_DATE_LAYOUTS = (
    (8, [0, 1, 2, 3, 4, 5, 6, 7]),  # 20261123
    (10, [0, 1, 2, 3, 5, 6, 8, 9]),  # 2026-11-23, 2026/11/23, 2026.11.23
    (17, [0, 1, 2, 3, 7, 8, 12, 13]),  # 2026年11月23日
)
_NIAN_YUE_RI = np.frombuffer("年月日".encode(), np.uint8)


def _padded_dates(
    values: pa.StringArray, offsets: Ints, data: npt.NDArray[np.uint8], present: Bools
) -> tuple[Ints, Ints]:
    """Rows spelled 20261123, 2026-11-23 (or / .) or 2026年11月23日 exactly, and their digits."""
    found_rows: list[Ints] = []
    found_digits: list[npt.NDArray[np.uint8]] = []
    for width, where in _DATE_LAYOUTS:
        rows, m = _fixed(values, offsets, data, present, width)
        if not len(rows):
            continue
        digits = m[:, where]
        bad = list(_rows_with(np.take(_NOT_DIGIT, digits)))
        if width == 10:
            sep = m[:, 4]
            bad += list(np.flatnonzero(((sep != 45) & (sep != 47) & (sep != 46)) | (m[:, 7] != sep)))
        elif width == 17:
            bad += list(_rows_with(m[:, [4, 5, 6, 9, 10, 11, 14, 15, 16]] != _NIAN_YUE_RI))
        rows, digits = _keep(rows, np.unique(np.array(bad, np.int64)), digits)
        found_rows.append(rows)
        found_digits.append(digits)
    if not found_rows:
        return np.zeros(0, np.int64), np.zeros((0, 3), np.int64)
    digits = np.concatenate(found_digits) - np.uint8(48)
    return np.concatenate(found_rows), _weighted(digits, _DATE_TERMS)


def parse_dates(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """`date_expr` over an array of strings: DATE, NULL when not a real date in a known spelling."""
    values = _strings(values)
    offsets, data, present = _layout(values)
    rows, parts = _padded_dates(values, offsets, data, present)
    rest = present.copy()
    rest[rows] = False
    if rest.any():  # unpadded, surrounded by spaces, with a midnight time: the regular expressions
        more = np.flatnonzero(rest)
        trimmed = pc.utf8_trim(values.take(pa.array(more)), characters=" ")
        spelled = pc.fill_null(pc.match_substring_regex(trimmed, f"^(?:{_DATE_RE}{_MIDNIGHT_RE})$"), False)
        found = pc.extract_regex(trimmed.filter(spelled), _DATE_PARTS_RE)
        rows = np.concatenate([rows, more[spelled.to_numpy(zero_copy_only=False)]])
        extra = [pc.cast(found.field(k), pa.int64()).to_numpy(zero_copy_only=False) for k in "ymd"]
        parts = np.concatenate([parts, np.stack(extra, axis=1).reshape(-1, 3)])
    year, month, day = parts.T
    real = _real_dates(year, month, day)
    rows, year, month, day = rows[real], year[real], month[real], day[real]
    # days since 1970-01-01 of a proleptic Gregorian date (the year may be 0, as DuckDB reads 0000)
    y = year - (month <= 2)
    era = np.floor_divide(y, 400)
    yoe = y - era * 400
    doy = (153 * (month + np.where(month > 2, -3, 9)) + 2) // 5 + day - 1
    out = np.zeros(len(values), np.int32)
    out[rows] = era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468
    parsed = np.zeros(len(values), np.bool_)
    parsed[rows] = True
    return pa.Array.from_buffers(pa.date32(), len(values), [_bits(parsed), pa.py_buffer(out)])


# --------------------------------------------------------------------------- lookup tables
@functools.cache
def _division_spans() -> tuple[list[int], dict[int, list[tuple[int, int]]]]:
    """stdnum's division-code list: every 6-digit code (current or historical) with the years it
    existed, read as stdnum.cn.ric.get_birth_place reads them: "[start-end]name", either end open,
    a name without a range for all years."""
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
    return sorted(spans), spans


@functools.cache
def _known_areas() -> Bools:
    """For each 6-digit number, whether it is a county code in any year's list."""
    known = np.zeros(1_000_000, np.bool_)
    known[_division_spans()[0]] = True
    return known


def _macro_sql() -> list[str]:
    return [
        """CREATE OR REPLACE TEMP MACRO cityos_cn_division_code(v) AS
        CASE WHEN v IS NULL THEN NULL
             WHEN regexp_full_match(trim(v), '[0-9]{6}(?:[0-9]{3}){0,2}')
                THEN coalesce(TRY_CAST(trim(v)[1:6] AS INTEGER) IN (SELECT code FROM cityos_cn_division),
                              false)
             ELSE false END""",
        r"""CREATE OR REPLACE TEMP MACRO cityos_cn_mobile(v) AS
        regexp_full_match(trim(v), '(?:(?:\+86|0086|86)[ -]?)?1[3-9][0-9]{9}')""",
        # Datetimes: check the spelling, bring it to 2026-11-23[ 08:30[:00]], then parse strictly
        # (try_strptime rejects 2026-02-30).
        r"""CREATE OR REPLACE TEMP MACRO cityos_date_canonical(s) AS
        regexp_replace(
            regexp_replace(
                regexp_replace(s, '^([0-9]{4})[-/.年]([0-9]{1,2})[-/.月]([0-9]{1,2})日?', '\1-\2-\3'),
                '^([0-9]{4})([0-9]{2})([0-9]{2})', '\1-\2-\3'),
            'T| +', ' ')""",
        f"""CREATE OR REPLACE TEMP MACRO cityos_datetime(v) AS
        CASE WHEN regexp_full_match(trim(v), '{_DATE_RE}(?:{_TIME_RE})?')
            THEN try_strptime(
                cityos_date_canonical(trim(v)),
                ['%Y-%m-%d', '%Y-%m-%d %H:%M', '%Y-%m-%d %H:%M:%S', '%Y-%m-%d %H:%M:%S.%f'])
        END""",
    ]
