"""A CKAN-compatible read Action API at /api/3/action/ (and /api/action/, the path the `ckanapi`
client calls), so the tools that read CKAN portals read the city's open data unchanged.

    CKAN package       one catalog resource open without condition (open_type `open`)
    CKAN resource      one download of its current version: CSV, NDJSON, Parquet; ids are the
                       package name plus the format (`101001-000001-csv`), and each of them is
                       also a datastore resource id for datastore_search
    CKAN organization  a provider department with open resources
    CKAN group         a topic

Only `public` fields ever appear; conditionally open and closed resources are not found. The
fields datastore_search filters, searches and sorts on follow the catalog's one read rule
(`policy.require`: only fields the caller holds in clear, else 403). Every datastore_search is
recorded like a download (service.record_public_download, kind `api`).
Responses have CKAN's shape `{"help", "success", "result"}`; errors `{"help", "success": false,
"error": {"__type", "message"}}` with CKAN's statuses: 404 Not Found Error, 409 Validation Error,
403 Authorization Error, 400 Bad Request / Search Query Error. GET with query parameters and POST
with a JSON body (or a form) both work, as in CKAN.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import duckdb
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from cityos.catalog import masking, policy, portal, service
from cityos.catalog.engine import lit
from cityos.catalog.engine import q as ident
from cityos.catalog.schemas import Access, ResourceOut, slug
from cityos.core.db import Database
from cityos.core.errors import CityOSError, Forbidden, NotFound
from cityos.core.settings import get_settings

router = APIRouter(include_in_schema=False)

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


# ------------------------------------------------------------------------------ the catalog
def _all_packages(ctx: Ctx, q: str | None = None) -> list[tuple[ResourceOut, dict[str, Any]]]:
    items = portal.open_resources(session=ctx.session, q=q)
    by_dept: dict[str, list[ResourceOut]] = {}
    for r in items:
        by_dept.setdefault(r.provider_code, []).append(r)
    orgs = {c: organization_dict(c, rs[0].provider_name, rs) for c, rs in by_dept.items()}
    return [(r, package_dict(ctx.base, r, orgs[r.provider_code])) for r in items]


def _find_package(ctx: Ctx, name_or_id: str) -> ResourceOut:
    try:
        return portal.open_resource(session=ctx.session, code=name_or_id)
    except NotFound:
        pass
    for r in portal.open_resources(session=ctx.session):
        if package_id(r.code) == name_or_id:
            return r
    raise not_found()


def _find_resource(ctx: Ctx, rid: str) -> tuple[ResourceOut, str]:
    head, sep, fmt = rid.rpartition("-")
    if not sep or fmt not in FORMATS:
        raise not_found("Resource was not found.")
    try:
        r = portal.open_resource(session=ctx.session, code=head)
    except NotFound:
        raise not_found("Resource was not found.") from None
    if not downloadable(r):
        raise not_found("Resource was not found.")
    return r, fmt


def _organizations(ctx: Ctx) -> dict[str, dict[str, Any]]:
    by_dept: dict[str, list[ResourceOut]] = {}
    names: dict[str, str] = {}
    for r in portal.open_resources(session=ctx.session):
        by_dept.setdefault(r.provider_code, []).append(r)
        names[r.provider_code] = r.provider_name
    return {c: organization_dict(c, names[c], rs) for c, rs in by_dept.items()}


# -------------------------------------------------------------------------------- actions
def package_list(ctx: Ctx, data: dict[str, Any]) -> list[str]:
    """Names of all open datasets, sorted (limit, offset)."""
    names = sorted(slug(r.code) for r in portal.open_resources(session=ctx.session))
    offset = _int(data, "offset", 0)
    limit = _int(data, "limit", len(names))
    return names[offset : offset + limit]


def package_show(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    """One dataset by id or name."""
    r = _find_package(ctx, _required(data, "id", "name_or_id"))
    return package_dict(ctx.base, r, _organizations(ctx).get(r.provider_code))


_TOKEN = re.compile(r'\s*(?P<op>[-+]?)(?P<key>[A-Za-z_.]+):(?P<val>"[^"]*"|[^\s"]+)\s*')


def _parse_query(text: str, name: str) -> tuple[list[tuple[bool, str, str]], str]:
    """Solr-ish `key:value` terms (quoted values allowed, `-` to exclude, AND between terms) and
    the remaining free text."""
    terms: list[tuple[bool, str, str]] = []
    rest: list[str] = []
    for word in re.finditer(r'(?:[-+]?[A-Za-z_.]+:(?:"[^"]*"|[^\s"]+))|"[^"]*"|\S+', text):
        w = word.group(0)
        if w in ("AND", "&&"):
            continue
        m = _TOKEN.fullmatch(w)
        if m:
            key = m.group("key")
            if key not in FQ_KEYS:
                raise query_error(f"undefined field {key}")
            val = m.group("val").strip('"')
            terms.append((m.group("op") == "-", key, val))
        else:
            if w in ("OR", "NOT", "||") or w.startswith(("(", ")")):
                raise query_error(f"{name}: only key:value terms joined by AND are supported")
            rest.append(w.strip('"'))
    return terms, " ".join(rest)


def _values(pkg: dict[str, Any], key: str) -> list[str]:
    if key == "organization":
        return [pkg["organization"]["name"]]
    if key == "owner_org":
        return [pkg["owner_org"]]
    if key == "tags":
        return [t["name"] for t in pkg["tags"]]
    if key == "groups":
        return [g["name"] for g in pkg["groups"]]
    if key == "res_format":
        return [r["format"] for r in pkg["resources"]]
    return [str(pkg.get(key) or "")]


def _matches(pkg: dict[str, Any], terms: list[tuple[bool, str, str]]) -> bool:
    for negate, key, val in terms:
        vals = _values(pkg, key)
        hit = (val == "*" and bool(vals)) or any(v.lower() == val.lower() for v in vals)
        if hit == negate:
            return False
    return True


def _sort(pkgs: list[dict[str, Any]], spec: str) -> list[dict[str, Any]]:
    keys = []
    for part in spec.split(","):
        bits = part.split()
        if not bits:
            continue
        key = bits[0]
        order = bits[1].lower() if len(bits) > 1 else "asc"
        if key not in SORT_KEYS or order not in ("asc", "desc") or len(bits) > 2:
            raise query_error(f"can not sort on {part.strip()}")
        keys.append((key, order == "desc"))
    out = list(pkgs)
    for key, desc in reversed(keys):
        if key == "score":
            continue  # no relevance ranking: every match scores the same
        field_name = "title" if key == "title_string" else key

        def value(p: dict[str, Any], k: str = field_name) -> str:
            return str(p.get(k) or "")

        out.sort(key=value, reverse=desc)
    return out


def package_search(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    """Search datasets: q (free text, or key:value terms), fq (organization:gaj tags:人口 …),
    rows, start, sort (metadata_modified desc, name asc …), facet.field, facet.limit."""
    q = str(data.get("q") or "").strip()
    if q in ("*:*", "*"):
        q = ""
    q_terms, text = _parse_query(q, "q")
    fq_terms, fq_text = _parse_query(str(data.get("fq") or ""), "fq")
    if fq_text:
        raise query_error(f"fq: {fq_text}")
    rows = _int(data, "rows", 10, maximum=SEARCH_ROWS_MAX)
    start = _int(data, "start", 0)
    sort = str(data.get("sort") or "score desc, metadata_modified desc")
    facet_fields = _list(data.get("facet.field"), "facet.field")
    for f in facet_fields:
        if f not in FACET_KEYS:
            raise query_error(f"can not facet on {f}")
    facet_limit = _int(data, "facet.limit", 50, signed=True)  # negative: no limit, as in CKAN
    facet_mincount = _int(data, "facet.mincount", 1)
    found = [p for _r, p in _all_packages(ctx, text or None) if _matches(p, q_terms + fq_terms)]
    found = _sort(found, sort)
    facets: dict[str, dict[str, int]] = {}
    search_facets: dict[str, Any] = {}
    for f in facet_fields:
        counts: dict[str, int] = {}
        titles: dict[str, str] = {}
        for p in found:
            for v in dict.fromkeys(_values(p, f)):
                counts[v] = counts.get(v, 0) + 1
                if f == "organization":
                    titles[v] = p["organization"]["title"]
        ordered = sorted(
            ((v, n) for v, n in counts.items() if n >= facet_mincount), key=lambda vn: (-vn[1], vn[0])
        )
        if facet_limit >= 0:
            ordered = ordered[:facet_limit]
        facets[f] = dict(ordered)
        search_facets[f] = {
            "title": f,
            "items": [{"name": v, "display_name": titles.get(v, v), "count": n} for v, n in ordered],
        }
    return {
        "count": len(found),
        "sort": sort,
        "facets": facets,
        "search_facets": search_facets,
        "results": found[start : start + rows],
    }


def organization_list(ctx: Ctx, data: dict[str, Any]) -> list[Any]:
    """Provider departments with open datasets: names, or dicts with all_fields=true."""
    orgs = list(_organizations(ctx).values())
    wanted = _list(data.get("organizations"), "organizations")
    if wanted:
        orgs = [o for o in orgs if o["name"] in wanted]
    sort = str(data.get("sort") or "title asc").split()
    key = sort[0] if sort else "title"
    if key not in ("title", "name", "package_count"):
        raise invalid("sort", f"Cannot sort by field `{key}`")
    desc = len(sort) > 1 and sort[1].lower() == "desc"
    orgs.sort(key=lambda o: o[key], reverse=desc)
    offset = _int(data, "offset", 0)
    limit = _int(data, "limit", 1000, maximum=1000)
    orgs = orgs[offset : offset + limit]
    if _bool(data.get("all_fields"), False):
        return orgs
    return [o["name"] for o in orgs]


def organization_show(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    """One provider department by id or name; include_datasets=true adds its datasets."""
    key = _required(data, "id")
    orgs = _organizations(ctx)
    org = orgs.get(key) or next((o for o in orgs.values() if o["id"] == key), None)
    if org is None:
        raise not_found("Organization was not found.")
    out = dict(org)
    if _bool(data.get("include_datasets"), False):
        out["packages"] = [
            package_dict(ctx.base, r, org)
            for r in portal.open_resources(session=ctx.session, department=org["name"])
        ]
    return out


def resource_show(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    """One download of a dataset by its id (`<package name>-csv|ndjson|parquet`)."""
    r, fmt = _find_resource(ctx, _required(data, "id"))
    return resource_dict(ctx.base, r, fmt, list(FORMATS).index(fmt))


# ---------------------------------------------------------------------------- datastore
_duck: duckdb.DuckDBPyConnection | None = None
_duck_lock = threading.Lock()


def _cursor() -> duckdb.DuckDBPyConnection:
    """One in-process DuckDB database, a cursor per call (cursors may not be shared by threads)."""
    global _duck
    with _duck_lock:
        if _duck is None:
            _duck = duckdb.connect(":memory:")
            _duck.execute("SET enable_progress_bar = false")
        return _duck.cursor()


def _plain(v: Any) -> Any:
    if isinstance(v, datetime):
        return v.isoformat()
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, Decimal):
        return float(v)
    return v


def _filter_value(v: Any) -> str | None:
    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def _like(term: str) -> str:
    return "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


@dataclass
class _Query:
    where: list[str] = field(default_factory=list)
    params: list[Any] = field(default_factory=list)


def _datastore_where(
    data: dict[str, Any], acc: Access, columns: list[str], text_columns: list[str]
) -> tuple[_Query, dict[str, Any], Any]:
    """Filters and q, on fields of the table the caller holds in clear only (`policy.require`;
    `_id`, the row position, is no field of the data)."""
    qy = _Query()
    names = ["_id", *columns]
    filters = _json(data.get("filters"), "filters") or {}
    if not isinstance(filters, dict):
        raise invalid("filters", "Not a JSON object")
    for name in filters:
        if name not in names:
            raise invalid("filters", f'field "{name}" not in table')
    policy.require(acc, [n for n in filters if n != "_id"])
    for name, value in filters.items():
        col = f"CAST({ident(name)} AS VARCHAR)"
        values = value if isinstance(value, list) else [value]
        if any(isinstance(v, dict | list) for v in values):
            raise invalid("filters", f'field "{name}": values must be text, numbers or lists of them')
        given = [_filter_value(v) for v in values]
        parts = []
        plain = [v for v in given if v is not None]
        if plain:
            parts.append(f"{col} IN ({', '.join('?' for _ in plain)})")
            qy.params.extend(plain)
        if None in given:
            parts.append(f"{ident(name)} IS NULL")
        qy.where.append("(" + " OR ".join(parts or ["FALSE"]) + ")")
    q = _json(data.get("q"), "q")
    if isinstance(q, dict):
        for name in q:
            if name not in columns:
                raise invalid("q", f'field "{name}" not in table')
        policy.require(acc, q)
        for name, term in q.items():
            for word in str(term).split():
                qy.where.append(f"CAST({ident(name)} AS VARCHAR) ILIKE ? ESCAPE '\\'")
                qy.params.append(_like(word))
    elif q not in (None, ""):
        for word in str(q).split():
            if not text_columns:
                qy.where.append("FALSE")
                continue
            qy.where.append("(" + " OR ".join(f"{ident(c)} ILIKE ? ESCAPE '\\'" for c in text_columns) + ")")
            qy.params.extend(_like(word) for _ in text_columns)
    return qy, filters, q


def _order(data: dict[str, Any], acc: Access, columns: list[str]) -> tuple[str, str | None]:
    raw = data.get("sort")
    parts = _list(raw, "sort")
    names = ["_id", *columns]
    out = []
    for part in parts:
        bits = part.split()
        name = bits[0].strip('"')
        direction = bits[1].lower() if len(bits) > 1 else "asc"
        if name not in names:
            raise invalid("sort", f'field "{name}" not in table')
        if name != "_id":
            policy.require(acc, [name])
        if direction not in ("asc", "desc") or len(bits) > 2:
            raise invalid("sort", f'sorting can only be asc or desc, not "{part}"')
        out.append(f"{ident(name)} {direction.upper()}")
    out.append('"_id" ASC')
    return ", ".join(out), ", ".join(parts) if parts else None


def _links(path: str, data: dict[str, Any], offset: int, limit: int) -> dict[str, str]:
    args = {
        k: (json.dumps(v, ensure_ascii=False) if isinstance(v, dict | list) else str(v))
        for k, v in data.items()
        if k != "offset"
    }
    out = {
        "start": path + "?" + urlencode(args),
        "next": path + "?" + urlencode({**args, "offset": offset + limit}),
    }
    if offset - limit > 0:
        out["prev"] = path + "?" + urlencode({**args, "offset": offset - limit})
    return out


def datastore_search(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    """Rows of an open dataset's public fields: resource_id, filters (JSON object of field: value
    or [values]), q (text over the string fields, or {field: text}), fields, sort, limit, offset,
    include_total, records_format (objects | lists)."""
    rid = _required(data, "resource_id", "id")
    r, _fmt = _find_resource(ctx, rid)
    try:
        acc = service.open_access(session=ctx.session, code=r.code)
        path, _v = service.version_path(session=ctx.session, code=r.code)
    except (Forbidden, NotFound):
        raise not_found(f'Resource "{rid}" was not found.') from None
    schema = service.version_schema(session=ctx.session, code=r.code)
    columns = list(acc.fields)
    types: dict[str, str] = {"_id": "int"}
    for name in columns:
        spec = schema.get(name)
        types[name] = CKAN_TYPES.get(spec.type if spec else "string", "text")
    # free text searches the text fields the caller holds in clear only (policy.queryable)
    text_columns = [c for c in columns if types[c] == "text" and c in policy.queryable(acc)]
    limit = _int(data, "limit", 100, maximum=DATASTORE_ROWS_MAX)
    offset = _int(data, "offset", 0)
    wanted = _list(data.get("fields"), "fields") or ["_id", *columns]
    for f in wanted:
        if f not in types:
            raise invalid("fields", f'field "{f}" not in table')
    records_format = str(data.get("records_format") or "objects")
    if records_format not in ("objects", "lists"):
        raise invalid("records_format", "Value must be one of ['objects', 'lists']")
    include_total = _bool(data.get("include_total"), True)
    qy, filters, q = _datastore_where(data, acc, columns, text_columns)
    order, sort_given = _order(data, acc, columns)
    select = ", ".join(
        f"{masking.select_sql(schema.get(n), ident(n), clear=n in acc.clear)} AS {ident(n)}"  # type: ignore[arg-type]
        for n in columns
    )
    source = (
        f"(SELECT file_row_number + 1 AS _id, {select} "
        f"FROM read_parquet({lit(str(Path(path)))}, file_row_number = true)) AS t"
    )
    where = (" WHERE " + " AND ".join(qy.where)) if qy.where else ""
    cols = ", ".join(ident(f) for f in wanted)
    cur = _cursor()
    try:
        rows = cur.execute(
            f"SELECT {cols} FROM {source}{where} ORDER BY {order} LIMIT {limit} OFFSET {offset}", qy.params
        ).fetchall()
        total = (
            int(cur.execute(f"SELECT count(*) FROM {source}{where}", qy.params).fetchone()[0])  # type: ignore[index]
            if include_total
            else None
        )
    finally:
        cur.close()
    if records_format == "objects":
        records: list[Any] = [{f: _plain(v) for f, v in zip(wanted, row, strict=True)} for row in rows]
    else:
        records = [[_plain(v) for v in row] for row in rows]
    ctx.records.append((r.code, len(records)))
    result: dict[str, Any] = {
        "include_total": include_total,
        "resource_id": rid,
        "fields": [{"id": f, "type": types[f]} for f in wanted],
        "records_format": records_format,
        "records": records,
        "limit": limit,
        "offset": offset,
        "_links": _links("/api/3/action/datastore_search", data, offset, limit),
    }
    if filters:
        result["filters"] = filters
    if q not in (None, ""):
        result["q"] = q
    if sort_given:
        result["sort"] = sort_given
    if total is not None:
        result["total"] = total
        result["total_was_estimated"] = False
    return result


def help_show(ctx: Ctx, data: dict[str, Any]) -> str:
    """The help text of an action."""
    name = _required(data, "name")
    fn = ACTIONS.get(name)
    if fn is None:
        raise not_found("Action function not found")
    return (fn.__doc__ or "").strip()


def site_read(ctx: Ctx, data: dict[str, Any]) -> bool:
    """The site may be read (always true: the open catalog is public)."""
    return True


def status_show(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    """What this site is and which CKAN extensions it imitates."""
    return {
        "site_title": "CityOS",
        "site_url": ctx.base,
        "site_description": "",
        "ckan_version": "2.10.0",
        "locale_default": "zh_Hans_CN",
        "extensions": ["datastore"],
    }


ACTIONS: dict[str, Callable[[Ctx, dict[str, Any]], Any]] = {
    "package_list": package_list,
    "package_show": package_show,
    "package_search": package_search,
    "organization_list": organization_list,
    "organization_show": organization_show,
    "resource_show": resource_show,
    "datastore_search": datastore_search,
    "help_show": help_show,
    "site_read": site_read,
    "status_show": status_show,
}


# ------------------------------------------------------------------------------- the route
def _run(db: Database, base: str, fn: Callable[[Ctx, dict[str, Any]], Any], data: dict[str, Any]) -> Any:
    with db.reader() as session:
        ctx = Ctx(session=session, base=base)
        try:
            result = fn(ctx, data)
        except NotFound:
            raise not_found() from None
        except Forbidden as exc:
            raise denied(exc.text("en")) from None
        except CityOSError as exc:
            raise invalid(exc.field or "message", exc.text("en")) from None
    if ctx.records:
        with db.transaction() as w:
            for code, rows in ctx.records:
                service.record_public_download(session=w, code=code, kind="api", rows=rows)
    return result


async def _data_dict(request: Request) -> dict[str, Any]:
    data: dict[str, Any] = dict(request.query_params)
    if request.method != "POST":
        return data
    ctype = request.headers.get("content-type", "")
    if "form" in ctype:
        form = await request.form()
        data.update({k: v for k, v in form.items() if isinstance(v, str)})
        return data
    raw = await request.body()
    if raw.strip():
        try:
            body = json.loads(raw)
        except ValueError as exc:
            raise bad_request(f"JSON Error: {exc}") from None
        if not isinstance(body, dict):
            raise bad_request("JSON Error: Request data JSON decoded to a non-dictionary")
        data.update(body)
    return data


@router.api_route("/api/3/action/{action}", methods=["GET", "POST"])
@router.api_route("/api/action/{action}", methods=["GET", "POST"])
async def action_api(request: Request, action: str) -> Response:
    base = str(request.base_url).rstrip("/")
    help_url = f"{base}/api/3/action/help_show?name={action}"
    try:
        fn = ACTIONS.get(action)
        if fn is None:
            raise bad_request(f"Action name not known: {action}")
        data = await _data_dict(request)
        result = await run_in_threadpool(_run, request.app.state.db, base, fn, data)
    except CkanError as exc:
        return JSONResponse(
            {"help": help_url, "success": False, "error": exc.error},
            status_code=exc.status,
            headers={"Access-Control-Allow-Origin": "*"},
        )
    return JSONResponse(
        {"help": help_url, "success": True, "result": result}, headers={"Access-Control-Allow-Origin": "*"}
    )
