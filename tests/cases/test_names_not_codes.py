"""A case's timeline names people as people know them — 测试handler（处置人员）, 系统 for the
platform's own steps — never the audit trail's `user:<username>`; the names come from
identity.service.people in one query for the whole timeline."""

from __future__ import annotations

import re

from sqlalchemy import event

from cityos.cases import service
from cityos.cases.record import _SYSTEM
from cityos.cases.schemas import ReportIn
from cityos.identity import service as identity


def _case(city, db):  # type: ignore[no-untyped-def]
    d, h = city.as_role("dispatcher"), city.as_role("handler")
    with db.transaction() as s:
        service.load_default_taxonomy(session=s, actor=city.as_role("admin"))
        case = service.report_case(
            session=s,
            actor=city.as_role("citizen"),
            report=ReportIn(
                category_code="E0402",
                description="门前堆物",
                channel="citizen",
                lon=118.351234,
                lat=35.051987,
            ),
        )
        for actor, action in ((_SYSTEM, "file"), (d, "dispatch"), (h, "accept")):
            service.transition(
                session=s, actor=actor, case_id=case.id, action=action, department_code="ls-cgj"
            )
    return case


def test_the_timeline_shows_names_and_roles(city, db, client):  # type: ignore[no-untyped-def]
    case = _case(city, db)
    city.login(client, "dispatcher")
    page = client.get(f"/cases/{case.id}").text
    timeline = page[page.index('data-testid="timeline"') :]
    assert "测试citizen（市民）" in timeline
    assert "测试dispatcher（受理派遣员）" in timeline
    assert "测试handler（处置人员）" in timeline
    assert "系统" in timeline
    assert not re.search(r"\b(user|token):", page)


def test_people_is_one_query(city, db, session):  # type: ignore[no-untyped-def]
    statements: list[str] = []

    def count(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        statements.append(statement)

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", count)
    try:
        people = identity.people(session=session, usernames=["handler1", "inspector1", "system", "nobody"])
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert people == {
        "handler1": ("测试handler", ("handler",)),
        "inspector1": ("测试inspector", ("inspector",)),
    }
    assert len([s for s in statements if "SAVEPOINT" not in s.upper()]) == 1
