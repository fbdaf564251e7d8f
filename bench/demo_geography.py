"""How long the demo city's real geography takes: generating the regions and unit grids inside the
real district outlines (demo/geometry.py) at both scales, and importing the grids through
geo.service.import_grids (every check included) into a fresh SQLite file. Prints the figures with
the machine and load average.

    .venv/bin/python bench/demo_geography.py [--scale small|city|both]
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", default="both", choices=["small", "city", "both"])
    args = ap.parse_args()

    from cityos.core.db import Database, make_engine, use_db
    from cityos.core.migrate import upgrade
    from cityos.core.settings import load_settings, use_settings
    from cityos.demo.builder import SEED
    from cityos.demo.geometry import districts, divisions, generate
    from cityos.geo import service as geo
    from cityos.identity import service as identity
    from cityos.identity.schemas import Principal, RegionIn

    print(f"machine: {platform.machine()} {os.cpu_count()} cpus, python {platform.python_version()}")
    t = time.perf_counter()
    districts(), divisions()
    print(f"load the data files: {time.perf_counter() - t:.2f} s")
    admin = Principal(kind="user", id=0, username="bench", display_name="bench", roles=frozenset({"admin"}))
    for scale in ("small", "city") if args.scale == "both" else (args.scale,):
        load = os.getloadavg()
        t = time.perf_counter()
        g = generate(scale, seed=SEED)
        gen_s = time.perf_counter() - t
        with tempfile.TemporaryDirectory() as home:
            use_settings(load_settings({"CITYOS_HOME": home}))
            db = Database(make_engine(f"sqlite:///{home}/bench.db"))
            use_db(db)
            upgrade(db.engine)
            regions = [
                RegionIn(
                    code=r.code, name=r.name, level=r.level, parent_code=r.parent_code, lon=r.lon, lat=r.lat
                )
                for r in g.regions
            ]
            t = time.perf_counter()
            with db.transaction() as s:
                identity.add_regions_bulk(session=s, regions=regions)
                geo.import_grids(session=s, actor=admin, feature_collection=g.grids)
            imp_s = time.perf_counter() - t
            db.engine.dispose()
            use_db(None)
            use_settings(None)
        print(
            f"{scale}: {len(g.regions)} regions, {g.grid_count} grids; generate {gen_s:.2f} s, "
            f"import (validated) {imp_s:.2f} s; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
        )


if __name__ == "__main__":
    main()
