"""The Merkle tree as stored: leaf hashes on the entries, perfect subtrees from NODE_MIN_LEVEL up
in audit_tree_nodes, signed heads in audit_tree_heads. Reads only; the sequencer writes."""

from __future__ import annotations

import json
import os
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Table, func, select, tuple_
from sqlalchemy.orm import Session

from cityos.core.audit.merkle import EMPTY_ROOT, Frontier, frontier_nodes, node_hash, split_point
from cityos.core.audit.models import NODE_MIN_LEVEL, AuditRecord, AuditTreeHead, AuditTreeNode

LOG = cast(Table, AuditRecord.__table__)
NODES = cast(Table, AuditTreeNode.__table__)
HEADS = cast(Table, AuditTreeHead.__table__)
SMALL = 1 << NODE_MIN_LEVEL


@dataclass(frozen=True)
class Head:
    id: int
    tree_size: int
    root_hash: str
    timestamp_ms: int
    key_id: str
    signature: str

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, line: str) -> Head:
        d: dict[str, Any] = json.loads(line)
        return cls(
            id=int(d["id"]),
            tree_size=int(d["tree_size"]),
            root_hash=str(d["root_hash"]),
            timestamp_ms=int(d["timestamp_ms"]),
            key_id=str(d["key_id"]),
            signature=str(d["signature"]),
        )


def head_of(row: Any) -> Head:
    return Head(row.id, row.tree_size, row.root_hash, row.timestamp_ms, row.key_id, row.signature)


def tree_size(session: Session) -> int:
    top = session.execute(select(func.max(LOG.c.leaf_index))).scalar()
    return 0 if top is None else int(top) + 1


def latest_head(session: Session) -> Head | None:
    row = session.execute(select(HEADS).order_by(HEADS.c.id.desc()).limit(1)).first()
    return head_of(row) if row else None


def heads(session: Session, *, since_id: int = 0, since_ms: int = 0, limit: int = 1000) -> list[Head]:
    rows = session.execute(
        select(HEADS)
        .where(HEADS.c.id > since_id, HEADS.c.timestamp_ms >= since_ms)
        .order_by(HEADS.c.id)
        .limit(limit)
    ).all()
    return [head_of(r) for r in rows]


def head_at_least(session: Session, size: int) -> Head | None:
    """The first signed head that covers `size` entries."""
    row = session.execute(
        select(HEADS).where(HEADS.c.tree_size >= size).order_by(HEADS.c.tree_size, HEADS.c.id).limit(1)
    ).first()
    return head_of(row) if row else None


def leaf_hashes(session: Session, start: int, end: int) -> list[bytes]:
    rows = session.execute(
        select(LOG.c.leaf_index, LOG.c.leaf_hash)
        .where(LOG.c.leaf_index >= start, LOG.c.leaf_index < end)
        .order_by(LOG.c.leaf_index)
    ).all()
    if len(rows) != end - start:
        raise LookupError(f"leaves {start}..{end - 1} are not all in the log")
    return [bytes.fromhex(r.leaf_hash) for r in rows]


def _from_leaves(hashes: list[bytes]) -> bytes:
    f = Frontier()
    for h in hashes:
        f.append(h)
    return f.root()


def load_frontier(session: Session, size: int) -> Frontier:
    """The compact range [0, size) from stored nodes and the last (< 16) leaf hashes."""
    wanted = frontier_nodes(size)
    big = [(lv, ix) for lv, ix in wanted if lv >= NODE_MIN_LEVEL]
    found: dict[tuple[int, int], bytes] = {}
    if big:
        rows = session.execute(
            select(NODES.c.level, NODES.c.idx, NODES.c.hash).where(
                tuple_(NODES.c.level, NODES.c.idx).in_(big)
            )
        ).all()
        found = {(r.level, r.idx): bytes.fromhex(r.hash) for r in rows}
        if len(found) != len(big):
            raise LookupError("stored tree nodes are missing")
    tail_start = size - size % SMALL
    tail = leaf_hashes(session, tail_start, size) if size > tail_start else []
    out = []
    for lv, ix in wanted:
        if lv >= NODE_MIN_LEVEL:
            out.append(found[(lv, ix)])
        else:
            a = (ix << lv) - tail_start
            out.append(_from_leaves(tail[a : a + (1 << lv)]))
    return Frontier(size, out)


class StoredTree:
    """MTH(D[start:end]) over the stored log, for proofs: O(log n) small reads."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def mth(self, start: int, end: int) -> bytes:
        n = end - start
        if n <= 0:
            return EMPTY_ROOT
        if n <= SMALL:
            return _from_leaves(leaf_hashes(self.session, start, end))
        if n & (n - 1) == 0 and start % n == 0:
            level = n.bit_length() - 1
            h = self.session.execute(
                select(NODES.c.hash).where(NODES.c.level == level, NODES.c.idx == start >> level)
            ).scalar()
            if h is None:
                raise LookupError(f"tree node ({level}, {start >> level}) missing")
            return bytes.fromhex(h)
        k = split_point(n)
        return node_hash(self.mth(start, start + k), self.mth(start + k, end))


# ---------------------------------------------------------------- the signer's own copy of its last head


def local_head_path(home: Path) -> Path:
    return home / "audit" / "latest-head.json"


def read_local_head(home: Path) -> Head | None:
    p = local_head_path(home)
    if not p.exists():
        return None
    return Head.from_json(p.read_text())


def write_local_head(home: Path, head: Head) -> None:
    """Outside the database, next to the key: the database cannot drop or rewrite a head this
    host signed without verify (and the next sequencer run) noticing."""
    p = local_head_path(home)
    p.parent.mkdir(parents=True, exist_ok=True)
    old = read_local_head(home)
    if old is not None and old.id >= head.id:
        return  # another process of this host wrote a later head meanwhile
    tmp = p.with_name(f"{p.name}.{os.getpid()}.{threading.get_ident()}")
    tmp.write_text(head.to_json())
    tmp.replace(p)
