"""Phones (390×844) and desktops (1440×900): the pages field staff, citizens and the public open
are never wider than the screen, the header stays one short line with the menu behind a button,
and nav labels never wrap mid-word. Screenshots go to test-artifacts/phone-*.png and desk-*.png."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import login, screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1440, "height": 900}
MAX_HEADER_PX = 64

MEASURE = """() => {
  const header = document.querySelector("header.topbar").getBoundingClientRect();
  return {scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth,
          bodyWidth: document.body.scrollWidth, header: header.height};
}"""
# How many lines each visible nav label takes (a label broken as 问题上/报 takes two).
NAV_LINES = """() => Array.from(document.querySelectorAll(".mainnav a")).filter(a => a.offsetParent)
  .map(a => { const r = document.createRange(); r.selectNodeContents(a);
              const tops = new Set(Array.from(r.getClientRects()).map(x => Math.round(x.top)));
              return [a.textContent.trim(), tops.size]; })"""


def _pages(page, live_city, role: str | None) -> list[str]:  # type: ignore[no-untyped-def]
    """The pages each role opens first; one case and one data set found as a person would."""
    if role is None:
        page.goto(f"{live_city.url}/open/")
        href = page.evaluate(
            "Array.from(document.querySelectorAll('a')).map(a => a.getAttribute('href'))"
            ".find(h => /^\\/open\\/r\\//.test(h || ''))"
        )
        assert href, "the portal lists no data set"
        return ["/open/", href]
    if role == "citizen":
        return ["/cases/report", "/"]
    if role == "inspector":
        return ["/cases"]
    page.goto(f"{live_city.url}/cases?view=all")
    case = page.evaluate(
        "Array.from(document.querySelectorAll('a')).map(a => a.getAttribute('href'))"
        ".find(h => /^\\/cases\\/\\d+$/.test(h || ''))"
    )
    assert case, "the handler's list has no case"
    return ["/cases?view=all", case]


def _check(page, live_city, viewport: dict[str, int], role: str | None, tag: str) -> list[str]:  # type: ignore[no-untyped-def]
    if role:
        login(page, live_city, role)
    seen = []
    for path in _pages(page, live_city, role):
        page.goto(f"{live_city.url}{path}")
        page.wait_for_load_state("networkidle")
        m = page.evaluate(MEASURE)
        where = f"{tag} {role or 'anonymous'} {path}: {m}"
        # innerWidth grows with the content on a mobile viewport, so hold it to the screen too
        assert m["innerWidth"] == viewport["width"], where
        assert m["scrollWidth"] <= m["innerWidth"], where
        assert m["header"] <= MAX_HEADER_PX, where
        name = re.sub(r"[^a-z0-9]+", "-", f"{tag}-{role or 'anonymous'}-{path}".lower()).strip("-")
        screenshot(page, name)
        seen.append(path)
    return seen


@pytest.mark.parametrize("role", [None, "citizen", "handler", "inspector"])
def test_phone_pages_fit_the_screen_with_a_short_header(browser, live_city, role):
    context = browser.new_context(locale="zh-CN", viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        assert _check(page, live_city, PHONE, role, "phone")
        # the menu is folded behind the button; opening it shows every label on one line
        assert not page.is_visible("nav.mainnav")
        toggle = page.locator("[data-testid=nav-toggle]")
        assert toggle.get_attribute("aria-expanded") == "false"
        toggle.click()
        assert page.is_visible("nav.mainnav") and toggle.get_attribute("aria-expanded") == "true"
        labels = page.evaluate(NAV_LINES)
        assert labels and all(lines == 1 for _label, lines in labels), labels
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        screenshot(page, f"phone-{role or 'anonymous'}-menu-open")
        toggle.click()
        assert not page.is_visible("nav.mainnav")
    finally:
        context.close()


@pytest.mark.parametrize("role", [None, "handler"])
def test_desktop_keeps_the_open_nav_and_fits(browser, live_city, role):
    context = browser.new_context(locale="zh-CN", viewport=DESKTOP)
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        _check(page, live_city, DESKTOP, role, "desk")
        assert page.is_visible("nav.mainnav") and not page.is_visible("[data-testid=nav-toggle]")
        labels = page.evaluate(NAV_LINES)
        assert labels and all(lines == 1 for _label, lines in labels), labels
    finally:
        context.close()
