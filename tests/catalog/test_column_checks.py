"""The whole-column checks (catalog/columns.py) judge every value as the DuckDB functions of
formats.py do, stay aligned with their rows across slices, and give the engine the same report:
counts per rule, the resident ID's named rule, samples, quarantine and snapshot."""

from __future__ import annotations

import csv
import random
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from stdnum.cn import ric

from cityos.catalog import columns, delivered, engine, formats
from cityos.catalog.tableschema import parse

from .test_formats import division_codes, mutate, random_ric, random_uscc, ric_reference, uscc_reference

STATUSES = ["存续", "在业", "注销"]
SCHEMA = {
    "fields": [
        {
            "name": "id_number",
            "type": "string",
            "format": "cn-resident-id",
            "constraints": {"required": True},
        },
        {"name": "credit_code", "type": "string", "format": "cn-uscc"},
        {"name": "reg_date", "type": "date", "format": "any"},
        {"name": "status", "type": "string", "constraints": {"enum": STATUSES}},
    ]
}
DATES = [
    "2026-11-23",
    "2026/1/3",
    "20260229",
    "2024年2月29日",
    "2026-02-30",
    "2026.11.23 00:00",
    "23/11/2026",
]


def _rows(n: int, seed: int) -> list[list[str]]:
    rng = random.Random(seed)
    codes = division_codes()
    rows = []
    for _ in range(n):
        idn, code = random_ric(rng, codes), random_uscc(rng)
        rows.append(
            [
                rng.choice([idn, idn, mutate(rng, idn), idn[:15], ""]),
                rng.choice([code, code, mutate(rng, code), code.lower()]),
                rng.choice(DATES),
                rng.choice([*STATUSES, "未知"]),
            ]
        )
    return rows


def _write(path: Path, rows: list[list[str]]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow([x["name"] for x in SCHEMA["fields"]])
        w.writerows(rows)
    return path


def _ric_rule(value: str) -> str | None:
    """The rule the report names for a resident ID, from stdnum (None: valid)."""
    if ric_reference(value):
        return None
    return formats.RIC_REASONS[formats._ric_reason_one(value)]


def test_column_kernels_match_the_query_functions_across_slices(tmp_path: Path) -> None:
    rows = _rows(1500, 7)
    con = engine.connect(threads=2)
    delivered.read_source(con, _write(tmp_path / "c.csv", rows), work_dir=tmp_path)
    schema = parse(SCHEMA)
    mapping = {f.name: f.name for f in schema.fields}
    # slices of 100 values: the results must come back in the rows' order, slice after slice
    done = columns.compute(con, schema, mapping, slice_rows=100)
    assert set(done) == {"id_number", "credit_code", "reg_date"}
    r, k, d = done["id_number"].reason, done["credit_code"].valid, done["reg_date"].value
    got = con.execute(
        f"SELECT {columns.reason_sql(str(r))}, {r} = 0, {k}, {d} FROM raw POSITIONAL JOIN fmt ORDER BY __row"
    ).fetchall()
    want = con.execute(
        "SELECT cityos_cn_resident_id_reason(id_number), cityos_cn_resident_id(id_number), "
        "cityos_cn_uscc(credit_code), cityos_date(reg_date) FROM raw ORDER BY __row"
    ).fetchall()
    columns.release(con)
    con.close()
    assert got == want
    assert len(got) == 1500 and {g[0] for g in got} > {None, "id_check", "id_length", "id_15"}


def test_engine_report_quarantine_and_snapshot_from_the_column_checks(tmp_path: Path) -> None:
    rows = _rows(3000, 11643)
    schema = parse(SCHEMA)
    out = engine.run(_write(tmp_path / "p.csv", rows), schema, out_dir=tmp_path / "out")
    rep = out.report
    # what each row must be told, from the references (stdnum, Python's calendar)
    want: dict[int, list[str]] = {}
    parsed = {v: engine_date for v, engine_date in zip(DATES, _dates(DATES), strict=True)}
    for n, (idn, code, day, status) in enumerate(rows, start=2):
        errs = []
        if idn == "":
            errs.append("id_number:required")
        elif rule := _ric_rule(idn):
            errs.append(f"id_number:{rule}")
        if code and not uscc_reference(code):
            errs.append("credit_code:format")
        if parsed[day] is None:
            errs.append("reg_date:type")
        if status not in STATUSES:
            errs.append("status:enum")
        if errs:
            want[n] = errs
    counts: dict[str, int] = {}
    for errs in want.values():
        for e in errs:
            counts[e] = counts.get(e, 0) + 1
    assert {f"{e['field']}:{e['code']}": e["count"] for e in rep.errors} == counts
    assert [f"{e['field']}:{e['code']}" for e in rep.errors] == sorted(counts)
    assert rep.invalid_rows == len(want) and rep.valid_rows == 3000 - len(want)
    # samples: the first five rows of each rule, with the value as sent
    for key in counts:
        first = [n for n, errs in sorted(want.items()) if key in errs][:5]
        got = [s for s in rep.samples if f"{s['field']}:{s['code']}" == key]
        assert [s["row"] for s in got] == first
        col = [x["name"] for x in SCHEMA["fields"]].index(key.split(":")[0])
        assert [s["value"] for s in got] == [rows[n - 2][col] for n in first]
    assert out.quarantine is not None and out.snapshot is not None
    quarantined = pq.read_table(out.quarantine).to_pylist()
    assert {q["__row"]: q["__errors"].split("; ") for q in quarantined} == want
    snapshot = pq.read_table(out.snapshot)
    assert snapshot.num_rows == 3000 - len(want)
    assert snapshot.column("reg_date").to_pylist() == [
        parsed[rows[n - 2][2]] for n in range(2, 3002) if n not in want
    ]


def _dates(values: list[str]) -> list[object]:
    con = duckdb.connect()
    formats.register(con)
    return [con.execute("SELECT cityos_date(?)", [v]).fetchone()[0] for v in values]  # type: ignore[index]


@pytest.mark.parametrize("value", ["", "11010519491231002X", "110105194912310021"])
def test_resident_id_reason_codes_name_the_rule(value: str) -> None:
    import pyarrow as pa

    code = formats.resident_id_reason_codes(pa.array([value, None])).to_pylist()
    assert code[1] is None
    assert formats.RIC_REASONS[code[0]] == (
        formats.resident_id_reason(pa.array([value])).to_pylist()[0] or ""
    )
    assert (code[0] == 0) == (value != "" and ric.is_valid(value))


def test_uniqueness_of_a_keyed_file_counts_distinct_keys_nulls_as_one(tmp_path: Path) -> None:
    doc = {"fields": [{"name": "k", "type": "string"}, {"name": "n", "type": "integer"}], "primaryKey": ["k"]}
    keys = ["a", "b", "a", "", "c", "", "b", "a", "d"]  # "" is missing: NULL, one key value for DISTINCT
    path = tmp_path / "k.csv"
    path.write_text("k,n\n" + "".join(f"{k},{i}\n" for i, k in enumerate(keys)), encoding="utf-8")
    rep = engine.run(path, parse(doc), out_dir=tmp_path / "out").report
    con = duckdb.connect()
    distinct = con.execute(
        "SELECT count(*) FROM (SELECT DISTINCT k FROM read_csv(?, all_varchar = true))", [str(path)]
    ).fetchall()[0][0]
    assert distinct == 5
    assert rep.uniqueness == round(distinct / len(keys), 6)
    assert {(e["field"], e["code"]): e["count"] for e in rep.errors}[("k", "primaryKey")] == len(
        keys
    ) - distinct
