"""cockpit: its tables (the module's own; others reach it through its service).

- cockpit_definitions  an admin's edit of one theme's metric YAML (the packaged file otherwise)
- cockpit_values       the time series: metric × region × period, with its lineage (source kind,
                       resource code or query, version, when) and its status — a refused read is
                       stored as `refused` with the reason, never as a number
- cockpit_snapshots    the screens' composite figures (the city-management screen's lights, hours,
                       categories, hot spots per region), computed by the worker
- cockpit_alerts       threshold and 序时进度 warnings with their hysteresis state
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Float, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cityos.core.db import Base, JSONType, UTCDateTime

BIG_ID = BigInteger().with_variant(Integer, "sqlite")


class Definition(Base):
    __tablename__ = "cockpit_definitions"
    theme: Mapped[str] = mapped_column(String(20), primary_key=True)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    updated_by: Mapped[str] = mapped_column(String(100), nullable=False)


class MetricValue(Base):
    __tablename__ = "cockpit_values"
    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    metric: Mapped[str] = mapped_column(String(64), nullable=False)
    region: Mapped[str] = mapped_column(String(14), nullable=False)
    period: Mapped[str] = mapped_column(String(10), nullable=False)  # YYYY-MM
    value: Mapped[float | None] = mapped_column(Float, nullable=True)
    status: Mapped[str] = mapped_column(String(12), nullable=False)  # ok | refused | error
    source_kind: Mapped[str] = mapped_column(String(12), nullable=False)  # catalog | query
    source_ref: Mapped[str] = mapped_column(String(100), nullable=False)
    source_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    source_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)  # data as of
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    detail: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)

    __table_args__ = (
        UniqueConstraint("metric", "region", "period", name="uq_cockpit_values_metric_region_period"),
        Index("ix_cockpit_values_metric_period", "metric", "period"),
    )


class Snapshot(Base):
    __tablename__ = "cockpit_snapshots"
    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)


class Alert(Base):
    __tablename__ = "cockpit_alerts"
    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    metric: Mapped[str] = mapped_column(String(64), nullable=False)
    region: Mapped[str] = mapped_column(String(14), nullable=False)
    rule: Mapped[str] = mapped_column(String(20), nullable=False)  # threshold | schedule | yoy
    state: Mapped[str] = mapped_column(String(10), nullable=False)  # raised | cleared
    period: Mapped[str] = mapped_column(String(10), nullable=False)
    value: Mapped[float | None] = mapped_column(Float, nullable=True)
    limit: Mapped[float | None] = mapped_column(Float, nullable=True)
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    __table_args__ = (Index("ix_cockpit_alerts_metric_region_rule", "metric", "region", "rule", "state"),)
