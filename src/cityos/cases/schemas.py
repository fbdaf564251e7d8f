"""DTOs that leave the cases module."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

CHANNELS = ("citizen", "hotline", "grid_worker", "inspector", "api", "sensor", "camera")
URGENCIES = ("normal", "urgent")


class CategoryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    code: str
    case_class: str
    major_name: str
    name: str
    handle_hours_urgent: float
    handle_hours_normal: float
    department_code: str
    duplicate_radius_m: float
    duplicate_window_h: float


class ReportIn(BaseModel):
    """A report from any channel. Coordinates (with their crs) or, for an operator who placed it by
    address, a region code and the address text."""

    category_code: str = Field(min_length=5, max_length=8)
    description: str = Field(min_length=1, max_length=2000)
    channel: str = "citizen"
    urgency: str = "normal"
    lon: float | None = None
    lat: float | None = None
    crs: str = "wgs84"
    address: str = Field("", max_length=200)
    region_code: str | None = None
    reporter_name: str = Field("", max_length=60)
    reporter_phone: str = Field("", max_length=20)


DB_INT_MAX = 2**63 - 1  # the largest integer SQLite and PostgreSQL store: offsets stay below
ID_MAX = 2**31 - 1  # ids are INTEGER columns, 32 bits on PostgreSQL: a larger one cannot exist


class TimelineEntry(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int | None = None
    at: datetime
    actor: str
    action: str
    from_state: str | None
    to_state: str
    note: str
    data: dict[str, Any]


class CaseNotice(BaseModel):
    """What a notification about a case is addressed by (cases.queries.notice_of): the system's
    own read, never shown as such on a page."""

    id: int
    number: str
    state: str
    is_open: bool  # the state is one of flows.OPEN_STATES
    category_name: str
    region_code: str
    department_id: int | None
    deadline: datetime | None
    reporter_user_id: int | None
    reporter_name: str
    reporter_phone: str


class CaseOut(BaseModel):
    id: int
    number: str
    category_code: str
    category_name: str
    channel: str
    state: str
    urgency: str
    description: str
    address: str
    lon: float | None
    lat: float | None
    grid_code: str | None
    region_code: str
    department_id: int | None
    reported_at: datetime
    stage_started_at: datetime
    deadline: datetime | None
    closed_at: datetime | None
    closed_on_time: bool | None
    escalation_level: int
    rework_count: int
    return_count: int
    version: int
    satisfaction: int | None = None
    light: str | None = None  # green | yellow | red (open cases with a deadline)


class PublicNote(BaseModel):
    """One step of a case's timeline as the public sees it (policy.public_notes)."""

    id: int | None
    at: datetime
    action: str
    to_state: str
    note: str  # "" when the note is internal


class PublicCase(BaseModel):
    """What anyone may see of a case (policy.public_projection): the public page and Open311."""

    number: str
    category_code: str
    category_name: str
    channel: str
    state: str
    status: str  # open | closed (Open311's two states)
    description: str
    address: str
    lon: float | None  # rounded to policy.PUBLIC_DECIMALS
    lat: float | None
    region_chain: list[str]
    agency: str | None  # the handling department's name
    reported_at: datetime
    updated_at: datetime
    deadline: datetime | None
    closed_at: datetime | None
    status_note: str  # the latest public note
    notes: list[PublicNote]


class CaseList(BaseModel):
    """One page of a case list. `total` is exact when `total_exact`; otherwise the count stopped at
    the cap and there are at least `total` cases (a page never counts a million rows).
    `next_after` is the keyset cursor of the next page (None on the last one)."""

    items: list[CaseOut]
    total: int
    total_exact: bool = True
    next_after: str | None = None


STAGES = ("before", "after", "other")  # the report's photos, the report-back's photos, anything else


class AttachmentOut(BaseModel):
    """A photo, document or link of a case. `url` only for a link (Open311 media_url); `has_location`
    says the original carries GPS in its EXIF (the public rendition never does)."""

    model_config = ConfigDict(from_attributes=True)
    id: int
    case_id: int
    stage: str
    media_type: str
    size: int
    filename: str
    width: int | None
    height: int | None
    has_location: bool
    sha256: str | None
    url: str | None
    uploaded_by: str
    uploaded_at: datetime

    @property
    def is_image(self) -> bool:
        return self.media_type.startswith("image/")


# Tasks sent to grid workers (tasks.py): the kinds and, for each, the results a worker may answer.
TASK_RESULTS: dict[str, tuple[str, ...]] = {
    "verify_report": ("confirmed", "not_found"),  # 核实: the report is true / nothing there
    "recheck": ("passed", "failed"),  # 核查: the handling is done / not done (rework)
}


class TaskIn(BaseModel):
    """Send a grid worker a task about a case."""

    kind: str = Field(pattern="^(verify_report|recheck)$")
    assignee_id: int = Field(ge=1, le=ID_MAX)
    instruction: str = Field(default="", max_length=500)


class TaskAnswerIn(BaseModel):
    """The worker's answer: a result of the task's kind, a note (required when the result sends the
    case back: not_found, failed), and optionally a photo already attached to the case."""

    result: str = Field(pattern="^(confirmed|not_found|passed|failed)$")
    note: str = Field(default="", max_length=1000)
    attachment_id: int | None = Field(default=None, ge=1, le=ID_MAX)


class TaskOut(BaseModel):
    id: int
    case_id: int
    case_number: str
    case_state: str
    category_name: str
    address: str
    lon: float | None
    lat: float | None
    kind: str
    assignee_id: int
    assignee_name: str
    sent_by: str
    instruction: str
    sent_at: datetime
    due_at: datetime
    state: str
    result: str | None
    answer: str
    attachment_id: int | None
    answered_at: datetime | None
    on_time: bool | None
    overdue: bool  # still open past its due time


class TaskFigures(BaseModel):
    """One grid worker's tasks over a period (sent in it): for the grid workers' evaluation."""

    user_id: int
    sent: int = 0
    answered: int = 0
    answered_on_time: int = 0
    open_overdue: int = 0
