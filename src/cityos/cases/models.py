"""The cases module's private tables: categories (the taxonomy), cases, their timeline, dispatch rules."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cityos.core.db import Base, JSONType, UTCDateTime


class CaseCategory(Base):
    __tablename__ = "case_categories"
    code: Mapped[str] = mapped_column(String(8), primary_key=True)  # C0101 / E0405
    case_class: Mapped[str] = mapped_column(String(10), nullable=False)  # component | event
    major_name: Mapped[str] = mapped_column(String(40), nullable=False)
    name: Mapped[str] = mapped_column(String(60), nullable=False)
    filing_condition: Mapped[str] = mapped_column(Text, nullable=False, default="")
    closing_condition: Mapped[str] = mapped_column(Text, nullable=False, default="")
    file_hours: Mapped[float] = mapped_column(Float, nullable=False, default=1.0)
    dispatch_hours: Mapped[float] = mapped_column(Float, nullable=False, default=1.0)
    handle_hours_urgent: Mapped[float] = mapped_column(Float, nullable=False)
    handle_hours_normal: Mapped[float] = mapped_column(Float, nullable=False)
    verify_hours: Mapped[float] = mapped_column(Float, nullable=False, default=4.0)
    department_code: Mapped[str] = mapped_column(String(40), nullable=False)
    duplicate_radius_m: Mapped[float] = mapped_column(Float, nullable=False, default=50.0)
    duplicate_window_h: Mapped[float] = mapped_column(Float, nullable=False, default=72.0)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)


class Case(Base):
    __tablename__ = "cases"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(32), nullable=False, unique=True)
    category_code: Mapped[str] = mapped_column(ForeignKey("case_categories.code"), nullable=False, index=True)
    channel: Mapped[str] = mapped_column(String(20), nullable=False)
    state: Mapped[str] = mapped_column(String(20), nullable=False)
    urgency: Mapped[str] = mapped_column(String(10), nullable=False, default="normal")
    description: Mapped[str] = mapped_column(Text, nullable=False)
    address: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    lon: Mapped[float | None] = mapped_column(Float, nullable=True)
    lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    grid_code: Mapped[str | None] = mapped_column(String(14), nullable=True, index=True)
    region_code: Mapped[str] = mapped_column(String(14), nullable=False, index=True)  # finest known region
    department_id: Mapped[int | None] = mapped_column(Integer, nullable=True)  # handling dept
    reporter_user_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    reporter_name: Mapped[str] = mapped_column(String(60), nullable=False, default="")
    reporter_phone: Mapped[str] = mapped_column(String(20), nullable=False, default="")
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    stage_started_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    deadline: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    stage_hours: Mapped[float | None] = mapped_column(Float, nullable=True)  # the stage's limit
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    closed_on_time: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    escalation_level: Mapped[int] = mapped_column(Integer, nullable=False, default=0)  # 0 grid … 3 city
    reminded_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime(), nullable=True
    )  # this stage's reminder
    duplicate_of: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    satisfaction: Mapped[int | None] = mapped_column(
        Integer, nullable=True
    )  # 1–5, the reporter's 回访 answer
    rework_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    return_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    suspended_from: Mapped[str | None] = mapped_column(String(20), nullable=True)
    review_on: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012  (SQLAlchemy's optimistic concurrency)
    __table_args__ = (
        Index("ix_cases_state_deadline", "state", "deadline"),
        Index("ix_cases_reported_at", "reported_at"),  # lists are newest first
        # a list's page: one range per state, in order; the viewer's region or department inside it.
        # The id ends the list's order (newest first, then id): with it the index gives a page in
        # order and PostgreSQL's planner takes it over the reported_at scan (migration 0015).
        Index("ix_cases_state_reported_at", "state", "reported_at", "id"),
        Index("ix_cases_state_region_code", "state", "region_code", "reported_at"),
        Index("ix_cases_department_id_state", "department_id", "state", "reported_at", "id"),
    )


class CaseEvent(Base):
    """The case's timeline: every transition, who, when, why."""

    __tablename__ = "case_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), nullable=False, index=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    actor: Mapped[str] = mapped_column(String(120), nullable=False)
    action: Mapped[str] = mapped_column(String(30), nullable=False)
    from_state: Mapped[str | None] = mapped_column(String(20), nullable=True)
    to_state: Mapped[str] = mapped_column(String(20), nullable=False)
    note: Mapped[str] = mapped_column(Text, nullable=False, default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)


class DispatchRule(Base):
    """(category, region) → handling department. `basis` says why: the department owns the object
    (owner) or is responsible for the area (territory)."""

    __tablename__ = "dispatch_rules"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    category_prefix: Mapped[str] = mapped_column(
        String(8), nullable=False, default=""
    )  # "", "C", "C01", "C0101"
    region_prefix: Mapped[str] = mapped_column(String(14), nullable=False, default="")  # "" = whole city
    basis: Mapped[str] = mapped_column(String(10), nullable=False)  # owner | territory
    department_code: Mapped[str] = mapped_column(String(40), nullable=False)


class ChannelSetting(Base):
    """Per intake channel: file and/or dispatch automatically (e.g. trusted sensors)."""

    __tablename__ = "channel_settings"
    channel: Mapped[str] = mapped_column(String(20), primary_key=True)
    auto_file: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    auto_dispatch: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)


class CaseAttachment(Base):
    """A photo or file of a case: before (the report), after (the report-back) or other.

    The bytes live content-addressed under CITYOS_HOME/files (`sha256`), stored as uploaded (staff
    may need the GPS as evidence); photos also get a rendition without any EXIF (`public_sha256`)
    which is all the public pages and Open311 ever serve. A link (Open311 `media_url`) has `url` and
    no bytes.
    """

    __tablename__ = "case_attachments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), nullable=False, index=True
    )
    stage: Mapped[str] = mapped_column(String(10), nullable=False)  # before | after | other
    sha256: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)  # None: a link
    public_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)  # stripped photo
    url: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    media_type: Mapped[str] = mapped_column(String(60), nullable=False, default="")
    size: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    filename: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    width: Mapped[int | None] = mapped_column(Integer, nullable=True)
    height: Mapped[int | None] = mapped_column(Integer, nullable=True)
    has_location: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    uploaded_by: Mapped[str] = mapped_column(String(120), nullable=False)  # actor label
    uploaded_by_user_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)


class CaseTask(Base):
    """A task sent to a grid worker about a case (网格化管理): `verify_report` (核实: is the citizen's
    report true, on the spot) or `recheck` (核查: was the handling done). Open until the worker
    answers with a result, a note and maybe a photo (`attachment_id`, a case attachment); the
    answer is a step on the case's timeline, and a recheck's answer verifies the case or orders
    rework. `on_time`: answered by `due_at` (the category's verify limit in working hours)."""

    __tablename__ = "case_tasks"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)  # verify_report | recheck
    assignee_id: Mapped[int] = mapped_column(Integer, nullable=False)
    sent_by: Mapped[str] = mapped_column(String(120), nullable=False)  # actor label
    sent_by_user_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    instruction: Mapped[str] = mapped_column(Text, nullable=False, default="")
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    state: Mapped[str] = mapped_column(String(12), nullable=False, default="open")  # open | answered
    result: Mapped[str | None] = mapped_column(String(16), nullable=True)
    answer: Mapped[str] = mapped_column(Text, nullable=False, default="")
    attachment_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    on_time: Mapped[bool | None] = mapped_column(Boolean, nullable=True)

    __table_args__ = (
        Index("ix_case_tasks_assignee_state", "assignee_id", "state", "due_at"),
        Index("ix_case_tasks_case", "case_id"),
    )
