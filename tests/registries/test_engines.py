"""Every shipped check on DuckDB and on Spark (local[2], one SparkSession for the session) over the
same Parquet files, cut from the hand-made world (tests/registries/world.py lists the planted hits):
the same rows, value for value, and the planted hits."""

from __future__ import annotations

import os
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cityos.registries import engines
from cityos.registries.crosscheck import params_for
from cityos.registries.definitions import CHECKS
from cityos.registries.sources import SCHEMAS
from tests.registries.test_registries import EXPECTED
from tests.registries.world import OWN, rows

pytestmark = pytest.mark.xdist_group("registries-spark")


def _schema(part: str) -> dict[str, Any]:
    return OWN[part][1] if part in OWN else SCHEMAS[part]


def _table(part: str, fields: list[str]) -> pa.Table:
    types = {f["name"]: f["type"] for f in _schema(part)["fields"]}
    data = rows(part)
    cols: dict[str, Any] = {}
    for name in fields:
        vals = [r.get(name) for r in data]
        if types[name] == "date":
            cols[name] = pa.array([date.fromisoformat(v) if v else None for v in vals], pa.date32())
        elif types[name] == "number":
            cols[name] = pa.array([None if v is None else float(v) for v in vals], pa.float64())
        else:
            cols[name] = pa.array(vals, pa.string())
    return pa.table(cols)


@pytest.fixture(scope="module")
def parts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Path]]:
    folder = tmp_path_factory.mktemp("parts")
    out: dict[str, dict[str, Path]] = {}
    for code, c in CHECKS.items():
        out[code] = {}
        for alias, binding in c.resources.items():
            path = folder / f"{code}-{alias}.parquet"
            pq.write_table(_table(binding, c.conditions[alias]), path)
            out[code][alias] = path
    return out


@pytest.fixture(scope="module")
def spark() -> Any:
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.fail("Java is missing: scripts/system-deps.sh installs it")
    os.environ.setdefault("CITYOS_SPARK_MASTER", "local[2]")
    os.environ.setdefault("CITYOS_SPARK_PARTITIONS", "1")
    # small data: interpret rather than compile (whole-stage codegen and the JIT's top tier cost
    # more than these queries), one shuffle partition
    os.environ.setdefault(
        "CITYOS_SPARK_CONF",
        "spark.sql.codegen.wholeStage=false;spark.sql.adaptive.enabled=false;"
        "spark.driver.extraJavaOptions=-XX:TieredStopAtLevel=1 -XX:+UseSerialGC;spark.default.parallelism=1",
    )
    return engines.spark_session()


def test_duckdb_and_spark_agree_row_for_row(parts: dict[str, dict[str, Path]], spark: Any) -> None:
    params = params_for(date(2026, 12, 2))
    for code, c in sorted(CHECKS.items()):
        on_duck = engines.run("duckdb", c.sql, parts[code], params)
        on_spark = engines.run("spark", c.sql, parts[code], params)
        assert on_duck == on_spark, code
        assert sorted({r["subject_key"] for r in on_duck}) == EXPECTED[code], code
    own = parts["DECEASED_PENSION"]
    from cityos.core.errors import Invalid

    with pytest.raises(Invalid) as e:  # a file named in the SQL is refused on Spark too
        engines.run("spark", f"SELECT id_number AS subject_key FROM parquet.`{own['pensions']}`", own, params)
    assert e.value.code == "bad_sql"


def test_spark_sql_is_translated_by_sqlglot() -> None:
    sql = engines.to_spark_sql(CHECKS["DECEASED_PENSION"].sql)
    assert "DATE_FORMAT" in sql.upper() and "STRFTIME" not in sql.upper()
    assert "`use`" in engines.to_spark_sql(CHECKS["DIBAO_ASSETS"].sql)


def test_a_check_reads_its_parts_and_nothing_else(parts: dict[str, dict[str, Path]]) -> None:
    """A check's SQL cannot read a file, a URL or another database past the share rules, nor turn
    that back on (on Spark the parts are the only tables registered; the editor is for stewards)."""
    from cityos.core.errors import Invalid

    params = params_for(date(2026, 12, 2))
    own = parts["DECEASED_PENSION"]
    other = parts["DIBAO_ASSETS"]["dibao"]  # another check's part, next to this check's own files
    for sql in (
        "SELECT * AS subject_key FROM read_csv('/etc/passwd')",
        f"SELECT id_number AS subject_key FROM read_parquet('{other}')",
        "SET enable_external_access = true",
        "ATTACH '/tmp/x.duckdb' AS other",
    ):
        with pytest.raises(Invalid) as e:
            engines.run("duckdb", sql, own, params)
        assert e.value.code == "bad_sql", sql
