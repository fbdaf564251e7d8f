"""`cityos sensing device import` and `cityos sensing device token` as an operator runs them."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

CITYOS = [sys.executable, "-m", "cityos"]


@pytest.mark.xdist_group("sensing-cli")
def test_import_then_token_prints_the_password_alone_on_the_last_line(tmp_path: Path) -> None:
    env = {**os.environ, "CITYOS_HOME": str(tmp_path / "home")}
    env.pop("CITYOS_DATABASE_URL", None)
    good = tmp_path / "good.csv"
    good.write_text("id,type,name\nwl-1,FloodMonitoring,水位一\n", encoding="utf-8")
    r = subprocess.run(
        [*CITYOS, "sensing", "device", "import", str(good)], env=env, capture_output=True, text=True
    )
    assert r.returncode == 0, r.stderr
    r = subprocess.run(
        [*CITYOS, "sensing", "device", "token", "wl-1"], env=env, capture_output=True, text=True
    )
    assert r.returncode == 0, r.stderr
    password = r.stdout.strip().splitlines()[-1]
    assert " " not in password and len(password) >= 30
    eng = create_engine(f"sqlite:///{tmp_path / 'home' / 'cityos.db'}")
    with eng.connect() as c:
        stored = c.execute(text("SELECT token_hash FROM sensing_devices WHERE id = 'wl-1'")).scalar()
    eng.dispose()
    assert stored == hashlib.sha256(password.encode()).hexdigest()
