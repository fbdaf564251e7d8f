"""Many writers at once, each in its own committed transactions on its own connection, while a
sequencer thread runs beside them (as in an app process): afterwards every entry is in the log
exactly once, leaf indexes have no gap, and verify passes. Real commits on a private database."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import text

from cityos.core import audit
from cityos.core.db import Database, make_engine
from cityos.core.migrate import upgrade

# PostgreSQL takes the load the issue names; SQLite (one writer at a time anyway) a smaller one
LOAD = {"postgresql": (16, 500), "sqlite": (4, 100)}


def _clear(engine) -> None:  # type: ignore[no-untyped-def]
    with engine.begin() as c:
        for t in ("audit_tree_heads", "audit_tree_nodes", "audit_log"):
            c.execute(text(f"DELETE FROM {t}"))


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_concurrent_writers_all_sequenced_once_without_gaps(backend, backends, settings, tmp_path):
    if backend == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'concurrent.db'}")
        upgrade(engine)
    else:
        engine = backends.engine("postgresql")
        _clear(engine)
    threads_n, per_thread = LOAD[backend]
    db = Database(engine)
    errors: list[BaseException] = []
    sequencer = audit.SequencerThread(db, every=0.05)
    sequencer.start()

    def writer(n: int) -> None:
        try:
            for i in range(per_thread):
                with db.transaction() as s:
                    audit.record(s, actor=f"user:w{n}", action="test.append", subject_id=i, payload={"n": n})
        except BaseException as e:  # reported below
            errors.append(e)

    try:
        threads = [threading.Thread(target=writer, args=(n,)) for n in range(threads_n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sequencer.stop()
        sequencer.join()
    assert errors == []
    audit.sequence(db, force_head=True)
    total = threads_n * per_thread
    try:
        with db.reader() as s:
            rows = s.execute(text("SELECT seq, leaf_index, actor, subject_id FROM audit_log")).all()
            heads = s.execute(text("SELECT count(*) FROM audit_tree_heads")).scalar()
            res = audit.verify(s, require_signed=True)
        assert len(rows) == total
        assert sorted(r.leaf_index for r in rows) == list(range(total))  # every entry, no gap, no duplicate
        assert len({(r.actor, r.subject_id) for r in rows}) == total
        assert res.ok, res.findings
        assert res.checked == res.tree_size == res.signed_size == total and heads >= 1
    finally:
        if backend == "postgresql":
            _clear(engine)
        else:
            engine.dispose()
