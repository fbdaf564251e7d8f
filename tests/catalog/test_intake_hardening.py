"""Intake refuses hostile or broken input with a clear 4xx, is capped by the data limit (not the
photo limit), and what a killed load leaves behind is swept."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import openpyxl
import pyarrow.parquet as pq
from fastapi.testclient import TestClient

from cityos.catalog import engine, jobs, service
from cityos.core.settings import get_settings, use_settings
from cityos.identity import service as identity
from cityos.web.app import create_app

from .helpers import HEADER, POPULATION_SCHEMA, population, population_rows, write_csv


def _token(db, city) -> dict[str, str]:  # type: ignore[no-untyped-def]
    with db.transaction() as s:
        tok = identity.create_token(
            session=s,
            actor=city.as_role("admin"),
            client="gaj-loader",
            scopes=["catalog"],
            department_code="gaj",
        ).token
    return {"Authorization": f"Bearer {tok}"}


def _xlsx(rows: list[list[str]]) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(HEADER)
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _entity_bomb(workbook: bytes) -> bytes:
    """The same workbook with its sheet replaced by a billion-laughs document."""
    lol = '<!ENTITY l0 "lollollollollollollollollollol">' + "".join(
        f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10)
    )
    bomb = (
        f'<?xml version="1.0"?><!DOCTYPE worksheet [{lol}]>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
        '<row r="1"><c r="A1" t="inlineStr"><is><t>&l9;</t></is></c></row></sheetData></worksheet>'
    )
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(workbook)) as src, zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            dst.writestr(item, bomb.encode() if item.filename == "xl/worksheets/sheet1.xml" else data)
    return out.getvalue()


def test_broken_and_hostile_xlsx_files_are_clear_4xx(db, city, client) -> None:  # type: ignore[no-untyped-def]
    with db.transaction() as s:
        code = population(s, city.as_role("data_bureau"))
    url, h = f"/api/v1/catalog/resources/{code.replace('/', '-')}/versions", _token(db, city)
    good = _xlsx(population_rows(3))
    for name, body in (
        ("not-a-zip.xlsx", b"this is no workbook at all" * 100),
        ("truncated.xlsx", good[: len(good) // 2]),
        ("bomb.xlsx", _entity_bomb(good)),
    ):
        res = client.post(url, files={"file": (name, body)}, headers=h)
        assert res.status_code == 422, (name, res.status_code, res.text[:300])
        assert res.json()["error"]["code"] == "unreadable_file", name
    res = client.post(url, files={"file": ("good.xlsx", good)}, headers=h)
    assert res.status_code == 201 and res.json()["state"] == "accepted", res.text


def _schema_with(**constraints: object) -> dict:  # type: ignore[type-arg]
    schema = {**POPULATION_SCHEMA, "fields": [dict(f) for f in POPULATION_SCHEMA["fields"]]}
    schema["fields"][-1] = {**schema["fields"][-1], "constraints": constraints}
    return schema


def test_schemas_the_engine_cannot_run_are_refused(db, city, client) -> None:  # type: ignore[no-untyped-def]
    with db.transaction() as s:
        code = population(s, city.as_role("data_bureau"))
    url, h = f"/api/v1/catalog/resources/{code.replace('/', '-')}/schema", _token(db, city)
    for constraints in (
        {"pattern": "(?=1)[0-9]+"},  # Python's re takes lookaheads, DuckDB's RE2 does not
        {"pattern": r"([0-9])\1"},  # nor backreferences
        {"minimum": float("nan")},
        {"maximum": float("inf")},
        {"minimum": float("-inf")},
    ):
        body = json.dumps(_schema_with(**constraints))  # NaN, Infinity: what Python's json reads
        res = client.put(url, content=body, headers={**h, "Content-Type": "application/json"})
        assert res.status_code == 422, (constraints, res.text)
        assert res.json()["error"]["code"] == "bad_schema", constraints
    # what RE2 takes is accepted even where Python's re would not (\p{Han})
    ok = {**POPULATION_SCHEMA, "fields": [dict(f) for f in POPULATION_SCHEMA["fields"]]}
    ok["fields"][1] = {**ok["fields"][1], "constraints": {"pattern": r"\p{Han}+"}}
    res = client.put(url, json=ok, headers=h)
    assert res.status_code == 200, res.text


def test_data_uploads_are_capped_by_the_data_limit_not_the_photo_limit(
    db, city, settings, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """With photos limited to 50 KB, a form may carry 10 of them plus 1 MB: 1.5 MB. A 2 MB data
    delivery goes through (the data API allows 2 GiB); a case photo form that large does not."""
    small = dataclasses.replace(settings, max_upload_bytes=50 * 1024)
    use_settings(small)
    with db.transaction() as s:
        code = population(s, city.as_role("data_bureau"))
    rows = population_rows(2000)
    for r in rows:
        r[1] = "张伟"  # keep the file valid and about 2 MB with a long padding column
    path = write_csv(tmp_path / "big.csv", rows)
    data = path.read_bytes()
    data += b"\n" * max(0, 2 * 1024 * 1024 - len(data))  # blank lines are skipped by the reader
    assert len(data) > 1.5 * 1024 * 1024
    with TestClient(create_app(settings=small, db=db), base_url="http://testserver") as c:
        h = _token(db, city)
        res = c.post(
            f"/api/v1/catalog/resources/{code.replace('/', '-')}/versions",
            files={"file": ("big.csv", data)},
            headers=h,
        )
        assert res.status_code == 201, res.text[:300]
        other = c.post("/api/v1/cases/1/attachments", files={"files": ("p.jpg", data)}, headers=h)
        assert other.status_code == 413, other.text[:300]


def test_what_a_killed_load_leaves_is_swept_and_nothing_else(db, city, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    steward = city.as_role("data_bureau")
    with db.transaction() as s:
        code = population(s, steward)
    rows = population_rows(5)
    rows[0][4] = "12345"  # one quarantined row, so a quarantine file exists too
    v = service.load(db=db, actor=steward, code=code, path=write_csv(tmp_path / "p.csv", rows))
    store = get_settings().datastore
    folder = store / code.replace("/", "-")
    kept = sorted(p.name for p in folder.iterdir() if not p.name.startswith(".") and p.is_file())
    assert any(n.startswith("quarantine-") for n in kept) and v.state == "accepted"
    # as kill -9 leaves them: a work folder, a 0-byte snapshot, a half quarantine, a serving copy
    work = folder / "tmp" / "load-abc123"
    work.mkdir(parents=True)
    (work / "duckdb.tmp").write_bytes(b"x" * 100)
    leftovers = [folder / ".0f1e.parquet", folder / ".quarantine-77.parquet", folder / ".9a.duckdb"]
    for p in leftovers:
        p.write_bytes(b"")
    # and a whole snapshot no version names (killed between writing it and recording it)
    orphan = folder / ("d" * 64 + ".parquet")
    orphan.write_bytes((folder / kept[-1]).read_bytes())
    (folder / ("d" * 64 + ".duckdb")).write_bytes(b"serving copy")
    fresh = folder / ".running.parquet"  # a load running now: too recent to touch
    fresh.write_bytes(b"")
    old = time.time() - 13 * 3600
    for p in [work, *leftovers, orphan, *(folder / k for k in kept)]:  # the versions' own files too
        os.utime(p, (old, old))
    assert jobs.purge(db) == 5
    assert not work.exists() and not any(p.exists() for p in leftovers) and fresh.exists()
    assert not orphan.exists() and not (folder / ("d" * 64 + ".duckdb")).exists()
    assert sorted(p.name for p in folder.iterdir() if not p.name.startswith(".") and p.is_file()) == kept
    with db.reader() as s:
        path, _ = service.version_path(session=s, code=code)
    assert path.exists() and path.stat().st_size > 0


def test_a_load_killed_with_sigkill_leaves_no_half_file_and_the_sweep_clears_it(tmp_path: Path) -> None:
    """A real kill -9 half-way through a load (the process kills itself the moment its quarantine
    file starts): no half or empty Parquet file under a final name, and what is left (the load's
    work folder, the half-written temporary file) goes with the sweep."""
    home = tmp_path / "home"
    home.mkdir()
    rows = population_rows(60_000)
    for r in rows[::7]:
        r[4] = "12345"  # not a mobile: quarantined, so a quarantine file is written
    csv_path = write_csv(tmp_path / "p.csv", rows)
    script = f"""
import json, os, signal, threading, time
from pathlib import Path
from cityos.catalog import service
from cityos.catalog.schemas import ResourceIn
from cityos.cli import cli_principal
from cityos.core.db import Database, make_engine
from cityos.core.migrate import upgrade
from cityos.identity import service as identity
from cityos.identity.schemas import DepartmentIn, RegionIn
e = make_engine('sqlite:///{home}/cityos.db'); upgrade(e); db = Database(e)
with db.transaction() as s:
    identity.add_region(session=s, actor=identity.SYSTEM,
        region=RegionIn(code='371300', name='临沂市', level='city'))
    identity.add_department(session=s, actor=identity.SYSTEM,
        department=DepartmentIn(code='gaj', name='临沂市公安局', region_code='371300'))
    code = service.create_resource(session=s, actor=cli_principal(), data=ResourceIn(
        class_code='101001', name='人口', provider='gaj', share_type='unconditional',
        update_cycle='monthly', table_schema=json.loads({json.dumps(json.dumps(POPULATION_SCHEMA))}))).code
print(code, flush=True)
folder = Path({str(home)!r}) / 'datasets' / code.replace('/', '-')
def kill_when_writing():  # kill -9 the moment the quarantine file starts to be written
    while not any('quarantine' in p.name for p in folder.glob('*')):
        time.sleep(0.0005)
    os.kill(os.getpid(), signal.SIGKILL)
def progress(step, rows):
    if step == 'write':
        threading.Thread(target=kill_when_writing, daemon=True).start()
service.load(db=db, actor=cli_principal(), code=code, path=Path({str(csv_path)!r}), progress=progress)
"""
    env = {k: v for k, v in os.environ.items() if k != "CITYOS_DATABASE_URL"}
    env["CITYOS_HOME"] = str(home)
    r = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True)
    assert r.returncode == -signal.SIGKILL, r.stderr
    folder = home / "datasets" / r.stdout.strip().replace("/", "-")
    assert [p for p in (folder / "tmp").glob("load-*")], "the killed load left its work folder"
    # under a final name only whole files (the snapshot, renamed when complete); the quarantine
    # being written when the process died is under its temporary name
    finals = list(folder.glob("[!.]*.parquet"))
    assert all(pq.read_metadata(p).num_rows > 0 for p in finals), finals
    assert not [p for p in finals if "quarantine" in p.name]
    assert engine.sweep(home / "datasets") == 0  # too recent: it might be a load still running
    old = time.time() - 13 * 3600
    for p in [*(folder / "tmp").glob("load-*"), *folder.glob(".*")]:
        os.utime(p, (old, old))
    assert engine.sweep(home / "datasets") >= 1
    assert not list((folder / "tmp").glob("load-*")) and not list(folder.glob(".*"))
