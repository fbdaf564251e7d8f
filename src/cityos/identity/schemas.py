"""DTOs that leave the identity module."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

ROLES = (
    "admin",
    "data_bureau",
    "data_steward",
    "dispatcher",
    "inspector",
    "grid_worker",
    "handler",
    "leader",
    "citizen",
)
LEVELS = ("city", "district", "street", "community", "grid")
CODE_LENGTH = {"city": 6, "district": 6, "street": 9, "community": 12, "grid": 14}


def division_prefix(code: str) -> str:
    """The prefix every region inside `code` starts with. GB/T 2260 pads a province (370000) and
    a prefecture city (371300) with zeros, so their children share 37 / 3713, not the whole code;
    street, community and grid codes extend their parent's code."""
    if len(code) == 6:
        while code.endswith("00") and len(code) > 2:
            code = code[:-2]
    return code


def within(code: str, scope: str) -> bool:
    """Is region `code` the region `scope` or inside it?"""
    return code == scope or code.startswith(division_prefix(scope))


class RegionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    code: str
    name: str
    level: str
    parent_code: str | None = None
    lon: float | None = None
    lat: float | None = None


class RegionIn(BaseModel):
    code: str = Field(pattern=r"^\d{6}(\d{3})?(\d{3})?(\d{2})?$")
    name: str = Field(min_length=1, max_length=100)
    level: str = Field(max_length=12)
    parent_code: str | None = Field(None, pattern=r"^\d{6}(\d{3})?(\d{3})?$")
    lon: float | None = Field(None, ge=-180, le=180, allow_inf_nan=False)
    lat: float | None = Field(None, ge=-90, le=90, allow_inf_nan=False)

    @field_validator("parent_code", mode="before")
    @classmethod
    def _no_parent(cls, v: object) -> object:
        # a form or client that leaves the parent empty means "no parent", not a region coded ""
        return None if isinstance(v, str) and not v.strip() else v


class DepartmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    code: str
    name: str
    kind: str
    region_code: str
    active: bool
    serves: list[str] = []


class DepartmentIn(BaseModel):
    code: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,40}$")
    name: str = Field(min_length=1, max_length=100)
    kind: str = "bureau"
    region_code: str
    serves: list[str] = []


class UserOut(BaseModel):
    id: int
    username: str
    display_name: str
    roles: list[str]
    department_id: int | None
    department_code: str | None = None
    department_name: str | None = None
    region_code: str | None
    phone: str | None = None
    active: bool
    created_at: datetime


class UserIn(BaseModel):
    username: str = Field(pattern=r"^[A-Za-z0-9_.@-]{2,60}$")
    display_name: str = Field(min_length=1, max_length=60)
    password: str = Field(min_length=8, max_length=200)
    roles: list[str] = Field(min_length=1)
    department_code: str | None = None
    region_code: str | None = None
    phone: str | None = None


class TokenOut(BaseModel):
    id: int
    client: str
    prefix: str
    scopes: list[str]
    department_code: str | None
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None
    created_by: str


class NewToken(BaseModel):
    token: str  # shown once
    info: TokenOut


class Principal(BaseModel):
    """Who is calling: a logged-in person or a system holding an API token."""

    kind: str  # "user" | "token" | "anonymous"
    id: int | None = None
    username: str = "anonymous"
    display_name: str = ""
    roles: frozenset[str] = frozenset()
    scopes: frozenset[str] = frozenset()
    department_id: int | None = None
    department_code: str | None = None
    department_name: str | None = None
    region_code: str | None = None
    csrf_token: str | None = None
    locale: str | None = None

    @property
    def actor(self) -> str:
        """How the audit trail names this principal."""
        if self.kind == "token":
            return f"token:{self.username}"
        return f"user:{self.username}" if self.kind == "user" else "anonymous"

    @property
    def is_authenticated(self) -> bool:
        return self.kind != "anonymous"
