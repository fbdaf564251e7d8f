"""CKAN's catalog actions over the open catalog: package_list/show/search, organization_list/show,
resource_show.
"""

from __future__ import annotations

import re
from typing import Any

from cityos.catalog import portal
from cityos.catalog.ckan.common import (
    FACET_KEYS,
    FORMATS,
    FQ_KEYS,
    SEARCH_ROWS_MAX,
    SORT_KEYS,
    Ctx,
    _bool,
    _int,
    _list,
    _required,
    downloadable,
    invalid,
    not_found,
    organization_dict,
    package_dict,
    package_id,
    query_error,
    resource_dict,
)
from cityos.catalog.schemas import ResourceOut, slug
from cityos.core.errors import NotFound


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
