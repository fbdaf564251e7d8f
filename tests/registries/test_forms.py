"""A check written as the small declarative form (join keys, conditions): compiled to SQL that finds
the hand-made hits on DuckDB and on Spark alike; bad forms refused by name, values never spliced
into the SQL unquoted; the editor's dry run takes the definition as edited (form or SQL, unsaved)
on a sample and creates nothing; saving keeps the form beside its compiled SQL (both databases)."""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import func, select

from cityos.core.errors import Invalid
from cityos.registries import engines
from cityos.registries.crosscheck import params_for
from cityos.registries.forms import compile_form
from tests.registries.conftest import login
from tests.registries.world import P

pytestmark = pytest.mark.xdist_group("registries-spark")

FORM: dict[str, Any] = {
    "subject": {"resource": "dibao", "key": "id_number", "where": [["status", "=", "在保"]]},
    "joins": [
        {
            "resource": "vehicles",
            "on": "owner_id",
            "where": [["status", "<>", "注销"]],
            "count": [">=", 1],
            "label": "名下车辆",
        },
        {"resource": "property", "on": "owner_id", "where": [["use", "=", "住宅"]], "count": [">=", 2]},
    ],
    "match": "any",
}


def _parts(tmp: Path) -> dict[str, Path]:
    tables = {
        "dibao": pa.table(
            {"id_number": ["A", "B", "C", "D", "E"], "status": ["在保", "在保", "停保", "在保", "在保"]}
        ),
        # A: one car; C: a car but 停保; D: a cancelled car only
        "vehicles": pa.table({"owner_id": ["A", "C", "D"], "status": ["正常", "正常", "注销"]}),
        # B: two homes; E: one home and a shop
        "property": pa.table({"owner_id": ["B", "B", "E", "E"], "use": ["住宅", "住宅", "住宅", "商业"]}),
    }
    out = {}
    for name, t in tables.items():
        out[name] = tmp / f"{name}.parquet"
        pq.write_table(t, out[name])
    return out


def test_form_compiles_to_sql_that_finds_the_hits_on_both_engines(tmp_path: Path) -> None:
    sql, resources, fields = compile_form(FORM)
    assert resources == {"dibao": "dibao", "vehicles": "vehicles", "property": "property"}
    assert fields == {
        "dibao": ["id_number", "status"],
        "vehicles": ["owner_id", "status"],
        "property": ["owner_id", "use"],
    }
    parts = _parts(tmp_path)
    params = params_for(date(2026, 12, 2))
    on_duck = engines.run("duckdb", sql, parts, params)
    assert [(r["subject_key"], r["名下车辆"], r["property"]) for r in on_duck] == [("A", 1, 0), ("B", 0, 2)]
    all_of = compile_form(FORM | {"match": "all"})[0]
    assert engines.run("duckdb", all_of, parts, params) == []
    none_of = {"subject": FORM["subject"], "joins": [FORM["joins"][0] | {"count": ["=", 0]}]}
    keys = [r["subject_key"] for r in engines.run("duckdb", compile_form(none_of)[0], parts, params)]
    assert keys == ["B", "D", "E"]
    os.environ.setdefault("CITYOS_SPARK_MASTER", "local[2]")
    os.environ.setdefault("CITYOS_SPARK_PARTITIONS", "1")
    assert engines.run("spark", sql, parts, params) == on_duck


def test_bad_forms_are_refused_by_name() -> None:
    bad = [
        {},
        {"subject": {"resource": "dibao", "key": "id_number"}},  # no condition, no join
        {"subject": {"resource": "Dibao;", "key": "id_number", "where": [["status", "=", "x"]]}},
        {"subject": {"resource": "dibao", "key": "id_number", "where": [["status", "LIKE", "x"]]}},
        {"subject": {"resource": "dibao", "key": "id_number", "where": [['st"atus', "=", "x"]]}},
        {"subject": {"resource": "dibao", "key": "id_number", "where": [["status", "=", "@today"]]}},
        FORM | {"match": "most"},
        FORM | {"joins": [FORM["joins"][0] | {"count": [">=", -1]}]},
        FORM | {"joins": [FORM["joins"][0], FORM["joins"][0]]},  # the same alias twice
        {"subject": {"resource": "dibao\n", "key": "id_number", "where": [["status", "=", "x"]]}},
        {"subject": {"resource": "dibao", "key": "id_number", "where": [["amount", ">", float("nan")]]}},
        {"subject": {"resource": "dibao", "key": "id_number", "where": [["amount", ">", float("inf")]]}},
    ]
    for form in bad:
        with pytest.raises(Invalid) as e:
            compile_form(form)
        assert e.value.code == "bad_form" and e.value.field == "form", form
    # a value is always a quoted literal
    sql = compile_form(
        {"subject": {"resource": "dibao", "key": "id_number", "where": [["status", "=", "x' OR '1'='1"]]}}
    )[0]
    assert "'x'' OR ''1''=''1'" in sql


def test_editor_dry_run_on_the_definition_as_edited(installed, world, db, client):
    from cityos.registries.models import Check, Run, Task

    token = login(client, "steward-mzj")
    with db.reader() as s:
        before = s.scalar(select(Check.sql).where(Check.code == "DIBAO_ASSETS"))
    form = {
        "subject": {"resource": "dibao", "key": "id_number", "where": [["status", "=", "在保"]]},
        "joins": [
            {
                "resource": "vehicles",
                "on": "owner_id",
                "where": [["status", "<>", "注销"]],
                "label": "名下车辆",
            }
        ],
    }
    r = client.post(
        "/registries/checks/DIBAO_ASSETS",
        data={
            "csrf_token": token,
            "action": "dry_run",
            "name": "低保对象名下车辆核对",
            "legal_basis": "《社会救助暂行办法》第十一条",
            "owner": "mzj",
            "form": json.dumps(form, ensure_ascii=False),
            "sample": "1000",
        },
    )
    assert r.status_code == 200 and "试运行" in r.text and "名下车辆" in r.text
    with db.reader() as s:
        assert s.scalar(select(Check.sql).where(Check.code == "DIBAO_ASSETS")) == before
        assert s.scalar(select(func.count()).select_from(Run)) == 0
        assert s.scalar(select(func.count()).select_from(Task)) == 0
    h = {"X-CSRF-Token": token}
    body = {
        "name": "低保对象名下车辆核对",
        "legal_basis": "《社会救助暂行办法》第十一条",
        "owner": "mzj",
        "form": form,
    }
    dry = client.post("/api/v1/crosschecks/DIBAO_CARS/dry-run?sample=1000", json=body, headers=h)
    assert dry.status_code == 200, dry.text
    out = dry.json()
    assert out["run_id"] is None and out["tasks_created"] == 0 and "LEFT JOIN j0" in out["sql"]
    assert P["P1"] in out["keys"] or out["hits"] >= 1
    bad = client.post(
        "/api/v1/crosschecks/DIBAO_CARS/dry-run", json=body | {"form": {"joins": []}}, headers=h
    )
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "bad_form"
    saved = client.put("/api/v1/crosschecks/DIBAO_CARS", json=body, headers=h)
    assert saved.status_code == 200, saved.text
    assert saved.json()["form"] == form and "coalesce(j0.n, 0) >= 1" in saved.json()["sql"]
    assert saved.json()["resources"] == {"dibao": "dibao", "vehicles": "vehicles"}
    ran = client.post("/api/v1/crosschecks/DIBAO_CARS/run", headers=h).json()
    assert ran["keys"] == out["keys"] and ran["tasks_created"] == ran["hits"]
    assert "DIBAO_CARS" in client.get("/registries/checks?edit=DIBAO_CARS").text
