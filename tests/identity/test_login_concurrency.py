"""The login failure limit holds when many wrong passwords arrive at once: each attempt runs in its
own thread, on its own connection, committing as the login route does (the failure is counted
although authenticate raised). Before the count was one atomic UPDATE, all 40 were checked on
PostgreSQL, because every attempt read the same count before any had committed."""

from __future__ import annotations

import os
import threading
import uuid

import pytest
from sqlalchemy import text

from cityos.core.db import Database, make_engine
from cityos.core.errors import CityOSError
from cityos.core.migrate import upgrade
from cityos.identity import service
from cityos.identity.schemas import UserIn
from tests.conftest import PG_ADMIN_URL, _pg_available

PARALLEL = 40


def _private_database(backend: str, tmp_path):  # type: ignore[no-untyped-def]
    """A database of the test's own, so its committed rows meet no other test."""
    if backend == "sqlite":
        return make_engine(f"sqlite:///{tmp_path / 'logins.db'}"), None
    reason = _pg_available()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    name = f"cityos_login_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = make_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", pool_size=1, max_overflow=0)
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    return make_engine(url, pool_size=PARALLEL, max_overflow=0), name


def _drop(name: str | None) -> None:
    if name:
        admin = make_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", pool_size=1, max_overflow=0)
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_parallel_wrong_passwords_check_at_most_the_limit(backend, tmp_path):
    engine, pg_name = _private_database(backend, tmp_path)
    try:
        upgrade(engine)
        db = Database(engine)
        with db.transaction() as s:
            service.add_user(
                session=s,
                actor=service.SYSTEM,
                user=UserIn(
                    username="racer", display_name="Racer", password="right-password", roles=["citizen"]
                ),
            )
        start = threading.Barrier(PARALLEL)
        statuses: list[int | str] = []

        def attempt() -> None:
            try:
                start.wait()
                with db.transaction() as s:
                    try:
                        service.authenticate(session=s, username="racer", password="wrong-password")
                    except CityOSError as e:  # committed, as the login route commits a failure
                        statuses.append(e.status)
            except Exception as e:  # reported by the assertion below
                statuses.append(repr(e))

        threads = [threading.Thread(target=attempt) for _ in range(PARALLEL)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(statuses) == PARALLEL and set(statuses) <= {401, 429}, statuses
        assert statuses.count(401) == service.MAX_FAILURES  # checked: exactly the limit
        assert statuses.count(429) == PARALLEL - service.MAX_FAILURES
        # and the right password is refused too until the window has passed
        with db.transaction() as s, pytest.raises(CityOSError) as refused:
            service.authenticate(session=s, username="racer", password="right-password")
        assert refused.value.status == 429
    finally:
        engine.dispose()
        _drop(pg_name)


def test_success_resets_the_count(city, db):
    from tests.factories import PASSWORD

    for _ in range(service.MAX_FAILURES - 1):
        with db.transaction() as s, pytest.raises(CityOSError):
            service.authenticate(session=s, username="leader1", password="wrong-password")
    with db.transaction() as s:
        service.authenticate(session=s, username="leader1", password=PASSWORD)
    for _ in range(service.MAX_FAILURES):
        with db.transaction() as s, pytest.raises(CityOSError) as failed:
            service.authenticate(session=s, username="leader1", password="wrong-password")
        assert failed.value.status == 401
