"""`cityos crosscheck …` exactly as the issue states the interface other systems rely on, run as a
separate process against a committed city (the hand-made world) on both databases:

- `cityos crosscheck list`: one check code per line, first on the line;
- `cityos crosscheck run CODE --engine duckdb|spark --json`: the last line is
  {"check", "engine", "hits", "keys": [...]} with the subjects' keys sorted, the same on both engines;
- an unknown code or engine: exit ≠ 0 and a message naming it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cityos.core import clock
from cityos.core.db import Database, use_db
from cityos.core.settings import Settings, use_settings
from cityos.identity import service as identity
from cityos.registries import service
from tests.conftest import Backends
from tests.registries.test_registries import EXPECTED
from tests.registries.world import build_world

pytestmark = pytest.mark.xdist_group("registries-spark")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def city(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, str]]:
    from tests.factories import SmallCity

    tmp = tmp_path_factory.mktemp("registries-cli")
    backends = Backends(tmp)
    engine = backends.engine(request.param)
    settings = Settings(home=tmp / "home", database_url=backends.url(request.param))
    settings.home.mkdir(parents=True, exist_ok=True)
    use_settings(settings)
    database = Database(engine)
    use_db(database)
    try:
        build_world(SmallCity.build(database), database, tmp / "files")
        with database.transaction() as s:
            service.install_shipped(session=s, actor=identity.SYSTEM)
        clock.set_now(None)
        env = {k: v for k, v in os.environ.items() if not k.startswith("CITYOS_")}
        env |= {"CITYOS_HOME": str(settings.home), "CITYOS_DATABASE_URL": settings.database_url}
        env |= {"CITYOS_SPARK_MASTER": "local[2]", "CITYOS_SPARK_PARTITIONS": "1"}
        yield env
    finally:
        use_db(None)
        use_settings(None)
        backends.close()


def cityos(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    cli = Path(sys.executable).with_name("cityos")
    return subprocess.run([str(cli), *args], env=env, capture_output=True, text=True, timeout=300)


def test_list_one_code_per_line_first(city: dict[str, str]) -> None:
    done = cityos(city, "crosscheck", "list")
    assert done.returncode == 0, done.stderr
    codes = [line.split("\t")[0] for line in done.stdout.splitlines()]
    assert codes == sorted(service.CHECKS)


def test_run_json_last_line_on_both_engines(city: dict[str, str]) -> None:
    outs: dict[str, Any] = {}
    for engine in ("duckdb", "spark"):
        done = cityos(city, "crosscheck", "run", "DIBAO_ASSETS", "--engine", engine, "--json")
        assert done.returncode == 0, done.stderr
        last = json.loads(done.stdout.strip().splitlines()[-1])
        assert list(last) == ["check", "engine", "hits", "keys"]
        assert last["check"] == "DIBAO_ASSETS" and last["engine"] == engine
        assert last["keys"] == sorted(last["keys"]) == EXPECTED["DIBAO_ASSETS"]
        assert last["hits"] == len(last["keys"])
        outs[engine] = last
    assert outs["duckdb"]["keys"] == outs["spark"]["keys"]
    # without --json: a summary line, then the keys
    done = cityos(city, "crosscheck", "run", "DECEASED_PENSION")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert (
        lines[0].startswith("DECEASED_PENSION on duckdb: 1 hits")
        and lines[1:] == EXPECTED["DECEASED_PENSION"]
    )


def test_bad_code_or_engine_exits_non_zero_naming_it(city: dict[str, str]) -> None:
    done = cityos(city, "crosscheck", "run", "NO_SUCH_CHECK", "--json")
    assert done.returncode == 3 and "check_not_found" in done.stderr and "NO_SUCH_CHECK" in done.stderr
    assert done.stdout == ""
    done = cityos(city, "crosscheck", "run", "DIBAO_ASSETS", "--engine", "oracle", "--json")
    assert done.returncode == 2 and "bad_engine" in done.stderr and "oracle" in done.stderr
