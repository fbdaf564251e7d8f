"""DTOs that leave the notify module."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

# What a message is about; the page names each kind (Chinese in the catalog).
KINDS = (
    "case_assigned",
    "case_rework",
    "case_returned",
    "deadline_near",
    "case_escalated",
    "case_closed",
    "request_answered",
    "request_overdue",
    "data_stale",
    "task_sent",
    "task_answered",
)


class NotificationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    kind: str
    title: str
    body: str
    link: str | None
    created_at: datetime
    read_at: datetime | None


class NotificationList(BaseModel):
    items: list[NotificationOut]
    unread: int
