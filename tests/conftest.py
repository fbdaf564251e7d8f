"""Shared fixtures.

`db` is parametrised over SQLite and PostgreSQL: every storage test runs on both. Each test runs
inside one outer transaction that is rolled back at the end; the code under test commits to
savepoints (join_transaction_mode="create_savepoint"), so units of work, event delivery and
handlers behave as in production without leaking between tests.

PostgreSQL is 127.0.0.1:5432, user postgres, trust auth; each test process creates its own
database and drops it at the end. In CI (CI=true) an unreachable PostgreSQL fails the run;
elsewhere those tests skip with the reason.
"""

from __future__ import annotations

import os

# argon2id at its minimum cost in tests (set before cityos.identity loads): ~9 users per test city
# and every login otherwise cost ~0.17 s of CPU each at the production cost (t=3, m=64 MiB, p=4).
# The production cost itself is checked in tests/identity/test_password_cost.py.
os.environ.setdefault("CITYOS_ARGON2", "t=1,m=8,p=1")
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from cityos.core import clock
from cityos.core.db import Database, make_engine, use_db
from cityos.core.migrate import upgrade
from cityos.core.settings import Settings, use_settings

PG_ADMIN_URL = os.environ.get("CITYOS_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
IN_CI = os.environ.get("CI") == "true"


def _pg_available() -> str | None:
    try:
        eng = make_engine(PG_ADMIN_URL, pool_size=1, max_overflow=0)
        with eng.connect() as c:
            c.execute(text("SELECT 1"))
        eng.dispose()
        return None
    except Exception as e:
        return f"PostgreSQL not reachable at {PG_ADMIN_URL}: {type(e).__name__}"


class Backends:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.engines: dict[str, Engine] = {}
        self.urls: dict[str, str] = {}
        self.pg_db: str | None = None

    def url(self, backend: str) -> str:
        self.engine(backend)
        return self.urls[backend]

    def engine(self, backend: str) -> Engine:
        if backend in self.engines:
            return self.engines[backend]
        if backend == "sqlite":
            url = f"sqlite:///{self.tmp / 'test.db'}"
        else:
            reason = _pg_available()
            if reason:
                if IN_CI:
                    pytest.fail(f"CI must run the PostgreSQL tests: {reason}")
                pytest.skip(reason)
            self.pg_db = f"cityos_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
            admin = make_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", pool_size=1, max_overflow=0)
            with admin.connect() as c:
                c.execute(text(f'CREATE DATABASE "{self.pg_db}"'))
            admin.dispose()
            url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{self.pg_db}"
        eng = make_engine(url)
        upgrade(eng)
        self.engines[backend] = eng
        self.urls[backend] = url
        return eng

    def close(self) -> None:
        for eng in self.engines.values():
            eng.dispose()
        if self.pg_db:
            admin = make_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", pool_size=1, max_overflow=0)
            with admin.connect() as c:
                c.execute(text(f'DROP DATABASE IF EXISTS "{self.pg_db}" WITH (FORCE)'))
            admin.dispose()


@pytest.fixture(scope="session")
def backends(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backends]:
    b = Backends(tmp_path_factory.mktemp("db"))
    yield b
    b.close()


@pytest.fixture(autouse=True)
def _reset_process_state() -> Iterator[None]:
    """Per-process caches must not carry one test's (rolled-back) data into the next."""
    from cityos.core import calendar

    clock.set_now(None)
    calendar.invalidate()
    yield
    clock.set_now(None)
    calendar.invalidate()


@pytest.fixture
def settings(tmp_path: Path, backends: Backends, request: pytest.FixtureRequest) -> Iterator[Settings]:
    backend = getattr(request, "param", None) or _backend_of(request)
    s = Settings(home=tmp_path / "home", database_url=backends.url(backend))
    s.home.mkdir(parents=True, exist_ok=True)
    use_settings(s)
    yield s
    use_settings(None)


def _backend_of(request: pytest.FixtureRequest) -> str:
    callspec = getattr(request.node, "callspec", None)
    if callspec and "db" in callspec.params:
        return str(callspec.params["db"])
    return "sqlite"


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, backends: Backends, settings: Settings) -> Iterator[Database]:
    engine = backends.engine(request.param)
    conn = engine.connect()
    outer = conn.begin()
    database = Database(conn, savepoints=True)
    use_db(database)
    try:
        yield database
    finally:
        use_db(None)
        if outer.is_active:
            outer.rollback()
        conn.close()


@pytest.fixture
def session(db: Database) -> Iterator[Session]:
    """A session inside the test's transaction, for arranging and asserting."""
    s = db.sessionmaker()
    try:
        yield s
    finally:
        s.close()


@pytest.fixture
def city(db: Database):  # type: ignore[no-untyped-def]
    from tests.factories import SmallCity

    return SmallCity.build(db)


@pytest.fixture
def client(db: Database, settings: Settings):  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from cityos.web.app import create_app

    app = create_app(settings=settings, db=db)
    with TestClient(app, base_url="http://testserver") as c:
        yield c


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """The small demo city, built once per test process; modules take copies (tests/demo_template.py)."""
    from tests.demo_template import DemoTemplate

    return DemoTemplate.build(tmp_path_factory.mktemp("demo-template") / "home")
