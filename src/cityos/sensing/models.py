"""sensing: its tables (the module's own; others reach it through its service).

`sensing_devices`   the device registry (one row per device; the NGSI-LD entity is the device)
`sensing_readings`  telemetry: one numeric (or text) value of one attribute at one time; the
                    primary key (device, attribute, time) makes a redelivered MQTT message (QoS 1
                    is at least once) a no-op instead of a duplicate
`sensing_rollups`   hourly and daily count/sum/min/max per device and attribute
`sensing_rules`     threshold / rate-of-change / no-data rules per device type or device
`sensing_rule_state` what a rule has seen of a device so far (survives restarts)
`sensing_alarms`    one alarm per device + rule until it is cleared and acknowledged
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Float, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cityos.core.db import Base, JSONType, UTCDateTime

BIG_ID = BigInteger().with_variant(Integer, "sqlite")


class Device(Base):
    __tablename__ = "sensing_devices"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # the MQTT user name too
    type: Mapped[str] = mapped_column(String(40), nullable=False)  # Smart Data Models type name
    name: Mapped[str] = mapped_column(String(120), nullable=False)
    lon: Mapped[float | None] = mapped_column(Float, nullable=True)  # WGS84
    lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    grid_code: Mapped[str | None] = mapped_column(String(14), nullable=True)
    region_code: Mapped[str] = mapped_column(String(14), nullable=False)
    department_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    firmware: Mapped[str] = mapped_column(String(60), nullable=False, default="")
    meta: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)
    units: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)
    token_generation: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_values: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)
    rejected: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    last_rejection: Mapped[str | None] = mapped_column(Text, nullable=True)

    __table_args__ = (
        Index("ix_sensing_devices_region", "region_code"),
        Index("ix_sensing_devices_type", "type"),
        Index("ix_sensing_devices_token", "token_hash", unique=True),
    )


class Reading(Base):
    __tablename__ = "sensing_readings"
    device_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    attr: Mapped[str] = mapped_column(String(64), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), primary_key=True)
    value: Mapped[float | None] = mapped_column(Float, nullable=True)
    text: Mapped[str | None] = mapped_column(String(200), nullable=True)

    __table_args__ = (Index("ix_sensing_readings_at", "at"),)


class Rollup(Base):
    __tablename__ = "sensing_rollups"
    device_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    attr: Mapped[str] = mapped_column(String(64), primary_key=True)
    period: Mapped[str] = mapped_column(String(5), primary_key=True)  # hour | day
    start: Mapped[datetime] = mapped_column(UTCDateTime(), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, nullable=False)
    total: Mapped[float] = mapped_column(Float, nullable=False)
    min: Mapped[float] = mapped_column(Float, nullable=False)
    max: Mapped[float] = mapped_column(Float, nullable=False)


class Rule(Base):
    __tablename__ = "sensing_rules"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120), nullable=False)
    device_type: Mapped[str | None] = mapped_column(String(40), nullable=True)
    device_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    attr: Mapped[str] = mapped_column(String(64), nullable=False)
    kind: Mapped[str] = mapped_column(String(12), nullable=False)  # threshold | rate | nodata
    op: Mapped[str] = mapped_column(String(8), nullable=False, default="gt")  # gt | lt | between
    low: Mapped[float | None] = mapped_column(Float, nullable=True)
    high: Mapped[float | None] = mapped_column(Float, nullable=True)
    duration_s: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    repeat: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    clear_op: Mapped[str | None] = mapped_column(String(8), nullable=True)
    clear_low: Mapped[float | None] = mapped_column(Float, nullable=True)
    clear_high: Mapped[float | None] = mapped_column(Float, nullable=True)
    minutes: Mapped[int | None] = mapped_column(Integer, nullable=True)  # no data for N minutes
    severity: Mapped[str] = mapped_column(String(10), nullable=False, default="major")
    case_category: Mapped[str | None] = mapped_column(String(8), nullable=True)
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)


class RuleState(Base):
    __tablename__ = "sensing_rule_state"
    rule_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    device_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    since: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    hits: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    last_value: Mapped[float | None] = mapped_column(Float, nullable=True)
    last_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class Alarm(Base):
    __tablename__ = "sensing_alarms"
    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    device_id: Mapped[str] = mapped_column(String(64), nullable=False)
    rule_id: Mapped[int] = mapped_column(Integer, nullable=False)
    region_code: Mapped[str] = mapped_column(String(14), nullable=False)
    department_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    severity: Mapped[str] = mapped_column(String(10), nullable=False)
    status: Mapped[str] = mapped_column(String(8), nullable=False)  # active | cleared
    acknowledged: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    closed: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)  # cleared + acked
    message: Mapped[str] = mapped_column(String(300), nullable=False)
    value: Mapped[float | None] = mapped_column(Float, nullable=True)
    count: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    first_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    assignee_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    case_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    case_number: Mapped[str | None] = mapped_column(String(20), nullable=True)

    __table_args__ = (
        Index("ix_sensing_alarms_open", "device_id", "rule_id", "closed"),
        Index("ix_sensing_alarms_region", "region_code", "closed"),
        Index("ix_sensing_alarms_case", "case_id"),
    )


class CameraGrant(Base):
    """A camera (a `Camera` device) shared with another department, as in data sharing."""

    __tablename__ = "sensing_camera_grants"
    device_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    department_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    purpose: Mapped[str] = mapped_column(String(200), nullable=False)
    granted_by: Mapped[str] = mapped_column(String(80), nullable=False)
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)

    __table_args__ = (Index("ix_sensing_camera_grants_department", "department_id"),)


class VideoRule(Base):
    """What a detector must see (at least `min_count` people, faces or plates) on one camera, or on
    every camera of a zone (the camera's `zone` metadata, e.g. restricted), to open a case; at most
    one case per camera and rule within `window_s`."""

    __tablename__ = "sensing_video_rules"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120), nullable=False)
    camera_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    zone: Mapped[str | None] = mapped_column(String(40), nullable=True)
    detector: Mapped[str] = mapped_column(String(12), nullable=False)  # people | face | plate
    min_count: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    window_s: Mapped[int] = mapped_column(Integer, nullable=False, default=600)
    severity: Mapped[str] = mapped_column(String(10), nullable=False, default="major")
    case_category: Mapped[str | None] = mapped_column(String(8), nullable=True)
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)


class VideoEvent(Base):
    """One analysed snapshot of a camera: what the detector found, the rule it met (if any) and the
    case it opened, or the earlier event of the same camera and rule it repeats (`duplicate_of`)."""

    __tablename__ = "sensing_video_events"
    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    device_id: Mapped[str] = mapped_column(String(64), nullable=False)
    rule_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    detector: Mapped[str] = mapped_column(String(12), nullable=False)
    count: Mapped[int] = mapped_column(Integer, nullable=False)
    boxes: Mapped[list[Any]] = mapped_column(JSONType, nullable=False, default=list)
    snapshot_sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    content_type: Mapped[str] = mapped_column(String(40), nullable=False)
    width: Mapped[int] = mapped_column(Integer, nullable=False)
    height: Mapped[int] = mapped_column(Integer, nullable=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    uploaded_by: Mapped[str] = mapped_column(String(80), nullable=False)
    duplicate_of: Mapped[int | None] = mapped_column(BIG_ID, nullable=True)
    case_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    case_number: Mapped[str | None] = mapped_column(String(20), nullable=True)

    __table_args__ = (
        Index("ix_sensing_video_events_device_at", "device_id", "at"),
        Index("ix_sensing_video_events_rule", "device_id", "rule_id", "at"),
    )
