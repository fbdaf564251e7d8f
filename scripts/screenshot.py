"""Screenshots of the running demo city for the README (Debian chromium through Playwright).

.venv/bin/cityos demo --no-serve && .venv/bin/cityos serve --port 8000 &
.venv/bin/python scripts/screenshot.py [--url http://127.0.0.1:8000] [--out docs/screenshots]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from playwright.sync_api import sync_playwright

ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", default="http://127.0.0.1:8000")
    ap.add_argument("--out", default="docs/screenshots")
    ap.add_argument("--user", default="admin")
    ap.add_argument("--password", default="demo-admin-2026")
    a = ap.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=ARGS)
        page = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 800}).new_page()
        page.goto(f"{a.url}/login")
        page.screenshot(path=str(out / "login.png"))
        page.fill("input[name=username]", a.user)
        page.fill("input[name=password]", a.password)
        page.click("button[type=submit]")
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(out / "home.png"))
        page.goto(f"{a.url}/geo/map")
        page.locator("#gridmap[data-level='district']").wait_for()
        page.wait_for_timeout(600)
        page.screenshot(path=str(out / "grid-map.png"))
        page.goto(f"{a.url}/admin/regions")
        page.click("summary >> nth=0")
        page.wait_for_timeout(500)
        page.screenshot(path=str(out / "admin-regions.png"))
        browser.close()
    print(f"screenshots written to {out}/")


if __name__ == "__main__":
    main()
