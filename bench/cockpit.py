"""领导驾驶舱: recompute every metric of the demo city, the screens' data server-side, and the time
to the first full paint of each big screen in headless chromium (issue goals: all metrics of a city
recomputed in ≤ 10 s; every screen's data in ≤ 50 ms p99 from stored values).

    .venv/bin/python bench/cockpit.py [--scale small|city] [--home DIR] [--requests 200]

Without --home a demo city of the given scale is built under bench/.data/cockpit-<scale> (the real
builder: cases, catalog, the cockpit's figures published through the catalog). Then:
  1. recompute: `compute.refresh(force=True)` over every metric, timed three times;
  2. screen data: `screens.screen()` called directly (the assembly from stored values, what the
     goal is about), then GET /api/v1/cockpit/screens/{theme} in process (FastAPI TestClient, a
     leader's session: adds routing, the session check and JSON), `--requests` per theme, p50/p99;
  3. first full paint: uvicorn on 127.0.0.1, Debian chromium via Playwright at 1920×1080: time from
     navigation to the screen's data drawn and every chart canvas non-empty.
Prints one line per figure with `cat /proc/loadavg` (the machine is shared).
"""

from __future__ import annotations

import argparse
import os
import platform
import socket
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
THEMES = ("city", "economy", "livelihood")
EMPTY = """() => Array.from(document.querySelectorAll('canvas')).filter(c => {
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  for (let i = 3; i < d.length; i += 4) if (d[i]) return false; return true; }).length"""


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(p / 100 * (len(xs) - 1)))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", default="small", choices=["small", "city"])
    ap.add_argument("--home", type=Path)
    ap.add_argument("--requests", type=int, default=200)
    a = ap.parse_args()
    home = a.home or ROOT / "bench" / ".data" / f"cockpit-{a.scale}"
    os.environ["CITYOS_HOME"] = str(home)
    from cityos.core.db import use_db
    from cityos.core.settings import load_settings, use_settings
    from cityos.demo import builder

    settings = load_settings({"CITYOS_HOME": str(home)})
    use_settings(settings)
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    print(f"# cockpit bench · {platform.node()} · {when} · scale {a.scale}")
    if a.home is None or not (home / "cityos.db").exists():
        t0 = time.perf_counter()
        ctx = builder.build(scale=a.scale)
        db = ctx.db
        print(f"demo city built in {time.perf_counter() - t0:.1f} s (load {load()})")
    else:
        from cityos.core.db import Database, make_engine

        db = Database(make_engine(settings.database_url))
        use_db(db)
    from cityos.cockpit import compute, store
    from cityos.identity import service as identity

    with db.reader() as s:
        n_metrics = len(store.definitions(s))
        districts = len(identity.regions(session=s, level="district"))
    runs = []
    for _ in range(3):
        t0 = time.perf_counter()
        n = compute.refresh(db, force=True)
        runs.append(time.perf_counter() - t0)
    print(
        f"recompute all {n} of {n_metrics} metrics ({districts} districts): best {min(runs):.2f} s, "
        f"runs {', '.join(f'{r:.2f}' for r in runs)} s (load {load()})"
    )

    from cityos.cockpit import screens

    with db.reader() as s:
        leader = identity.principal_for(session=s, username="leader")
    for theme in THEMES:
        times = []
        for _ in range(a.requests):
            t0 = time.perf_counter()
            with db.reader() as s:
                screens.screen(session=s, actor=leader, theme=theme)
            times.append((time.perf_counter() - t0) * 1000)
        print(
            f"screen data {theme} (function): p50 {statistics.median(times):.1f} ms, "
            f"p99 {pct(times, 99):.1f} ms ({a.requests} calls) (load {load()})"
        )

    from fastapi.testclient import TestClient

    from cityos.web.app import create_app

    app = create_app(settings=settings, db=db)
    with TestClient(app, base_url="http://testserver") as c:
        c.post("/login", data={"username": "leader", "password": builder.PASSWORDS["leader"], "next": "/"})
        for theme in THEMES:
            times = []
            for _ in range(a.requests):
                t0 = time.perf_counter()
                r = c.get(f"/api/v1/cockpit/screens/{theme}")
                times.append((time.perf_counter() - t0) * 1000)
                assert r.status_code == 200, r.text
            print(
                f"screen data {theme} (HTTP): p50 {statistics.median(times):.1f} ms, "
                f"p99 {pct(times, 99):.1f} ms ({a.requests} requests, in process) (load {load()})"
            )
    paint(app)


def paint(app: object) -> None:
    import uvicorn
    from playwright.sync_api import sync_playwright

    from cityos.demo import builder

    with socket.socket() as sk:
        sk.bind(("127.0.0.1", 0))
        port = sk.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))  # type: ignore[arg-type]
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    url = f"http://127.0.0.1:{port}"
    with sync_playwright() as pw:
        b = pw.chromium.launch(
            executable_path="/usr/bin/chromium", headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        page = b.new_context(locale="zh-CN", viewport={"width": 1920, "height": 1080}).new_page()
        page.goto(f"{url}/login")
        page.fill("input[name=username]", "leader")
        page.fill("input[name=password]", builder.PASSWORDS["leader"])
        page.click("button[type=submit]")
        page.wait_for_load_state("networkidle")
        for theme in THEMES:
            for attempt in ("cold", "warm"):
                t0 = time.perf_counter()
                page.goto(f"{url}/cockpit/screen/{theme}")
                page.wait_for_selector("#bigscreen[data-loaded='1']", timeout=60_000)
                page.wait_for_function(
                    f"() => ({EMPTY})() === 0 && !!document.querySelector('#chart-map canvas')",
                    timeout=60_000,
                )
                ms = (time.perf_counter() - t0) * 1000
                print(f"first full paint {theme} ({attempt}): {ms:.0f} ms (load {load()})")
        b.close()
    server.should_exit = True


if __name__ == "__main__":
    main()
