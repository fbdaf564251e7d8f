"""Two people act on the same case at the same moment on PostgreSQL, through two real connections
and committed transactions: one wins, the other gets Conflict (HTTP 409), never a lost update."""

from __future__ import annotations

import os
import threading
import uuid

import pytest
from sqlalchemy import text

from cityos.cases import service
from cityos.cases.schemas import ReportIn
from cityos.core.db import Database, make_engine, use_db
from cityos.core.errors import Conflict
from cityos.core.migrate import upgrade
from tests.conftest import IN_CI, PG_ADMIN_URL, _pg_available
from tests.factories import SmallCity


@pytest.fixture
def committed_pg():  # type: ignore[no-untyped-def]
    reason = _pg_available()
    if reason:
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)
    name = f"cityos_conc_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = make_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", pool_size=1, max_overflow=0)
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}")
    upgrade(engine)
    db = Database(engine)
    use_db(db)
    try:
        yield db
    finally:
        use_db(None)
        engine.dispose()
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_two_dispatchers_at_once_one_wins_one_gets_409(committed_pg):
    db = committed_pg
    city = SmallCity.build(db)
    with db.transaction() as s:
        service.load_default_taxonomy(session=s, actor=city.as_role("admin"))
        case = service.report_case(
            session=s,
            actor=city.as_role("citizen"),
            report=ReportIn(category_code="E0402", description="店外经营", lon=118.3515, lat=35.0515),
        )
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def act(action: str, reason: str) -> None:
        session = db.sessionmaker()
        try:
            service.get_case(
                session=session, actor=city.as_role("dispatcher"), case_id=case.id
            )  # both read v1
            barrier.wait()
            service.transition(
                session=session,
                actor=city.as_role("dispatcher"),
                case_id=case.id,
                action=action,
                reason=reason,
            )
            session.commit()
            outcomes.append(action)
        except Conflict as e:
            session.rollback()
            outcomes.append(f"409:{e.code}")
        finally:
            session.close()

    threads = [
        threading.Thread(target=act, args=("file", "")),
        threading.Thread(target=act, args=("reject", "重复")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(o.startswith("409") for o in outcomes) == [False, True], outcomes
    assert "409:stale_case" in outcomes
    with db.reader() as s:
        final = service.get_case(session=s, actor=city.as_role("dispatcher"), case_id=case.id)
        tl = service.timeline(session=s, actor=city.as_role("dispatcher"), case_id=case.id)
    winner = next(o for o in outcomes if not o.startswith("409"))
    assert final.state == {"file": "filed", "reject": "rejected"}[winner]
    assert [e.action for e in tl] == ["report", winner]  # the loser left no trace
