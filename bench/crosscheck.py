"""Cross-check engines on the same Parquet files, in the same run: an exact two-way check (低保
recipients × vehicles, both N rows) and a three-way one (+ homes), on DuckDB (the engine CityOS runs
by default, through `registries.engines`), pandas merge, and Spark local; then Splink linkage of
M × M people records. Prints seconds per engine, the hits (which must agree) and the load average.

    .venv/bin/python bench/crosscheck.py [--rows 10000000] [--link 1000000[,…]] [--link-engine duckdb|spark]
                                         [--no-spark] [--no-pandas] [--repeat 1]

`--rows 0` skips the checks; `--link 100000,300000,1000000` measures the linkage curve.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

import duckdb

from cityos.registries import engines
from cityos.registries.crosscheck import params_for

TWO_WAY = """
WITH v AS (SELECT owner_id AS id, count(*) AS n FROM vehicles WHERE status <> '注销' GROUP BY owner_id)
SELECT d.id_number AS subject_key, v.n AS cars
FROM dibao d JOIN v ON v.id = d.id_number
WHERE d.status = '在保' AND v.n >= 2
"""
THREE_WAY = """
WITH v AS (SELECT owner_id AS id, count(*) AS n FROM vehicles WHERE status <> '注销' GROUP BY owner_id),
p AS (SELECT owner_id AS id, count(*) AS n FROM property GROUP BY owner_id)
SELECT d.id_number AS subject_key, coalesce(v.n, 0) AS cars, coalesce(p.n, 0) AS homes
FROM dibao d LEFT JOIN v ON v.id = d.id_number LEFT JOIN p ON p.id = d.id_number
WHERE d.status = '在保' AND (coalesce(v.n, 0) >= 2 OR coalesce(p.n, 0) >= 3)
"""


def load() -> str:
    return " ".join(f"{x}" for x in os.getloadavg())


def make_files(folder: Path, rows: int) -> dict[str, Path]:
    """N recipients with 18-character IDs; N vehicles and N homes owned by IDs drawn from 4N people
    (so some recipients own several); statuses mixed."""
    con = duckdb.connect()
    con.execute("SET threads TO 2")

    def ids(x: str) -> str:
        return f"lpad(CAST(({x}) AS VARCHAR), 18, '3')"

    n4 = rows * 4
    specs = {
        "dibao": f"SELECT {ids('i * 4')} AS id_number, "
        f"CASE WHEN i % 10 = 0 THEN '停保' ELSE '在保' END AS status FROM range({rows}) t(i)",
        "vehicles": f"SELECT {ids(f'hash(i) % {n4}')} AS owner_id, "
        f"CASE WHEN i % 20 = 0 THEN '注销' ELSE '正常' END AS status FROM range({rows}) t(i)",
        "property": f"SELECT {ids(f'hash(i + 7) % {n4}')} AS owner_id FROM range({rows}) t(i)",
    }
    out = {}
    for name, sql in specs.items():
        p = folder / f"{name}.parquet"
        con.execute(f"COPY ({sql}) TO '{p}' (FORMAT parquet, ROW_GROUP_SIZE 1000000)")
        out[name] = p
    con.close()
    return out


def run_pandas(parts: dict[str, Path], three: bool) -> list[str]:
    import pandas as pd

    d = pd.read_parquet(parts["dibao"])
    v = pd.read_parquet(parts["vehicles"])
    v = v[v.status != "注销"].groupby("owner_id").size().rename("cars").reset_index()
    d = d[d.status == "在保"]
    m = d.merge(v, left_on="id_number", right_on="owner_id", how="left")
    m["cars"] = m["cars"].fillna(0)
    if not three:
        return sorted(m[m.cars >= 2].id_number)
    p = pd.read_parquet(parts["property"]).groupby("owner_id").size().rename("homes").reset_index()
    m = m.merge(p, left_on="id_number", right_on="owner_id", how="left")
    m["homes"] = m["homes"].fillna(0)
    return sorted(m[(m.cars >= 2) | (m.homes >= 3)].id_number)


def _keys(engine: str, sql: str, parts: dict[str, Path], params: dict[str, Any]) -> list[str]:
    return [r["subject_key"] for r in engines.run(engine, sql, parts, params)]


def timed(label: str, fn):  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    keys = fn()
    dt = time.perf_counter() - t0
    print(f"  {label:<28} {dt:8.2f} s   hits {len(keys):>10,}   load {load()}", flush=True)
    return keys


def bench_checks(rows: int, spark: bool, use_pandas: bool, repeat: int = 1) -> None:
    with tempfile.TemporaryDirectory(prefix="cityos-bench-cc-") as tmp:
        t0 = time.perf_counter()
        parts = make_files(Path(tmp), rows)
        size = sum(p.stat().st_size for p in parts.values()) / 1e6
        took = time.perf_counter() - t0
        print(f"files: 3 × {rows:,} rows ({size:.0f} MB Parquet) written in {took:.1f} s")
        params = params_for(date(2026, 12, 2))
        for label, sql, three in (("two-way", TWO_WAY, False), ("three-way", THREE_WAY, True)):
            print(f"{label} check:")
            used = {k: v for k, v in parts.items() if three or k != "property"}
            results = [
                timed("duckdb (registries.engines)", lambda s=sql, u=used: _keys("duckdb", s, u, params))
                for _ in range(repeat)
            ]
            if use_pandas:
                results.append(timed("pandas merge", lambda u=used, t=three: run_pandas(u, t)))
            if spark:
                results.append(timed("spark local[2]", lambda s=sql, u=used: _keys("spark", s, u, params)))
            first = sorted(results[0])
            print("  engines agree:", all(sorted(r) == first for r in results[1:]))


def bench_linkage(n: int, engine: str) -> None:
    from cityos.registries.linkage import PEOPLE, link

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.registries.test_linkage import generated

    t0 = time.perf_counter()
    left, right, truth = generated(n=n, seed=5)
    took = time.perf_counter() - t0
    print(f"linkage: {len(left):,} registry × {len(right):,} file records (generated in {took:.1f} s)")
    t0 = time.perf_counter()
    res = link(PEOPLE, left, right, engine=engine)
    dt = time.perf_counter() - t0
    found = res.links
    tp = len(found & truth)
    print(
        f"  splink ({engine}) {dt:8.2f} s   precision {tp / max(1, len(found)):.4f}"
        f"   recall {tp / len(truth):.4f}   review band {len(res.review):,}   load {load()}",
        flush=True,
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--link", default="1000000", help="record counts, comma-separated (0: none)")
    ap.add_argument("--link-engine", default="duckdb", choices=["duckdb", "spark"])
    ap.add_argument("--repeat", type=int, default=1, help="runs of each check per engine")
    ap.add_argument("--no-spark", action="store_true")
    ap.add_argument("--no-pandas", action="store_true")
    a = ap.parse_args()
    os.environ.setdefault("CITYOS_SPARK_MASTER", "local[2]")
    os.environ.setdefault("CITYOS_SPARK_PARTITIONS", "8")
    os.environ.setdefault("CITYOS_SPARK_DRIVER_MEMORY", "6g")
    print(f"load average at start: {load()}; cores: {os.cpu_count()}")
    if a.rows:
        bench_checks(a.rows, not a.no_spark, not a.no_pandas, a.repeat)
    for n in [int(x) for x in a.link.split(",") if int(x)]:
        bench_linkage(n, a.link_engine)


if __name__ == "__main__":
    main()
