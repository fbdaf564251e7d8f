"""The device registry: register, import (CSV/XLSX with a per-row report), credentials, and the
Mosquitto password and ACL files CityOS writes for the broker.

A device's password is derived from the installation's secret, the device id and a generation
number (HMAC-SHA256), so `cityos sensing device token ID` can print it again at any time and a
rotation (the next generation) invalidates the old one. It is the MQTT password (user name = the
device id) and the HTTP token (`X-Device-Token`). Only its SHA-256 is stored.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cityos.core import audit, clock
from cityos.core.errors import Conflict, Invalid, NotFound
from cityos.core.settings import get_settings
from cityos.core.spreadsheet import read_records
from cityos.geo import service as geo
from cityos.identity import service as identity
from cityos.identity.permissions import authorize
from cityos.identity.schemas import Principal
from cityos.sensing import permissions as _permissions  # noqa: F401  (grants sensing.*)
from cityos.sensing.models import Device
from cityos.sensing.policy import visible
from cityos.sensing.schemas import DEVICE_TYPES, DeviceIn, DeviceOut, ImportReport, NewCredentials

ONLINE_MINUTES = 15  # a device heard from within this is online
MQTT_SERVICE_USER = "cityos"  # the worker's own broker account (reads every device's telemetry)
MAX_IMPORT_ROWS = 20_000


def topic_of(device_id: str) -> str:
    return f"cityos/devices/{device_id}/telemetry"


def _derive(label: str) -> str:
    mac = hmac.new(get_settings().secret_key(), label.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:24]).decode().rstrip("=")


def device_password(device_id: str, generation: int) -> str:
    return _derive(f"sensing.device:{device_id}:{generation}")


def service_password() -> str:
    """The MQTT password of the worker's service account (user `cityos`) in the written files."""
    return _derive("sensing.mqtt-service")


def token_hash(password: str) -> str:
    return hashlib.sha256(password.encode()).hexdigest()


def is_online(d: Device) -> bool:
    return d.last_seen_at is not None and d.last_seen_at >= clock.now() - timedelta(minutes=ONLINE_MINUTES)


def out(d: Device) -> DeviceOut:
    return DeviceOut(
        id=d.id,
        type=d.type,
        name=d.name,
        lon=d.lon,
        lat=d.lat,
        grid_code=d.grid_code,
        region_code=d.region_code,
        department_id=d.department_id,
        firmware=d.firmware,
        meta=dict(d.meta or {}),
        units=dict(d.units or {}),
        created_at=d.created_at,
        last_seen_at=d.last_seen_at,
        online=is_online(d),
        last_values=dict(d.last_values or {}),
        rejected=d.rejected,
        last_rejection=d.last_rejection,
    )


def place(session: Session, data: DeviceIn) -> tuple[str | None, str]:
    """(grid, region) of a device: its location's unit grid, else the whole city."""
    if (data.lon is None) != (data.lat is None):
        raise Invalid(
            "Give both longitude and latitude, or neither", field="lon/lat", code="partial_location"
        )
    if data.lon is not None and data.lat is not None:
        loc = geo.locate(session=session, lon=data.lon, lat=data.lat)
        if loc is None:
            raise Invalid("The location is outside the city's grids", field="lon/lat", code="outside_city")
        return loc.grid_code, loc.grid_code
    city = identity.city(session=session)
    return None, city.code if city else ""


def _check(session: Session, data: DeviceIn) -> tuple[str | None, str, int | None]:
    if data.type not in DEVICE_TYPES:
        raise Invalid(
            "Unknown device type {type}", field="type", code="unknown_type", params={"type": data.type}
        )
    grid, region = place(session, data)
    dept = None
    if data.department_code:
        try:
            dept = identity.get_department(session=session, code=data.department_code).id
        except NotFound:
            raise Invalid(
                "Unknown department {code}",
                field="department",
                code="unknown_department",
                params={"code": data.department_code},
            ) from None
    return grid, region, dept


def save_device(session: Session, actor: Principal, data: DeviceIn, *, create_only: bool = False) -> Device:
    """Register a device or update the registration (location, owner, name, firmware, metadata)."""
    grid, region, dept = _check(session, data)
    authorize(actor, "sensing.manage", region_code=region, department_id=dept)
    d = session.get(Device, data.id)
    now = clock.now()
    if d is not None and create_only:
        raise Conflict("Device {id} already exists", code="already_exists", params={"id": data.id})
    if d is None:
        main = DEVICE_TYPES[data.type]
        d = Device(
            id=data.id,
            type=data.type,
            token_generation=1,
            token_hash=token_hash(device_password(data.id, 1)),
            created_at=now,
            units={main[1]: main[2]} if main[2] else {},
            last_values={},
            rejected=0,
        )
        session.add(d)
        action = "sensing.device.register"
    else:
        authorize(actor, "sensing.manage", region_code=d.region_code, department_id=d.department_id)
        action = "sensing.device.update"
    d.type = data.type
    d.name = data.name
    d.lon, d.lat, d.grid_code, d.region_code, d.department_id = data.lon, data.lat, grid, region, dept
    d.firmware = data.firmware
    d.meta = dict(data.meta)
    session.flush()
    audit.record(
        session,
        actor=actor.actor,
        action=action,
        subject_type="device",
        subject_id=d.id,
        payload={"type": d.type, "grid": grid, "department_id": dept},
    )
    return d


def register_device(*, session: Session, actor: Principal, device: DeviceIn) -> DeviceOut:
    return out(save_device(session, actor, device, create_only=True))


def visible_device(session: Session, actor: Principal, device_id: str) -> Device:
    d = session.scalar(select(Device).where(Device.id == device_id, visible(actor)))
    if d is None:
        raise NotFound("No such device", code="device_not_found")
    return d


def get_device(*, session: Session, actor: Principal, device_id: str) -> DeviceOut:
    return out(visible_device(session, actor, device_id))


def list_devices(
    *, session: Session, actor: Principal, type: str | None = None, limit: int = 1000
) -> list[DeviceOut]:
    q = select(Device).where(visible(actor)).order_by(Device.id).limit(limit)
    if type:
        q = q.where(Device.type == type)
    return [out(d) for d in session.scalars(q)]


def device_count(*, session: Session, actor: Principal) -> dict[str, int]:
    """{"total", "online"} of the devices the actor sees (the home page and the map legend)."""
    cutoff = clock.now() - timedelta(minutes=ONLINE_MINUTES)
    total = session.scalar(select(func.count()).select_from(Device).where(visible(actor))) or 0
    online = (
        session.scalar(
            select(func.count()).select_from(Device).where(visible(actor), Device.last_seen_at >= cutoff)
        )
        or 0
    )
    return {"total": total, "online": online}


def delete_device(*, session: Session, actor: Principal, device_id: str) -> None:
    d = visible_device(session, actor, device_id)
    authorize(actor, "sensing.manage", region_code=d.region_code, department_id=d.department_id)
    session.delete(d)
    audit.record(
        session, actor=actor.actor, action="sensing.device.delete", subject_type="device", subject_id=d.id
    )


def credentials(
    *, session: Session, actor: Principal, device_id: str, rotate: bool = False
) -> NewCredentials:
    """The device's MQTT user name and password (= its HTTP token); `rotate` issues a new one."""
    d = session.get(Device, device_id)
    if d is None:
        raise NotFound("No such device", code="device_not_found")
    authorize(actor, "sensing.manage", region_code=d.region_code, department_id=d.department_id)
    if rotate:
        d.token_generation += 1
        d.token_hash = token_hash(device_password(d.id, d.token_generation))
    audit.record(
        session,
        actor=actor.actor,
        action="sensing.device.rotate" if rotate else "sensing.device.credentials",
        subject_type="device",
        subject_id=d.id,
        payload={"generation": d.token_generation},
    )
    return NewCredentials(
        device_id=d.id,
        username=d.id,
        password=device_password(d.id, d.token_generation),
        topic=topic_of(d.id),
    )


def device_for_token(session: Session, token: str) -> Device | None:
    return session.scalar(select(Device).where(Device.token_hash == token_hash(token)))


# ---------------------------------------------------------------- bulk import
COLUMNS = {  # header (English or Chinese) -> field
    "id": "id", "设备编号": "id",
    "type": "type", "类型": "type",
    "name": "name", "名称": "name",
    "lon": "lon", "经度": "lon",
    "lat": "lat", "纬度": "lat",
    "department": "department_code", "权属部门": "department_code",
    "firmware": "firmware", "固件": "firmware",
}  # fmt: skip


def _row_device(row: dict[str, str]) -> DeviceIn:
    fields: dict[str, Any] = {}
    meta: dict[str, str] = {}
    for header, value in row.items():
        key = COLUMNS.get(header.strip(), COLUMNS.get(header.strip().lower()))
        if key is None:
            if value:
                meta[header.strip()] = value
        elif value != "":
            fields[key] = value
    fields["meta"] = meta
    return DeviceIn.model_validate(fields)


def import_devices(*, session: Session, actor: Principal, data: bytes | str) -> ImportReport:
    """Every row is checked first; with any error nothing is written and the report (row number,
    field, reason) comes back inside the Invalid."""
    authorize(actor, "sensing.manage")
    header, rows = read_records(data)
    report = ImportReport(ok=True)
    if "id" not in {COLUMNS.get(h.strip(), COLUMNS.get(h.strip().lower())) for h in header}:
        raise Invalid("The file needs an id column (设备编号)", field="id", code="missing_column")
    parsed: list[tuple[int, DeviceIn]] = []
    seen: set[str] = set()
    for n, row in rows:
        if len(parsed) >= MAX_IMPORT_ROWS:
            raise Invalid("At most {n} rows per file", code="too_many_rows", params={"n": MAX_IMPORT_ROWS})
        try:
            dev = _row_device(row)
            if dev.id in seen:
                raise Invalid(
                    "The id {id} appears twice", field="id", code="duplicate", params={"id": dev.id}
                )
            seen.add(dev.id)
            _check(session, dev)
            parsed.append((n, dev))
        except ValidationError as e:
            err = e.errors()[0]
            report.errors.append(
                {"row": n, "field": ".".join(str(x) for x in err["loc"]), "message": err["msg"]}
            )
        except Invalid as e:
            report.errors.append({"row": n, "field": e.field, "message": e.text("en"), "code": e.code})
    if report.errors:
        report.ok = False
        raise Invalid(
            "The device file has errors; nothing was imported",
            code="device_import_failed",
            details=report.model_dump(mode="json"),
        )
    for _n, dev in parsed:
        existed = session.get(Device, dev.id) is not None
        save_device(session, actor, dev)
        if existed:
            report.updated += 1
        else:
            report.created += 1
    return report


# ---------------------------------------------------------------- broker files
def broker_files(*, session: Session) -> tuple[str, str]:
    """(password file, ACL file) for Mosquitto: one line per device (PBKDF2-SHA512, mosquitto's
    `$7$` format) plus the worker's service account; the ACL lets each device write only its own
    topics (`pattern write cityos/devices/%u/#`) and the service account read them all."""
    lines = [_mosquitto_hash(MQTT_SERVICE_USER, service_password())]
    for dev_id, gen in session.execute(select(Device.id, Device.token_generation).order_by(Device.id)):
        lines.append(_mosquitto_hash(dev_id, device_password(dev_id, gen)))
    acl = (
        f"user {MQTT_SERVICE_USER}\n"
        "topic read cityos/devices/+/telemetry\n"
        "topic readwrite cityos/service/#\n"
        "\n"
        "pattern write cityos/devices/%u/telemetry\n"
    )
    return "\n".join(lines) + "\n", acl


def _mosquitto_hash(user: str, password: str, iterations: int = 101) -> str:
    salt = secrets.token_bytes(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)
    return f"{user}:$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def credentials_fingerprint(*, session: Session) -> str:
    """Changes whenever a device is added or removed or its credentials rotate."""
    h = hashlib.sha256()
    for dev_id, gen in session.execute(select(Device.id, Device.token_generation).order_by(Device.id)):
        h.update(f"{dev_id}:{gen};".encode())
    return h.hexdigest()


def write_broker_files(*, session: Session, passwd: Path, acl: Path) -> int:
    """Write both files atomically (the broker reads them on start and on SIGHUP). Returns devices."""
    p, a = broker_files(session=session)
    for path, text in ((passwd, p), (acl, a)):
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    return p.count("\n") - 1
