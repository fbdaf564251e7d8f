"""The catalog module's private tables: resources (信息资源) and their fields (信息项), the accepted
and staged versions of their data, access requests (共享申请) and per-day usage counters.

The data itself never lives here: each version is an immutable Parquet file in the data store
(`settings.datastore`), named by its content hash; these tables hold what describes and governs it.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, Date, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cityos.core.db import Base, JSONType, UTCDateTime


class Resource(Base):
    __tablename__ = "catalog_resources"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), nullable=False, unique=True)  # 301001/000001
    class_code: Mapped[str] = mapped_column(String(20), nullable=False)  # 类 1 + 项 2 + 目 3 + 细目
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    provider_department_id: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    summary: Mapped[str] = mapped_column(Text, nullable=False, default="")
    format_class: Mapped[str] = mapped_column(String(20), nullable=False)
    share_type: Mapped[str] = mapped_column(String(20), nullable=False)  # unconditional|conditional|none
    share_condition: Mapped[str] = mapped_column(Text, nullable=False, default="")
    legal_basis: Mapped[str] = mapped_column(Text, nullable=False, default="")
    share_methods: Mapped[list[str]] = mapped_column(JSONType, nullable=False, default=list)
    open_type: Mapped[str] = mapped_column(String(20), nullable=False, default="closed")
    open_condition: Mapped[str] = mapped_column(Text, nullable=False, default="")
    update_cycle: Mapped[str] = mapped_column(String(20), nullable=False)
    publish_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    related_codes: Mapped[list[str]] = mapped_column(JSONType, nullable=False, default=list)
    tags: Mapped[list[str]] = mapped_column(JSONType, nullable=False, default=list)
    topics: Mapped[list[str]] = mapped_column(JSONType, nullable=False, default=list)
    policy: Mapped[str] = mapped_column(String(12), nullable=False, default="quarantine")
    current_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_loaded_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    stale_reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)


class ResourceField(Base):
    __tablename__ = "catalog_fields"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resource_id: Mapped[int] = mapped_column(
        ForeignKey("catalog_resources.id", ondelete="CASCADE"), nullable=False, index=True
    )
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    name: Mapped[str] = mapped_column(String(64), nullable=False)
    title: Mapped[str] = mapped_column(String(100), nullable=False, default="")
    type: Mapped[str] = mapped_column(String(12), nullable=False, default="string")
    format: Mapped[str] = mapped_column(String(40), nullable=False, default="default")
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    sensitivity: Mapped[str] = mapped_column(String(12), nullable=False, default="internal")
    mask: Mapped[str] = mapped_column(String(12), nullable=False, default="auto")
    constraints: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)
    is_key: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    is_index: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)

    __table_args__ = (UniqueConstraint("resource_id", "name"),)


class Version(Base):
    """One load of a resource: staged (validated, waiting for the steward), accepted (immutable,
    readable), rejected or discarded. Accepted versions are numbered 1, 2, … per resource."""

    __tablename__ = "catalog_versions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resource_id: Mapped[int] = mapped_column(
        ForeignKey("catalog_resources.id", ondelete="CASCADE"), nullable=False
    )
    number: Mapped[int | None] = mapped_column(Integer, nullable=True)
    state: Mapped[str] = mapped_column(String(12), nullable=False)  # staged|accepted|rejected|discarded
    mode: Mapped[str] = mapped_column(String(10), nullable=False)  # replace|append|upsert
    policy: Mapped[str] = mapped_column(String(12), nullable=False)
    sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    path: Mapped[str | None] = mapped_column(String(300), nullable=True)  # relative to the datastore
    quarantine_path: Mapped[str | None] = mapped_column(String(300), nullable=True)
    row_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)  # rows in the snapshot
    loaded_rows: Mapped[int] = mapped_column(Integer, nullable=False, default=0)  # rows in the file
    valid_rows: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    quarantined_rows: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    completeness: Mapped[float | None] = mapped_column(Float, nullable=True)
    validity: Mapped[float | None] = mapped_column(Float, nullable=True)
    uniqueness: Mapped[float | None] = mapped_column(Float, nullable=True)
    schema: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)
    report: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)
    source_name: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    source_format: Mapped[str] = mapped_column(String(12), nullable=False, default="")
    source_encoding: Mapped[str] = mapped_column(String(12), nullable=False, default="")
    created_by: Mapped[str] = mapped_column(String(120), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    __table_args__ = (
        UniqueConstraint("resource_id", "number"),
        Index("ix_catalog_versions_resource_state", "resource_id", "state"),
    )


class AccessRequest(Base):
    """A consumer department asks the provider for a conditional resource (国发〔2016〕51号: answered
    within 10 working days). An approved request is the grant: fields, fields in clear, expiry."""

    __tablename__ = "catalog_access_requests"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resource_id: Mapped[int] = mapped_column(
        ForeignKey("catalog_resources.id", ondelete="CASCADE"), nullable=False, index=True
    )
    consumer_department_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    consumer_user_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    requested_by: Mapped[str] = mapped_column(String(120), nullable=False)
    purpose: Mapped[str] = mapped_column(Text, nullable=False)
    legal_basis: Mapped[str] = mapped_column(Text, nullable=False, default="")
    fields: Mapped[list[str]] = mapped_column(JSONType, nullable=False, default=list)
    period_days: Mapped[int] = mapped_column(Integer, nullable=False, default=365)
    state: Mapped[str] = mapped_column(String(12), nullable=False, default="pending")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(120), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    reason: Mapped[str] = mapped_column(Text, nullable=False, default="")
    granted_fields: Mapped[list[str]] = mapped_column(JSONType, nullable=False, default=list)
    clear_fields: Mapped[list[str]] = mapped_column(JSONType, nullable=False, default=list)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    __table_args__ = (Index("ix_catalog_access_requests_state_due", "state", "due_at"),)


class Usage(Base):
    """Per-day counters of use: resource × consumer (department, or 0 for the public portal)."""

    __tablename__ = "catalog_usage"
    resource_id: Mapped[int] = mapped_column(
        ForeignKey("catalog_resources.id", ondelete="CASCADE"), primary_key=True
    )
    consumer_department_id: Mapped[int] = mapped_column(Integer, primary_key=True)  # 0 = public
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    calls: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    refused: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    rows: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    downloads: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
