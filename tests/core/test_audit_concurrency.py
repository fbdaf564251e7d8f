"""The chain never forks when several connections append at once (PostgreSQL: advisory lock;
SQLite: BEGIN IMMEDIATE). Uses real committed transactions on a private database."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import text

from cityos.core import audit
from cityos.core.db import Database, make_engine
from cityos.core.migrate import upgrade


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_concurrent_appenders_keep_one_chain(backend, backends, tmp_path):
    if backend == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'concurrent.db'}")
        upgrade(engine)
    else:
        engine = backends.engine("postgresql")
        with engine.begin() as c:
            c.execute(text("DELETE FROM audit_log"))
    db = Database(engine)
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(25):
                with db.transaction() as s:
                    audit.record(s, actor=f"user:w{n}", action="test.append", subject_id=i)
        except BaseException as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with db.reader() as s:
        res = audit.verify(s)
    assert res.ok and res.checked == 100
    if backend == "postgresql":
        with engine.begin() as c:
            c.execute(text("DELETE FROM audit_log"))
    else:
        engine.dispose()
