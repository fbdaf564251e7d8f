"""Points located per second against the city-scale demo grids (12,387 unit grids of 临沂市),
CityOS's batch locator (a bucket grid over prepared polygons, `shapely.intersects_xy`, no Point
objects) versus geopandas `sjoin` on the same points and polygons, in the same run. Prints both
figures, the ratio, and how often the two answers agree.

    .venv/bin/python bench/geo_locate.py [--points 1000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import platform
import time
import warnings

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--points", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    import geopandas as gpd
    import shapely
    from shapely.geometry import shape

    from cityos.demo.geometry import generate
    from cityos.geo.service import _Index, locate_points

    geo = generate("city")
    feats = geo.grids["features"]
    codes = np.array([f["properties"]["code"] for f in feats], dtype=object)
    geoms = np.array([shape(f["geometry"]) for f in feats], dtype=object)
    t0 = time.perf_counter()
    idx = _Index(
        fingerprint=(), codes=codes, geoms=geoms, tree=shapely.STRtree(geoms), workers={}, names={}, chains={}
    )
    idx.batch()  # the bucket grid is part of building the index; timed here, not in the queries
    build_s = time.perf_counter() - t0

    rng = np.random.default_rng(1)
    minx, miny, maxx, maxy = shapely.total_bounds(geoms)
    lons = rng.uniform(minx, maxx, args.points)
    lats = rng.uniform(miny, maxy, args.points)

    def best(fn):  # type: ignore[no-untyped-def]
        times = []
        out = None
        for _ in range(args.repeat):
            t = time.perf_counter()
            out = fn()
            times.append(time.perf_counter() - t)
        return min(times), out

    ours_s, ours = best(lambda: locate_points(idx, lons, lats))

    grids = gpd.GeoDataFrame({"code": codes}, geometry=list(geoms), crs="EPSG:4326")

    def gpd_join():  # type: ignore[no-untyped-def]
        pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(lons, lats), crs="EPSG:4326")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            j = gpd.sjoin(pts, grids, how="left", predicate="intersects")
        j = j[~j.index.duplicated(keep="first")]
        return j["code"].to_numpy()

    gpd_s, theirs = best(gpd_join)

    found = np.array([c is not None for c in ours])
    agree = np.mean(
        [(a == b) or (a is None and not isinstance(b, str)) for a, b in zip(ours, theirs, strict=True)]
    )
    ours_rate, gpd_rate = args.points / ours_s, args.points / gpd_s
    print(
        f"machine: {platform.machine()} {platform.processor() or ''} python {platform.python_version()}, "
        f"shapely {shapely.__version__}, geopandas {gpd.__version__}"
    )
    print(
        f"grids: {len(geoms):,} (index built in {build_s * 1000:.0f} ms); points: {args.points:,} uniform "
        f"over the city's bounding box, {found.mean():.1%} inside a grid; best of {args.repeat}"
    )
    print(f"cityos  locate_points : {ours_rate:12,.0f} points/s  ({ours_s:.3f} s)")
    print(f"geopandas sjoin       : {gpd_rate:12,.0f} points/s  ({gpd_s:.3f} s)")
    print(f"ratio cityos/geopandas: {ours_rate / gpd_rate:.2f}x   answers agree on {agree:.4%} of points")


if __name__ == "__main__":
    main()
