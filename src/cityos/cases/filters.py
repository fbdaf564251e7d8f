"""The one definition of a case-list filter, shared by the list page, the JSON API and the Excel
export: what a person can ask for (a list tab, state, category, channel, region, number, keyword,
date range, the caller's phone) and how it becomes the arguments of `queries.list_cases`, which
puts `policy.visible` in front of every condition. A filter never widens what the actor sees.

The caller's phone is personal data: searching by it needs `cases.search_phone` (the 12345
centre); anyone else gets a 403, and the public (Open311, the public case page) has no such
filter at all.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field, field_validator

from cityos.cases import flows
from cityos.core.errors import Forbidden
from cityos.core.settings import get_settings
from cityos.identity.permissions import has
from cityos.identity.schemas import Principal

VIEWS: dict[str, tuple[str, ...] | None] = {  # the list tabs and the states each shows
    "queue": ("reported", "filed"),
    "inbox": ("dispatched", "handling"),
    "verify": ("handled",),
    "open": tuple(flows.OPEN_STATES),
    "all": None,
}
FIELDS = ("view", "state", "category", "channel", "region", "number", "q", "phone", "date_from", "date_to")


class CaseFilter(BaseModel):
    """What a case list is filtered by; empty fields do not filter."""

    view: str | None = Field(None, max_length=10, description="a list tab: " + ", ".join(VIEWS))
    state: str | None = Field(None, max_length=20)
    category: str | None = Field(None, max_length=20, description="category code")
    channel: str | None = Field(None, max_length=20)
    region: str | None = Field(None, max_length=14, description="division code: the cases inside it")
    number: str | None = Field(None, max_length=32, description="case number or a part of it")
    q: str | None = Field(None, max_length=100, description="keyword in the description or address")
    phone: str | None = Field(None, max_length=20, description="caller's phone (needs cases.search_phone)")
    date_from: date | None = Field(None, description="reported on or after this day (local time)")
    date_to: date | None = Field(None, description="reported on or before this day (local time)")

    @field_validator("*", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        """A form sends its empty fields as "": they do not filter."""
        return None if isinstance(value, str) and not value.strip() else value

    def query(self) -> dict[str, str]:
        """The filter as query parameters (for links: the next page, the map, the export)."""
        return {k: str(v) for k in FIELDS if (v := getattr(self, k)) not in (None, "")}


def list_arguments(f: CaseFilter, actor: Principal) -> dict[str, Any]:
    """`f` as keyword arguments of queries.list_cases; a phone search without the permission is
    refused (403) rather than silently ignored."""
    phone = (f.phone or "").strip()
    if phone and not has(actor, "cases.search_phone"):
        raise Forbidden("Searching by the caller's phone is not allowed", field="phone")
    tz = ZoneInfo(get_settings().timezone)
    since = datetime.combine(f.date_from, time.min, tz) if f.date_from else None
    until = datetime.combine(f.date_to + timedelta(days=1), time.min, tz) if f.date_to else None
    states = VIEWS.get(f.view or "") if not f.state else None
    return {
        "state": f.state or None,
        "states": states,
        "category_code": f.category or None,
        "channel": f.channel or None,
        "region": (f.region or "").strip() or None,
        "number": (f.number or "").strip() or None,
        "keyword": (f.q or "").strip() or None,
        "phone": phone or None,
        "since": since,
        "before": until,
    }
