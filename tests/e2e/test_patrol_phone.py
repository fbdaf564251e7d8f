"""The grid worker's day on a phone (390×844): check-in refused outside the own grid with the
metres named, accepted inside; a patrol whose track the page records and whose covered grids the
patrol page lists; a denied position explained in Chinese, never the browser's English text."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import login, screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def _own_grid(live_city):  # type: ignore[no-untyped-def]
    from cityos.geo import service as geo
    from cityos.identity import service as identity

    with live_city.db.reader() as s:  # type: ignore[attr-defined]
        uid = identity.get_user(session=s, username="gridworker").id
        own = geo.grid_polygons(session=s, worker_id=uid)
    code = sorted(own)[0]
    return own[code]


def _phone(browser, geolocation=None):  # type: ignore[no-untyped-def]
    context = browser.new_context(
        locale="zh-CN",
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        geolocation=geolocation,
        permissions=["geolocation"] if geolocation else [],
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    return context, page


def test_check_in_and_patrol_on_a_phone(browser, live_city):  # type: ignore[no-untyped-def]
    grid = _own_grid(live_city)
    inside = grid.representative_point()
    minx, _miny, maxx, _maxy = grid.bounds
    context, page = _phone(browser, {"longitude": maxx + 0.01, "latitude": inside.y})
    try:
        login(page, live_city, "gridworker")
        page.goto(f"{live_city.url}/patrol")
        page.click("[data-action=check-in]")
        expect(page.locator("[data-testid=patrol-status]")).to_contain_text("米")
        status = page.text_content("[data-testid=patrol-status]") or ""
        assert "请在本人网格内签到" in status, status
        rows = page.locator("[data-testid=attendance] li")
        before = rows.count()  # the demo may have checked this worker in this morning
        context.set_geolocation({"longitude": inside.x, "latitude": inside.y})
        page.click("[data-action=check-in]")
        expect(rows).to_have_count(before + 1)  # the page reloads with the new row
        assert "已签到" in (rows.last.text_content() or "")

        page.click("[data-action=start]")
        page.wait_for_selector("[data-testid=patrol-open]")
        # walk west to east through the grid and on past its edge while the page records
        for k in range(6):
            context.set_geolocation(
                {"longitude": minx + (maxx - minx) * (0.1 + 0.3 * k), "latitude": inside.y}
            )
            page.wait_for_timeout(400)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, width
        screenshot(page, "patrol-phone")
        page.click("[data-action=end]")
        page.wait_for_url("**/patrol/*")
        assert int(page.text_content("[data-testid=point-count]") or "0") >= 2
        covered = page.text_content("[data-testid=covered]") or ""
        assert "网格" in covered
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
    finally:
        context.close()


def test_a_denied_position_is_explained_in_chinese(browser, live_city):  # type: ignore[no-untyped-def]
    context, page = _phone(browser)  # no geolocation permission: the browser denies it
    try:
        login(page, live_city, "gridworker")
        page.goto(f"{live_city.url}/patrol")
        page.click("[data-action=check-in]")
        expect(page.locator("[data-testid=patrol-status]")).to_contain_text("定位权限")
        status = page.text_content("[data-testid=patrol-status]") or ""
        assert "User denied" not in status and "Geolocation" not in status
    finally:
        context.close()
