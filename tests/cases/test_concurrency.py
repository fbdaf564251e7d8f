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


def test_many_open311_posts_at_once_each_get_their_own_case(committed_pg, tmp_path):  # type: ignore[no-untyped-def]
    """48 clients POST at the same moment over real HTTP to one app process on PostgreSQL: the
    intake writes them in shared units of work (group commit), and every client gets its own case
    number, with the case's timeline entry and audit entry committed."""
    import asyncio
    import socket
    import time

    import httpx
    import uvicorn
    from sqlalchemy import func, select

    from cityos.cases.models import Case, CaseEvent
    from cityos.core.audit.models import AuditRecord
    from cityos.core.settings import Settings, use_settings
    from cityos.identity import service as identity
    from cityos.web.app import create_app

    db = committed_pg
    city = SmallCity.build(db)
    admin = city.as_role("admin")
    with db.transaction() as s:
        service.load_default_taxonomy(session=s, actor=admin)
        key = identity.create_token(session=s, actor=admin, client="app", scopes=["open311"]).token
    settings = Settings(home=tmp_path / "home", database_url=str(db.engine.url))
    settings.home.mkdir()
    use_settings(settings)
    app = create_app(settings=settings, db=db)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        for _ in range(200):
            if server.started:
                break
            time.sleep(0.05)

        async def post_all() -> list[httpx.Response]:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as c:
                return await asyncio.gather(
                    *(
                        c.post(
                            "/open311/v2/requests.json",
                            data={
                                "api_key": key,
                                "service_code": "E0402",
                                "lat": "35.0515",
                                "long": "118.3515",
                                "description": f"第{i}件",
                            },
                        )
                        for i in range(48)
                    )
                )

        answers = asyncio.run(post_all())
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        use_settings(None)
    assert [r.status_code for r in answers] == [200] * 48, [r.text for r in answers if r.status_code != 200]
    numbers = [r.json()[0]["service_request_id"] for r in answers]
    assert len(set(numbers)) == 48
    intake = app.state.open311_intake  # every one went through the group commit
    assert intake.items == 48 and 1 <= intake.batches <= 48
    print(f"48 POSTs in {intake.batches} units of work")
    with db.reader() as s:
        rows = dict(s.execute(select(Case.number, Case.description).where(Case.number.in_(numbers))).all())
        assert sorted(rows.values()) == sorted(f"第{i}件" for i in range(48))
        assert s.scalar(select(func.count()).select_from(CaseEvent)) == 48
        audited = s.scalars(select(AuditRecord.subject_id).where(AuditRecord.action == "case.report")).all()
        assert sorted(audited) == sorted(numbers)
    for i, r in enumerate(answers):  # each client got the number of its own report
        assert rows[r.json()[0]["service_request_id"]] == f"第{i}件"
