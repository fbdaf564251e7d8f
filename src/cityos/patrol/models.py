"""The patrol module's private tables: attendance, patrols and their track points.

`region_code` on attendance and patrols is the worker's home grid (the lowest code of the grids
assigned to them, else their user region), so a supervisor's region clause is a prefix match on
one indexed column and never a join into geo's or identity's tables.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from cityos.core.db import Base, JSONType, UTCDateTime

BIG_ID = BigInteger().with_variant(Integer, "sqlite")


class Attendance(Base):
    """One check-in or check-out, always inside one of the worker's own grids (`grid_code`)."""

    __tablename__ = "patrol_attendance"
    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer, nullable=False)
    kind: Mapped[str] = mapped_column(String(8), nullable=False)  # in | out
    at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    lon: Mapped[float] = mapped_column(Float, nullable=False)  # WGS84
    lat: Mapped[float] = mapped_column(Float, nullable=False)
    grid_code: Mapped[str] = mapped_column(String(14), nullable=False)
    region_code: Mapped[str] = mapped_column(String(14), nullable=False)

    __table_args__ = (
        Index("ix_patrol_attendance_user_at", "user_id", "at"),
        Index("ix_patrol_attendance_region_at", "region_code", "at"),
    )


class Patrol(Base):
    """A patrol (巡查): open while `ended_at` is None. `distance_m`, `point_count` and `covered`
    (the sorted grid codes the track touched) are kept up to date as points arrive, so lists and
    the supervisor's figures never re-read the track."""

    __tablename__ = "patrols"
    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer, nullable=False)
    region_code: Mapped[str] = mapped_column(String(14), nullable=False)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    distance_m: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    point_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    covered: Mapped[list[Any]] = mapped_column(JSONType, nullable=False, default=list)

    __table_args__ = (
        Index("ix_patrols_user_started", "user_id", "started_at"),
        Index("ix_patrols_region_started", "region_code", "started_at"),
    )


class TrackPoint(Base):
    __tablename__ = "patrol_points"
    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    patrol_id: Mapped[int] = mapped_column(
        BIG_ID, ForeignKey("patrols.id", ondelete="CASCADE"), nullable=False
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    lon: Mapped[float] = mapped_column(Float, nullable=False)  # WGS84
    lat: Mapped[float] = mapped_column(Float, nullable=False)
    accuracy_m: Mapped[float | None] = mapped_column(Float, nullable=True)

    __table_args__ = (Index("ix_patrol_points_patrol", "patrol_id", "at", "id"),)
