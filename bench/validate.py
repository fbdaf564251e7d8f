"""Cells validated per second: CityOS's data engine against frictionless-py's `validate`, on the same
CSV in the same run (issue goals: ≥ 5,000,000 cells/s and ≥ 100× frictionless).

The file has four columns — a resident ID (GB 11643, `cn-resident-id`), a unified social credit
code (GB 32100, `cn-uscc`), a date in the spellings government files use (`format: any`) and a
status from an enum — with 0.6 % of rows carrying one planted error each. It is generated in
DuckDB SQL with the real check-digit formulas (a sample is verified with python-stdnum) and cached
under bench/.data/.

CityOS is timed end to end (`engine.run`: read the CSV, validate, write the snapshot and the
quarantine as Parquet) and the `validate()` step alone. frictionless cannot compute Chinese check
digits, so it runs twice on a prefix of the file: with the schema alone (pattern, enum and
required constraints: a wrong check digit passes) and with a custom row check that computes the
real check digits and calendar dates in Python, which checks what CityOS checks. Its rate on the
prefix is taken as its rate on the whole file, as said in the output. Both tools are then run on
that prefix and their errors compared cell by cell.

Every figure is printed with the load average of the (shared) machine before and after it and
with the CPU time the process spent (all its threads), per cell: on a shared machine the wall
time moves with the others' work, the CPU time per cell much less.

    .venv/bin/python bench/validate.py [--rows 10000000] [--prefix 200000]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shutil
import tempfile
import time
from collections import Counter
from datetime import date
from pathlib import Path
from typing import ClassVar

import duckdb

DATA = Path(__file__).resolve().parent / ".data"
GENERATOR = "v1"  # bump when the generated data changes, so cached files are not reused

RIC_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
RIC_CHECK = "10X98765432"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
# Counties of 临沂市; python-stdnum knows them from 1994 on, so birth dates start there.
DIVISIONS = (
    "371302",
    "371311",
    "371312",
    "371321",
    "371322",
    "371323",
    "371325",
    "371326",
    "371327",
    "371328",
    "371329",
)
BIRTH_FROM, BIRTH_DAYS = "1994-01-01", 6940  # to 2012-12-31
STATUSES = ("存续", "在业", "吊销", "注销", "迁出")
DATE_SPELLINGS = ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y年%m月%d日")
# One planted error per affected row, chosen by row number modulo 1000 (0.6 % of rows).
PLANTED = {
    101: "id_number:check digit",
    202: "id_number:missing",
    303: "credit_code:check digit",
    404: "credit_code:17 characters",
    505: "reg_date:no such day",
    606: "status:not in enum",
}
COLUMNS = ("id_number", "credit_code", "reg_date", "status")

TABLE_SCHEMA = {
    "fields": [
        {
            "name": "id_number",
            "type": "string",
            "format": "cn-resident-id",
            "constraints": {"required": True},
        },
        {"name": "credit_code", "type": "string", "format": "cn-uscc", "constraints": {"required": True}},
        {"name": "reg_date", "type": "date", "format": "any"},
        {"name": "status", "type": "string", "constraints": {"enum": list(STATUSES)}},
    ]
}


def cpu_seconds() -> float:
    """CPU time of this process so far, user + system, all threads."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


# ------------------------------------------------------------------------------------ the data
def _digits_sum(number_sql: str, ndigits: int, weights: tuple[int, ...]) -> str:
    """Σ digit × weight over the decimal digits of a BIGINT expression, most significant first."""
    return " + ".join(
        f"(({number_sql} // {10 ** (ndigits - 1 - k)}) % 10) * {w}" for k, w in enumerate(weights)
    )


def people_sql(rows: int, *, planted: bool = True) -> str:
    """A query of `rows` rows (i, id_number, credit_code, reg_date, status). Resident IDs are unique:
    row i maps one-to-one onto (county, birth date, sequence) through a multiplication modulo their
    count; check digits by GB 11643 (ISO 7064 MOD 11-2) and GB 32100 (MOD 31)."""
    space = len(DIVISIONS) * BIRTH_DAYS * 1000
    assert rows <= space
    divs = "[" + ", ".join(DIVISIONS) + "]"  # as BIGINT
    alpha = f"'{USCC_ALPHABET}'"
    org = [f"CAST((h >> {5 * k}) % 31 AS INTEGER)" for k in range(9)]  # 9 characters of the org code
    uscc_sum = " + ".join(
        ["9 * 1", "1 * 3", _digits_sum("dv2", 6, USCC_WEIGHTS[2:8])]
        + [f"{v} * {w}" for v, w in zip(org, USCC_WEIGHTS[8:], strict=True)]
    )
    org_text = " || ".join(f"substr({alpha}, {v} + 1, 1)" for v in org)
    date_text = (
        "CASE i % 4 "
        + " ".join(f"WHEN {k} THEN strftime(d, '{f}')" for k, f in enumerate(DATE_SPELLINGS))
        + " END"
    )
    status = "[" + ", ".join(f"'{s}'" for s in STATUSES) + "][1 + CAST((h >> 45) % 5 AS INTEGER)]"
    e = "i % 1000" if planted else "-1"
    return f"""
    WITH s AS (
        SELECT i, (i * 2654435761) % {space} AS j, hash(i) AS h FROM range({rows}) t(i)
    ), b AS (
        SELECT i, h,
               {divs}[1 + CAST(j % {len(DIVISIONS)} AS INTEGER)] * 100000000000
                 + CAST(strftime(DATE '{BIRTH_FROM}'
                                   + CAST((j // {len(DIVISIONS)}) % {BIRTH_DAYS} AS INTEGER),
                                 '%Y%m%d') AS BIGINT) * 1000
                 + j // {len(DIVISIONS) * BIRTH_DAYS} AS body,
               {divs}[1 + CAST((h >> 50) % {len(DIVISIONS)} AS INTEGER)] AS dv2,
               DATE '2000-01-01' + CAST((h >> 20) % 9497 AS INTEGER) AS d
        FROM s
    ), c AS (
        SELECT *, CAST(({_digits_sum("body", 17, RIC_WEIGHTS)}) % 11 AS INTEGER) AS rs,
               CAST(({uscc_sum}) % 31 AS INTEGER) AS us,
               '91' || CAST(dv2 AS VARCHAR) || {org_text} AS ubody
        FROM b
    )
    SELECT i,
        CASE {e}
            WHEN 202 THEN NULL
            WHEN 101 THEN CAST(body AS VARCHAR) || substr('{RIC_CHECK}', (rs + 1) % 11 + 1, 1)
            ELSE CAST(body AS VARCHAR) || substr('{RIC_CHECK}', rs + 1, 1) END AS id_number,
        CASE {e}
            WHEN 303 THEN ubody || substr({alpha}, ((31 - us) % 31 + 1) % 31 + 1, 1)
            WHEN 404 THEN ubody
            ELSE ubody || substr({alpha}, (31 - us) % 31 + 1, 1) END AS credit_code,
        CASE {e} WHEN 505 THEN '2023-02-30' ELSE {date_text} END AS reg_date,
        CASE {e} WHEN 606 THEN '未知' ELSE {status} END AS status
    FROM c
    """


def csv_file(rows: int) -> Path:
    """The cached CSV of `rows` rows (its first rows are those of every larger file)."""
    path = DATA / f"validate-{GENERATOR}-{rows}.csv"
    if not path.exists():
        DATA.mkdir(parents=True, exist_ok=True)
        t = time.perf_counter()
        tmp = path.with_suffix(".tmp")
        con = duckdb.connect()
        con.execute("SET enable_progress_bar = false")
        con.execute(
            f"COPY (SELECT {', '.join(COLUMNS)} FROM ({people_sql(rows)})) TO '{tmp}' (HEADER, DELIMITER ',')"
        )
        con.close()
        tmp.rename(path)
        print(
            f"generated {path.name} ({path.stat().st_size / 1e6:,.0f} MB) in {time.perf_counter() - t:.1f} s"
        )
    return path


def verify_sample(path: Path, n: int = 2000) -> str:
    """Check a sample of generated values with python-stdnum, the reference implementation."""
    from stdnum.cn import ric, uscc

    con = duckdb.connect()
    rows = con.execute(
        f"SELECT id_number, credit_code, __row FROM (SELECT *, row_number() OVER () + 1 AS __row "
        f"FROM read_csv('{path}', all_varchar = true)) USING SAMPLE {n} ROWS (reservoir, 7)"
    ).fetchall()
    con.close()
    agree = 0
    for idn, code, row in rows:
        i = row - 2
        want_id = i % 1000 not in (101, 202)
        want_code = i % 1000 not in (303, 404)
        agree += (bool(idn) and ric.is_valid(idn)) == want_id and uscc.is_valid(code or "") == want_code
    return (
        f"python-stdnum agrees on {agree:,}/{len(rows):,} sampled rows (valid ones pass, planted ones fail)"
    )


# ---------------------------------------------------------------------------------- frictionless
def ric_ok(v: str) -> bool:
    if not re.fullmatch(r"[0-9]{17}[0-9X]", v):
        return False
    s = sum(int(c) * w for c, w in zip(v, RIC_WEIGHTS, strict=False))
    if RIC_CHECK[s % 11] != v[17]:
        return False
    try:
        date(int(v[6:10]), int(v[10:12]), int(v[12:14]))
    except ValueError:
        return False
    return True


def uscc_ok(v: str) -> bool:
    if len(v) != 18 or any(c not in USCC_ALPHABET for c in v):
        return False
    s = sum(USCC_ALPHABET.index(c) * w for c, w in zip(v, USCC_WEIGHTS, strict=False))
    return USCC_ALPHABET[(31 - s % 31) % 31] == v[17]


def any_date_ok(v: str) -> bool:
    m = re.fullmatch(r"([0-9]{4})(?:-|/|年)?([0-9]{1,2})(?:-|/|月)?([0-9]{1,2})日?", v)
    if not m:
        return False
    try:
        date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        return False
    return True


def frictionless_schema() -> dict:  # type: ignore[type-arg]
    """What frictionless can say natively: patterns for the codes and the date spellings, the enum,
    required. (Its date type has no format for 2026年11月23日, so the date is a patterned string.)"""
    return {
        "fields": [
            {
                "name": "id_number",
                "type": "string",
                "constraints": {"required": True, "pattern": "[0-9]{17}[0-9X]"},
            },
            {
                "name": "credit_code",
                "type": "string",
                "constraints": {
                    "required": True,
                    "pattern": "[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}",
                },
            },
            {
                "name": "reg_date",
                "type": "string",
                "constraints": {"pattern": "[0-9]{4}(-|/|年)?[0-9]{1,2}(-|/|月)?[0-9]{1,2}日?"},
            },
            {"name": "status", "type": "string", "constraints": {"enum": list(STATUSES)}},
        ]
    }


def make_cn_check():  # type: ignore[no-untyped-def]
    """A frictionless row check with the real check digits and calendar dates (in Python)."""
    import attrs
    from frictionless import Check, errors

    @attrs.define(kw_only=True, repr=False)
    class cn_checks(Check):
        type = "cn-checks"
        Errors: ClassVar[list[type]] = [errors.ConstraintError]

        def validate_row(self, row):  # type: ignore[no-untyped-def]
            for name, ok in (("id_number", ric_ok), ("credit_code", uscc_ok), ("reg_date", any_date_ok)):
                v = row[name]
                if v is not None and not ok(v):
                    yield errors.ConstraintError.from_row(row, note=f"not a valid {name}", field_name=name)

    return cn_checks()


def run_frictionless(path: Path, rows: int, *, with_check: bool) -> tuple[float, set[tuple[int, str]]]:
    from frictionless import Resource, Schema, validate

    resource = Resource(
        path.name, basepath=str(path.parent), schema=Schema.from_descriptor(frictionless_schema())
    )
    checks = [make_cn_check()] if with_check else []
    t = time.perf_counter()
    report = validate(resource, checks=checks, limit_errors=10**9, limit_rows=rows)
    secs = time.perf_counter() - t
    flat = report.flatten(["rowNumber", "fieldName", "type", "note"])
    if any(r is None for r, *_ in flat):
        raise SystemExit(f"frictionless could not read the file: {flat[:3]}")
    bad = {(int(r), str(f)) for r, f, *_ in flat}
    return secs, bad


# --------------------------------------------------------------------------------------- cityos
def run_cityos(path: Path) -> tuple[dict[str, float], str, object]:
    from cityos.catalog import engine
    from cityos.catalog.tableschema import parse

    schema = parse(TABLE_SCHEMA)
    marks: dict[str, float] = {}
    out = Path(tempfile.mkdtemp(prefix="bench-validate-", dir=DATA))
    try:
        before, c0, t0 = load(), cpu_seconds(), time.perf_counter()
        outcome = engine.run(
            path, schema, out_dir=out, progress=lambda step, _n: marks.setdefault(step, time.perf_counter())
        )
        end = time.perf_counter()
        phases = {
            "cpu": cpu_seconds() - c0,
            "total": end - t0,
            "read": marks["validate"] - marks["read"],
            "validate": marks["write"] - marks["validate"],
            "write": end - marks["write"],
        }
        cells: set[tuple[int, str]] = set()
        if outcome.quarantine is not None:
            con = duckdb.connect()
            for row, errs in con.execute(
                f"SELECT __row, __errors FROM read_parquet('{outcome.quarantine}')"
            ).fetchall():
                for e in errs.split("; "):
                    cells.add((int(row), e.rsplit(":", 1)[0]))
            con.close()
        return phases, f"load {before} -> {load()}", (outcome, cells)
    finally:
        shutil.rmtree(out, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--prefix", type=int, default=200_000, help="rows given to frictionless")
    args = ap.parse_args()
    prefix = min(args.prefix, args.rows)
    ncols = len(COLUMNS)

    big = csv_file(args.rows)
    small = csv_file(prefix)
    with open(big, "rb") as f:
        head = b"".join(f.readline() for _ in range(prefix + 1))
    assert head == small.read_bytes(), "the prefix file must be the first rows of the big file"
    print(
        f"machine: {platform.machine()} python {platform.python_version()}, duckdb {duckdb.__version__}, "
        f"frictionless {__import__('frictionless').__version__}"
    )
    print(
        f"file: {big.name}, {args.rows:,} rows × {ncols} columns = {args.rows * ncols:,} cells, "
        f"{big.stat().st_size / 1e6:,.0f} MB; {verify_sample(big)}"
    )

    # CityOS, whole file
    phases, run_load, (outcome, _) = run_cityos(big)
    rep = outcome.report  # type: ignore[attr-defined]
    cells = args.rows * ncols
    print(
        "cityos engine.run (read + validate + write snapshot & quarantine): "
        f"{cells / phases['total']:13,.0f} cells/s ({phases['total']:.2f} s: read {phases['read']:.2f}, "
        f"validate {phases['validate']:.2f}, "
        f"write {phases['write']:.2f}); {rep.invalid_rows:,} rows quarantined; "
        f"CPU {phases['cpu']:.2f} s = {phases['cpu'] / cells * 1e9:,.0f} ns/cell; {run_load}"
    )
    print(
        f"cityos validate() alone                                        : {cells / rep.seconds:13,.0f} "
        f"cells/s ({rep.seconds:.2f} s)"
    )
    print("cityos errors: " + json.dumps({f: v["errors"] for f, v in rep.fields.items()}, ensure_ascii=False))

    # frictionless on the prefix, and CityOS on the same prefix for the error comparison
    fl_load, c0 = load(), cpu_seconds()
    fl_plain_s, fl_plain = run_frictionless(small, prefix, with_check=False)
    c1 = cpu_seconds()
    fl_s, fl = run_frictionless(small, prefix, with_check=True)
    fl_cpu, fl_plain_cpu = cpu_seconds() - c1, c1 - c0
    fl_load += f" -> {load()}"
    _, _, (_, ours) = run_cityos(small)
    pcells = prefix * ncols
    fl_rate, fl_plain_rate = pcells / fl_s, pcells / fl_plain_s
    print(
        f"frictionless validate, schema + check-digit row check (on the first {prefix:,} rows, rate taken "
        f"as the whole file's): {fl_rate:10,.0f} cells/s ({fl_s:.2f} s; "
        f"{args.rows / prefix * fl_s:,.0f} s scaled to {args.rows:,} rows); "
        f"CPU {fl_cpu:.2f} s = {fl_cpu / pcells * 1e9:,.0f} ns/cell; load {fl_load}"
    )
    print(
        f"frictionless validate, schema only (patterns, enum, required; no check digits), same prefix"
        f"            : {fl_plain_rate:10,.0f} cells/s ({fl_plain_s:.2f} s); "
        f"CPU {fl_plain_cpu / pcells * 1e9:,.0f} ns/cell"
    )
    ratio = (cells / phases["total"]) / fl_rate
    print(
        f"ratio cityos engine.run / frictionless with check digits: {ratio:,.0f}x "
        f"(validate() alone: {(cells / rep.seconds) / fl_rate:,.0f}x; against schema-only frictionless: "
        f"{(cells / phases['total']) / fl_plain_rate:,.0f}x); by CPU time per cell: "
        f"{(fl_cpu / pcells) / (phases['cpu'] / cells):,.0f}x"
    )

    planted = Counter(PLANTED[i % 1000] for i in range(prefix) if i % 1000 in PLANTED)
    by_field = lambda s: dict(sorted(Counter(f for _r, f in s).items()))  # noqa: E731
    print(
        f"errors on the first {prefix:,} rows: planted {sum(planted.values()):,} "
        f"({', '.join(f'{k} {v}' for k, v in sorted(planted.items()))})"
    )
    print(f"  cityos                      : {len(ours):,} cells {by_field(ours)}")
    print(f"  frictionless + row check    : {len(fl):,} cells {by_field(fl)}")
    print(f"  frictionless schema only    : {len(fl_plain):,} cells {by_field(fl_plain)}")
    print(
        f"  cityos and frictionless + row check agree cell by cell: {ours == fl} "
        f"(only cityos: {len(ours - fl)}, only frictionless: {len(fl - ours)})"
    )


if __name__ == "__main__":
    main()
