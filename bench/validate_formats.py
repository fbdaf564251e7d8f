"""Cells validated per second by the DuckDB format checks of `cityos.catalog.formats`: 2 M
values per format generated in DuckDB (about nine in ten valid, the rest one character off),
each format checked in one `count(*) FILTER (WHERE ...)` query.

    .venv/bin/python bench/validate_formats.py [--rows 2000000] [--threads 2]
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import duckdb

from cityos.catalog import formats

RIC_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def generate(con: duckdb.DuckDBPyConnection, rows: int) -> None:
    ric_sum = " + ".join(f"(ascii(b[{i + 1}]) - 48) * {w}" for i, w in enumerate(RIC_WEIGHTS))
    uscc_sum = " + ".join(f"(instr('{USCC_ALPHABET}', b[{i + 1}]) - 1) * {3**i % 31}" for i in range(17))
    con.execute(
        "CREATE TEMP TABLE codes AS SELECT lpad(CAST(i - 1 AS VARCHAR), 6, '0') AS code, "
        "row_number() OVER () - 1 AS k FROM (SELECT unnest(range(1, 1000001)) AS i, "
        "1 AS y) WHERE i - 1 IN (SELECT code FROM cityos_cn_division)"
    )
    n_codes = con.execute("SELECT count(*) FROM codes").fetchone()[0]  # type: ignore[index]
    con.execute(
        f"""CREATE TEMP TABLE bodies AS
        SELECT r.range AS i, c.code,
               c.code || strftime(DATE '1995-01-01' + CAST(random() * 10000 AS INTEGER), '%Y%m%d')
                 || lpad(CAST(CAST(random() * 999 AS INTEGER) AS VARCHAR), 3, '0') AS ric_body,
               lpad(CAST(CAST(random() * 99999999 AS INTEGER) AS VARCHAR), 8, '9')
                 || array_to_string(list_transform(range(9),
                    lambda x: substr('{USCC_ALPHABET}', 1 + CAST(random() * 30 AS INTEGER), 1)), '')
                 AS uscc_body
        FROM range({rows}) r JOIN codes c ON c.k = hash(r.range) % {n_codes}"""
    )
    spoil = "CASE WHEN random() < 0.1 THEN '0' || {x}[2:] ELSE {x} END"
    con.execute(
        f"""CREATE TEMP TABLE cells AS
        SELECT {spoil.format(x=f"b || substr('10X98765432', 1 + ({ric_sum}) % 11, 1)")} AS ric,
               {spoil.format(x="code")} AS division,
               '1' || CAST(3 + CAST(random() * 6 AS INTEGER) AS VARCHAR)
                 || lpad(CAST(CAST(random() * 999999999 AS INTEGER) AS VARCHAR), 9, '0') AS mobile,
               strftime(DATE '2000-01-01' + CAST(random() * 9000 AS INTEGER), '%Y年%-m月%-d日') AS day
        FROM (SELECT ric_body AS b, code FROM bodies)"""
    )
    con.execute(
        f"""CREATE TEMP TABLE uscc_cells AS
        SELECT {spoil.format(x=f"b || substr('{USCC_ALPHABET}', 1 + (31 - ({uscc_sum}) % 31) % 31, 1)")}
               AS uscc
        FROM (SELECT uscc_body AS b FROM bodies)"""
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=2_000_000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    con = duckdb.connect()
    con.execute(f"SET threads = {args.threads}")
    started = time.perf_counter()
    formats.register(con)
    print(f"register: {time.perf_counter() - started:.2f} s")
    generate(con, args.rows)
    print(
        f"{args.rows:,} values per format, DuckDB {duckdb.__version__}, {args.threads} threads, "
        f"{platform.processor() or platform.machine()}, load average {os.getloadavg()[0]:.1f}"
    )
    checks = [
        ("cn-resident-id", "cells", formats.check_expr("cn-resident-id", "ric")),
        ("cn-uscc", "uscc_cells", formats.check_expr("cn-uscc", "uscc")),
        ("cn-division-code", "cells", formats.check_expr("cn-division-code", "division")),
        ("cn-mobile", "cells", formats.check_expr("cn-mobile", "mobile")),
        ("date (2026年1月3日)", "cells", f"{formats.date_expr('day')} IS NOT NULL"),
        ("length only (floor)", "cells", "length(ric) = 18"),
    ]
    for label, table, expr in checks:
        best = float("inf")
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            valid = con.execute(f"SELECT count(*) FILTER (WHERE {expr}) FROM {table}").fetchone()[0]  # type: ignore[index]
            best = min(best, time.perf_counter() - t0)
        print(f"{label:22s} {args.rows / best / 1e6:6.2f} M cells/s  ({valid / args.rows:.1%} valid)")


if __name__ == "__main__":
    main()
