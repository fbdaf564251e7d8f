"""The data API's record of calls written many at a time (catalog/api.py writes the calls that
finish together in one unit of work): every call its own audit entry, the day's counters added up
per resource and consumer — the same totals as one call at a time."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from cityos.catalog import service
from cityos.core import audit
from cityos.core.audit.models import AuditRecord
from tests.catalog.helpers import masked_grant, population_rows


def _usage(db) -> dict[tuple[str, str], tuple[int, int, int, int]]:  # type: ignore[no-untyped-def]
    with db.reader() as s:
        return {
            (u.resource_code, u.consumer_code): (u.calls, u.refused, u.rows, u.downloads)
            for u in service.usage(session=s)
        }


def test_calls_written_together_are_each_audited_and_counted_once(db, city, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    provider, consumer, code = masked_grant(db, tmp_path, population_rows(20), [])
    before = _usage(db)
    with db.reader() as s:
        seq0 = s.scalar(select(AuditRecord.seq).order_by(AuditRecord.seq.desc()).limit(1)) or 0
    calls = [
        service.CallRecord(consumer, code, "lookup", [], {"key": "x"}, 1, 1.0, "ok", 1),
        service.CallRecord(consumer, code.replace("/", "-"), "rows", ["name"], {}, 7, 2.0, "ok", 1),
        service.CallRecord(consumer, code, "rows", [], {"mobile": "eq.1"}, 0, 1.0, "field_masked"),
        service.CallRecord(consumer, code, "export", [], {}, 20, 3.0, "ok", 1),
        service.CallRecord(consumer, "999999-000001", "lookup", [], {}, 0, 0.5, "resource_not_found"),
        service.CallRecord(provider, code, "lookup", [], {"key": "y"}, 1, 0.5, "ok", 1),
    ]
    with db.transaction() as s:
        service.record_calls(session=s, calls=calls)
    with db.reader() as s:
        rows = s.scalars(select(AuditRecord).where(AuditRecord.seq > seq0).order_by(AuditRecord.seq)).all()
        assert [(r.action, r.subject_id, r.payload["outcome"], r.payload["rows"]) for r in rows] == [
            ("catalog.data.lookup", code, "ok", 1),
            ("catalog.data.rows", code, "ok", 7),  # a slug names the same resource
            ("catalog.data.rows", code, "field_masked", 0),
            ("catalog.data.export", code, "ok", 20),
            ("catalog.data.lookup", "999999-000001", "resource_not_found", 0),  # as asked: no such resource
            ("catalog.data.lookup", code, "ok", 1),
        ]
        assert [r.actor for r in rows] == [consumer.actor] * 5 + [provider.actor]
        assert rows[2].payload["filter"] == {"mobile": "eq.1"} and rows[1].payload["fields"] == ["name"]
        assert audit.verify(s).ok
    after = _usage(db)

    def grew(key: tuple[str, str]) -> tuple[int, ...]:
        return tuple(a - b for a, b in zip(after[key], before.get(key, (0, 0, 0, 0)), strict=True))

    assert grew((code, "cgj")) == (4, 1, 28, 1)  # calls, refused, rows (allowed only), downloads
    assert grew((code, "gaj")) == (1, 0, 1, 0)


def test_one_call_is_recorded_as_before(db, city, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _provider, consumer, code = masked_grant(db, tmp_path, population_rows(5), [])
    before = _usage(db)
    with db.transaction() as s:
        service.record_call(
            session=s,
            actor=consumer,
            code=code,
            kind="rows",
            fields=[],
            filters={},
            rows=5,
            latency_ms=1.5,
            outcome="ok",
            version=1,
        )
    after = _usage(db)
    assert tuple(
        a - b for a, b in zip(after[(code, "cgj")], before.get((code, "cgj"), (0, 0, 0, 0)), strict=True)
    ) == (1, 0, 5, 0)
