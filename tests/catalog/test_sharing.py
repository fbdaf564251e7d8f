"""The share rules, masking, access requests on the working calendar, and the audit of every call."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from cityos.catalog import service
from cityos.catalog.masking import mask_value
from cityos.catalog.schemas import AccessRequestIn, DecisionIn
from cityos.core import audit, clock
from cityos.core.audit import AuditRecord
from cityos.core.errors import Forbidden, Invalid
from cityos.identity import service as identity

from .helpers import population, population_rows, steward, write_csv


@pytest.fixture
def shared(db, city, tmp_path: Path):  # type: ignore[no-untyped-def]
    """gaj (police) provides the population base; cgj and swj consume it."""
    provider = steward(db, "gaj", "gaj-steward")
    consumer = steward(db, "cgj", "cgj-steward")
    other = city.as_role("data_steward")  # swj
    codes = {}
    rows = population_rows(30)
    for share in ("unconditional", "conditional", "none"):
        with db.transaction() as s:
            codes[share] = population(s, provider, share_type=share)
        service.load(
            db=db, actor=provider, code=codes[share], path=write_csv(tmp_path / f"{share}.csv", rows)
        )
    return {"provider": provider, "consumer": consumer, "other": other, "codes": codes, "rows": rows}


def test_provider_reads_everything_in_clear(db, shared) -> None:  # type: ignore[no-untyped-def]
    with db.reader() as s:
        for code in shared["codes"].values():
            a = service.access(session=s, actor=shared["provider"], code=code)
            assert a.basis == "provider" and a.clear == a.fields and "id_number" in a.fields


def test_unconditional_any_department_sensitive_masked(db, shared) -> None:  # type: ignore[no-untyped-def]
    with db.reader() as s:
        a = service.access(session=s, actor=shared["consumer"], code=shared["codes"]["unconditional"])
    assert a.basis == "unconditional"
    assert set(a.fields) - set(a.clear) == {"id_number", "name", "mobile"}


def test_none_is_never_shared(db, shared) -> None:  # type: ignore[no-untyped-def]
    with db.reader() as s, pytest.raises(Forbidden) as e:
        service.access(session=s, actor=shared["consumer"], code=shared["codes"]["none"])
    assert e.value.code == "share_none"
    with db.transaction() as s, pytest.raises(Forbidden):
        service.request_access(
            session=s,
            actor=shared["consumer"],
            code=shared["codes"]["none"],
            data=AccessRequestIn(purpose="核验", legal_basis="x"),
        )


def test_conditional_needs_a_grant_then_follows_it(db, shared) -> None:  # type: ignore[no-untyped-def]
    code = shared["codes"]["conditional"]
    with db.reader() as s, pytest.raises(Forbidden) as e:
        service.access(session=s, actor=shared["consumer"], code=code)
    assert e.value.code == "access_not_granted"
    with db.transaction() as s:
        req = service.request_access(
            session=s,
            actor=shared["consumer"],
            code=code,
            data=AccessRequestIn(
                purpose="城管执法身份核验",
                legal_basis="《城市管理执法办法》",
                fields=["id_number", "name", "division"],
                period_days=30,
            ),
        )
    assert req.state == "pending"
    # another department may not answer it
    with db.transaction() as s, pytest.raises(Forbidden):
        service.decide_request(
            session=s, actor=shared["other"], request_id=req.id, decision=DecisionIn(approve=True)
        )
    with db.transaction() as s:
        done = service.decide_request(
            session=s,
            actor=shared["provider"],
            request_id=req.id,
            decision=DecisionIn(
                approve=True, fields=["id_number", "division"], clear_fields=["id_number"], period_days=30
            ),
        )
    assert done.state == "approved" and done.granted_fields == ["id_number", "division"]
    with db.reader() as s:
        a = service.access(session=s, actor=shared["consumer"], code=code)
        assert a.fields == ["id_number", "division"] and a.clear == ["id_number", "division"]
        # a field outside the grant is refused, not silently dropped
        with pytest.raises(Forbidden) as e:
            service.access(session=s, actor=shared["consumer"], code=code, fields=["id_number", "mobile"])
        assert e.value.code == "field_not_granted"
        # a third department has no grant
        with pytest.raises(Forbidden):
            service.access(session=s, actor=shared["other"], code=code)
    # the grant expires
    clock.set_now(datetime.now(UTC) + timedelta(days=31))
    try:
        with db.reader() as s, pytest.raises(Forbidden) as e:
            service.access(session=s, actor=shared["consumer"], code=code)
        assert e.value.code == "grant_expired"
    finally:
        clock.set_now(None)


def test_refusal_needs_a_reason(db, shared) -> None:  # type: ignore[no-untyped-def]
    code = shared["codes"]["conditional"]
    with db.transaction() as s:
        req = service.request_access(
            session=s,
            actor=shared["consumer"],
            code=code,
            data=AccessRequestIn(purpose="统计分析", legal_basis="x"),
        )
    with db.transaction() as s, pytest.raises(Invalid):
        service.decide_request(
            session=s, actor=shared["provider"], request_id=req.id, decision=DecisionIn(approve=False)
        )
    with db.transaction() as s:
        out = service.decide_request(
            session=s,
            actor=shared["provider"],
            request_id=req.id,
            decision=DecisionIn(approve=False, reason="用途与共享条件不符"),
        )
    assert out.state == "refused"


def test_request_deadline_is_ten_working_days_and_escalates(db, shared) -> None:  # type: ignore[no-untyped-def]
    # Friday 2026-09-25: ten working days skip the National Day holiday (1-8 Oct 2026) and count
    # the make-up working days, so the answer is due on 2026-10-16.
    from zoneinfo import ZoneInfo

    tz = ZoneInfo("Asia/Shanghai")
    clock.set_now(datetime(2026, 9, 25, 10, 0, tzinfo=tz))
    try:
        with db.transaction() as s:
            from cityos.core import calendar as cal

            expected = cal.get_calendar(s).add_working_days(clock.now(), 10)
            req = service.request_access(
                session=s,
                actor=shared["consumer"],
                code=shared["codes"]["conditional"],
                data=AccessRequestIn(purpose="核验", legal_basis="x"),
            )
        assert req.due_at == expected
        assert req.due_at.astimezone(tz).date() > datetime(2026, 10, 8).date()
        assert (req.due_at - clock.now()).days >= 14  # a calendar fortnight and more: the holiday is skipped
        clock.set_now(req.due_at - timedelta(minutes=1))
        with db.transaction() as s:
            assert service.escalate_overdue_requests(session=s) == 0
        clock.set_now(req.due_at + timedelta(minutes=1))
        with db.transaction() as s:
            assert service.escalate_overdue_requests(session=s) == 1
        with db.transaction() as s:
            assert service.escalate_overdue_requests(session=s) == 0  # once
        with db.reader() as s:
            esc = service.requests(
                session=s, actor=identity.principal_for(session=s, username="data_bureau1"), box="escalated"
            )
            assert [r.id for r in esc] == [req.id] and esc[0].overdue
    finally:
        clock.set_now(None)


def test_masking_conventions() -> None:
    assert mask_value("id", "371302199001011234") == "3***************34"
    assert mask_value("mobile", "13812345678") == "138****5678"
    assert mask_value("name", "欧阳娜娜") == "欧***"
    assert mask_value("name", "张") == "*"
    assert mask_value("partial", "山东省临沂市兰山区") == "山东*****山区"  # a quarter kept each end
    assert mask_value("partial", "兰山") == "**"


def test_masked_rows_through_the_reader_match_the_conventions(db, shared) -> None:  # type: ignore[no-untyped-def]
    from cityos.catalog import reader

    code = shared["codes"]["unconditional"]
    with db.reader() as s:
        a = service.access(session=s, actor=shared["consumer"], code=code)
        path, _ = service.version_path(session=s, code=code)
        schema = service.schema_of(session=s, code=code)
    rows, _ = reader.page(path, schema, a, filters=[], limit=5)
    by_id = {r[0]: r for r in shared["rows"]}
    for row in rows:
        assert row["mobile"].count("*") == 4 and len(row["mobile"]) == 11
        assert row["id_number"][0] != "*" and row["id_number"][1:16] == "*" * 15
        original = next(
            r
            for r in by_id.values()
            if mask_value("id", r[0]) == row["id_number"] and r[4][-4:] == row["mobile"][-4:]
        )
        assert row["name"] == mask_value("name", original[1])
        assert row["division"] == original[5]  # public field in clear


def test_data_api_audits_every_call_including_refusals(db, city, shared, client) -> None:  # type: ignore[no-untyped-def]
    with db.transaction() as s:
        tok = identity.create_token(
            session=s,
            actor=city.as_role("admin"),
            client="城管执法系统",
            scopes=["data"],
            department_code="cgj",
        ).token
    h = {"Authorization": f"Bearer {tok}"}
    unc = shared["codes"]["unconditional"].replace("/", "-")
    cond = shared["codes"]["conditional"].replace("/", "-")
    none = shared["codes"]["none"].replace("/", "-")
    idn = shared["rows"][0][0]
    # cgj sees the ID masked: looking a row up by it would tell whether that ID exists
    r = client.get(f"/api/v1/data/{unc}/rows/{idn}", headers=h)
    assert r.status_code == 403 and r.json()["error"]["code"] == "field_masked", r.text
    pages, after = [], None
    while True:
        params = {"division": "eq.371302", "fields": "id_number,division", "limit": 7}
        if after:
            params["after"] = after
        r = client.get(f"/api/v1/data/{unc}/rows", params=params, headers=h)
        assert r.status_code == 200, r.text
        pages.append(len(r.json()["rows"]))
        after = r.json()["next"]
        if not after:
            break
    assert pages == [7, 7, 7, 7, 2]  # keyset pages cover every row once
    bad = client.get(f"/api/v1/data/{unc}/rows", params={"mobile": "eq.138"}, headers=h)
    assert bad.status_code == 403 and bad.json()["error"]["code"] == "field_masked"
    bad = client.get(f"/api/v1/data/{unc}/rows", params={"gender": "eq.男"}, headers=h)
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "filter_not_indexed"
    assert client.get(f"/api/v1/data/{cond}/rows", headers=h).json()["error"]["code"] == "access_not_granted"
    assert client.get(f"/api/v1/data/{none}/rows/{idn}", headers=h).status_code == 403
    exp = client.get(f"/api/v1/data/{unc}/export.csv", headers=h)
    assert exp.status_code == 200 and exp.content.decode("utf-8-sig").count("\n") == 31
    with db.reader() as s:
        calls = s.scalars(
            select(AuditRecord).where(AuditRecord.action.like("catalog.data.%")).order_by(AuditRecord.seq)
        ).all()
        outcomes = [(c.action, c.payload["outcome"], c.payload["rows"]) for c in calls]
        assert outcomes == [
            ("catalog.data.lookup", "field_masked", 0),
            *[("catalog.data.rows", "ok", n) for n in (7, 7, 7, 7, 2)],
            ("catalog.data.rows", "field_masked", 0),
            ("catalog.data.rows", "filter_not_indexed", 0),
            ("catalog.data.rows", "access_not_granted", 0),
            ("catalog.data.lookup", "share_none", 0),
            ("catalog.data.export", "ok", 30),
        ]
        assert all(c.actor == "token:城管执法系统" and c.payload["department"] == "cgj" for c in calls)
        assert calls[1].payload["filter"] == {"division": "eq.371302"} and calls[1].payload["fields"] == [
            "id_number",
            "division",
        ]
        assert audit.verify(s).ok
        use = {(u.resource_code, u.consumer_code): u for u in service.usage(session=s)}
        u = use[(shared["codes"]["unconditional"], "cgj")]
        assert (u.calls, u.refused, u.rows, u.downloads) == (9, 3, 60, 1)


def test_changes_since_a_version(db, shared, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from cityos.catalog import reader

    code = shared["codes"]["unconditional"]
    rows = [r[:] for r in shared["rows"][:25]]
    rows[0][6] = "9"
    service.load(db=db, actor=shared["provider"], code=code, path=write_csv(tmp_path / "v2.csv", rows))
    with db.reader() as s:
        a = service.access(session=s, actor=shared["provider"], code=code)
        old, _ = service.version_path(session=s, code=code, number=1)
        new, _ = service.version_path(session=s, code=code)
        schema = service.schema_of(session=s, code=code)
    ch = reader.changes(old, new, schema, a)
    assert [r["id_number"] for r in ch["upserted"]] == [rows[0][0]]
    assert sorted(r["id_number"] for r in ch["removed"]) == sorted(r[0] for r in shared["rows"][25:])
