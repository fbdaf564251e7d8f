"""DTOs that leave the sensing module, and the device types (Smart Data Models names)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$"  # a device id is an MQTT user name and topic level

# type -> (label, main attribute, its UN/CEFACT unit code). The names are the Smart Data Models'
# (smartdatamodels.org) where one exists; ManholeCover, GasDetector and BridgeStrain are CityOS's
# own types in the same style (no Smart Data Model covers them).
DEVICE_TYPES: dict[str, tuple[str, str, str]] = {
    "FloodMonitoring": ("Drainage water level", "currentLevel", "MTR"),
    "WaterObserved": ("Water supply", "pressure", "BAR"),
    "ManholeCover": ("Manhole cover", "tilt", "DD"),
    "Streetlight": ("Street light", "powerState", ""),
    "WasteContainer": ("Waste container", "fillingLevel", "P1"),
    "AirQualityObserved": ("Air quality", "pm25", "GQ"),
    "GasDetector": ("Gas", "methane", "59"),
    "BridgeStrain": ("Bridge strain", "strain", "4H"),
    "ParkingSpot": ("Parking spot", "occupied", ""),
    "Camera": ("Camera", "status", ""),
}
SEVERITIES = ("critical", "major", "minor", "warning")
RULE_KINDS = ("threshold", "rate", "nodata")
OPS = ("gt", "lt", "between")


class DeviceIn(BaseModel):
    id: str = Field(pattern=ID_PATTERN)
    type: str = Field(max_length=40)
    name: str = Field(min_length=1, max_length=120)
    lon: float | None = Field(None, ge=-180, le=180, allow_inf_nan=False)
    lat: float | None = Field(None, ge=-90, le=90, allow_inf_nan=False)
    department_code: str | None = Field(None, max_length=40)
    firmware: str = Field("", max_length=60)
    meta: dict[str, Any] = Field(default_factory=dict)


class DeviceOut(BaseModel):
    id: str
    type: str
    name: str
    lon: float | None
    lat: float | None
    grid_code: str | None
    region_code: str
    department_id: int | None
    firmware: str
    meta: dict[str, Any]
    units: dict[str, Any]
    created_at: datetime
    last_seen_at: datetime | None
    online: bool
    last_values: dict[str, Any]
    rejected: int
    last_rejection: str | None


class NewCredentials(BaseModel):
    device_id: str
    username: str
    password: str  # also the device's HTTP token (X-Device-Token)
    topic: str


class ImportReport(BaseModel):
    ok: bool
    created: int = 0
    updated: int = 0
    errors: list[dict[str, Any]] = Field(default_factory=list)  # {"row", "field", "message"}


class TelemetryIn(BaseModel):
    """One HTTP batch: items are {device_id, observedAt?, <attr>: value, ...}."""

    items: list[dict[str, Any]] = Field(max_length=10_000)


class IngestResult(BaseModel):
    accepted: int  # readings stored (duplicates of stored readings count as accepted)
    rejected: list[dict[str, Any]] = Field(default_factory=list)  # {"index", "device_id", "reason"}


class RuleIn(BaseModel):
    name: str = Field(min_length=1, max_length=120)
    device_type: str | None = Field(None, max_length=40)
    device_id: str | None = Field(None, max_length=64)
    attr: str = Field(min_length=1, max_length=64)
    kind: str = "threshold"
    op: str = "gt"
    low: float | None = Field(None, allow_inf_nan=False)
    high: float | None = Field(None, allow_inf_nan=False)
    duration_s: int = Field(0, ge=0, le=7 * 86400)
    repeat: int = Field(1, ge=1, le=1000)
    clear_op: str | None = None
    clear_low: float | None = Field(None, allow_inf_nan=False)
    clear_high: float | None = Field(None, allow_inf_nan=False)
    minutes: int | None = Field(None, ge=1, le=7 * 1440)
    severity: str = "major"
    case_category: str | None = Field(None, max_length=8)
    enabled: bool = True


class RuleOut(RuleIn):
    id: int


class AlarmOut(BaseModel):
    id: int
    device_id: str
    device_name: str
    device_type: str
    rule_id: int
    rule_name: str
    severity: str
    status: str
    acknowledged: bool
    closed: bool
    message: str
    value: float | None
    count: int
    first_at: datetime
    last_at: datetime
    cleared_at: datetime | None
    acknowledged_at: datetime | None
    assignee_id: int | None
    case_id: int | None
    case_number: str | None
    lon: float | None
    lat: float | None


class SeriesOut(BaseModel):
    device_id: str
    attr: str
    resolution: str  # raw | hour | day
    unit: str
    points: list[tuple[datetime, float | None]]  # (time, value or the period's mean)


# ---------------------------------------------------------------- the video network
DETECTORS = ("people", "face", "plate")


class GrantIn(BaseModel):
    department_code: str = Field(min_length=1, max_length=40)
    purpose: str = Field(min_length=1, max_length=200)


class GrantOut(BaseModel):
    department_id: int
    department_code: str
    department_name: str
    purpose: str
    granted_by: str
    granted_at: datetime


class CameraOut(BaseModel):
    id: str
    name: str
    lon: float | None
    lat: float | None
    grid_code: str | None
    region_code: str
    department_id: int | None
    department_name: str
    stream_url: str  # metadata only: CityOS never pulls the stream
    zone: str
    online: bool
    own: bool  # the actor's department owns it (else it is seen through a grant or city-wide)
    grants: list[GrantOut]


class VideoRuleIn(BaseModel):
    name: str = Field(min_length=1, max_length=120)
    camera_id: str | None = Field(None, pattern=ID_PATTERN)
    zone: str | None = Field(None, min_length=1, max_length=40)
    detector: str = "people"
    min_count: int = Field(1, ge=1, le=1000)
    window_s: int = Field(600, ge=0, le=7 * 86400)
    severity: str = "major"
    case_category: str | None = Field(None, max_length=8)
    enabled: bool = True


class VideoRuleOut(VideoRuleIn):
    id: int


class VideoEventOut(BaseModel):
    id: int
    device_id: str
    rule_id: int | None
    rule_name: str
    detector: str
    count: int
    boxes: list[list[int]]
    snapshot_sha256: str
    width: int
    height: int
    at: datetime
    duplicate_of: int | None
    case_id: int | None
    case_number: str | None
