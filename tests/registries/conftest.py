"""One hand-made world per test package and database (building it loads a dozen resources through the
catalog, too slow to repeat per test); each test runs in a savepoint rolled back at its end."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from cityos.core import clock
from cityos.core.db import Database, use_db
from cityos.core.settings import Settings, use_settings
from cityos.registries import service
from tests.conftest import Backends
from tests.registries.world import NOW, World, build_world


@pytest.fixture(scope="package", params=["sqlite", "postgresql"])
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
        with database.transaction() as s:
            installed = service.install_shipped(session=s, actor=city.as_role("admin"))
        assert sorted(installed) == sorted(service.CHECKS)
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


@pytest.fixture
def client(base: Any, world: World) -> Iterator[Any]:
    from fastapi.testclient import TestClient

    from cityos.web.app import create_app

    _conn, database, _city, _w, settings = base
    with TestClient(create_app(settings=settings, db=database), base_url="http://testserver") as c:
        yield c


def login(client: Any, username: str) -> str:
    """Log in through the form; returns the page's CSRF token."""
    import re

    from tests.factories import PASSWORD

    r = client.post(
        "/login", data={"username": username, "password": PASSWORD, "next": "/"}, follow_redirects=False
    )
    assert r.status_code == 303, r.text
    m = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/").text)
    assert m
    return m.group(1)


@pytest.fixture
def installed(world: World) -> World:
    """The world with the shipped checks installed (done once, when the world is built)."""
    return world
