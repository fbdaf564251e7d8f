"""Loading data into a resource: intake in every format, each constraint, the report, quarantine."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pytest

from cityos.catalog import service
from cityos.core.errors import Invalid

from .helpers import HEADER, population, population_rows, write_csv


@pytest.fixture
def steward(city):  # type: ignore[no-untyped-def]
    return city.as_role("data_bureau")


def _load(db, actor, code, path, **kw):  # type: ignore[no-untyped-def]
    return service.load(db=db, actor=actor, code=code, path=path, filename=path.name, **kw)


def test_clean_csv_becomes_version_1_with_hash_and_scores(db, city, steward, tmp_path: Path) -> None:
    with db.transaction() as s:
        code = population(s, steward)
    v = _load(db, steward, code, write_csv(tmp_path / "p.csv", population_rows(50)))
    assert v.state == "accepted" and v.number == 1
    assert v.row_count == 50 and v.quarantined_rows == 0
    assert v.sha256 and len(v.sha256) == 64
    assert v.completeness == 1.0 and v.validity == 1.0 and v.uniqueness == 1.0
    assert v.report["source"]["encoding"] == "UTF-8" and v.report["source"]["delimiter"] == ","
    with db.reader() as s:
        r = service.get_resource(session=s, code=code)
        assert r.current_version == 1 and r.row_count == 50 and not r.stale


@pytest.mark.parametrize("encoding,name", [("gbk", "GBK"), ("gb18030", "GB18030")])
def test_gbk_and_gb18030_csv_are_detected(
    db, city, steward, tmp_path: Path, encoding: str, name: str
) -> None:
    rows = population_rows(5)
    if encoding == "gb18030":
        rows[0][1] = "张𠀀"  # a character outside GBK: only GB18030 can carry it
    with db.transaction() as s:
        code = population(s, steward)
    v = _load(db, steward, code, write_csv(tmp_path / "p.csv", rows, encoding=encoding, delimiter=";"))
    assert v.state == "accepted", v.report
    assert v.report["source"]["encoding"] == name and v.report["source"]["delimiter"] == ";"
    with db.reader() as s:
        acc = service.access(
            session=s, actor=steward.model_copy(update={"department_id": city.departments["gaj"]}), code=code
        )
        path, _ = service.version_path(session=s, code=code)
    from cityos.catalog import reader

    with db.reader() as s:
        schema = service.schema_of(session=s, code=code)
    got, _ = reader.page(path, schema, acc, filters=[], limit=10)
    assert {r["name"] for r in got} >= {rows[0][1]}


def test_excel_with_chinese_headers_and_real_dates(db, city, steward, tmp_path: Path) -> None:
    import datetime as dt

    rows = population_rows(3)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["公民身份号码", "姓名", "性别", "出生日期", "手机号码", "户籍地行政区划", "户内人数"])
    for r in rows:
        y, m, d = r[3].split("-")
        ws.append([r[0], r[1], r[2], dt.datetime(int(y), int(m), int(d)), r[4], r[5], int(r[6])])
    path = tmp_path / "人口.xlsx"
    wb.save(path)
    with db.transaction() as s:
        code = population(s, steward)
    v = _load(db, steward, code, path)
    assert v.state == "accepted", v.report
    assert v.source_format == "xlsx" and v.row_count == 3


def test_json_ndjson_and_parquet_intake(db, city, steward, tmp_path: Path) -> None:
    rows = population_rows(4)
    records = [dict(zip(HEADER, r, strict=True)) for r in rows]
    (tmp_path / "p.json").write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    (tmp_path / "p.ndjson").write_text(
        "\n".join(json.dumps(r, ensure_ascii=False) for r in records), encoding="utf-8"
    )
    import duckdb

    duckdb.connect().execute(
        f"COPY (SELECT * FROM read_json('{tmp_path / 'p.json'}')) "
        f"TO '{tmp_path / 'p.parquet'}' (FORMAT parquet)"
    )
    with db.transaction() as s:
        code = population(s, steward)
    for name in ("p.json", "p.ndjson", "p.parquet"):
        v = _load(db, steward, code, tmp_path / name)
        assert v.state == "accepted", (name, v.report)
        assert v.row_count == 4


def test_every_constraint_is_checked_and_reported_with_rows(db, city, steward, tmp_path: Path) -> None:
    rows = population_rows(12)
    rows[0][0] = rows[0][0][:-1] + ("0" if rows[0][0][-1] != "0" else "1")  # bad check digit  -> row 2
    rows[1][1] = ""  # required                                                            -> row 3
    rows[2][2] = "未知"  # enum                                                            -> row 4
    rows[3][3] = "2023-02-30"  # not a date                                               -> row 5
    rows[4][4] = "1234567"  # not a mobile                                                -> row 6
    rows[5][5] = "999999"  # unknown division                                             -> row 7
    rows[6][6] = "0"  # below minimum                                                     -> row 8
    rows[7][6] = "31"  # above maximum                                                    -> row 9
    rows[8][6] = "三"  # not an integer                                                   -> row 10
    rows[9][1] = "名" * 21  # maxLength                                                   -> row 11
    rows[11][0] = rows[10][0]  # duplicate key                                            -> row 13
    with db.transaction() as s:
        code = population(s, steward)
    v = _load(db, steward, code, write_csv(tmp_path / "bad.csv", rows))
    assert v.state == "accepted" and v.valid_rows == 1 and v.quarantined_rows == 11
    errs = {(e["field"], e["code"]): e["count"] for e in v.report["errors"]}
    assert errs == {
        ("id_number", "id_check"): 1,  # the resident ID says which of its rules failed
        ("name", "required"): 1,
        ("gender", "enum"): 1,
        ("birth_date", "type"): 1,
        ("mobile", "format"): 1,
        ("division", "format"): 1,
        ("household_size", "minimum"): 1,
        ("household_size", "maximum"): 1,
        ("household_size", "type"): 1,
        ("name", "maxLength"): 1,
        ("id_number", "primaryKey"): 1,
    }
    rows_of = {(s["field"], s["code"]): s["row"] for s in v.report["samples"]}
    assert rows_of[("id_number", "id_check")] == 2
    titles = {e["field"]: e["title"] for e in v.report["errors"] + v.report["samples"]}
    assert titles["id_number"] == "公民身份号码" and titles["household_size"] == "户内人数"
    assert rows_of[("birth_date", "type")] == 5
    assert rows_of[("id_number", "primaryKey")] == 13
    assert v.report["fields"]["name"]["missing"] == 1
    assert 0 < v.validity < 1 and v.completeness < 1 and v.uniqueness < 1


def test_pattern_minlength_unique_and_date_formats(db, city, steward, tmp_path: Path) -> None:
    schema = {
        "fields": [
            {
                "name": "plate",
                "type": "string",
                "constraints": {"pattern": "鲁Q[A-Z0-9]{5}", "unique": True, "minLength": 7},
            },
            {"name": "registered", "type": "date", "format": "any"},
            {"name": "at", "type": "datetime", "format": "any"},
            {"name": "ok", "type": "boolean"},
            {"name": "area", "type": "number", "constraints": {"minimum": 0}},
        ]
    }
    csv = (
        "plate,registered,at,ok,area\n"
        "鲁QA1234,2026年1月3日,2026/11/23 8:30,是,12.5\n"
        "鲁QB1234,20260103,2026-11-23 08:30:00,false,0\n"
        "京A12345,2026.01.03,2026-11-23T08:30:00,1,-1\n"
        "鲁QB1234,2026-13-01,yesterday,maybe,abc\n"
    )
    (tmp_path / "v.csv").write_text(csv, encoding="utf-8")
    from cityos.catalog.schemas import ResourceIn

    with db.transaction() as s:
        code = service.create_resource(
            session=s,
            actor=steward,
            data=ResourceIn(class_code="305001", name="机动车登记", provider="gaj", table_schema=schema),
        ).code
    v = _load(db, steward, code, tmp_path / "v.csv")
    errs = {(e["field"], e["code"]): e["count"] for e in v.report["errors"]}
    assert errs == {
        ("plate", "pattern"): 1,
        ("plate", "unique"): 1,
        ("registered", "type"): 1,
        ("at", "type"): 1,
        ("ok", "type"): 1,
        ("area", "minimum"): 1,
        ("area", "type"): 1,
    }
    assert v.valid_rows == 2


def test_reject_policy_keeps_nothing_and_records_the_attempt(db, city, steward, tmp_path: Path) -> None:
    rows = population_rows(5)
    rows[2][4] = "12"
    with db.transaction() as s:
        code = population(s, steward, policy="reject")
    v = _load(db, steward, code, write_csv(tmp_path / "p.csv", rows))
    assert v.state == "rejected" and v.number is None
    with db.reader() as s:
        r = service.get_resource(session=s, code=code)
        assert r.current_version is None
        assert [x.state for x in service.versions(session=s, actor=steward, code=code)] == ["rejected"]


def test_missing_and_extra_columns_are_fatal(db, city, steward, tmp_path: Path) -> None:
    with db.transaction() as s:
        code = population(s, steward)
    rows = [[*r[:-1], "x"] for r in population_rows(2)]
    path = write_csv(tmp_path / "p.csv", rows, header=[*HEADER[:-1], "surprise"])
    v = _load(db, steward, code, path)
    assert v.state == "rejected"
    assert {(f["code"], f["field"]) for f in v.report["fatal"]} == {
        ("missing_column", "household_size"),
        ("extra_column", "surprise"),
    }


def test_quarantine_round_trip_loses_nothing(db, city, steward, tmp_path: Path) -> None:
    rows = population_rows(20)
    broken = {3: rows[3][4], 9: rows[9][4]}
    rows[3][4] = "bad-mobile"
    rows[9][4] = "110"
    with db.transaction() as s:
        code = population(s, steward)
    v1 = _load(db, steward, code, write_csv(tmp_path / "p.csv", rows))
    assert v1.row_count == 18 and v1.quarantined_rows == 2
    from cityos.catalog import excel

    with db.reader() as s:
        qpath = service.quarantine_path(session=s, actor=steward, code=code, version_id=v1.id)
    data, _ = excel.quarantine_file(qpath, "csv")
    lines = data.decode("utf-8-sig").splitlines()
    assert lines[0].split(",")[-2:] == ['"__row"', '"__errors"'] or lines[0].endswith("__errors")
    assert len(lines) == 3
    # the steward fixes the two mobiles in the downloaded file and loads it back (append)
    fixed = data.decode("utf-8-sig").replace("bad-mobile", broken[3]).replace('"110"', f'"{broken[9]}"')
    (tmp_path / "fixed.csv").write_text(fixed, encoding="utf-8")
    v2 = _load(db, steward, code, tmp_path / "fixed.csv", mode="append")
    assert v2.state == "accepted", v2.report
    assert v2.number == 2 and v2.row_count == 20 and v2.quarantined_rows == 0
    with db.reader() as s:
        # version 1 stays readable
        p1, meta1 = service.version_path(session=s, code=code, number=1)
        assert p1.exists() and meta1.row_count == 18


def test_upsert_replaces_by_key_and_append_refuses_existing_keys(db, city, steward, tmp_path: Path) -> None:
    rows = population_rows(10)
    with db.transaction() as s:
        code = population(s, steward)
    _load(db, steward, code, write_csv(tmp_path / "p.csv", rows))
    changed = [r[:] for r in rows[:3]]
    for r in changed:
        r[6] = "9"
    v = _load(db, steward, code, write_csv(tmp_path / "u.csv", changed), mode="upsert")
    assert v.row_count == 10 and v.number == 2
    v3 = _load(db, steward, code, write_csv(tmp_path / "a.csv", changed), mode="append")
    assert v3.state == "rejected" or v3.quarantined_rows == 3
    assert {(e["field"], e["code"]) for e in v3.report["errors"]} == {("id_number", "existingKey")}


def test_unreadable_and_unsupported_files_are_clear_errors(db, city, steward, tmp_path: Path) -> None:
    with db.transaction() as s:
        code = population(s, steward)
    (tmp_path / "x.docx").write_bytes(b"hello")
    with pytest.raises(Invalid) as e:
        _load(db, steward, code, tmp_path / "x.docx")
    assert e.value.code == "unsupported_format"
    (tmp_path / "bin.csv").write_bytes(bytes(range(128, 256)) * 10)
    with pytest.raises(Invalid) as e:
        _load(db, steward, code, tmp_path / "bin.csv")
    assert e.value.code in ("bad_encoding", "unreadable_file")


def test_only_the_providers_stewards_may_load(db, city, tmp_path: Path) -> None:
    from cityos.core.errors import Forbidden

    with db.transaction() as s:
        code = population(s, city.as_role("data_bureau"))
    with pytest.raises(Forbidden):
        _load(
            db, city.as_role("data_steward"), code, write_csv(tmp_path / "p.csv", population_rows(2))
        )  # swj's steward


def test_linyi_residents_born_before_1994_load_and_old_ids_are_refused(
    db, city, steward, tmp_path: Path
) -> None:
    """兰山区's code 371302 dates from 1994; its residents born in the 1950s-1980s carry it."""
    from stdnum.cn import ric

    rows = population_rows(6, seed=5)
    for i, born in enumerate(("19520314", "19610720", "19690101", "19750815", "19830411")):
        body = f"371302{born}{100 + i:03d}"
        rows[i][0] = body + ric.calc_check_digit(body + "0")
        rows[i][3] = f"{born[:4]}-{born[4:6]}-{born[6:]}"
        assert not ric.is_valid(rows[i][0])  # what stdnum (and this check before) rejected
    rows[5][0] = "371302610720101"  # a 15-digit first-generation number
    with db.transaction() as s:
        code = population(s, steward)
    v = _load(db, steward, code, write_csv(tmp_path / "linyi.csv", rows))
    assert v.state == "accepted" and v.row_count == 5, v.report
    assert [(e["field"], e["code"], e["count"]) for e in v.report["errors"]] == [("id_number", "id_15", 1)]
    assert "15-digit" in v.report["errors"][0]["message"]
