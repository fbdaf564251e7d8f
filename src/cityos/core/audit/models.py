"""The audit log's tables: entries (leaves once sequenced), stored tree nodes, signed tree heads."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, Integer, SmallInteger, String, text
from sqlalchemy.orm import Mapped, mapped_column

from cityos.core.db import Base, JSONType, UTCDateTime

# Internal nodes are stored from this level up (one row per 16 leaves); the levels below are
# recomputed from at most 16 leaf hashes when a proof needs them.
NODE_MIN_LEVEL = 4


class AuditRecord(Base):
    """One audit entry. Written by `record()` with only `seq` (the database's insertion id); the
    sequencer later gives it its place in the log (`leaf_index`) and its RFC 9162 leaf hash.
    `prev_hash`/`hash` belong to the hash chain that entries written before the log had; they are
    still verified for that prefix."""

    __tablename__ = "audit_log"
    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    actor: Mapped[str] = mapped_column(String(120), nullable=False)
    action: Mapped[str] = mapped_column(String(80), nullable=False)
    subject_type: Mapped[str] = mapped_column(String(60), nullable=False, default="")
    subject_id: Mapped[str] = mapped_column(String(120), nullable=False, default="")
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)
    payload_digest: Mapped[str] = mapped_column(String(64), nullable=False)
    prev_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    hash: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    leaf_index: Mapped[int | None] = mapped_column(BigInteger, nullable=True, unique=True)
    leaf_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    sequenced_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    __table_args__ = (
        Index("ix_audit_log_subject", "subject_type", "subject_id"),
        Index("ix_audit_log_action_at", "action", "at"),
        # the sequencer's queue: only the (few) entries not yet in the log are in this index
        Index(
            "ix_audit_log_unsequenced",
            "seq",
            postgresql_where=text("leaf_index IS NULL"),
            sqlite_where=text("leaf_index IS NULL"),
        ),
    )


class AuditTreeNode(Base):
    """The hash of a perfect subtree: level L covers leaves [index·2^L, (index+1)·2^L)."""

    __tablename__ = "audit_tree_nodes"
    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[str] = mapped_column(String(64), nullable=False)


class AuditTreeHead(Base):
    """A signed tree head: the log's first `tree_size` leaves have root `root_hash`. Numbered
    without gaps so a deleted head shows; the number is part of what is signed."""

    __tablename__ = "audit_tree_heads"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    tree_size: Mapped[int] = mapped_column(BigInteger, nullable=False)
    root_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    timestamp_ms: Mapped[int] = mapped_column(BigInteger, nullable=False)
    key_id: Mapped[str] = mapped_column(String(64), nullable=False)
    signature: Mapped[str] = mapped_column(String(128), nullable=False)
