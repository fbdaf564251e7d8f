"""The sequencer: the one place where the log grows.

Writers insert entries unsequenced and never wait for each other. One sequencer at a time (a
transaction-scoped advisory lock on PostgreSQL; SQLite's BEGIN IMMEDIATE, which every writing
transaction takes) picks committed unsequenced entries in `seq` order, gives them the next leaf
indexes and their RFC 9162 leaf hashes, stores the perfect subtrees they complete, and signs a tree
head when the tree has grown and the last head is `head_every` seconds old (or when asked).

Before it extends the tree it checks the tree it builds on: the last signed head in the database
and the last head this host signed (kept beside the key) must match the stored tree, so a
tampered log is refused rather than signed over. `cityos worker` runs it as a job; an app process
runs it in a thread unless CITYOS_AUDIT_SEQUENCER=worker.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, text, update
from sqlalchemy.orm import Session

from cityos.core.audit import keys
from cityos.core.audit.entries import entry_leaf_hash
from cityos.core.audit.models import NODE_MIN_LEVEL
from cityos.core.audit.tree import (
    HEADS,
    LOG,
    NODES,
    Head,
    StoredTree,
    head_of,
    latest_head,
    load_frontier,
    read_local_head,
    tree_size,
    write_local_head,
)
from cityos.core.db import Database
from cityos.core.settings import get_settings

log = logging.getLogger("cityos.audit")
_PG_LOCK_KEY = 0x43_41_55_44  # "CAUD"
HEAD_EVERY = 5.0


class LogTampered(RuntimeError):
    """The stored log does not match a head signed for it; the sequencer will not build on it."""


def _has_work(session: Session, head_every: float, force_head: bool) -> bool:
    if session.execute(select(LOG.c.seq).where(LOG.c.leaf_index.is_(None)).limit(1)).first():
        return True
    last = latest_head(session)
    size = tree_size(session)
    if last is None:
        return size > 0
    if last.tree_size >= size:
        return False
    return force_head or time.time() * 1000 - last.timestamp_ms >= head_every * 1000


def _check_base(session: Session, size: int, last: Head | None) -> None:
    home = get_settings().home
    local = read_local_head(home)
    if local is not None:
        row = session.execute(select(HEADS).where(HEADS.c.id == local.id)).first()
        if row is None or head_of(row) != local:
            raise LogTampered(f"tree head #{local.id} that this host signed is missing or altered")
    if last is None:
        return
    if last.tree_size > size:
        raise LogTampered(f"the log holds {size} entries but head #{last.id} signed {last.tree_size}")
    if StoredTree(session).mth(0, last.tree_size).hex() != last.root_hash:
        raise LogTampered(f"the stored tree of size {last.tree_size} does not match head #{last.id}")


def _assign(session: Session, rows: Sequence[Any], start: int, leaves: list[str]) -> None:
    now = datetime.now(UTC)
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text(
                "UPDATE audit_log AS a SET leaf_index = v.i, leaf_hash = v.h, sequenced_at = :t "
                "FROM unnest(CAST(:s AS bigint[]), CAST(:i AS bigint[]), CAST(:h AS text[])) AS v(s, i, h) "
                "WHERE a.seq = v.s"
            ),
            {
                "s": [r.seq for r in rows],
                "i": list(range(start, start + len(rows))),
                "h": leaves,
                "t": now.replace(tzinfo=None),
            },
        )
        return
    session.execute(
        update(LOG)
        .where(LOG.c.seq == bindparam("b_seq"))
        .values(leaf_index=bindparam("b_i"), leaf_hash=bindparam("b_h"), sequenced_at=now),
        [
            {"b_seq": r.seq, "b_i": start + k, "b_h": h}
            for k, (r, h) in enumerate(zip(rows, leaves, strict=True))
        ],
    )


def _batch(db: Database, batch: int, head_every: float, force_head: bool) -> tuple[int, bool, Head | None]:
    with db.transaction(deliver_events=False) as s:
        pg = s.get_bind().dialect.name == "postgresql"
        if pg and not s.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY}).scalar():
            return 0, False, None  # another sequencer is at work
        if not _has_work(s, head_every, force_head):
            return 0, False, None
        size = tree_size(s)
        last = latest_head(s)
        _check_base(s, size, last)
        frontier = load_frontier(s, size)
        rows = s.execute(
            select(
                LOG.c.seq,
                LOG.c.at,
                LOG.c.actor,
                LOG.c.action,
                LOG.c.subject_type,
                LOG.c.subject_id,
                LOG.c.payload_digest,
            )
            .where(LOG.c.leaf_index.is_(None))
            .order_by(LOG.c.seq)
            .limit(batch)
        ).all()
        leaves: list[str] = []
        nodes: list[dict[str, object]] = []
        for k, r in enumerate(rows):
            h = entry_leaf_hash(size + k, r)
            leaves.append(h.hex())
            for level, idx, nh in frontier.append(h):
                if level >= NODE_MIN_LEVEL:
                    nodes.append({"level": level, "idx": idx, "hash": nh.hex()})
        if rows:
            _assign(s, rows, size, leaves)
        if nodes:
            s.execute(insert(NODES), nodes)
        head = None
        grown = last is None or frontier.size > last.tree_size
        due = last is None or force_head or time.time() * 1000 - last.timestamp_ms >= head_every * 1000
        if grown and due and frontier.size > 0:
            head = _sign(s, (last.id + 1) if last else 1, frontier.size, frontier.root().hex())
    if head is not None:
        write_local_head(get_settings().home, head)
    return len(rows), len(rows) == batch, head


def _sign(session: Session, head_id: int, size: int, root: str) -> Head:
    signer = keys.signer()
    ts = int(time.time() * 1000)
    msg = keys.head_message(
        head_id=head_id, tree_size=size, root_hash=root, timestamp_ms=ts, key_id=signer.key_id
    )
    head = Head(head_id, size, root, ts, signer.key_id, signer.sign(msg))
    session.execute(insert(HEADS).values(**head.__dict__))
    return head


def sequence(
    db: Database,
    *,
    batch: int = 5000,
    head_every: float = HEAD_EVERY,
    force_head: bool = False,
    max_batches: int = 100,
) -> int:
    """Sequence what is committed and waiting (up to batch × max_batches entries); returns how
    many entries it placed. `force_head` signs a head for the whole tree now."""
    with db.reader() as s:  # idle runs stay read-only: no write lock taken every half second on SQLite
        if not _has_work(s, head_every, force_head):
            return 0
    total = 0
    for _ in range(max_batches):
        n, more, _head = _batch(db, batch, head_every, False)
        total += n
        if not more:
            break
    if force_head:
        total += _batch(db, batch, head_every, True)[0]
    return total


def pending(db: Database) -> int:
    """Committed entries not yet in the log."""
    with db.reader() as s:
        return int(s.execute(text("SELECT count(*) FROM audit_log WHERE leaf_index IS NULL")).scalar() or 0)


class SequencerThread(threading.Thread):
    """An app process's sequencer, for deployments without a worker. Several processes may run
    one; the lock lets one work at a time and the others find nothing to do."""

    def __init__(self, db: Database, every: float = 0.5) -> None:
        super().__init__(name="cityos-audit-sequencer", daemon=True)
        self.db = db
        self.every = every
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(self.every):
            try:
                sequence(self.db)
            except Exception:
                log.exception("audit sequencer failed")
                self.stopped.wait(10)

    def stop(self) -> None:
        self.stopped.set()
