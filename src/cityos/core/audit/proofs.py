"""Inclusion and consistency proofs (RFC 9162 §2.1.3, §2.1.4) over the stored tree, against
signed heads: a department can prove its call was logged, and a witness that kept an older head
can check that the log only grew since."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityos.core.audit.entries import entry_bytes
from cityos.core.audit.merkle import consistency_proof, inclusion_path
from cityos.core.audit.tree import HEADS, LOG, Head, StoredTree, head_at_least, head_of, latest_head
from cityos.core.errors import Invalid, NotFound


def _head(session: Session, tree_size: int | None) -> Head:
    if tree_size is None:
        head = latest_head(session)
        if head is None:
            raise NotFound("No signed tree head yet", code="audit_no_head")
        return head
    row = session.execute(
        select(HEADS).where(HEADS.c.tree_size == tree_size).order_by(HEADS.c.id.desc()).limit(1)
    ).first()
    if row is None:
        raise NotFound("No signed tree head of that size", code="audit_no_head", field="tree_size")
    return head_of(row)


def _head_json(h: Head) -> dict[str, Any]:
    return {
        "id": h.id,
        "tree_size": h.tree_size,
        "root_hash": h.root_hash,
        "timestamp_ms": h.timestamp_ms,
        "key_id": h.key_id,
        "signature": h.signature,
    }


def inclusion(session: Session, *, seq: int, tree_size: int | None = None) -> dict[str, Any]:
    """Proof that entry `seq` is in the tree signed by the head of `tree_size` (default: the
    first head that covers it), with the entry's canonical encoding so the caller can hash it."""
    r = session.execute(select(LOG).where(LOG.c.seq == seq)).first()
    if r is None:
        raise NotFound("No such audit entry", code="audit_entry_not_found", field="seq")
    if r.leaf_index is None:
        raise NotFound("The entry is not sequenced yet; try again in a few seconds", code="audit_unsequenced")
    head = head_at_least(session, r.leaf_index + 1) if tree_size is None else _head(session, tree_size)
    if head is None:
        raise NotFound("No signed tree head covers the entry yet", code="audit_no_head")
    if r.leaf_index >= head.tree_size:
        raise Invalid("The entry lies beyond that tree size", code="audit_beyond_tree", field="tree_size")
    tree = StoredTree(session)
    path = inclusion_path(r.leaf_index, 0, head.tree_size, tree.mth)
    entry = entry_bytes(
        index=r.leaf_index,
        seq=r.seq,
        at=r.at,
        actor=r.actor,
        action=r.action,
        subject_type=r.subject_type,
        subject_id=r.subject_id,
        payload_digest=r.payload_digest,
    )
    return {
        "seq": r.seq,
        "actor": r.actor,
        "leaf_index": r.leaf_index,
        "entry": entry.decode(),
        "leaf_hash": r.leaf_hash,
        "tree_size": head.tree_size,
        "inclusion_path": [h.hex() for h in path],
        "tree_head": _head_json(head),
    }


def consistency(session: Session, *, first: int, second: int) -> dict[str, Any]:
    """Proof that the tree of size `first` is a prefix of the tree of size `second`; both sizes
    must be sizes of signed heads."""
    if not 0 < first <= second:
        raise Invalid("Need 0 < first <= second", code="audit_bad_sizes", field="first")
    h1, h2 = _head(session, first), _head(session, second)
    proof = consistency_proof(first, second, StoredTree(session).mth)
    return {
        "first": first,
        "second": second,
        "consistency_path": [h.hex() for h in proof],
        "first_head": _head_json(h1),
        "second_head": _head_json(h2),
    }
