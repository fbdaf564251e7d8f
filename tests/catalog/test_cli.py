"""`cityos catalog load` exactly as an operator runs it: exit codes, the report, --json, --create."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from .helpers import POPULATION_SCHEMA, population_rows, write_csv


def _run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CITYOS_DATABASE_URL"}
    env["CITYOS_HOME"] = str(home)
    return subprocess.run([sys.executable, "-m", "cityos", *args], env=env, capture_output=True, text=True)


def _department(home: Path) -> None:
    script = (
        "from cityos.core.db import Database, make_engine\n"
        "from cityos.core.migrate import upgrade\n"
        "from cityos.identity import service as identity\n"
        "from cityos.identity.schemas import DepartmentIn, RegionIn\n"
        f"e = make_engine('sqlite:///{home}/cityos.db'); upgrade(e); db = Database(e)\n"
        "with db.transaction() as s:\n"
        "    identity.add_region(session=s, actor=identity.SYSTEM,\n"
        "        region=RegionIn(code='371300', name='临沂市', level='city'))\n"
        "    identity.add_department(session=s, actor=identity.SYSTEM,\n"
        "        department=DepartmentIn(code='gaj', name='临沂市公安局', region_code='371300'))\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True)


def test_load_with_create_then_quarantine_then_reject(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    _department(home)
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps(POPULATION_SCHEMA, ensure_ascii=False), encoding="utf-8")
    rows = population_rows(40)
    good = write_csv(tmp_path / "人口.csv", rows, encoding="gbk")
    r = _run(
        home,
        "catalog",
        "load",
        "101001/000001",
        str(good),
        "--schema",
        str(schema),
        "--create",
        "--name",
        "人口基础信息",
        "--provider",
        "gaj",
    )
    assert r.returncode == 0, r.stderr
    assert "accepted as version 1: 40 rows" in r.stdout and "GBK" in r.stdout
    rows[5][4] = "12345"
    rows[7][6] = "99"
    bad = write_csv(tmp_path / "bad.csv", rows)
    r = _run(home, "catalog", "load", "101001/000001", str(bad), "--json")
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    assert rep["state"] == "accepted" and rep["version"] == 2
    assert rep["invalid_rows"] == 2 and {s["row"] for s in rep["samples"]} == {7, 9}
    r = _run(home, "catalog", "load", "101001/000001", str(bad), "--policy", "reject")
    assert r.returncode == 1
    assert "row 7 手机号码 (mobile) format" in r.stderr and "rejected" in r.stderr  # by its Chinese title
    listing = _run(home, "catalog", "list").stdout
    # created without --share options: unconditional; version 2 holds the 38 valid rows
    assert "101001/000001\t人口基础信息\tgaj\tunconditional\tv2\t38\tfresh" in listing


def test_bad_input_names_the_field(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    r = _run(home, "catalog", "load", "101001/000009", str(tmp_path / "missing.csv"))
    assert r.returncode == 2 and "FILE" in r.stderr
    (tmp_path / "x.csv").write_text("a\n1\n")
    r = _run(home, "catalog", "load", "101001/000009", str(tmp_path / "x.csv"))
    assert r.returncode == 3 and "101001/000009" in r.stderr
    r = _run(home, "catalog", "load", "101001/000009", str(tmp_path / "x.csv"), "--mode", "merge")
    assert r.returncode == 2 and "--mode" in r.stderr
