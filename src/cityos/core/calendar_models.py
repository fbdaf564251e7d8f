"""Entered working-calendar days: a year the holiday library does not cover yet gets its published
schedule (holidays and make-up working days) entered by an admin; entries override the library."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, String
from sqlalchemy.orm import Mapped, mapped_column

from cityos.core.db import Base, UTCDateTime


class CalendarDay(Base):
    __tablename__ = "calendar_days"
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    is_workday: Mapped[bool] = mapped_column(Boolean, nullable=False)
    name: Mapped[str] = mapped_column(String(60), nullable=False, default="")
    entered_by: Mapped[str] = mapped_column(String(60), nullable=False)
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
