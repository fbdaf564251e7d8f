"""Geo use cases: import unit grids, locate points, find nearby grids, serve outlines.

The spatial index (Shapely 2 STRtree over every grid polygon, with each grid's region chain) is
built once per process and rebuilt when the grids change: every call compares a cheap fingerprint
of the `grids` table (row count, largest code, total area), at most once every CHECK_SECONDS, so a
grid import by another process is noticed within seconds.
"""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
import shapely.ops
from shapely.geometry import mapping, shape
from shapely.validation import explain_validity
from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from cityos.core import audit
from cityos.core.errors import Invalid, NotFound
from cityos.geo import permissions as _permissions  # noqa: F401  (grants geo.* to roles)
from cityos.geo.crs import from_wgs84, to_wgs84
from cityos.geo.models import GridShape
from cityos.geo.schemas import GridHit, ImportProblem, ImportReport, Location, PinPlace
from cityos.identity import service as identity
from cityos.identity.permissions import authorize
from cityos.identity.schemas import Principal, RegionIn, RegionOut, division_prefix

CHECK_SECONDS = 5.0
OVERLAP_TOLERANCE_M2 = 1.0
GAP_TOLERANCE_M2 = 1.0
LEVEL_CODE_LENGTH = {"city": 6, "district": 6, "street": 9, "community": 12, "grid": 14}
M_PER_DEG_LAT = 110_574.0


def m_per_deg_lon(lat: float) -> float:
    return 111_320.0 * math.cos(math.radians(lat))


def area_m2(geom: Any) -> float:
    lat = geom.centroid.y
    return float(geom.area * m_per_deg_lon(lat) * M_PER_DEG_LAT)


# ---------------------------------------------------------------- index
class _Buckets:
    """A uniform bucket grid over the polygons' bounds for batch point location: each point's
    bucket gives its few candidate polygons, tested with `shapely.intersects_xy` on prepared
    polygons — no Point objects are built, which is most of the cost of an STRtree query."""

    def __init__(self, geoms: np.ndarray) -> None:
        self.geoms = geoms
        if len(geoms) == 0:
            self.nx = self.ny = 0
            return
        shapely.prepare(geoms)
        b = shapely.bounds(geoms)
        self.minx, self.miny = b[:, 0].min(), b[:, 1].min()
        self.w = max(float(np.median(b[:, 2] - b[:, 0])), 1e-9)
        self.h = max(float(np.median(b[:, 3] - b[:, 1])), 1e-9)
        self.nx = int(np.ceil((b[:, 2].max() - self.minx) / self.w)) + 1
        self.ny = int(np.ceil((b[:, 3].max() - self.miny) / self.h)) + 1
        x0 = np.floor((b[:, 0] - self.minx) / self.w).astype(np.int64)
        x1 = np.floor((b[:, 2] - self.minx) / self.w).astype(np.int64)
        y0 = np.floor((b[:, 1] - self.miny) / self.h).astype(np.int64)
        y1 = np.floor((b[:, 3] - self.miny) / self.h).astype(np.int64)
        spans = (x1 - x0 + 1) * (y1 - y0 + 1)
        poly = np.repeat(np.arange(len(geoms)), spans)
        k = np.arange(len(poly)) - np.repeat(np.cumsum(spans) - spans, spans)
        width = np.repeat(x1 - x0 + 1, spans)
        cells = (np.repeat(y0, spans) + k // width) * self.nx + np.repeat(x0, spans) + k % width
        order = np.lexsort((poly, cells))
        self.items = poly[order]
        self.start = np.searchsorted(cells[order], np.arange(self.nx * self.ny + 1))

    def locate(self, lons: np.ndarray, lats: np.ndarray) -> np.ndarray:
        """Index of the lowest-numbered polygon containing each point (boundary included), or -1."""
        n = len(lons)
        out = np.full(n, -1, dtype=np.int64)
        if self.nx == 0 or n == 0:
            return out
        cx = np.floor((lons - self.minx) / self.w).astype(np.int64)
        cy = np.floor((lats - self.miny) / self.h).astype(np.int64)
        inside = (cx >= 0) & (cx < self.nx) & (cy >= 0) & (cy < self.ny)
        cid = np.where(inside, cy * self.nx + cx, 0)
        cnt = np.where(inside, self.start[cid + 1] - self.start[cid], 0)
        pt = np.repeat(np.arange(n), cnt)
        off = np.arange(len(pt)) - np.repeat(np.cumsum(cnt) - cnt, cnt)
        poly = self.items[self.start[cid[pt]] + off]
        hit = shapely.intersects_xy(self.geoms[poly], lons[pt], lats[pt])
        pt, poly = pt[hit], poly[hit]
        # candidates of a bucket are stored in polygon order, so the first hit per point is the lowest
        first = np.ones(len(pt), dtype=bool)
        first[1:] = pt[1:] != pt[:-1]
        out[pt[first]] = poly[first]
        return out


@dataclass
class _Index:
    fingerprint: tuple[Any, ...]
    codes: np.ndarray
    geoms: np.ndarray
    tree: shapely.STRtree
    workers: dict[str, int | None]
    names: dict[str, str]
    chains: dict[str, list[RegionOut]]
    outlines: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)
    buckets: _Buckets | None = None

    def batch(self) -> _Buckets:
        if self.buckets is None:
            self.buckets = _Buckets(self.geoms)
        return self.buckets


_index: _Index | None = None
_checked = 0.0


def _fingerprint(session: Session) -> tuple[Any, ...]:
    n, top, total = session.execute(
        select(func.count(), func.max(GridShape.code), func.sum(GridShape.area_m2))
    ).one()
    return (int(n or 0), top, round(float(total or 0.0), 3))


def invalidate() -> None:
    global _index, _checked
    _index, _checked = None, 0.0


def index(session: Session) -> _Index:
    global _index, _checked
    now = time.monotonic()
    if _index is not None and now - _checked < CHECK_SECONDS:
        return _index
    fp = _fingerprint(session)
    _checked = now
    if _index is not None and _index.fingerprint == fp:
        return _index
    rows = session.execute(
        select(GridShape.code, GridShape.geometry, GridShape.grid_worker_id).order_by(GridShape.code)
    ).all()
    codes = np.array([r[0] for r in rows], dtype=object)
    geoms = np.array([shape(r[1]) for r in rows], dtype=object)
    regions = {r.code: r for r in identity.regions(session=session)}

    def chain(code: str) -> list[RegionOut]:
        out = []
        cur = regions.get(code)
        while cur is not None:
            out.append(cur)
            cur = regions.get(cur.parent_code) if cur.parent_code else None
        return list(reversed(out))

    _index = _Index(
        fingerprint=fp,
        codes=codes,
        geoms=geoms,
        tree=shapely.STRtree(geoms),
        workers={r[0]: r[2] for r in rows},
        names={c: regions[c].name if c in regions else c for c in codes},
        chains={c: chain(c) for c in codes},
    )
    return _index


# ---------------------------------------------------------------- locate
def locate(*, session: Session, lon: float, lat: float, crs: str = "wgs84") -> Location | None:
    """The grid containing the point (boundary points go to the lower code), with its region chain."""
    wlon, wlat = to_wgs84(lon, lat, crs)
    idx = index(session)
    hits = idx.tree.query(shapely.Point(wlon, wlat), predicate="intersects")
    if len(hits) == 0:
        return None
    code = min(idx.codes[i] for i in hits)
    return Location(
        lon=wlon,
        lat=wlat,
        grid_code=code,
        grid_name=idx.names[code],
        grid_worker_id=idx.workers.get(code),
        chain=idx.chains[code],
    )


def locate_many(*, session: Session, lons: np.ndarray, lats: np.ndarray) -> np.ndarray:
    """Vectorised: the grid code for each WGS84 point (None outside every grid)."""
    idx = index(session)
    return locate_points(idx, lons, lats)


def locate_points(idx: _Index, lons: np.ndarray, lats: np.ndarray) -> np.ndarray:
    """Grid codes for arrays of WGS84 points (None outside every grid); boundary → lower code."""
    found = idx.batch().locate(np.asarray(lons, dtype=float), np.asarray(lats, dtype=float))
    out = np.full(len(found), None, dtype=object)
    ok = found >= 0
    out[ok] = idx.codes[found[ok]]
    return out


def nearby(*, session: Session, lon: float, lat: float, radius_m: float, crs: str = "wgs84") -> list[GridHit]:
    """Grids within radius_m metres of the point, nearest first (distance 0 = inside)."""
    if radius_m < 0:
        raise Invalid("The radius must not be negative", field="radius_m", code="bad_radius")
    wlon, wlat = to_wgs84(lon, lat, crs)
    idx = index(session)
    kx, ky = m_per_deg_lon(wlat), M_PER_DEG_LAT
    dlon, dlat = radius_m / kx, radius_m / ky
    box = shapely.box(wlon - dlon, wlat - dlat, wlon + dlon, wlat + dlat)
    out = []
    for i in idx.tree.query(box):
        g = idx.geoms[i]
        # distance in a local metric frame around the point
        local = shapely.transform(g, lambda c: (c - [wlon, wlat]) * [kx, ky])
        d = float(shapely.distance(local, shapely.Point(0, 0)))
        if d <= radius_m:
            out.append(GridHit(grid_code=idx.codes[i], distance_m=round(d, 3)))
    return sorted(out, key=lambda h: (h.distance_m, h.grid_code))


def distance_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance in metres (haversine), for point-to-point checks such as duplicates."""
    r = 6_371_008.8
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(a))


# ---------------------------------------------------------------- import
def _problem(
    errors: list[ImportProblem],
    index_: int | None,
    code: str | None,
    problem: str,
    message: str,
    severity: str = "error",
) -> None:
    errors.append(ImportProblem(index=index_, code=code, problem=problem, message=message, severity=severity))


def validate_grids(
    *, session: Session, feature_collection: Any, crs: str = "wgs84", replace: bool = False
) -> tuple[ImportReport, list[tuple[str, str, Any, str | None]]]:
    """Check everything before anything is written. Returns the report and the parsed grids
    (code, name, WGS84 geometry, grid worker username)."""
    errors: list[ImportProblem] = []
    warnings: list[ImportProblem] = []
    if (
        not isinstance(feature_collection, dict)
        or feature_collection.get("type") != "FeatureCollection"
        or not isinstance(feature_collection.get("features"), list)
    ):
        _problem(errors, None, None, "not_feature_collection", "The file is not a GeoJSON FeatureCollection")
        return ImportReport(features=0, imported=0, errors=errors, warnings=warnings), []
    feats = feature_collection["features"]
    parsed: list[tuple[str, str, Any, str | None]] = []
    seen: set[str] = set()
    known = {r.code: r for r in identity.regions(session=session)}
    existing = set(session.scalars(select(GridShape.code)))
    for i, f in enumerate(feats):
        props = (f or {}).get("properties") or {} if isinstance(f, dict) else {}
        code = str(props.get("code", "")).strip()
        name = str(props.get("name", "")).strip() or code
        if not isinstance(f, dict) or f.get("type") != "Feature":
            _problem(errors, i, code or None, "not_feature", "Not a GeoJSON Feature")
            continue
        if not (len(code) == 14 and code.isdigit()):
            _problem(errors, i, code or None, "bad_code", "A unit-grid code has 14 digits")
            continue
        if code in seen:
            _problem(errors, i, code, "duplicate_code", "The same grid code appears twice in the file")
            continue
        seen.add(code)
        if code in existing and not replace:
            _problem(errors, i, code, "grid_exists", "The grid already exists (use replace)")
            continue
        parent = known.get(code[:12])
        if parent is None or parent.level != "community":
            _problem(errors, i, code, "unknown_parent", "Unknown parent community code")
            continue
        geom_json = f.get("geometry")
        if not isinstance(geom_json, dict) or geom_json.get("type") not in ("Polygon", "MultiPolygon"):
            _problem(errors, i, code, "not_polygon", "A grid must be a Polygon or MultiPolygon")
            continue
        try:
            geom = shape(geom_json)
        except Exception:
            _problem(errors, i, code, "broken_geometry", "The geometry cannot be read")
            continue
        if geom.is_empty:
            _problem(errors, i, code, "broken_geometry", "The geometry cannot be read")
            continue
        coords = shapely.get_coordinates(geom)
        if (
            not np.all(np.isfinite(coords))
            or coords[:, 0].min() < -180
            or coords[:, 0].max() > 180
            or coords[:, 1].min() < -90
            or coords[:, 1].max() > 90
        ):
            _problem(errors, i, code, "bad_coordinates", "Coordinates out of range")
            continue
        if crs != "wgs84":
            geom = shapely.transform(
                geom, lambda c: np.array([to_wgs84(x, y, crs) for x, y in c]).reshape(-1, 2)
            )
        if not geom.is_valid:
            _problem(errors, i, code, "invalid_geometry", f"Invalid geometry: {explain_validity(geom)}")
            continue
        parsed.append((code, name, geom, props.get("grid_worker")))
    # overlaps between the new grids and with the grids that stay
    if parsed:
        geoms = np.array([p[2] for p in parsed], dtype=object)
        tree = shapely.STRtree(geoms)
        a_idx, b_idx = tree.query(geoms, predicate="intersects")
        for a, b in zip(a_idx, b_idx, strict=True):
            if a < b:
                inter = shapely.intersection(geoms[a], geoms[b])
                if not inter.is_empty and area_m2(inter) > OVERLAP_TOLERANCE_M2:
                    _problem(
                        errors,
                        None,
                        f"{parsed[a][0]}/{parsed[b][0]}",
                        "overlap",
                        f"Grids overlap by {area_m2(inter):.0f} m²",
                    )
        staying = [c for c in existing if c not in seen]
        if staying:
            idx = index(session)
            keep = np.isin(idx.codes, staying)
            for a, g in enumerate(geoms):
                for j in idx.tree.query(g, predicate="intersects"):
                    if keep[j]:
                        inter = shapely.intersection(g, idx.geoms[j])
                        if not inter.is_empty and area_m2(inter) > OVERLAP_TOLERANCE_M2:
                            _problem(
                                errors,
                                None,
                                f"{parsed[a][0]}/{idx.codes[j]}",
                                "overlap",
                                f"Grids overlap by {area_m2(inter):.0f} m²",
                            )
        # gaps: holes inside a community's union of grids (reported as warnings)
        by_comm: dict[str, list[Any]] = {}
        for code, _n, g, _w in parsed:
            by_comm.setdefault(code[:12], []).append(g)
        for comm, gs in by_comm.items():
            union = shapely.union_all(gs)
            for poly in getattr(union, "geoms", [union]):
                for ring in getattr(poly, "interiors", []):
                    hole = shapely.Polygon(ring)
                    if area_m2(hole) > GAP_TOLERANCE_M2:
                        _problem(
                            warnings,
                            None,
                            comm,
                            "gap",
                            f"A gap of {area_m2(hole):.0f} m² inside the community's grids",
                            "warning",
                        )
    for _code, _name, _g, worker in parsed:
        if worker:
            try:
                identity.get_user(session=session, username=str(worker))
            except NotFound:
                _problem(errors, None, _code, "unknown_grid_worker", "Unknown grid worker user name")
    report = ImportReport(features=len(feats), imported=0, errors=errors, warnings=warnings)
    return report, parsed


def import_grids(
    *, session: Session, actor: Principal, feature_collection: Any, crs: str = "wgs84", replace: bool = False
) -> ImportReport:
    """Validate every feature, then write all grids or none. Raises Invalid with the report."""
    authorize(actor, "geo.import")
    report, parsed = validate_grids(
        session=session, feature_collection=feature_collection, crs=crs, replace=replace
    )
    if not report.ok:
        raise Invalid(
            "The grid file has errors; nothing was imported",
            code="grid_import_failed",
            details=report.model_dump(mode="json"),
        )
    workers: dict[str, int] = {}
    for _c, _n, _g, w in parsed:
        if w and w not in workers:
            workers[w] = identity.get_user(session=session, username=str(w)).id
    existing = set(session.scalars(select(GridShape.code)))
    new_regions = []
    rows = []
    for code, name, geom, worker in parsed:
        minx, miny, maxx, maxy = geom.bounds
        c = geom.representative_point()
        row = {
            "code": code,
            "community_code": code[:12],
            "geometry": mapping(geom),
            "min_lon": minx,
            "min_lat": miny,
            "max_lon": maxx,
            "max_lat": maxy,
            "area_m2": area_m2(geom),
            "grid_worker_id": workers.get(worker) if worker else None,
        }
        if code in existing:
            session.execute(update(GridShape).where(GridShape.code == code).values(**row))
            identity.rename_region(session=session, code=code, name=name)
        else:
            new_regions.append(
                RegionIn(
                    code=code,
                    name=name,
                    level="grid",
                    parent_code=code[:12],
                    lon=round(c.x, 6),
                    lat=round(c.y, 6),
                )
            )
            rows.append(row)
    identity.add_regions_bulk(session=session, regions=new_regions)
    if rows:
        session.execute(insert(GridShape), _jsonable(rows))
    session.flush()
    report.imported = len(parsed)
    audit.record(
        session,
        actor=actor.actor,
        action="geo.grids.import",
        subject_type="grids",
        subject_id=len(parsed),
        payload={
            "codes": [p[0] for p in parsed][:1000],
            "count": len(parsed),
            "replace": replace,
            "crs": crs,
            "warnings": len(report.warnings),
        },
    )
    invalidate()
    return report


def _jsonable(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    import json

    for r in rows:
        r["geometry"] = json.loads(json.dumps(r["geometry"]))
    return rows


def assign_grid_worker(*, session: Session, actor: Principal, grid_code: str, user_id: int | None) -> None:
    authorize(actor, "geo.import")
    row = session.get(GridShape, grid_code)
    if row is None:
        raise NotFound("Grid not found", params={"code": grid_code})
    row.grid_worker_id = user_id
    audit.record(
        session,
        actor=actor.actor,
        action="geo.grid.worker",
        subject_type="grid",
        subject_id=grid_code,
        payload={"user_id": user_id},
    )
    invalidate()


def assign_grid_workers(*, session: Session, actor: Principal, workers: dict[str, int]) -> int:
    """Set the grid worker of many grids at once (grid code → user id); one audit record."""
    authorize(actor, "geo.import")
    known = set(session.scalars(select(GridShape.code).where(GridShape.code.in_(list(workers)))))
    missing = sorted(set(workers) - known)
    if missing:
        raise NotFound("Grid not found", params={"code": missing[0]})
    for code, uid in workers.items():
        session.execute(update(GridShape).where(GridShape.code == code).values(grid_worker_id=uid))
    audit.record(
        session,
        actor=actor.actor,
        action="geo.grid.workers",
        subject_type="grids",
        subject_id=len(workers),
        payload={"count": len(workers)},
    )
    invalidate()
    return len(workers)


# ---------------------------------------------------------------- outlines for the map
def outlines(*, session: Session, level: str, under: str | None = None, crs: str = "wgs84") -> dict[str, Any]:
    """A FeatureCollection of the region outlines at `level` (district … grid) under a region code:
    districts, streets and communities are the union of their grids. Cached with the index."""
    if level not in ("district", "street", "community", "grid"):
        raise Invalid("level must be district, street, community or grid", field="level", code="bad_level")
    idx = index(session)
    key = (level, under or "", crs)
    if key in idx.outlines:
        return idx.outlines[key]
    n = LEVEL_CODE_LENGTH[level]
    prefix = division_prefix(under) if under else ""
    mask = np.array([c.startswith(prefix) for c in idx.codes], dtype=bool)
    groups: dict[str, list[Any]] = {}
    for code, g in zip(idx.codes[mask], idx.geoms[mask], strict=True):
        groups.setdefault(code[:n], []).append(g)
    regions = {r.code: r for r in identity.regions(session=session, under=under)}
    worker_names = {}
    if level == "grid":
        ids = {idx.workers.get(c) for c in groups if idx.workers.get(c)}
        for uid in ids:
            with contextlib.suppress(NotFound):  # a deleted user simply shows no name
                worker_names[uid] = identity.get_user(session=session, id=uid).display_name
    feats = []
    for code, gs in sorted(groups.items()):
        geom = gs[0] if len(gs) == 1 else shapely.union_all(gs)
        if level != "grid":
            geom = geom.simplify(0.0002, preserve_topology=True)
        if crs != "wgs84":
            geom = shapely.transform(
                geom, lambda c: np.array([from_wgs84(x, y, crs) for x, y in c]).reshape(-1, 2)
            )
        r = regions.get(code)
        inside = geom.representative_point()  # a point surely inside, in `crs` (for a label or a pin)
        props: dict[str, Any] = {
            "code": code,
            "name": r.name if r else code,
            "level": level,
            "grids": len(gs),
            "point": [round(inside.x, 6), round(inside.y, 6)],
        }
        if level == "grid":
            uid = idx.workers.get(code)
            props["grid_worker"] = worker_names.get(uid, "") if uid else ""
        feats.append(
            {"type": "Feature", "properties": props, "geometry": mapping(shapely.set_precision(geom, 1e-6))}
        )
    fc = {"type": "FeatureCollection", "features": feats}
    idx.outlines[key] = fc
    return fc


# ---------------------------------------------------------------- the citizen's pin (geo.pin)
PIN_LEVELS = ("district", "street", "community")
SNAP_M = 300.0  # a pin dropped this close outside the city's grids moves onto the nearest one


def pin_outlines(*, session: Session, level: str, under: str | None = None) -> dict[str, Any]:
    """The administrative outlines a report form's map draws (district, street, community): the
    shapes with code, name and a point inside — none of what geo.view shows (grid workers, counts,
    the unit grids' own shapes)."""
    if level not in PIN_LEVELS:
        raise Invalid("level must be district, street or community", field="level", code="bad_level")
    fc = outlines(session=session, level=level, under=under)
    keep = ("code", "name", "level", "point")
    return {
        "type": "FeatureCollection",
        "features": [
            {**f, "properties": {k: f["properties"][k] for k in keep if k in f["properties"]}}
            for f in fc["features"]
        ],
    }


def pin_place(*, session: Session, lon: float, lat: float) -> PinPlace | None:
    """The grid a WGS84 pin falls in, with its address; a pin within SNAP_M metres outside every
    grid moves onto the nearest grid's edge (snapped); farther out: None."""
    loc = locate(session=session, lon=lon, lat=lat)
    snapped = False
    if loc is None:
        hits = nearby(session=session, lon=lon, lat=lat, radius_m=SNAP_M)
        if not hits:
            return None
        idx = index(session)
        g = idx.geoms[int(np.flatnonzero(idx.codes == hits[0].grid_code)[0])]
        # the nearest point of the grid, nudged inside so it locates to that grid
        edge = shapely.ops.nearest_points(g, shapely.Point(lon, lat))[0]
        inside = g.representative_point()
        p = shapely.Point(edge.x + (inside.x - edge.x) * 1e-3, edge.y + (inside.y - edge.y) * 1e-3)
        if not g.contains(p):
            p = inside
        loc = locate(session=session, lon=p.x, lat=p.y)
        if loc is None:
            return None
        snapped = True
    chain = [r for r in loc.chain if r.level != "city"]
    return PinPlace(
        lon=round(loc.lon, 7),
        lat=round(loc.lat, 7),
        snapped=snapped,
        grid_code=loc.grid_code,
        grid_name=loc.grid_name,
        address=" ".join(r.name for r in chain),
        chain=[{"code": r.code, "name": r.name, "level": r.level} for r in chain],
    )


def grid_count(*, session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(GridShape)) or 0)


# ---------------------------------------------------------------- grid polygons for other modules
def to_wgs84_point(*, lon: float, lat: float, crs: str = "wgs84") -> tuple[float, float]:
    """A point in WGS84 from the coordinate system a browser or map sent (wgs84, gcj02, bd09)."""
    return to_wgs84(lon, lat, crs)


def grid_polygons(
    *, session: Session, worker_id: int | None = None, under: str | None = None
) -> dict[str, Any]:
    """WGS84 Shapely polygons by grid code: a grid worker's own grids, or every grid under a region
    code, or both filters at once. Shapely geometries are immutable values, not rows, so the
    caller shares nothing with geo's tables."""
    idx = index(session)
    prefix = division_prefix(under) if under else ""
    return {
        str(c): g
        for c, g in zip(idx.codes, idx.geoms, strict=True)
        if str(c).startswith(prefix) and (worker_id is None or idx.workers.get(c) == worker_id)
    }


def grids_along(*, session: Session, lons: list[float], lats: list[float]) -> list[str]:
    """The codes of the grids a WGS84 track touches, sorted: those its points fall in and those
    its segments cross between two points (a walk straight through a grid between two fixes
    still covers it), by one STRtree query of the track's LineString."""
    raw = list(zip(lons, lats, strict=True))
    # drop only repeated consecutive fixes (a worker standing still); a revisit keeps the path
    pts = [q for i, q in enumerate(raw) if i == 0 or q != raw[i - 1]]
    if not pts:
        return []
    geom: Any = shapely.Point(pts[0]) if len(pts) == 1 else shapely.LineString(pts)
    idx = index(session)
    return sorted(str(idx.codes[i]) for i in idx.tree.query(geom, predicate="intersects"))


def grid_names(*, session: Session, codes: list[str]) -> dict[str, str]:
    """The names of grids by code (an unknown code names itself)."""
    idx = index(session)
    return {c: idx.names.get(c, c) for c in codes}
