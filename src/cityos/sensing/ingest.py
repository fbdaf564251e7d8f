"""Telemetry in: one path for MQTT messages, HTTP batches and NGSI-LD updates.

A message is a JSON object of attribute values with an optional `observedAt` (ISO 8601; the time
of receipt when absent), or a list of such objects. Values are numbers, booleans (stored as 1/0)
or short text. A message that breaks this is rejected with a reason and counted on its device
(`rejected`, `last_rejection`); it never stops the batch it came in.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from prometheus_client import Counter
from sqlalchemy import select
from sqlalchemy.orm import Session

from cityos.core import clock
from cityos.sensing import rules, storage
from cityos.sensing.models import Device

log = logging.getLogger("cityos.sensing.ingest")
ATTR = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
MAX_ITEMS = 1000  # readings objects in one message
FUTURE = timedelta(minutes=5)  # an observedAt further ahead than this is refused (a wrong clock)
TOPIC = re.compile(r"^cityos/devices/([A-Za-z0-9][A-Za-z0-9_.\-]{0,63})/telemetry$")
RESERVED = {"observedAt", "device_id", "deviceId", "id", "type", "@context"}
STORED = Counter("cityos_sensing_readings_total", "Telemetry readings stored")
REJECTED = Counter("cityos_sensing_rejected_total", "Telemetry messages rejected", ["reason"])


class Rejected(ValueError):
    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass
class Batch:
    rows: list[storage.Row] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)
    units: dict[str, dict[str, str]] = field(default_factory=dict)


def parse_time(value: Any, latest: datetime | None = None) -> datetime:
    """An aware UTC time from ISO 8601 text; refused past `latest` (default: now + FUTURE)."""
    if not isinstance(value, str) or len(value) > 40:
        raise Rejected("bad_observed_at", "observedAt must be an ISO 8601 text")
    try:
        at = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise Rejected("bad_observed_at", f"observedAt {value[:40]!r} is not ISO 8601") from None
    if at.tzinfo is None:
        raise Rejected("bad_observed_at", "observedAt needs a time zone (Z or +08:00)")
    at = at.astimezone(UTC)
    if at > (latest or clock.now() + FUTURE):
        raise Rejected("future_observed_at", "observedAt lies in the future")
    return at


def _value(attr: str, v: Any) -> tuple[float | None, str | None, str | None]:
    """(number, text, unitCode) of one attribute value (a plain value or an NGSI-LD Property)."""
    unit = None
    if isinstance(v, dict):
        unit = v.get("unitCode") if isinstance(v.get("unitCode"), str) else None
        v = v.get("value")
    if isinstance(v, bool):
        return (1.0 if v else 0.0), None, unit
    if isinstance(v, int | float):
        f = float(v)
        if not math.isfinite(f):
            raise Rejected("bad_value", f"{attr} is not a finite number")
        return f, None, unit
    if isinstance(v, str) and len(v) <= 200:
        return None, v, unit
    raise Rejected("bad_value", f"{attr} must be a number, true/false or a text of at most 200 characters")


def parse_items(device_id: str, payload: Any, received: datetime) -> tuple[list[storage.Row], dict[str, str]]:
    """The readings of one message, or Rejected with the reason (all or nothing per message)."""
    items = payload if isinstance(payload, list) else [payload]
    if not items:
        raise Rejected("empty", "the message holds no readings")
    if len(items) > MAX_ITEMS:
        raise Rejected("too_many", f"at most {MAX_ITEMS} objects in one message")
    rows: list[storage.Row] = []
    units: dict[str, str] = {}
    latest = received + FUTURE
    for item in items:
        if not isinstance(item, dict):
            raise Rejected("not_an_object", "each reading must be a JSON object")
        at = parse_time(item["observedAt"], latest) if "observedAt" in item else received
        n = 0
        for attr, v in item.items():
            if attr in RESERVED:
                continue
            if not ATTR.match(attr):
                raise Rejected("bad_attribute", f"attribute name {attr[:70]!r}")
            num, txt, unit = _value(attr, v)
            rows.append((device_id, attr, at, num, txt))
            if unit:
                units[attr] = unit[:10]
            n += 1
        if n == 0:
            raise Rejected("empty", "a reading without attribute values")
    return rows, units


def decode(raw: bytes | bytearray) -> Any:
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        raise Rejected("not_json", "the payload is not JSON") from None


def ingest(
    session: Session, messages: Iterable[tuple[str, Any]], *, received: datetime | None = None
) -> Batch:
    """Store the readings of (device_id, payload) messages in the caller's transaction, update the
    devices (last seen, last values, rejections) and evaluate the rules. `payload` is parsed JSON,
    or bytes to decode."""
    now = received or clock.now()
    msgs = list(messages)
    ids = {d for d, _ in msgs}
    devices = {d.id: d for d in session.scalars(select(Device).where(Device.id.in_(ids)))} if ids else {}
    batch = Batch()
    for i, (device_id, payload) in enumerate(msgs):
        dev = devices.get(device_id)
        try:
            if dev is None:
                raise Rejected("unknown_device", f"no device {device_id[:64]!r} is registered")
            data = decode(payload) if isinstance(payload, bytes | bytearray) else payload
            rows, units = parse_items(device_id, data, now)
        except Rejected as r:
            REJECTED.labels(r.reason).inc()
            batch.rejected.append(
                {"index": i, "device_id": device_id, "reason": r.reason, "detail": r.detail}
            )
            if dev is not None:
                dev.rejected += 1
                dev.last_rejection = f"{now.isoformat()} {r.reason}: {r.detail}"[:500]
            continue
        batch.rows.extend(rows)
        if units:
            batch.units.setdefault(device_id, {}).update(units)
    storage.write(session, batch.rows)
    STORED.inc(len(batch.rows))
    _touch(devices, batch, now)
    rules.evaluate(session, devices, batch.rows)
    return batch


def _touch(devices: dict[str, Device], batch: Batch, now: datetime) -> None:
    latest: dict[tuple[str, str], Any] = {}
    for row in batch.rows:
        key = (row[0], row[1])
        cur = latest.get(key)
        if cur is None or row[2] >= cur[2]:
            latest[key] = row
    per_device: dict[str, dict[str, list[Any]]] = {}
    for (d, a), (_d, _a, at, v, t) in latest.items():
        per_device.setdefault(d, {})[a] = [v if v is not None else t, at.isoformat()]
    for dev_id, values in per_device.items():
        dev = devices[dev_id]
        merged = dict(dev.last_values or {})
        for a, pair in values.items():
            old = merged.get(a)
            if old is None or pair[1] >= old[1]:
                merged[a] = pair
        dev.last_values = merged
        dev.last_seen_at = now
        if dev_id in batch.units:
            dev.units = {**(dev.units or {}), **batch.units[dev_id]}
