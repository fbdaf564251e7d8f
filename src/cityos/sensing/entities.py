"""Devices as NGSI-LD entities (the service side of ngsi.py): the normalized and keyValues
representations, the temporal representation, and create/update from an entity's attributes.

An entity id is a URI; the device id is its last `:` segment (urn:ngsi-ld:FloodMonitoring:dr-7 is
device dr-7) and the full id is kept in the device's metadata. `location` (a GeoProperty Point)
places the device in its grid; `name` names it; every other Property's value (number, boolean or
short text) is a reading at its `observedAt` (now when absent), with its `unitCode` kept per
attribute. Terms are compared as given (short names under the core context, or full URIs): no
remote @context is fetched.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityos.core import audit, clock
from cityos.core.errors import Conflict, Invalid, NotFound
from cityos.identity.permissions import authorize
from cityos.identity.schemas import Principal
from cityos.sensing import devices as registry
from cityos.sensing import ingest, storage
from cityos.sensing.models import Device
from cityos.sensing.policy import visible
from cityos.sensing.schemas import DEVICE_TYPES, ID_PATTERN, DeviceIn

CORE_CONTEXT = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context.jsonld"
URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:\S+$")
SKIP = {"id", "type", "@context", "createdAt", "modifiedAt"}


class BadData(Invalid):
    """NGSI-LD's BadRequestData."""

    code = "BadRequestData"


def iso(at: datetime) -> str:
    """UTC with milliseconds and Z, as the specification's examples write DateTime values."""
    at = at.astimezone(UTC)
    return at.strftime("%Y-%m-%dT%H:%M:%S") + f".{at.microsecond // 1000:03d}Z"


def device_id_of(entity_id: str) -> str:
    if not isinstance(entity_id, str) or not URI.match(entity_id):
        raise BadData("The entity id must be a URI", field="id")
    dev = entity_id.rsplit(":", 1)[-1]
    if not re.match(ID_PATTERN, dev):
        raise BadData("The entity id's last segment must be a device id (letters, digits, _ . -)", field="id")
    return dev


def entity_id_of(d: Device) -> str:
    return str((d.meta or {}).get("ngsi_id") or f"urn:ngsi-ld:{d.type}:{d.id}")


def find(session: Session, actor: Principal, entity_id: str) -> Device:
    dev_id = device_id_of(entity_id)
    d = session.scalar(select(Device).where(Device.id == dev_id, visible(actor)))
    if d is None or entity_id_of(d) != entity_id:
        raise NotFound("Entity not found", code="ResourceNotFound")
    return d


# ---------------------------------------------------------------- representations
def normalized(d: Device, attrs: set[str] | None = None, key_values: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {"id": entity_id_of(d), "type": d.type}

    def want(a: str) -> bool:
        return attrs is None or a in attrs

    if want("name"):
        out["name"] = d.name if key_values else {"type": "Property", "value": d.name}
    if d.lon is not None and d.lat is not None and want("location"):
        point = {"type": "Point", "coordinates": [d.lon, d.lat]}
        out["location"] = point if key_values else {"type": "GeoProperty", "value": point}
    for a, (v, at) in sorted((d.last_values or {}).items()):
        if not want(a):
            continue
        if key_values:
            out[a] = v
            continue
        prop: dict[str, Any] = {"type": "Property", "value": v, "observedAt": iso(datetime.fromisoformat(at))}
        unit = (d.units or {}).get(a)
        if unit:
            prop["unitCode"] = unit
        out[a] = prop
    for a, rel in sorted(((d.meta or {}).get("relationships") or {}).items()):
        if want(a):
            out[a] = rel["object"] if key_values else {"type": "Relationship", "object": rel["object"]}
    return out


def temporal(
    session: Session,
    d: Device,
    attrs: list[str] | None,
    start: datetime | None,
    end: datetime | None,
    last_n: int | None,
    temporal_values: bool,
) -> dict[str, Any]:
    out: dict[str, Any] = {"id": entity_id_of(d), "type": d.type}
    rows = storage.readings_between(session, d.id, attrs, start, end)
    by_attr: dict[str, list[tuple[datetime, Any]]] = {}
    for a, at, v, t in rows:
        by_attr.setdefault(a, []).append((at, v if v is not None else t))
    for a, points in by_attr.items():
        if last_n:
            points = points[-last_n:]
        unit = (d.units or {}).get(a)
        if temporal_values:
            out[a] = {"type": "Property", "values": [[v, iso(at)] for at, v in points]}
        else:
            inst = []
            for at, v in points:
                p: dict[str, Any] = {"type": "Property", "value": v, "observedAt": iso(at)}
                if unit:
                    p["unitCode"] = unit
                inst.append(p)
            out[a] = inst
    return out


# ---------------------------------------------------------------- writes
def _point(prop: Any) -> tuple[float, float]:
    value = prop.get("value") if isinstance(prop, dict) else None
    if (
        not isinstance(prop, dict)
        or prop.get("type") != "GeoProperty"
        or not isinstance(value, dict)
        or value.get("type") != "Point"
    ):
        raise BadData("location must be a GeoProperty holding a GeoJSON Point", field="location")
    c = value.get("coordinates")
    if not (isinstance(c, list) and len(c) in (2, 3) and all(isinstance(x, int | float) for x in c)):
        raise BadData("A Point's coordinates are [longitude, latitude]", field="location")
    lon, lat = float(c[0]), float(c[1])
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise BadData("Coordinates out of range", field="location")
    return lon, lat


def split(entity: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any]]:
    """(registration fields, readings items, relationships) of an entity fragment."""
    reg: dict[str, Any] = {}
    items: list[dict[str, Any]] = []
    rels: dict[str, Any] = {}
    for a, prop in entity.items():
        if a in SKIP:
            continue
        if a == "location":
            reg["lon"], reg["lat"] = _point(prop)
            continue
        if not isinstance(prop, dict) or "type" not in prop:
            raise BadData(
                "Attribute {a} must be a Property, GeoProperty or Relationship", field=a, params={"a": a}
            )
        if prop["type"] == "Relationship":
            if not isinstance(prop.get("object"), str):
                raise BadData("A Relationship needs an object URI", field=a)
            rels[a] = {"object": prop["object"]}
            continue
        if prop["type"] != "Property" or "value" not in prop:
            raise BadData("Attribute {a} must be a Property with a value", field=a, params={"a": a})
        if a == "name" and isinstance(prop["value"], str):
            reg["name"] = prop["value"][:120]
            continue
        item: dict[str, Any] = {a: {"value": prop["value"]}}
        if isinstance(prop.get("unitCode"), str):
            item[a]["unitCode"] = prop["unitCode"]
        if "observedAt" in prop:
            item["observedAt"] = prop["observedAt"]
        items.append(item)
    return reg, items, rels


def _store(session: Session, dev_id: str, items: list[dict[str, Any]]) -> None:
    now = clock.now()
    rows: list[storage.Row] = []
    for item in items:
        try:
            got, units = ingest.parse_items(dev_id, item, now)
        except ingest.Rejected as r:
            raise BadData("{detail}", field=r.reason, params={"detail": r.detail or r.reason}) from None
        rows.extend(got)
        if units:
            d = session.get(Device, dev_id)
            assert d is not None
            d.units = {**(d.units or {}), **units}
    if rows:
        session.flush()
        ingest.ingest(session, [(dev_id, [_row_item(r) for r in rows])], received=now)


def _row_item(r: storage.Row) -> dict[str, Any]:
    _d, a, at, v, t = r
    return {a: v if v is not None else t, "observedAt": at.isoformat()}


def create(session: Session, actor: Principal, entity: dict[str, Any]) -> tuple[str, bool]:
    """Register the device an entity describes. (entity id, created). AlreadyExists → Conflict."""
    eid = entity.get("id")
    dev_id = device_id_of(eid)  # type: ignore[arg-type]
    etype = entity.get("type")
    if not isinstance(etype, str) or etype not in DEVICE_TYPES:
        raise BadData(
            "Entity type must be one of the device types: {types}",
            field="type",
            params={"types": ", ".join(DEVICE_TYPES)},
        )
    if session.get(Device, dev_id) is not None:
        raise Conflict("Entity {id} already exists", code="AlreadyExists", params={"id": eid})
    reg, items, rels = split(entity)
    meta: dict[str, Any] = {"ngsi_id": eid}
    if rels:
        meta["relationships"] = rels
    data = DeviceIn(
        id=dev_id,
        type=etype,
        name=reg.get("name", dev_id),
        lon=reg.get("lon"),
        lat=reg.get("lat"),
        department_code=actor.department_code,
        meta=meta,
    )
    registry.save_device(session, actor, data, create_only=True)
    _store(session, dev_id, items)
    return str(eid), True


def update(
    session: Session, actor: Principal, d: Device, fragment: dict[str, Any], *, only_existing: bool
) -> list[dict[str, str]]:
    """Update attributes (values need sensing.ingest; name, location and relationships change the
    registration and need sensing.manage in the device's scope). With `only_existing` (PATCH
    …/attrs) an attribute the entity does not have is not added but reported (notUpdated)."""
    authorize(actor, "sensing.ingest")  # new values are telemetry; the registration needs manage
    existing = {
        "name",
        "location",
        DEVICE_TYPES[d.type][1],  # the type's measured attribute exists from registration on
        *(d.units or {}),
        *(d.last_values or {}),
        *((d.meta or {}).get("relationships") or {}),
    }
    not_updated = []
    if only_existing:
        for a in list(fragment):
            if a not in SKIP and a not in existing:
                not_updated.append({"attributeName": a, "reason": "attribute does not exist"})
                fragment = {k: v for k, v in fragment.items() if k != a}
    reg, items, rels = split(fragment)
    if reg or rels:
        authorize(actor, "sensing.manage", region_code=d.region_code, department_id=d.department_id)
        meta = dict(d.meta or {})
        if rels:
            meta["relationships"] = {**(meta.get("relationships") or {}), **rels}
        d.meta = meta
        d.name = reg.get("name", d.name)
        if "lon" in reg:
            place = DeviceIn(id=d.id, type=d.type, name=d.name, lon=reg["lon"], lat=reg["lat"])
            d.grid_code, d.region_code = registry.place(session, place)
            d.lon, d.lat = reg["lon"], reg["lat"]
        audit.record(
            session,
            actor=actor.actor,
            action="sensing.device.update",
            subject_type="device",
            subject_id=d.id,
            payload={"attrs": sorted(set(reg) | set(rels))},
        )
    _store(session, d.id, items)
    return not_updated
