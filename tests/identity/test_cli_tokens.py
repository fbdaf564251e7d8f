from __future__ import annotations

import os
import subprocess
import sys


def _run(home, *args):  # type: ignore[no-untyped-def]
    env = {k: v for k, v in os.environ.items() if k != "CITYOS_DATABASE_URL"}
    env["CITYOS_HOME"] = str(home)
    return subprocess.run([sys.executable, "-m", "cityos", *args], env=env, capture_output=True, text=True)


def test_token_create_prints_the_token_alone_on_the_last_line(tmp_path):
    r = _run(tmp_path, "token", "create", "--client", "12345热线", "--scope", "open311", "--scope", "geo")
    assert r.returncode == 0, r.stderr
    last = r.stdout.strip().splitlines()[-1]
    assert last.startswith("cos_") and " " not in last
    listing = _run(tmp_path, "token", "list").stdout
    assert "12345热线" in listing and "geo,open311" in listing
    assert last not in listing  # only the hash is kept


def test_token_create_bad_department_exits_nonzero_naming_the_field(tmp_path):
    r = _run(tmp_path, "token", "create", "--client", "x", "--scope", "geo", "--department", "nope")
    assert r.returncode == 2
    assert "department" in r.stderr and "部门代码不存在" in r.stderr
