"""`verify`: recompute the log from its entries and hold it against every signed head.

One streaming pass over the entries in leaf order (batch-wise), recomputing each leaf hash from the
entry's fields and the Merkle tree (RFC 9162 MTH) from the stored leaf hashes. Checkpoints are
the roots the log must have at given sizes: every database head whose signature verifies with a
trusted key, the last head this host signed (kept beside the key), and the heads of any witness
file. What is found is named:

    missing_entry   leaf indexes with a gap (entries deleted from the middle)
    deleted_tail    a head or witness covers more entries than the log holds
    edited_entry    an entry's fields or payload no longer give its leaf hash (by index)
    reordered       an entry sits at another index than the one it was sequenced at
    rewritten       the stored leaf hashes do not give a signed root (recomputed without the key)
    forged_head     a head whose signature does not verify
    unknown_key     a head signed by a key that is not among the trusted public keys
    head_missing    a head number skipped, or a witness' head gone from the database
    head_altered    a database head that differs from the witness' copy of it
    legacy_chain    the hash chain of entries from before the Merkle log is broken
    node_altered    a stored subtree hash (what proofs are built from) is not the recomputed one
    unsigned        entries no signed head covers (only when every entry should be signed)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, tuple_
from sqlalchemy.orm import Session

from cityos.core.audit import keys
from cityos.core.audit.entries import GENESIS, chain_hash, digest, entry_leaf_hash
from cityos.core.audit.merkle import Frontier
from cityos.core.audit.models import NODE_MIN_LEVEL
from cityos.core.audit.tree import HEADS, LOG, NODES, Head, head_of, read_local_head
from cityos.core.settings import get_settings

MAX_REORDER_PAIRS = 1000


@dataclass(frozen=True)
class Finding:
    kind: str
    index: int | None
    message: str

    def __str__(self) -> str:
        where = f" at index {self.index}" if self.index is not None else ""
        return f"{self.kind}{where}: {self.message}"


@dataclass
class VerifyResult:
    checked: int = 0
    tree_size: int = 0
    heads_checked: int = 0
    signed_size: int = 0
    unsequenced: int = 0
    root: str = ""
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings

    def kinds(self) -> set[str]:
        return {f.kind for f in self.findings}


@dataclass
class _Checkpoint:
    label: str
    root: str


def _check_heads(
    session: Session, trusted: dict[str, Any], res: VerifyResult, checkpoints: dict[int, list[_Checkpoint]]
) -> None:
    after, expected_id, prev_size = 0, 1, 0
    while True:
        rows = session.execute(select(HEADS).where(HEADS.c.id > after).order_by(HEADS.c.id).limit(5000)).all()
        if not rows:
            return
        for r in rows:
            h = head_of(r)
            after = h.id
            res.heads_checked += 1
            if h.id != expected_id:
                res.findings.append(
                    Finding("head_missing", None, f"tree heads #{expected_id}..#{h.id - 1} are gone")
                )
            expected_id = h.id + 1
            if h.tree_size < prev_size:
                res.findings.append(
                    Finding(
                        "forged_head", None, f"head #{h.id} signs {h.tree_size} entries, fewer than before it"
                    )
                )
            prev_size = max(prev_size, h.tree_size)
            if not _signature_ok(h, trusted, res, "head"):
                continue
            checkpoints.setdefault(h.tree_size, []).append(_Checkpoint(f"head #{h.id}", h.root_hash))


def _signature_ok(h: Head, trusted: dict[str, Any], res: VerifyResult, what: str) -> bool:
    public = trusted.get(h.key_id)
    if public is None:
        res.findings.append(
            Finding(
                "unknown_key", None, f"{what} #{h.id} is signed by key {h.key_id[:16]}…, not a trusted key"
            )
        )
        return False
    msg = keys.head_message(
        head_id=h.id,
        tree_size=h.tree_size,
        root_hash=h.root_hash,
        timestamp_ms=h.timestamp_ms,
        key_id=h.key_id,
    )
    if not keys.check_signature(public, msg, h.signature):
        res.findings.append(Finding("forged_head", None, f"{what} #{h.id}: the signature does not verify"))
        return False
    return True


def _check_witness(
    session: Session,
    witness: Iterable[Head],
    source: str,
    trusted: dict[str, Any],
    res: VerifyResult,
    checkpoints: dict[int, list[_Checkpoint]],
) -> None:
    for w in witness:
        if not _signature_ok(w, trusted, res, f"{source} head"):
            continue
        row = session.execute(select(HEADS).where(HEADS.c.id == w.id)).first()
        if row is None:
            res.findings.append(
                Finding("head_missing", None, f"head #{w.id} kept in {source} is not in the database")
            )
        elif head_of(row) != w:
            res.findings.append(
                Finding("head_altered", None, f"head #{w.id} differs from the copy in {source}")
            )
        checkpoints.setdefault(w.tree_size, []).append(_Checkpoint(f"head #{w.id} of {source}", w.root_hash))


class _Pass:
    """State of the one pass over the entries."""

    def __init__(self, res: VerifyResult, checkpoints: dict[int, list[_Checkpoint]]) -> None:
        self.res = res
        self.checkpoints = checkpoints
        self.frontier = Frontier()
        self.expected = 0
        self.gap = False
        self.root_broken = False
        self.last_good = 0
        self.mismatched: list[tuple[int, Any]] = []  # the first MAX_REORDER_PAIRS, named one by one
        self.more_mismatched = 0
        self.nodes: dict[
            tuple[int, int], bytes
        ] = {}  # subtrees completed in this batch, to hold against the stored
        self.stored: dict[int, str] = {}
        self.legacy_prev: str | None = GENESIS
        self.legacy_seq = 1

    def row(self, r: Any) -> None:
        res = self.res
        if r.leaf_index != self.expected:
            res.findings.append(
                Finding(
                    "missing_entry", self.expected, f"entries {self.expected}..{r.leaf_index - 1} are gone"
                )
            )
            self.gap = True
            self.expected = r.leaf_index
        if digest(r.payload) != r.payload_digest:
            res.findings.append(
                Finding("edited_entry", r.leaf_index, f"entry {r.seq}: payload does not match its digest")
            )
        if r.leaf_hash is None or entry_leaf_hash(r.leaf_index, r).hex() != r.leaf_hash:
            if len(self.mismatched) < MAX_REORDER_PAIRS:
                self.mismatched.append((r.leaf_index, r))
                self.stored[r.leaf_index] = r.leaf_hash or ""
            else:
                self.more_mismatched += 1
        self._legacy(r)
        self.expected += 1
        res.checked += 1
        if self.gap:
            return
        for level, idx, h in self.frontier.append(bytes.fromhex(r.leaf_hash or "00" * 32)):
            if level >= NODE_MIN_LEVEL:
                self.nodes[(level, idx)] = h
        for cp in self.checkpoints.get(self.frontier.size, []):
            self._compare(cp)

    def check_nodes(self, session: Session) -> None:
        """The stored subtree hashes that proofs and the sequencer build on must be the recomputed ones."""
        if not self.nodes:
            return
        keys_ = list(self.nodes)
        stored: dict[tuple[int, int], str] = {}
        for k in range(0, len(keys_), 500):
            part = keys_[k : k + 500]
            rows = session.execute(
                select(NODES.c.level, NODES.c.idx, NODES.c.hash).where(
                    tuple_(NODES.c.level, NODES.c.idx).in_(part)
                )
            ).all()
            stored.update({(r.level, r.idx): r.hash for r in rows})
        for (level, idx), h in self.nodes.items():
            if stored.get((level, idx)) != h.hex():
                first = idx << level
                what = "missing" if (level, idx) not in stored else "not theirs"
                self.res.findings.append(
                    Finding(
                        "node_altered",
                        first,
                        f"the stored hash of leaves {first}..{first + (1 << level) - 1} is "
                        f"{what}: proofs over them would fail",
                    )
                )
        self.nodes = {}

    def _compare(self, cp: _Checkpoint) -> None:
        size = self.frontier.size
        if self.frontier.root().hex() == cp.root:
            self.res.signed_size = max(self.res.signed_size, size)
            if not self.root_broken:
                self.last_good = size
            return
        if not self.root_broken:
            self.res.findings.append(
                Finding(
                    "rewritten",
                    self.last_good,
                    f"the stored leaf hashes of entries {self.last_good}..{size - 1} do not give the root "
                    f"{cp.label} signed: rewritten (or reordered) without the signing key",
                )
            )
        self.root_broken = True

    def _legacy(self, r: Any) -> None:
        if r.hash is None:
            self.legacy_prev = None  # the chained prefix is over
            return
        if self.legacy_prev is None:
            self.res.findings.append(
                Finding("legacy_chain", r.leaf_index, f"chained record {r.seq} after the prefix")
            )
            return
        ok = r.seq == self.legacy_seq and r.prev_hash == self.legacy_prev
        h = chain_hash(
            seq=r.seq,
            at=r.at,
            actor=r.actor,
            action=r.action,
            subject_type=r.subject_type,
            subject_id=r.subject_id,
            payload_digest=r.payload_digest,
            prev_hash=r.prev_hash or "",
        )
        if not ok or h != r.hash:
            self.res.findings.append(
                Finding("legacy_chain", r.leaf_index, f"record {r.seq} of the old hash chain is broken")
            )
        self.legacy_prev = r.hash
        self.legacy_seq = r.seq + 1

    def explain_mismatches(self) -> None:
        """Tell moved entries from edited ones: a moved entry hashes, at some other mismatching
        index, to the leaf hash stored there or to the one it carries."""
        indexes = [i for i, _ in self.mismatched]
        for i, r in self.mismatched:
            moved_from = None
            if i in self.stored:
                for j in indexes:
                    if j != i and entry_leaf_hash(j, r).hex() in (self.stored.get(j), self.stored[i]):
                        moved_from = j
                        break
            if moved_from is not None:
                self.res.findings.append(
                    Finding(
                        "reordered", i, f"entry {r.seq} was sequenced at index {moved_from}, now sits at {i}"
                    )
                )
            else:
                self.res.findings.append(
                    Finding("edited_entry", i, f"entry {r.seq} no longer matches its leaf hash")
                )
        if self.more_mismatched:
            self.res.findings.append(
                Finding("edited_entry", None, f"and {self.more_mismatched} more entries that do not match")
            )


def verify(
    session: Session,
    *,
    batch: int = 10000,
    witness: Iterable[Head] = (),
    witness_name: str = "the witness file",
    key_dirs: list[Path] | None = None,
    require_signed: bool = False,
) -> VerifyResult:
    """Check the whole log. `require_signed`: every sequenced entry must be under a valid head
    (true right after the sequencer was asked for a head)."""
    res = VerifyResult()
    trusted = keys.trusted_keys(extra_dirs=key_dirs)
    checkpoints: dict[int, list[_Checkpoint]] = {}
    _check_heads(session, trusted, res, checkpoints)
    local = read_local_head(get_settings().home)
    if local is not None:
        _check_witness(session, [local], "this host's last signed head", trusted, res, checkpoints)
    _check_witness(session, witness, witness_name, trusted, res, checkpoints)
    p = _Pass(res, checkpoints)
    cols = [LOG.c[n] for n in ("seq", "at", "actor", "action", "subject_type", "subject_id", "payload")]
    cols += [LOG.c[n] for n in ("payload_digest", "prev_hash", "hash", "leaf_index", "leaf_hash")]
    after = -1
    while True:
        rows = session.execute(
            select(*cols).where(LOG.c.leaf_index > after).order_by(LOG.c.leaf_index).limit(batch)
        ).all()
        if not rows:
            break
        for r in rows:
            p.row(r)
        p.check_nodes(session)
        after = rows[-1].leaf_index
    p.explain_mismatches()
    res.tree_size = p.expected
    res.root = p.frontier.root().hex()
    beyond = [s for s in checkpoints if s > res.tree_size]
    if beyond:
        top = max(beyond)
        label = checkpoints[top][0].label
        res.findings.append(
            Finding(
                "deleted_tail",
                res.tree_size,
                f"{label} covers {top} entries but the log holds {res.tree_size}: "
                f"entries {res.tree_size}..{top - 1} are gone",
            )
        )
    res.unsequenced = int(
        session.execute(select(func.count()).select_from(LOG).where(LOG.c.leaf_index.is_(None))).scalar() or 0
    )
    if require_signed and res.signed_size < res.tree_size and not p.gap:
        res.findings.append(
            Finding(
                "unsigned",
                res.signed_size,
                f"entries {res.signed_size}..{res.tree_size - 1} are under no valid head",
            )
        )
    return res
