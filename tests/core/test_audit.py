from __future__ import annotations

import subprocess
import sys

from sqlalchemy import update

from cityos.core import audit
from cityos.core.audit import AuditRecord


def test_chain_of_records_verifies(db):
    with db.transaction() as s:
        for i in range(5):
            audit.record(
                s, actor="user:a", action="thing.do", subject_type="thing", subject_id=i, payload={"i": i}
            )
    with db.reader() as s:
        res = audit.verify(s)
    assert res.ok and res.checked == 5


def test_edited_payload_is_named_by_verify(db):
    with db.transaction() as s:
        for i in range(4):
            audit.record(s, actor="user:a", action="case.close", subject_id=i, payload={"n": i})
    with db.transaction() as s:
        s.execute(update(AuditRecord).where(AuditRecord.seq == 3).values(payload={"n": 99}))
    with db.reader() as s:
        res = audit.verify(s)
    assert not res.ok and res.broken_seq == 3 and "payload" in res.reason


def test_edited_actor_and_deleted_record_are_caught(db):
    with db.transaction() as s:
        for i in range(4):
            audit.record(s, actor="user:a", action="x", subject_id=i)
    with db.transaction() as s:
        s.execute(update(AuditRecord).where(AuditRecord.seq == 2).values(actor="user:mallory"))
    with db.reader() as s:
        assert audit.verify(s).broken_seq == 2
    with db.transaction() as s:
        s.execute(update(AuditRecord).where(AuditRecord.seq == 2).values(actor="user:a"))
        s.query(AuditRecord).filter(AuditRecord.seq == 3).delete()
    with db.reader() as s:
        res = audit.verify(s)
    assert res.broken_seq == 3 and "missing" in res.reason


def test_cli_verify_exits_nonzero_naming_the_record(tmp_path):
    """The real command on a real file database: intact → 0, tampered → 1 with the record number."""
    import os

    env = {k: v for k, v in os.environ.items() if k != "CITYOS_DATABASE_URL"}
    env["CITYOS_HOME"] = str(tmp_path)

    def run(*a: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "cityos", *a], env=env, capture_output=True, text=True)

    assert run("init").returncode == 0
    r = run("token", "create", "--client", "t", "--scope", "geo")
    assert r.returncode == 0, r.stderr
    assert run("audit", "verify").returncode == 0
    import sqlite3

    con = sqlite3.connect(tmp_path / "cityos.db")
    con.execute("UPDATE audit_log SET action='token.revoke' WHERE seq=1")
    con.commit()
    con.close()
    r = run("audit", "verify")
    assert r.returncode == 1
    assert "record 1" in r.stderr
