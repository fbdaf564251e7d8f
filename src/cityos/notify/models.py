"""The notify module's private table: one row per message and recipient."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cityos.core.db import Base, JSONType, UTCDateTime


class Notification(Base):
    """A message in a person's message centre. `dedupe_key` (the event and what it is about) keeps
    a redelivered event from writing the same message twice."""

    __tablename__ = "notifications"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer, nullable=False)
    kind: Mapped[str] = mapped_column(String(40), nullable=False)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False, default="")
    # title and body are English msgids with {placeholders}: shown in the reader's language
    params: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)
    link: Mapped[str | None] = mapped_column(String(300), nullable=True)
    dedupe_key: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    __table_args__ = (
        UniqueConstraint("user_id", "dedupe_key", name="uq_notifications_user_id"),
        Index("ix_notifications_user_unread", "user_id", "read_at", "id"),
    )
