"""The demo city's geography: 临沂市 (371300) from real data — the real outlines of its 12 districts
and counties, its real 街道/乡镇 (9-digit codes) and 村/社区 (12-digit codes) with their real names —
and unit grids generated inside the real outlines.

The data files under demo/data/ are built from two npm packages by scripts/build_geodata.py (see
docs/geo.md): nothing is decoded or downloaded here. Streets and communities have no outlines in
the data, so each district's real outline is shared out among its streets, each street's among its
communities and each community's among its grids, every time as the Voronoi cells of seed points
spread over the polygon (farthest-point sampling) clipped to it with Shapely. The cells of one
diagram share their edges exactly, so grids tile their community, communities their street and
streets their district: the union of a district's grids is its real outline. 街道 lie near the
urban centre, 乡镇 around them. Deterministic for a seed.

Scales: `city` has all 12 districts, 154 streets, 4,147 communities and 12,387 unit grids (Linyi's
published count), shared out by area with urban communities weighted up; `small` has the three
central districts, their 30 streets, the first four communities of each street and 300 grids.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.geometry import mapping, shape

DATA = Path(__file__).parent / "data"
CITY = ("371300", "临沂市", 118.3505, 35.0567)  # the city centre (WGS84), at 兰山区's urban core
COUNTY_SEATS = {  # (lon, lat) of each county town, where its 街道 are (WGS84)
    "371321": (118.465, 35.550),
    "371322": (118.367, 34.613),
    "371323": (118.628, 35.790),
    "371324": (118.071, 34.858),
    "371325": (117.977, 35.266),
    "371326": (117.640, 35.506),
    "371327": (118.835, 35.175),
    "371328": (117.945, 35.710),
    "371329": (118.650, 34.920),
}
URBAN = ("371302", "371311", "371312")  # the three districts of the urban area
SCALES: dict[str, dict[str, Any]] = {
    "small": {"grids": 300, "districts": URBAN, "communities_per_street": 4},
    "city": {"grids": 12_387, "districts": None, "communities_per_street": None},
}
M_PER_DEG_LAT = 110_574.0


@dataclass
class RegionRow:
    code: str
    name: str
    level: str
    parent_code: str | None
    lon: float
    lat: float


@dataclass
class CityGeography:
    city_code: str
    city_name: str
    regions: list[RegionRow] = field(default_factory=list)  # city, districts, streets, communities
    grids: dict[str, Any] = field(default_factory=dict)  # GeoJSON FeatureCollection of unit grids
    outlines: dict[str, Any] = field(default_factory=dict)  # the districts' real outlines by code

    @property
    def grid_count(self) -> int:
        return len(self.grids.get("features", []))


@cache
def districts() -> list[tuple[str, str, Any]]:
    """(code, name, WGS84 Shapely outline) of the 12 districts and counties."""
    fc = json.loads((DATA / "linyi_districts.geojson").read_text(encoding="utf-8"))
    return [(f["properties"]["code"], f["properties"]["name"], shape(f["geometry"])) for f in fc["features"]]


@cache
def divisions() -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(code, name) of the streets (9 digits) and communities (12 digits), sorted by code."""
    d = json.loads((DATA / "linyi_divisions.json").read_text(encoding="utf-8"))
    return [(s[0], s[1]) for s in d["streets"]], [(c[0], c[1]) for c in d["communities"]]


DISTRICTS = [(code, name) for code, name, _g in districts()]


def _kx(lat: float) -> float:
    return 111_320.0 * math.cos(math.radians(lat))


def _sample(poly: Any, n: int, rng: np.random.Generator) -> np.ndarray:
    """n uniform random points inside a polygon (rejection over its bounds)."""
    minx, miny, maxx, maxy = poly.bounds
    out: list[np.ndarray] = []
    got = 0
    shapely.prepare(poly)
    while got < n:
        k = max(64, 2 * (n - got))
        xs, ys = rng.uniform(minx, maxx, k), rng.uniform(miny, maxy, k)
        ok = shapely.contains_xy(poly, xs, ys)
        pts = np.column_stack([xs[ok], ys[ok]])
        out.append(pts)
        got += len(pts)
    return np.vstack(out)[:n]


def _spread(poly: Any, k: int, rng: np.random.Generator, fixed: np.ndarray | None = None) -> np.ndarray:
    """k seed points spread evenly over a polygon: farthest-point sampling among random candidates
    (distances in metres), after the `fixed` seeds if any."""
    cand = _sample(poly, max(40 * k, 120), rng)
    kx = _kx(poly.centroid.y) / M_PER_DEG_LAT
    scale = np.array([kx, 1.0])
    chosen: list[np.ndarray] = [] if fixed is None else list(fixed)
    if chosen:
        d = np.min([(((cand - c) * scale) ** 2).sum(1) for c in chosen], axis=0)
    else:
        first = cand[0]
        chosen.append(first)
        d = (((cand - first) * scale) ** 2).sum(1)
        k -= 1
    for _ in range(k):
        i = int(d.argmax())
        chosen.append(cand[i])
        d = np.minimum(d, (((cand - cand[i]) * scale) ** 2).sum(1))
    return np.array(chosen if fixed is None else chosen[len(fixed) :])


def _cells(poly: Any, seeds: np.ndarray) -> list[Any]:
    """The Voronoi cells of the seeds clipped to the polygon, in the seeds' order."""
    if len(seeds) == 1:
        return [poly]
    minx, miny, maxx, maxy = poly.bounds
    env = shapely.box(minx - 1, miny - 1, maxx + 1, maxy + 1)
    vor = shapely.voronoi_polygons(shapely.MultiPoint(seeds), extend_to=env, ordered=True)
    out = []
    for cell in vor.geoms:
        piece = shapely.intersection(cell, poly)  # full precision: neighbours share their edges exactly
        parts = [g for g in getattr(piece, "geoms", [piece]) if g.geom_type == "Polygon" and not g.is_empty]
        out.append(parts[0] if len(parts) == 1 else shapely.MultiPolygon(parts))
    return out


def _order_nw(geoms: list[Any]) -> list[int]:
    """Indexes of the polygons north-west first, so codes read like a map."""
    pts = [g.representative_point() for g in geoms]
    return sorted(range(len(geoms)), key=lambda i: (-round(pts[i].y, 3), pts[i].x))


def _grid_budget(areas: np.ndarray, urban: np.ndarray, total: int) -> np.ndarray:
    """Grids per community: at least one each, the rest by area (urban communities count 6×),
    largest remainders first, at most 99 (a grid code's two digits)."""
    n = np.ones(len(areas), dtype=int)
    extra = total - len(areas)
    if extra <= 0:
        return n
    w = areas * np.where(urban, 6.0, 1.0)
    share = extra * w / w.sum()
    n += np.floor(share).astype(int)
    rest = total - int(n.sum())
    order = np.argsort(-(share - np.floor(share)), kind="stable")
    n[order[:rest]] += 1
    over = n > 99
    if over.any():
        spill = int((n[over] - 99).sum())
        n[over] = 99
        room = np.flatnonzero(n < 99)
        n[room[np.argsort(-w[room], kind="stable")[:spill]]] += 1
    return n


def _centre(code: str, outline: Any) -> tuple[float, float]:
    if code in URBAN:
        return CITY[2], CITY[3]
    if code in COUNTY_SEATS:
        return COUNTY_SEATS[code]
    p = outline.representative_point()
    return p.x, p.y


def _point(geom: Any) -> tuple[float, float]:
    p = geom.representative_point()
    return round(p.x, 6), round(p.y, 6)


def generate(scale: str = "small", seed: int = 371300) -> CityGeography:
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {list(SCALES)}")
    conf = SCALES[scale]
    rng = np.random.default_rng(seed)
    wanted = conf["districts"]
    streets_all, comms_all = divisions()
    geo = CityGeography(CITY[0], CITY[1])
    geo.regions.append(RegionRow(CITY[0], CITY[1], "city", None, CITY[2], CITY[3]))
    communities: list[tuple[str, str, Any]] = []  # (code, name, polygon) in code order
    for dcode, dname, outline in districts():
        if wanted is not None and dcode not in wanted:
            continue
        geo.outlines[dcode] = outline
        geo.regions.append(RegionRow(dcode, dname, "district", CITY[0], *_point(outline)))
        streets = [s for s in streets_all if s[0][:6] == dcode]
        # 街道 (codes 001–099) nearest the urban centre, 乡镇 spread over the rest of the district
        urban = [s for s in streets if s[0][6] == "0"]
        rural = [s for s in streets if s[0][6] != "0"]
        cx, cy = _centre(dcode, outline)
        near = outline.intersection(shapely.Point(cx, cy).buffer(0.03 + 0.006 * len(urban)))
        fixed = _spread(near if not near.is_empty else outline, len(urban), rng) if urban else None
        seeds = _spread(outline, len(rural), rng, fixed=fixed) if rural else np.empty((0, 2))
        all_seeds = np.vstack([s for s in (fixed, seeds) if s is not None and len(s)])
        cells = _cells(outline, all_seeds)
        for (scode, sname), cell in zip(urban + rural, cells, strict=True):
            geo.regions.append(RegionRow(scode, sname, "street", dcode, *_point(cell)))
            mine = [c for c in comms_all if c[0][:9] == scode]
            if conf["communities_per_street"]:
                mine = mine[: conf["communities_per_street"]]
            if not mine:
                continue
            for (ccode, cname), ccell in zip(mine, _cells(cell, _spread(cell, len(mine), rng)), strict=True):
                communities.append((ccode, cname, ccell))
    communities.sort(key=lambda c: c[0])
    areas = np.array([c[2].area * _kx(c[2].centroid.y) * M_PER_DEG_LAT for c in communities])
    urban_c = np.array([name.endswith("社区") for _c, name, _g in communities])
    budget = _grid_budget(areas, urban_c, int(conf["grids"]))
    features: list[dict[str, Any]] = []
    for (ccode, cname, cpoly), n in zip(communities, budget, strict=True):
        geo.regions.append(RegionRow(ccode, cname, "community", ccode[:9], *_point(cpoly)))
        cells = _cells(cpoly, _spread(cpoly, int(n), rng))
        for gi, k in enumerate(_order_nw(cells), start=1):
            features.append(
                {
                    "type": "Feature",
                    "properties": {"code": f"{ccode}{gi:02d}", "name": f"{cname}第{gi}网格"},
                    "geometry": mapping(cells[k]),
                }
            )
    geo.grids = {"type": "FeatureCollection", "features": features}
    return geo


def inner_box(geom: Any) -> tuple[float, float, float, float]:
    """A box (minx, miny, maxx, maxy) inside a grid, around its representative point: where the
    demo drops random points that must fall in this grid."""
    p = geom.representative_point()
    minx, miny, maxx, maxy = geom.bounds
    h = min(maxx - minx, maxy - miny) / 4
    shapely.prepare(geom)
    while h > 1e-6:
        box = (p.x - h, p.y - h, p.x + h, p.y + h)
        if geom.contains(shapely.box(*box)):
            return box
        h /= 2
    return (p.x, p.y, p.x, p.y)
