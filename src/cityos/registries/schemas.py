"""The registries module's API shapes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

ID_MAX = 2**31 - 1


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class RegistryVersionOut(_Out):
    registry_code: str
    number: int
    built_at: datetime
    built_by: str
    rows: int
    provenance: dict[str, Any]
    absent: dict[str, Any]
    opened: int
    closed: int


class CheckIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    legal_basis: str = Field(min_length=1, max_length=500)
    owner: str = Field(min_length=1, max_length=40, description="owner department code")
    resources: dict[str, str] = Field(default_factory=dict, description="alias → binding name (SQL checks)")
    conditions: dict[str, list[str]] = Field(
        default_factory=dict, description="alias → the fields the SQL reads (SQL checks)"
    )
    sql: str = Field("", max_length=20_000, description="DuckDB dialect; compiled from `form` when given")
    form: dict[str, Any] | None = Field(
        None, description="declarative form (subject, joins, match) instead of SQL; see docs/registries.md"
    )
    due_days: int = 10
    schedule: str = "monthly"


class CheckOut(_Out):
    code: str
    name: str
    legal_basis: str
    owner_department_id: int
    resources: dict[str, Any]
    conditions: dict[str, Any]
    sql: str
    form: dict[str, Any] | None = None
    due_days: int
    schedule: str
    active: bool
    last_run_at: datetime | None


class RunOut(BaseModel):
    check: str
    engine: str
    hits: int
    keys: list[str]
    rows: list[dict[str, Any]]
    run_id: int | None
    tasks_created: int
    sql: str | None = Field(None, description="the SQL a dry run ran (compiled from the form)")


class TaskOut(_Out):
    id: int
    check_code: str
    subject_key: str
    evidence: dict[str, Any]
    owner_department_id: int
    assignee: str | None
    state: str
    created_at: datetime
    due_at: datetime
    note: str
    decided_by: str | None
    decided_at: datetime | None
    discrepancy_id: int | None


class TaskDecisionIn(BaseModel):
    outcome: str = Field(description="confirmed | not_confirmed | data_error")
    note: str = Field("", max_length=1000)
    resource: str | None = Field(None, max_length=40, description="data_error: the wrong resource's code")
    field: str | None = Field(None, max_length=60, description="data_error: the wrong field")


class AssignIn(BaseModel):
    assignee: str = Field(max_length=120)


class DiscrepancyOut(_Out):
    id: int
    origin: str
    registry_code: str | None
    subject_key: str
    field: str
    authority_code: str | None
    authority_value: str | None
    holder_code: str
    holder_field: str
    holder_department_id: int
    holder_value: str | None
    evidence: dict[str, Any]
    state: str
    opened_at: datetime
    due_at: datetime
    answer: str
    answered_by: str | None
    closed_at: datetime | None


class AnswerIn(BaseModel):
    answer: str = Field(description="corrected | disputed | accepted")
    reason: str = Field("", max_length=1000)


class ArbitrationIn(BaseModel):
    uphold: bool
    reason: str = Field(min_length=1, max_length=1000)


class ObjectionIn(BaseModel):
    """数据异议 on one field of one's own record (`key`: one's resident ID, or the USCC of an
    enterprise one is the legal representative of)."""

    registry: str = Field(pattern=r"^(population|legal_entities)$")
    key: str = Field(pattern=r"^[0-9A-Za-z]{15,18}$")
    field: str = Field(max_length=60)
    reason: str = Field(max_length=500)
