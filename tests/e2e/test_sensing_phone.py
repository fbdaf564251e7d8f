"""城市感知 on a phone (390×844) and a desktop (1440×900): the device list and map, a device page
with its chart, the alarm console, the rule editor and the camera page (the demo city's cameras,
one shared with 城管局, with the snapshot the crowd rule turned into a case) are never wider than
the screen. The dispatcher of 城管局 sees only the camera shared with the department. Screenshots
go to test-artifacts/sensing-*.png."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import login, screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1440, "height": 900}
PAGES = ["/sensing", "/sensing/devices/ly-dr-0000", "/sensing/alarms", "/sensing/rules", "/sensing/cameras"]
WIDTH = "() => [document.documentElement.scrollWidth, document.body.scrollWidth, window.innerWidth]"
# tables cut at the screen's edge or by a scrolling wrapper (columns the reader cannot reach)
CLIPPED = """() => Array.from(document.querySelectorAll("main table")).filter(t =>
  t.getBoundingClientRect().right > window.innerWidth + 1 || t.scrollWidth > t.clientWidth + 1 ||
  (t.parentElement && t.parentElement.scrollWidth > t.parentElement.clientWidth + 1)).length"""


def _visit(browser, live_city, viewport, tag: str, role: str) -> None:  # type: ignore[no-untyped-def]
    mobile = viewport["width"] < 600
    context = browser.new_context(locale="zh-CN", viewport=viewport, is_mobile=mobile, has_touch=mobile)
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        login(page, live_city, role)
        for path in PAGES:
            page.goto(f"{live_city.url}{path}")
            page.wait_for_load_state("networkidle")
            doc, body, inner = page.evaluate(WIDTH)
            where = f"{tag} {role} {path}: scrollWidth {doc}/{body}, innerWidth {inner}"
            assert inner == viewport["width"], where
            assert doc <= inner and body <= inner, where
            assert page.evaluate(CLIPPED) == 0, where
            screenshot(page, re.sub(r"[^a-z0-9]+", "-", f"sensing-{tag}-{role}-{path}".lower()).strip("-"))
        cams = page.locator("[data-testid=camera-list] tbody tr[data-camera]")
        return_ids = [cams.nth(i).get_attribute("data-camera") for i in range(cams.count())]
        if role == "dispatcher":
            assert return_ids == ["ly-cam-0001"], return_ids
            assert page.locator("[data-testid=video-case]").count() >= 1
            assert page.locator("[data-testid=grant-form]").count() == 0
        else:
            assert len(return_ids) == 3, return_ids
    finally:
        context.close()


@pytest.mark.parametrize("role", ["dispatcher", "admin"])
def test_sensing_pages_fit_a_phone(browser, live_city, role):  # type: ignore[no-untyped-def]
    _visit(browser, live_city, PHONE, "phone", role)


def test_sensing_pages_fit_a_desktop(browser, live_city):  # type: ignore[no-untyped-def]
    _visit(browser, live_city, DESKTOP, "desk", "admin")
