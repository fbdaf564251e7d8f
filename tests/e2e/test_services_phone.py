"""一网通办 on a phone (390×844) in Debian chromium: every page a citizen, the window, the back
office, the regulator and the administrator open — the public guide and verification page, the
portal, the wizard, my applications, the wallet, the window console, the inbox, supervision,
statistics, client registration — is no wider than the screen (a wide table scrolls inside its
own box). The verification page of a valid license at this width is in test_services_license.py.
Screenshots go to test-artifacts/services-phone-*.png."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import login, screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

PHONE = {"width": 390, "height": 844}
MEASURE = """() => ({scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth,
  wide: Array.from(document.querySelectorAll('body *')).filter(e => e.getBoundingClientRect().right > 391
        && getComputedStyle(e).position !== 'fixed' && !e.closest('table.grid'))
        .slice(0, 3).map(e => e.tagName + '.' + e.className)})"""


def _first_href(page, pattern: str) -> str | None:  # type: ignore[no-untyped-def]
    return page.evaluate(  # type: ignore[no-any-return]
        "p => Array.from(document.querySelectorAll('a')).map(a => a.getAttribute('href'))"
        ".find(h => new RegExp(p).test(h || ''))",
        pattern,
    )


def _fits(page, url: str, name: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(url)
    page.wait_for_load_state("networkidle")
    m = page.evaluate(MEASURE)
    assert m["innerWidth"] == PHONE["width"] and m["scrollWidth"] <= PHONE["width"], f"{name} {url}: {m}"
    screenshot(page, "services-phone-" + re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-"))


@pytest.mark.parametrize(
    ("user", "paths"),
    [
        (None, ["/guide", "/guide/370100-GA-001", "/verify?c=HC1:nonsense", "/services/hall"]),
        (
            "citizen",
            ["/services", "/services/apply/370100-GA-001", "/services/applications", "/services/wallet"],
        ),
        ("window", ["/services/window", "/services/applications?state=submitted"]),
        ("gaj-review", ["/services/inbox", "/services/supervision"]),
        ("admin", ["/services/stats", "/services/admin/clients", "/services/supervision"]),
    ],
)
def test_services_pages_fit_a_phone(browser, live_city, user, paths):  # type: ignore[no-untyped-def]
    from cityos.services.demo import STAFF_PASSWORD

    context = browser.new_context(locale="zh-CN", viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.set_default_timeout(20_000)
    try:
        if user:
            login(page, live_city, user, STAFF_PASSWORD if user in ("window", "gaj-review") else None)
        for path in paths:
            _fits(page, f"{live_city.url}{path}", f"{user or 'public'}-{path}")
        if user in ("citizen", "window"):  # an application's own page, found as a person would
            page.goto(f"{live_city.url}/services/applications")
            href = _first_href(page, r"^/services/applications/\d+$")
            assert href, "no application listed"
            _fits(page, f"{live_city.url}{href}", f"{user}-application")
    finally:
        context.close()
