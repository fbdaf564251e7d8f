"""`cityos cockpit report` as an operator runs it: bad input exits non-zero naming what is wrong
(the report itself is read back from its PDF in test_definitions.py). The three runs share one
process, so the package is imported once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

SCRIPT = """
import contextlib, io, json, sys
from cityos.cli import main
out = []
for args in json.loads(sys.argv[1]):
    sys.argv = ["cityos", *args]
    err = io.StringIO()
    code = 0
    with contextlib.redirect_stderr(err):
        try:
            main()
        except SystemExit as e:
            code = e.code
    out.append([code, err.getvalue()])
print(json.dumps(out))
"""


def test_report_refuses_bad_input_by_name(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    pdf = str(tmp_path / "简报.pdf")
    runs = [
        ["cockpit", "report", "2026-10", "--out", str(tmp_path / "简报.txt")],
        ["cockpit", "report", "2026-13", "--out", pdf],
        ["cockpit", "report", "2026-10", "--out", pdf],
    ]
    env = {k: v for k, v in os.environ.items() if k != "CITYOS_DATABASE_URL"}
    env["CITYOS_HOME"] = str(home)
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, json.dumps(runs)], env=env, capture_output=True, text=True, check=True
    )
    (fmt, fmt_err), (month, month_err), (empty, empty_err) = json.loads(done.stdout.strip().splitlines()[-1])
    assert fmt == 2 and "bad_format [--out]" in fmt_err
    assert month == 2 and "bad_month [month]" in month_err and "YYYY-MM" in month_err
    assert empty == 2 and "no_figures" in empty_err and "2026-10" in empty_err  # nothing stored yet
    assert not Path(pdf).exists()
