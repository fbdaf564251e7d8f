"""Append-only, hash-chained audit trail.

Every record holds the hash of the one before it; `verify()` walks the chain and names the first
record whose stored hash, payload digest or link does not match. Appends are serialised so the
chain never forks: on PostgreSQL by a transaction-scoped advisory lock, on SQLite by the
BEGIN IMMEDIATE every transaction takes. Call `record()` as the last write of a unit of work so
the lock is held only until the commit that follows.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, String, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from cityos.core import clock
from cityos.core.db import Base, JSONType, UTCDateTime

GENESIS = "0" * 64
_PG_LOCK_KEY = 0x43_41_55_44  # "CAUD"


class AuditRecord(Base):
    __tablename__ = "audit_log"
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    actor: Mapped[str] = mapped_column(String(120), nullable=False)
    action: Mapped[str] = mapped_column(String(80), nullable=False)
    subject_type: Mapped[str] = mapped_column(String(60), nullable=False, default="")
    subject_id: Mapped[str] = mapped_column(String(120), nullable=False, default="")
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)
    payload_digest: Mapped[str] = mapped_column(String(64), nullable=False)
    prev_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)

    __table_args__ = (
        Index("ix_audit_log_subject", "subject_type", "subject_id"),
        Index("ix_audit_log_action_at", "action", "at"),
    )


def canonical(payload: Any) -> str:
    return json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def digest(payload: Any) -> str:
    return hashlib.sha256(canonical(payload).encode()).hexdigest()


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
    """Append one record to the chain inside the caller's transaction."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
    last = session.execute(
        select(AuditRecord.seq, AuditRecord.hash).order_by(AuditRecord.seq.desc()).limit(1)
    ).first()
    seq = (last[0] + 1) if last else 1
    prev = last[1] if last else GENESIS
    at = clock.now()
    body = payload or {}
    pd = digest(body)
    rec = AuditRecord(
        seq=seq,
        at=at,
        actor=actor,
        action=action,
        subject_type=subject_type,
        subject_id=str(subject_id),
        payload=json.loads(canonical(body)),
        payload_digest=pd,
        prev_hash=prev,
    )
    rec.hash = chain_hash(
        seq=seq,
        at=at,
        actor=actor,
        action=action,
        subject_type=subject_type,
        subject_id=str(subject_id),
        payload_digest=pd,
        prev_hash=prev,
    )
    session.add(rec)
    session.flush()
    return rec


@dataclass
class VerifyResult:
    ok: bool
    checked: int
    broken_seq: int | None = None
    reason: str = ""


def verify(session: Session, *, batch: int = 5000) -> VerifyResult:
    """Walk the whole chain in order; stop at the first broken record."""
    prev = GENESIS
    expected_seq = 1
    checked = 0
    after = 0
    while True:
        rows = session.scalars(
            select(AuditRecord).where(AuditRecord.seq > after).order_by(AuditRecord.seq).limit(batch)
        ).all()
        if not rows:
            return VerifyResult(ok=True, checked=checked)
        for r in rows:
            if r.seq != expected_seq:
                return VerifyResult(False, checked, expected_seq, "record missing from the sequence")
            if r.prev_hash != prev:
                return VerifyResult(False, checked, r.seq, "link to the previous record broken")
            if digest(r.payload) != r.payload_digest:
                return VerifyResult(False, checked, r.seq, "payload does not match its digest")
            h = chain_hash(
                seq=r.seq,
                at=r.at,
                actor=r.actor,
                action=r.action,
                subject_type=r.subject_type,
                subject_id=r.subject_id,
                payload_digest=r.payload_digest,
                prev_hash=r.prev_hash,
            )
            if h != r.hash:
                return VerifyResult(False, checked, r.seq, "record fields do not match its hash")
            prev = r.hash
            expected_seq += 1
            checked += 1
            after = r.seq
        session.expunge_all()


def history(session: Session, *, subject_type: str, subject_id: str | int) -> list[AuditRecord]:
    return list(
        session.scalars(
            select(AuditRecord)
            .where(AuditRecord.subject_type == subject_type, AuditRecord.subject_id == str(subject_id))
            .order_by(AuditRecord.seq)
        )
    )
