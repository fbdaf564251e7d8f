"""DTOs that leave the catalog module, and the catalog's code lists (编制指南 vocabularies)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

# 信息资源"类" (1 digit): 基础 / 主题 / 部门 信息资源目录
CLASSES = {"1": "基础信息资源", "2": "主题信息资源", "3": "部门信息资源"}
FORMAT_CLASSES = {
    "file": "电子文件",
    "sheet": "电子表格",
    "database": "数据库",
    "image": "图形图像",
    "media": "流媒体",
    "self": "自描述格式",
}
SHARE_TYPES = {"unconditional": "无条件共享", "conditional": "有条件共享", "none": "不予共享"}
SHARE_METHODS = {"api": "接口", "download": "文件下载", "subscription": "订阅"}
OPEN_TYPES = {"open": "无条件开放", "conditional": "有条件开放", "closed": "不予开放"}
UPDATE_CYCLES = {
    "realtime": "实时",
    "daily": "每日",
    "weekly": "每周",
    "monthly": "每月",
    "quarterly": "每季度",
    "halfyearly": "每半年",
    "yearly": "每年",
    "irregular": "不定期",
}
CYCLE_DAYS: dict[str, int | None] = {
    "realtime": 1,
    "daily": 1,
    "weekly": 7,
    "monthly": 31,
    "quarterly": 92,
    "halfyearly": 183,
    "yearly": 366,
    "irregular": None,
}
SENSITIVITY = {"public": "公开", "internal": "内部", "sensitive": "敏感"}
REQUEST_STATES = {"pending": "待审批", "approved": "已同意", "refused": "已拒绝", "revoked": "已撤销"}
CODE_PATTERN = r"^[1-3]\d{5}\d*/\d{6}$"
CLASS_PATTERN = r"^[1-3]\d{5}\d*$"


class FieldOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    name: str
    title: str
    type: str
    format: str
    description: str
    sensitivity: str
    mask: str
    constraints: dict[str, Any]
    is_key: bool
    is_index: bool


class ResourceIn(BaseModel):
    class_code: str = Field(pattern=CLASS_PATTERN, description="类 1 + 项 2 + 目 3 (+ 细目)")
    code: str | None = Field(None, pattern=CODE_PATTERN)
    name: str = Field(min_length=1, max_length=200)
    provider: str = Field(min_length=1, max_length=40, description="provider department code")
    summary: str = Field("", max_length=4000)
    format_class: str = "sheet"
    share_type: str = "unconditional"
    share_condition: str = Field("", max_length=2000)
    legal_basis: str = Field("", max_length=2000)
    share_methods: list[str] = ["api"]
    open_type: str = "closed"
    open_condition: str = Field("", max_length=2000)
    update_cycle: str = "monthly"
    publish_date: date | None = None
    related_codes: list[str] = []
    tags: list[str] = []
    topics: list[str] = []
    policy: str = "quarantine"
    table_schema: dict[str, Any] | None = None


class ResourceOut(BaseModel):
    id: int
    code: str
    class_code: str
    name: str
    provider_department_id: int
    provider_code: str
    provider_name: str
    summary: str
    format_class: str
    share_type: str
    share_condition: str
    legal_basis: str
    share_methods: list[str]
    open_type: str
    open_condition: str
    update_cycle: str
    publish_date: date | None
    related_codes: list[str]
    tags: list[str]
    topics: list[str]
    policy: str
    current_version: int | None
    last_loaded_at: datetime | None
    created_at: datetime
    updated_at: datetime
    fields: list[FieldOut] = []
    primary_key: list[str] = []
    row_count: int | None = None
    stale: bool = False
    quality: float | None = None


def slug(code: str) -> str:
    return code.replace("/", "-")


def unslug(name: str) -> str:
    if "/" in name:
        return name
    head, sep, tail = name.rpartition("-")
    return f"{head}/{tail}" if sep else name


class VersionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    resource_code: str = ""
    number: int | None
    state: str
    mode: str
    policy: str
    sha256: str | None
    row_count: int
    loaded_rows: int
    valid_rows: int
    quarantined_rows: int
    completeness: float | None
    validity: float | None
    uniqueness: float | None
    report: dict[str, Any]
    table_schema: dict[str, Any] = {}  # the Table Schema this version was validated (and is read) with
    source_name: str
    source_format: str
    source_encoding: str
    created_by: str
    created_at: datetime
    decided_at: datetime | None


class AccessRequestIn(BaseModel):
    purpose: str = Field(min_length=2, max_length=2000)
    legal_basis: str = Field("", max_length=2000)
    fields: list[str] = []
    period_days: int = Field(365, ge=1, le=3660)


class DecisionIn(BaseModel):
    approve: bool
    reason: str = Field("", max_length=2000)
    fields: list[str] | None = None  # granted fields; default: what was asked
    clear_fields: list[str] = []  # sensitive fields given in clear
    period_days: int | None = Field(None, ge=1, le=3660)


class AccessRequestOut(BaseModel):
    id: int
    resource_code: str
    resource_name: str
    provider_code: str
    consumer_department_id: int | None
    consumer_code: str | None
    consumer_name: str | None
    requested_by: str
    purpose: str
    legal_basis: str
    fields: list[str]
    period_days: int
    state: str
    created_at: datetime
    due_at: datetime
    overdue: bool
    escalated_at: datetime | None
    decided_by: str | None
    decided_at: datetime | None
    reason: str
    granted_fields: list[str]
    clear_fields: list[str]
    expires_at: datetime | None


class Access(BaseModel):
    """What a caller may read of a resource: the fields, and which of them in clear."""

    resource_code: str
    fields: list[str]
    clear: list[str]
    basis: str  # provider | unconditional | grant:<id> | open


class UsageRow(BaseModel):
    resource_code: str
    resource_name: str
    provider_code: str
    consumer_code: str | None
    consumer_name: str | None
    calls: int
    refused: int
    rows: int
    downloads: int
