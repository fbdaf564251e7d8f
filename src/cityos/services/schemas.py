"""DTOs that leave the services module."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

SOURCES = ("upload", "license", "resource")
ITEM_KINDS = ("行政许可", "行政确认", "行政给付", "公共服务", "其他行政权力")
LEVELS = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}
# GB/T 39734-2020 评价内容: the aspects a rating may name
ASPECTS = ("服务态度", "办事效率", "办事流程", "服务规范", "办理结果", "一次办好", "材料精简", "线上便利")
STATES = ("submitted", "returned", "accepted", "sent_back", "approved", "rejected", "issued")


class MaterialIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    required: bool = True
    source: Literal["upload", "license", "resource"] = "upload"
    license_kind: str | None = Field(None, max_length=40)
    resource_code: str | None = Field(None, max_length=80)
    resource_fields: list[str] = []


class ItemIn(BaseModel):
    code: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,40}$")
    name: str = Field(min_length=1, max_length=200)
    department_code: str = Field(min_length=1, max_length=40)
    kind: str = "行政许可"
    legal_basis: str = ""
    conditions: str = ""
    time_limit_days: int = Field(ge=1, le=365)
    fee: str = ""
    online: bool = True
    license_kind: str | None = None
    regulator_code: str | None = None
    rectify_days: Literal[5, 15] = 5
    materials: list[MaterialIn] = []

    @field_validator("kind")
    @classmethod
    def _kind(cls, v: str) -> str:
        if v not in ITEM_KINDS:
            raise ValueError(f"kind must be one of {', '.join(ITEM_KINDS)}")
        return v


class MaterialOut(MaterialIn):
    id: int


class ItemOut(BaseModel):
    id: int
    code: str
    name: str
    department_id: int
    department_code: str
    department_name: str
    kind: str
    legal_basis: str
    conditions: str
    time_limit_days: int
    fee: str
    online: bool
    license_kind: str | None
    regulator_code: str | None
    rectify_days: int
    materials: list[MaterialOut]


class ApplyIn(BaseModel):
    item_code: str
    applicant_kind: Literal["person", "company"] = "person"
    applicant_name: str | None = Field(None, max_length=200)
    applicant_code: str | None = Field(None, max_length=18)
    form: dict[str, str] = {}
    consent: bool = False
    uploads: dict[int, str] = {}  # material id -> file content hash (core.files)


class AppMaterialOut(BaseModel):
    material_id: int
    name: str
    source: str
    status: str
    reference: str
    data: dict[str, Any] = {}


class ApplicationOut(BaseModel):
    id: int
    number: str
    item_code: str
    item_name: str
    department_id: int
    applicant_kind: str
    applicant_name: str
    applicant_code: str  # masked for anyone but the applicant
    channel: str
    state: str
    form: dict[str, Any]
    missing: list[str]
    reason: str
    history: list[dict[str, Any]]
    created_at: datetime
    submitted_at: datetime | None
    accepted_at: datetime | None
    due_at: datetime | None
    decided_at: datetime | None
    issued_at: datetime | None
    license_identifier: str | None
    materials: list[AppMaterialOut] = []
    overdue: bool = False


class DecisionIn(BaseModel):
    decision: Literal["approve", "reject", "send_back"]
    reason: str = Field("", max_length=2000)


class ReturnIn(BaseModel):
    missing: list[str] = Field(min_length=1)
    reason: str = Field("", max_length=2000)


class KindIn(BaseModel):
    code: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,40}$")
    name: str = Field(min_length=1, max_length=100)
    type_code: str = Field(pattern=r"^[0-9A-Z]{1,40}$")
    department_code: str
    issuer_code: str = Field(pattern=r"^[0-9A-Z]{18}$")
    validity_years: int | None = Field(None, ge=1, le=100)


class LicenseOut(BaseModel):
    identifier: str
    kind_code: str
    name: str
    number: str
    holder_name: str
    holder_code: str  # masked unless the holder reads it
    holder_code_type: str
    issuer_name: str
    issuer_code: str
    issued_on: date
    valid_from: date
    valid_until: date | None
    jurisdiction: str
    fields: dict[str, Any]
    kid: str
    payload: str
    status: str
    revoked_at: datetime | None


class VerifyIn(BaseModel):
    payload: str = Field(min_length=1, max_length=4096)


class VerifyOut(BaseModel):
    status: str  # valid | revoked | expired | bad_signature | unknown_issuer | malformed
    kid: str = ""
    license: dict[str, Any] = {}


class LookupIn(BaseModel):
    identifier: str
    reason: str = Field(min_length=4, max_length=500)


class RatingIn(BaseModel):
    level: int = Field(ge=1, le=5)
    aspects: list[str] = []
    comment: str = Field("", max_length=2000)

    @field_validator("aspects")
    @classmethod
    def _aspects(cls, v: list[str]) -> list[str]:
        bad = [a for a in v if a not in ASPECTS]
        if bad:
            raise ValueError(f"unknown rating items: {', '.join(bad)}")
        return v


class RatingOut(BaseModel):
    id: int
    application_number: str
    item_name: str
    level: int
    level_name: str
    aspects: list[str]
    comment: str
    created_at: datetime
    rectification: RectificationOut | None = None


class RectificationOut(BaseModel):
    id: int
    rating_id: int
    state: str
    due_at: datetime
    response: str
    callback: str
    appeal: str
    ruling: str = ""


class ClientOut(BaseModel):
    client_id: str
    name: str
    redirect_uris: list[str]
    created_at: datetime
    active: bool


class NewClient(BaseModel):
    client_id: str
    client_secret: str


class TicketOut(BaseModel):
    id: int
    number: str
    window_type: str
    state: str
    taken_at: datetime
    called_at: datetime | None
    done_at: datetime | None
    window: str
    ahead: int = 0


RatingOut.model_rebuild()
