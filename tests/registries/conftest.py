"""One hand-made world per module and database (building it loads a dozen resources through the
catalog, too slow to repeat per test); each test runs in a savepoint rolled back at its end."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from cityos.core import clock
from cityos.core.db import Database, use_db
from cityos.core.settings import Settings, use_settings
from tests.conftest import Backends
from tests.registries.world import NOW, World, build_world


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def base(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from tests.factories import SmallCity

    tmp = tmp_path_factory.mktemp("registries")
    backends = Backends(tmp)
    engine = backends.engine(request.param)
    settings = Settings(home=tmp / "home", database_url=backends.url(request.param))
    settings.home.mkdir(parents=True, exist_ok=True)
    use_settings(settings)
    conn = engine.connect()
    outer = conn.begin()
    database = Database(conn, savepoints=True)
    use_db(database)
    try:
        city = SmallCity.build(database)
        world = build_world(city, database, tmp / "files")
        clock.set_now(None)
        yield conn, database, city, world, settings
    finally:
        use_db(None)
        use_settings(None)
        if outer.is_active:
            outer.rollback()
        conn.close()
        backends.close()


@pytest.fixture
def world(base: Any) -> Iterator[World]:
    conn, database, _city, w, settings = base
    use_settings(settings)
    use_db(database)
    clock.set_now(NOW)
    nested = conn.begin_nested()
    try:
        yield w
    finally:
        if nested.is_active:
            nested.rollback()
        use_db(None)
        use_settings(None)


@pytest.fixture
def db(base: Any, world: World) -> Database:
    return base[1]


@pytest.fixture
def city(base: Any, world: World) -> Any:
    return base[2]
