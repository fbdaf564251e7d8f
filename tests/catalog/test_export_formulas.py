"""Every export this part of the catalog writes (quarantine CSV/XLSX, the catalog workbook, the
usage workbook) neutralises cells a spreadsheet would run as formulas (OWASP: prefix with ')."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import openpyxl

from cityos.catalog import service
from cityos.catalog.schemas import ResourceIn

from .helpers import POPULATION_SCHEMA, population, population_rows, token, write_csv

FORMULAS = ["=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(A1:A2)"]


def _no_formula_cells(data: bytes) -> list[list[object]]:
    wb = openpyxl.load_workbook(io.BytesIO(data))
    values = []
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            assert all(c.data_type != "f" for c in row), [c.value for c in row]
            values.append([c.value for c in row])
    return values


def test_quarantine_downloads_neutralise_formulas_and_keep_plain_numbers(
    db, city, client, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    steward = city.as_role("data_bureau")
    with db.transaction() as s:
        code = population(s, steward)
    rows = population_rows(8)
    for i, f in enumerate(FORMULAS):
        rows[i][2] = f  # gender: not 男/女, so the row is quarantined with the value as sent
    rows[4][6] = "-3"  # below the minimum: quarantined; a plain negative number is no formula
    v = service.load(db=db, actor=steward, code=code, path=write_csv(tmp_path / "q.csv", rows))
    assert v.quarantined_rows == 5
    url = f"/api/v1/catalog/resources/{code.replace('/', '-')}/versions/{v.id}/quarantine"
    h = token(db, city, "gaj", "catalog")

    res = client.get(url + ".csv", headers=h)
    assert res.status_code == 200
    table = list(csv.DictReader(io.StringIO(res.content.decode("utf-8-sig"))))
    assert sorted(r["gender"] for r in table if r["gender"] not in ("男", "女")) == sorted(
        "'" + f for f in FORMULAS
    )
    assert [r["household_size"] for r in table if r["__row"] == "6"] == ["-3"]

    res = client.get(url + ".xlsx", headers=h)
    assert res.status_code == 200
    cells = [c for row in _no_formula_cells(res.content) for c in row]
    assert all("'" + f in cells for f in FORMULAS) and "-3" in cells


def test_catalog_and_usage_workbooks_neutralise_formulas(db, city, client) -> None:  # type: ignore[no-untyped-def]
    steward = city.as_role("data_bureau")
    with db.transaction() as s:
        code = service.create_resource(
            session=s,
            actor=steward,
            data=ResourceIn(
                class_code="101001",
                name="=cmd|' /C calc'!A0",
                provider="gaj",
                summary="@SUM(1,2)",
                share_type="unconditional",
                update_cycle="monthly",
                tags=["+标签"],
                table_schema=POPULATION_SCHEMA,
            ),
        ).code
        service.record_call(
            session=s,
            actor=city.as_role("handler"),
            code=code,
            kind="rows",
            fields=[],
            filters={},
            rows=1,
            latency_ms=1.0,
            outcome="ok",
        )
    h = token(db, city, "gaj", "catalog")
    res = client.get("/api/v1/catalog/export.xlsx", headers=h)
    assert res.status_code == 200
    cells = [c for row in _no_formula_cells(res.content) for c in row]
    assert "'=cmd|' /C calc'!A0" in cells and "'@SUM(1,2)" in cells
    res = client.get("/api/v1/catalog/usage.xlsx", headers=h)
    assert res.status_code == 200
    cells = [c for row in _no_formula_cells(res.content) for c in row]
    assert "'=cmd|' /C calc'!A0" in cells

    # the catalog workbook still round-trips: importing it back gives the names as they were
    from cityos.catalog import excel

    with db.transaction() as s:
        excel.import_catalog(
            session=s,
            actor=steward,
            data=res.content if False else client.get("/api/v1/catalog/export.xlsx", headers=h).content,
        )
        assert service.get_resource(session=s, code=code).name == "=cmd|' /C calc'!A0"
