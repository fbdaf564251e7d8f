"""The engines a cross-check runs on: DuckDB in-process (the default) or Apache Spark.

Both read the same Parquet files (one per part of the check, written from the governed reads) and
a one-row `params` table; the check's SQL is written in the DuckDB dialect and translated for Spark
by SQLGlot. Results come back as rows of plain values (dates as ISO text, numbers as float or int),
ordered by `subject_key` and the other columns, so the two engines compare row for row.

Spark: `CITYOS_SPARK_MASTER` (default `local[*]`), `CITYOS_SPARK_PARTITIONS` (shuffle partitions,
default 4), `CITYOS_SPARK_DRIVER_MEMORY` (default 1g) and `CITYOS_SPARK_CONF` (`key=value;…`, e.g.
the S3A settings of docs/registries.md); one session per process, reused.
"""

from __future__ import annotations

import os
import threading
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from cityos.core.errors import Invalid

ENGINES = ("duckdb", "spark")
_spark: Any = None
_spark_lock = threading.Lock()


def default_engine() -> str:
    e = os.environ.get("CITYOS_CROSSCHECK_ENGINE", "duckdb").strip().lower() or "duckdb"
    if e not in ENGINES:
        raise Invalid(
            "Unknown engine {engine}: duckdb or spark",
            field="engine",
            code="bad_engine",
            params={"engine": e},
        )
    return e


def _plain(v: Any) -> Any:
    if isinstance(v, (datetime, date)):
        return v.isoformat()
    if isinstance(v, Decimal):
        return float(v)
    return v


def _rows(table: pa.Table) -> list[dict[str, Any]]:
    """An engine's result as plain rows, the same on every engine: decimals as float, dates as ISO
    text; sorted by subject_key, then the other columns by name (nulls first). Sorting and the
    common types are done in Arrow (a million-row result turned into dicts one by one took longer
    than the join that made it)."""
    cols = []
    for col in table.columns:
        t = col.type
        if pa.types.is_decimal(t):
            col = pc.cast(col, pa.float64())
        elif pa.types.is_date(t):
            col = pc.cast(col, pa.string())
        elif pa.types.is_timestamp(t):
            col = pa.array([_plain(v) for v in col.to_pylist()], pa.string())
        cols.append(col)
    table = pa.table(cols, names=table.column_names)
    keys = ["subject_key", *sorted(c for c in table.column_names if c != "subject_key")]
    order = pc.sort_indices(
        table,
        sort_keys=[(k, "ascending", "at_start") for k in keys if k in table.column_names],
    )
    return table.take(order).to_pylist()


def run_duckdb(sql: str, parts: dict[str, Path], params: dict[str, Any]) -> list[dict[str, Any]]:
    con = duckdb.connect()
    try:
        con.execute("SET threads TO 2")
        cols = ", ".join(f"CAST(? AS {_duck_type(v)}) AS {k}" for k, v in params.items())
        con.execute(f"CREATE TABLE params AS SELECT {cols}", list(params.values()))
        # the check's SQL sees its parts and nothing else: the part files are the only paths open
        # (no other file, URL or extension it could read past the share rules: read_csv('/…'),
        # ATTACH …), and it cannot switch that back on. Each part is a view over its Parquet file,
        # scanned where the SQL needs it (a copy into DuckDB first was a third of a 10 M × 10 M check).
        con.execute("SET allowed_paths = ?", [[str(p) for p in parts.values()]])
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
        for alias, path in parts.items():
            quoted = "'" + str(path).replace("'", "''") + "'"
            con.execute(f"CREATE VIEW {alias} AS SELECT * FROM read_parquet({quoted})")
        return _rows(con.sql(sql).to_arrow_table())
    except duckdb.Error as exc:
        raise Invalid(
            "The check's SQL failed: {reason}", field="sql", code="bad_sql", params={"reason": str(exc)}
        ) from None
    finally:
        con.close()


def _duck_type(v: Any) -> str:
    return "DATE" if isinstance(v, date) else "VARCHAR"


def to_spark_sql(sql: str) -> str:
    import sqlglot

    return sqlglot.transpile(sql, read="duckdb", write="spark")[0]


def spark_session() -> Any:
    """The process's SparkSession (created on first use): `CITYOS_SPARK_MASTER` or local[*]."""
    global _spark
    with _spark_lock:
        if _spark is None:
            from pyspark.sql import SparkSession

            master = os.environ.get("CITYOS_SPARK_MASTER", "") or "local[*]"
            builder = (
                SparkSession.builder.master(master)
                .appName("cityos-crosscheck")
                .config("spark.ui.enabled", "false")
                .config("spark.ui.showConsoleProgress", "false")
                .config("spark.sql.runSQLOnFiles", "false")  # no parquet.`/path` past the share rules
                .config("spark.sql.shuffle.partitions", os.environ.get("CITYOS_SPARK_PARTITIONS", "4"))
                .config("spark.sql.session.timeZone", "UTC")
                .config("spark.driver.memory", os.environ.get("CITYOS_SPARK_DRIVER_MEMORY", "1g"))
            )
            jar = _splink_jar()
            if jar:  # Splink's Spark backend: its string-similarity UDFs (jaro_winkler…), a local file
                builder = builder.config("spark.jars", jar)
            for item in os.environ.get("CITYOS_SPARK_CONF", "").split(";"):  # k=v;k=v (S3, tuning)
                if "=" in item:
                    k, v = item.split("=", 1)
                    builder = builder.config(k.strip(), v.strip())
            _spark = builder.getOrCreate()
            _spark.sparkContext.setLogLevel("ERROR")
        return _spark


def _splink_jar() -> str:
    """The scala-udf-similarity jar inside the installed splink wheel (for this Spark's major
    version), or "" when splink is not installed."""
    try:
        from splink.backends.spark import similarity_jar_location
    except ImportError:
        return ""
    path = similarity_jar_location()
    return path if Path(path).is_file() else ""


def run_spark(sql: str, parts: dict[str, Path], params: dict[str, Any]) -> list[dict[str, Any]]:
    spark = spark_session()
    for alias, path in parts.items():
        spark.read.parquet(str(path)).createOrReplaceTempView(alias)
    cols = ", ".join(
        (f"DATE '{v.isoformat()}'" if isinstance(v, date) else "'" + str(v).replace("'", "''") + "'")
        + f" AS {k}"
        for k, v in params.items()
    )
    spark.sql(f"SELECT {cols}").createOrReplaceTempView("params")
    try:
        df = spark.sql(to_spark_sql(sql))
        table = df.toArrow()
    except Exception as exc:  # pyspark's AnalysisException and parse errors
        raise Invalid(
            "The check's SQL failed: {reason}", field="sql", code="bad_sql", params={"reason": str(exc)[:500]}
        ) from None
    return _rows(table)


def run(engine: str, sql: str, parts: dict[str, Path], params: dict[str, Any]) -> list[dict[str, Any]]:
    if engine == "spark":
        return run_spark(sql, parts, params)
    if engine == "duckdb":
        return run_duckdb(sql, parts, params)
    raise Invalid(
        "Unknown engine {engine}: duckdb or spark",
        field="engine",
        code="bad_engine",
        params={"engine": engine},
    )
