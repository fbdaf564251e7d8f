"""The registries module's private tables: which catalog resource plays which part (bindings), the
base registries' immutable versions, discrepancy items (数据纠错), cross-checks (交叉比对), their
runs and the 核查任务 their hits become, and the linkage pairs a steward reviews.

Department columns hold identity's department id (no foreign key into another module's tables);
resource columns hold catalog resource codes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cityos.core.db import Base, JSONType, UTCDateTime


class Binding(Base):
    """A part a registry or check refers to by name (`population`, `vehicles`…) and the catalog
    resource that plays it in this city."""

    __tablename__ = "registries_bindings"
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    resource_code: Mapped[str] = mapped_column(String(40), nullable=False)
    bound_by: Mapped[str] = mapped_column(String(120), nullable=False)
    bound_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)


class RegistryVersion(Base):
    """One build of a base registry: an immutable Parquet file (relative to the datastore) and, per
    field, where its values came from (`provenance`) or why it is absent (`absent`)."""

    __tablename__ = "registries_versions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    registry_code: Mapped[str] = mapped_column(String(20), nullable=False)
    number: Mapped[int] = mapped_column(Integer, nullable=False)
    built_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    built_by: Mapped[str] = mapped_column(String(120), nullable=False)
    path: Mapped[str] = mapped_column(String(300), nullable=False)
    rows: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    provenance: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)
    absent: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)
    opened: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    closed: Mapped[int] = mapped_column(Integer, nullable=False, default=0)

    __table_args__ = (UniqueConstraint("registry_code", "number"),)


class Discrepancy(Base):
    """A fact held differently by a copy and by its authority (or found wrong by a 核查任务, or
    objected to by the person it is about), sent to the holder of the wrong copy.

    state: open → corrected (closed by the next build that finds the copy agreeing, reopened if
    not) | disputed (to the data bureau) | accepted (a known difference) ; closed."""

    __tablename__ = "registries_discrepancies"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    origin: Mapped[str] = mapped_column(String(12), nullable=False)  # build | check | objection
    registry_code: Mapped[str | None] = mapped_column(String(20), nullable=True)
    subject_key: Mapped[str] = mapped_column(String(40), nullable=False)
    field: Mapped[str] = mapped_column(String(60), nullable=False)
    authority_code: Mapped[str | None] = mapped_column(String(40), nullable=True)
    authority_value: Mapped[str | None] = mapped_column(String(500), nullable=True)
    holder_code: Mapped[str] = mapped_column(String(40), nullable=False)
    holder_field: Mapped[str] = mapped_column(String(60), nullable=False)
    holder_department_id: Mapped[int] = mapped_column(Integer, nullable=False)
    holder_value: Mapped[str | None] = mapped_column(String(500), nullable=True)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)
    state: Mapped[str] = mapped_column(String(12), nullable=False)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    raised_by: Mapped[str] = mapped_column(String(120), nullable=False)
    answered_by: Mapped[str | None] = mapped_column(String(120), nullable=True)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    answer: Mapped[str] = mapped_column(String(1000), nullable=False, default="")
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    __table_args__ = (
        Index("ix_registries_discrepancies_holder", "holder_department_id", "state"),
        Index("ix_registries_discrepancies_subject", "subject_key", "field"),
    )


class Check(Base):
    """A cross-check (交叉比对): SQL in the DuckDB dialect over the parts in `resources` (alias →
    binding name), returning one row per hit with a `subject_key` column."""

    __tablename__ = "crosscheck_checks"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), nullable=False, unique=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    legal_basis: Mapped[str] = mapped_column(String(500), nullable=False)
    owner_department_id: Mapped[int] = mapped_column(Integer, nullable=False)
    resources: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)
    conditions: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)
    sql: Mapped[str] = mapped_column(Text, nullable=False)
    form: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)  # declarative form
    due_days: Mapped[int] = mapped_column(Integer, nullable=False, default=10)
    schedule: Mapped[str] = mapped_column(String(12), nullable=False, default="monthly")
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    updated_by: Mapped[str] = mapped_column(String(120), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    last_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class Run(Base):
    """One run of a check: on which engine, over which versions, with which hits."""

    __tablename__ = "crosscheck_runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    check_code: Mapped[str] = mapped_column(String(40), nullable=False)
    engine: Mapped[str] = mapped_column(String(10), nullable=False)
    actor: Mapped[str] = mapped_column(String(120), nullable=False)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    duration_ms: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    hits: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    keys: Mapped[list[Any]] = mapped_column(JSONType, nullable=False, default=list)
    versions: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)
    tasks_created: Mapped[int] = mapped_column(Integer, nullable=False, default=0)

    __table_args__ = (Index("ix_crosscheck_runs_check", "check_code", "started_at"),)


class Task(Base):
    """A 核查任务: one hit of a check, for the check's owner department to verify."""

    __tablename__ = "crosscheck_tasks"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    check_code: Mapped[str] = mapped_column(String(40), nullable=False)
    run_id: Mapped[int] = mapped_column(Integer, nullable=False)
    subject_key: Mapped[str] = mapped_column(String(40), nullable=False)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)
    owner_department_id: Mapped[int] = mapped_column(Integer, nullable=False)
    assignee: Mapped[str | None] = mapped_column(String(120), nullable=True)
    state: Mapped[str] = mapped_column(String(16), nullable=False)  # open|confirmed|not_confirmed|data_error
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    note: Mapped[str] = mapped_column(String(1000), nullable=False, default="")
    decided_by: Mapped[str | None] = mapped_column(String(120), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    discrepancy_id: Mapped[int | None] = mapped_column(Integer, nullable=True)

    __table_args__ = (
        Index("ix_crosscheck_tasks_owner", "owner_department_id", "state"),
        Index("ix_crosscheck_tasks_subject", "check_code", "subject_key"),
    )


class LinkPair(Base):
    """A candidate pair of a record linkage in the uncertain band, for a data steward to decide."""

    __tablename__ = "registries_link_pairs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    link: Mapped[str] = mapped_column(String(40), nullable=False)
    left_id: Mapped[str] = mapped_column(String(60), nullable=False)
    right_id: Mapped[str] = mapped_column(String(60), nullable=False)
    probability: Mapped[float] = mapped_column(Float, nullable=False)
    state: Mapped[str] = mapped_column(String(12), nullable=False)  # pending | match | no_match
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    decided_by: Mapped[str | None] = mapped_column(String(120), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    __table_args__ = (Index("ix_registries_link_pairs_link", "link", "state"),)
