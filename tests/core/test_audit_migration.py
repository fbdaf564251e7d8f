"""Migration 0007 keeps the hash chain written before the Merkle log: its records become leaves
0..n-1 in their seq order, the chain itself is still verified, and new entries follow it."""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from cityos.core import audit
from cityos.core.db import Database, make_engine
from cityos.core.migrate import upgrade
from tests.conftest import PG_ADMIN_URL, _pg_available


@pytest.fixture(params=["sqlite", "postgresql"])
def old_engine(request, tmp_path):  # type: ignore[no-untyped-def]
    """A private database at revision 0006 (before the Merkle log)."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
        upgrade(engine, "0006")
        yield engine
        engine.dispose()
        return
    reason = _pg_available()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    name = f"cityos_mig_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = make_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", pool_size=1, max_overflow=0)
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}")
    upgrade(engine, "0006")
    yield engine
    engine.dispose()
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _old_chain(engine, n: int) -> None:  # type: ignore[no-untyped-def]
    """Records as the old append wrote them: seq 1..n, each hash covering the one before."""
    prev = "0" * 64
    t0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
    with engine.begin() as c:
        for seq in range(1, n + 1):
            at = t0 + timedelta(minutes=seq, microseconds=seq)
            payload = {"case": seq, "名称": "井盖"}
            pd = hashlib.sha256(
                json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()
            ).hexdigest()
            line = "|".join(
                [
                    str(seq),
                    at.isoformat(timespec="microseconds"),
                    "user:a",
                    "case.close",
                    "case",
                    str(seq),
                    pd,
                    prev,
                ]
            )
            h = hashlib.sha256(line.encode()).hexdigest()
            c.execute(
                text(
                    "INSERT INTO audit_log (seq, at, actor, action, subject_type, subject_id, payload, "
                    "payload_digest, prev_hash, hash) "
                    "VALUES (:seq, :at, 'user:a', 'case.close', 'case', :sid, :p, :pd, :prev, :h)"
                ),
                {
                    "seq": seq,
                    "at": at.replace(tzinfo=None),
                    "sid": str(seq),
                    "p": json.dumps(payload, ensure_ascii=False),
                    "pd": pd,
                    "prev": prev,
                    "h": h,
                },
            )
            prev = h


def test_the_old_chain_becomes_the_logs_verified_prefix(old_engine, settings):
    _old_chain(old_engine, 25)
    upgrade(old_engine)
    db = Database(old_engine)
    with db.transaction() as s:
        for i in range(5):
            audit.record(s, actor="user:b", action="thing.new", subject_id=i)
    audit.sequence(db, force_head=True)
    with db.reader() as s:
        rows = s.execute(text("SELECT seq, leaf_index, hash FROM audit_log ORDER BY leaf_index")).all()
        res = audit.verify(s, require_signed=True)
    assert res.ok, res.findings
    assert [r.seq for r in rows[:25]] == list(range(1, 26)) and [r.leaf_index for r in rows] == list(
        range(30)
    )
    assert all(r.hash for r in rows[:25]) and not any(r.hash for r in rows[25:])
    assert [r.seq for r in rows[25:]] == list(range(26, 31))  # numbering continues after the old chain
    # the old chain's own links are still checked: break one, and it is named
    with db.transaction() as s:
        s.execute(text("UPDATE audit_log SET prev_hash = :h WHERE seq = 7"), {"h": "f" * 64})
    with db.reader() as s:
        res = audit.verify(s)
    assert [(f.kind, f.index) for f in res.findings] == [("legacy_chain", 6)]
