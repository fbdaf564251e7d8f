"""Browser tests: Debian's chromium driven by Playwright (executable_path; never a downloaded
browser) against the demo city served over real HTTP.

`live_city` serves a private copy of the process's small demo city (`demo_template`, a temporary
CITYOS_HOME: SQLite file, real commits) with uvicorn on a free 127.0.0.1 port. Mark browser tests
`@pytest.mark.e2e` and `@pytest.mark.xdist_group("e2e")` so that under `pytest -n 2 --dist
loadgroup` they share one worker and one demo city.
In CI (CI=true) a missing chromium fails the run; elsewhere the tests skip with the reason.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("CITYOS_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]


@dataclass
class LiveCity:
    url: str
    home: Path
    passwords: dict[str, str]
    db: object


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def live_city(demo_template: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveCity]:
    from cityos.demo import builder
    from cityos.web.app import create_app

    home = tmp_path_factory.mktemp("live-city") / "home"
    with demo_template.copy(home) as (settings, ctx):
        yield from _serve(create_app(settings=settings, db=ctx.db), home, builder.PASSWORDS, ctx.db)


def _serve(app: object, home: Path, passwords: dict[str, str], db: object) -> Iterator[LiveCity]:
    import uvicorn

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.05)
    yield LiveCity(url=f"http://127.0.0.1:{port}", home=home, passwords=passwords, db=db)
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists() or shutil.which(CHROMIUM) is None:
        reason = f"Debian chromium not found at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, live_city):  # type: ignore[no-untyped-def]
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 860})
    p = context.new_page()
    p.set_default_timeout(15_000)
    yield p
    context.close()


@pytest.fixture
def phone(browser, live_city):  # type: ignore[no-untyped-def]
    """A phone-sized page (grid workers, inspectors and citizens work on phones)."""
    context = browser.new_context(
        locale="zh-CN", viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    p = context.new_page()
    p.set_default_timeout(15_000)
    yield p
    context.close()


def login(page, live_city: LiveCity, username: str, password: str | None = None) -> None:  # type: ignore[no-untyped-def]
    """Log in through the login form as a person would."""
    from cityos.demo.builder import ACCOUNTS

    if password is None:
        role = next(r for r, (u, _d, _g) in ACCOUNTS.items() if u == username)
        password = live_city.passwords[role]
    page.goto(f"{live_city.url}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")


def screenshot(page, name: str) -> Path:  # type: ignore[no-untyped-def]
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
