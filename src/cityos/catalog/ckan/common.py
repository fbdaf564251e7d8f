"""The pieces every CKAN action shares: CKAN's errors, stable ids, the package, resource and
organization dicts, and CKAN's parameter parsing.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.orm import Session

from cityos.catalog import portal
from cityos.catalog.schemas import ResourceOut, slug
from cityos.core.settings import get_settings

NAMESPACE = uuid.UUID("0b7c3f0e-5a52-4c39-9d0f-6c1f3a9e2b41")  # stable ids across restarts
FORMATS: dict[str, tuple[str, str]] = {
    "csv": ("CSV", "text/csv"),
    "ndjson": ("NDJSON", "application/x-ndjson"),
    "parquet": ("Parquet", "application/vnd.apache.parquet"),
}
DATASTORE_FORMAT = "csv"  # the resource CKAN clients see as datastore_active
SEARCH_ROWS_MAX = 1000  # CKAN's ckan.search.rows_max
DATASTORE_ROWS_MAX = 32000  # CKAN's ckan.datastore.search.rows_max
CKAN_TYPES = {
    "string": "text",
    "integer": "int",
    "number": "numeric",
    "boolean": "bool",
    "date": "date",
    "datetime": "timestamp",
    "year": "int",
}
FQ_KEYS = ("organization", "owner_org", "tags", "groups", "res_format", "name", "id", "license_id", "type")
FACET_KEYS = ("organization", "tags", "groups", "res_format", "license_id")
SORT_KEYS = ("score", "metadata_modified", "metadata_created", "name", "title", "title_string")


# ------------------------------------------------------------------------------------- errors
class CkanError(Exception):
    def __init__(self, status: int, error: dict[str, Any]) -> None:
        super().__init__(error.get("message", ""))
        self.status = status
        self.error = error


def not_found(detail: str = "") -> CkanError:
    return CkanError(
        404, {"__type": "Not Found Error", "message": "Not found" + (f": {detail}" if detail else "")}
    )


def invalid(name: str, message: str) -> CkanError:
    return CkanError(409, {"__type": "Validation Error", name: [message]})


def denied(detail: str = "") -> CkanError:
    return CkanError(
        403, {"__type": "Authorization Error", "message": "Access denied" + (f": {detail}" if detail else "")}
    )


def bad_request(detail: str) -> CkanError:
    return CkanError(400, {"__type": "Bad Request", "message": f"Bad request - {detail}"})


def query_error(detail: str) -> CkanError:
    return CkanError(400, {"__type": "Search Query Error", "message": f"Search Query is invalid: {detail}"})


# ----------------------------------------------------------------------------- ids and dicts
def package_id(code: str) -> str:
    return str(uuid.uuid5(NAMESPACE, "package:" + code))


def organization_id(department_code: str) -> str:
    return str(uuid.uuid5(NAMESPACE, "organization:" + department_code))


def resource_id(code: str, fmt: str) -> str:
    return f"{slug(code)}-{fmt}"


def _iso(value: datetime | date | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        # CKAN writes naive UTC timestamps with microseconds
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value.strftime("%Y-%m-%dT%H:%M:%S.%f")
    return value.isoformat()


@dataclass
class Ctx:
    """One action call: the read session, the site's address, the data calls to record."""

    session: Session
    base: str  # http://host:port, no trailing slash
    records: list[tuple[str, int]] = field(default_factory=list)


def downloadable(r: ResourceOut) -> bool:
    return r.current_version is not None and bool(portal.public_fields(r))


def download_url(base: str, r: ResourceOut, fmt: str) -> str:
    return f"{base}/open/r/{slug(r.code)}/download.{fmt}"


def _license() -> tuple[str, str]:
    lic = get_settings().extra.get("open_license", "") or "notspecified"
    return lic, {"notspecified": "License not specified"}.get(lic, lic)


def organization_dict(code: str, name: str, items: list[ResourceOut]) -> dict[str, Any]:
    created = min((r.created_at for r in items), default=None)
    return {
        "id": organization_id(code),
        "name": code,
        "title": name,
        "display_name": name,
        "description": "",
        "type": "organization",
        "is_organization": True,
        "approval_status": "approved",
        "state": "active",
        "image_url": "",
        "image_display_url": "",
        "created": _iso(created),
        "package_count": len(items),
    }


def resource_dict(base: str, r: ResourceOut, fmt: str, position: int) -> dict[str, Any]:
    label, media = FORMATS[fmt]
    return {
        "id": resource_id(r.code, fmt),
        "package_id": package_id(r.code),
        "name": f"{r.name} ({label})",
        "description": r.summary,
        "format": label,
        "mimetype": media,
        "mimetype_inner": None,
        "url": download_url(base, r, fmt),
        "url_type": None,
        "resource_type": None,
        "datastore_active": True,
        "position": position,
        "state": "active",
        "hash": "",
        "size": None,
        "created": _iso(r.created_at),
        "last_modified": _iso(r.last_loaded_at),
        "metadata_modified": _iso(r.updated_at),
        "cache_url": None,
        "cache_last_updated": None,
        "version": r.current_version,
        "row_count": r.row_count,
    }


def package_dict(base: str, r: ResourceOut, org: dict[str, Any] | None = None) -> dict[str, Any]:
    resources = [resource_dict(base, r, fmt, i) for i, fmt in enumerate(FORMATS)] if downloadable(r) else []
    lic_id, lic_title = _license()
    org = org or organization_dict(r.provider_code, r.provider_name, [r])
    org = {k: v for k, v in org.items() if k != "package_count"}
    return {
        "id": package_id(r.code),
        "name": slug(r.code),
        "title": r.name,
        "notes": r.summary,
        "type": "dataset",
        "state": "active",
        "private": False,
        "isopen": lic_id != "notspecified",
        "license_id": lic_id,
        "license_title": lic_title,
        "url": f"{base}/open/r/{slug(r.code)}",
        "version": str(r.current_version) if r.current_version is not None else None,
        "author": r.provider_name,
        "author_email": None,
        "maintainer": r.provider_name,
        "maintainer_email": None,
        "creator_user_id": None,
        "metadata_created": _iso(r.created_at),
        "metadata_modified": _iso(r.updated_at),
        "owner_org": org["id"],
        "organization": org,
        "tags": [
            {
                "id": str(uuid.uuid5(NAMESPACE, "tag:" + t)),
                "name": t,
                "display_name": t,
                "state": "active",
                "vocabulary_id": None,
            }
            for t in r.tags
        ],
        "num_tags": len(r.tags),
        "groups": [
            {
                "id": str(uuid.uuid5(NAMESPACE, "group:" + t)),
                "name": t,
                "title": t,
                "display_name": t,
                "description": "",
                "image_display_url": "",
            }
            for t in r.topics
        ],
        "resources": resources,
        "num_resources": len(resources),
        "extras": [
            {"key": "identifier", "value": r.code},
            {"key": "update_cycle", "value": r.update_cycle},
            {"key": "format_class", "value": r.format_class},
            {"key": "publish_date", "value": r.publish_date.isoformat() if r.publish_date else ""},
            {"key": "row_count", "value": "" if r.row_count is None else str(r.row_count)},
            {"key": "fields", "value": ",".join(f.name for f in portal.public_fields(r))},
        ],
        "relationships_as_object": [],
        "relationships_as_subject": [],
    }


# ----------------------------------------------------------------------------- parameters
TRUE = ("true", "1", "yes", "on", "t", "y")


def _bool(value: Any, default: bool) -> bool:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in TRUE


INT64 = 2**63 - 1  # PostgreSQL's bigint, which CKAN's own offsets and limits go to


def _int(data: dict[str, Any], name: str, default: int, *, maximum: int = INT64, signed: bool = False) -> int:
    """A whole number as CKAN validates one (409 Validation Error naming the parameter): natural
    unless `signed`, at most `maximum`, never beyond a 64-bit integer."""
    raw = data.get(name)
    if raw is None or raw == "":
        return default
    if isinstance(raw, bool) or len(str(raw)) > 24:
        raise invalid(name, "Invalid integer")
    try:
        n = int(raw)
    except (TypeError, ValueError):
        raise invalid(name, "Invalid integer") from None
    if n < (-INT64 if signed else 0):
        raise invalid(name, "Must be a natural number")
    if n > maximum:
        raise invalid(name, f"Must be less than or equal to {maximum}")
    return n


def _json(value: Any, name: str) -> Any:
    """CKAN takes lists and objects as JSON in query strings and as JSON values in POST bodies."""
    if isinstance(value, str) and value.strip()[:1] in ("[", "{"):
        try:
            return json.loads(value)
        except ValueError:
            raise invalid(name, "Could not parse as valid JSON") from None
    return value


def _list(value: Any, name: str) -> list[str]:
    value = _json(value, name)
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return [v.strip() for v in value if v.strip()]
    raise invalid(name, "Not a list")


def _required(data: dict[str, Any], *names: str) -> str:
    for n in names:
        v = data.get(n)
        if isinstance(v, str) and v.strip():
            return v.strip()
    raise invalid(names[0], "Missing value")
