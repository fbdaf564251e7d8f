"""Writing entries, and the byte encodings every hash in the log is taken over.

`record()` only inserts: no lock, no read of other entries, so writers never wait for each other.
The sequencer gives the entry its place later (see sequencer.py).
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityos.core import clock
from cityos.core.audit.merkle import leaf_hash
from cityos.core.audit.models import AuditRecord

GENESIS = "0" * 64
ENTRY_VERSION = "cityos.audit/1"


def canonical(payload: Any) -> str:
    return json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def digest(payload: Any) -> str:
    return hashlib.sha256(canonical(payload).encode()).hexdigest()


def entry_bytes(
    *,
    index: int,
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    subject_type: str,
    subject_id: str,
    payload_digest: str,
) -> bytes:
    """The canonical encoding of one entry (the data a leaf hash covers). It holds the entry's
    place in the log, so moving an entry to another index breaks its leaf hash; the payload is
    covered through its digest, which verify checks against the stored payload."""
    fields = [
        ENTRY_VERSION,
        index,
        seq,
        at.isoformat(timespec="microseconds"),
        actor,
        action,
        subject_type,
        subject_id,
        payload_digest,
    ]
    return json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode()


def entry_leaf_hash(index: int, row: Any) -> bytes:
    """Leaf hash of a row (anything with the entry's columns) placed at `index`."""
    return leaf_hash(
        entry_bytes(
            index=index,
            seq=row.seq,
            at=row.at,
            actor=row.actor,
            action=row.action,
            subject_type=row.subject_type,
            subject_id=row.subject_id,
            payload_digest=row.payload_digest,
        )
    )


def chain_hash(
    *,
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    subject_type: str,
    subject_id: str,
    payload_digest: str,
    prev_hash: str,
) -> str:
    """The hash chain of entries written before the Merkle log (kept to verify that prefix)."""
    line = "|".join(
        [
            str(seq),
            at.isoformat(timespec="microseconds"),
            actor,
            action,
            subject_type,
            subject_id,
            payload_digest,
            prev_hash,
        ]
    )
    return hashlib.sha256(line.encode()).hexdigest()


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    subject_type: str = "",
    subject_id: str | int = "",
    payload: dict[str, Any] | None = None,
) -> AuditRecord:
    """Add one entry to the log inside the caller's transaction. It is written with the caller's
    commit and sequenced (given its leaf index and signed) within seconds after it."""
    text = canonical(payload or {})
    rec = AuditRecord(
        at=clock.now(),
        actor=actor,
        action=action,
        subject_type=subject_type,
        subject_id=str(subject_id),
        payload=json.loads(text),
        payload_digest=hashlib.sha256(text.encode()).hexdigest(),
    )
    session.add(rec)
    return rec


def history(session: Session, *, subject_type: str, subject_id: str | int) -> list[AuditRecord]:
    session.flush()
    return list(
        session.scalars(
            select(AuditRecord)
            .where(AuditRecord.subject_type == subject_type, AuditRecord.subject_id == str(subject_id))
            .order_by(AuditRecord.seq)
        )
    )
