"""领导驾驶舱 in a real browser at 1920×1080: each theme's big screen renders every chart (no empty
canvas), the refused source shows as refused, and the leader drills from the city down to one case
(city screen → district → street → grid → the case's page); the overview fits a 390 px phone.
Screenshots in test-artifacts/cockpit-*.png."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import login, screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

EMPTY_CANVASES = """() => {
  const cs = Array.from(document.querySelectorAll('canvas'));
  if (!cs.length) return ['no canvas'];
  return cs.filter(c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    for (let i = 3; i < d.length; i += 4) if (d[i]) return false; return true; })
    .map(c => c.closest('[id]') ? c.closest('[id]').id : '?');
}"""
FIRST_BAR = """() => {
  const el = document.getElementById('chart-districts');
  const c = echarts.getInstanceByDom(el);
  const s = c.getOption().series[0];
  const i = s.data.findIndex(v => v > 0);
  const p = c.convertToPixel({seriesIndex: 0}, [i, s.data[i] / 2]);
  const r = el.getBoundingClientRect();
  return [r.left + p[0], r.top + p[1]];
}"""


def _open_link(page, selector: str) -> None:  # type: ignore[no-untyped-def]
    """Follow the first link in `selector` whose row counts at least one open case."""
    rows = page.locator(f"{selector} tr")
    for i in range(rows.count()):
        cells = rows.nth(i).locator("td")
        if cells.count() == 2 and int(cells.nth(1).inner_text() or 0) > 0:
            cells.nth(0).locator("a").click()
            page.wait_for_load_state("networkidle")
            return
    raise AssertionError(f"no row with open cases in {selector}")


def test_big_screens_and_drill_down_to_a_case(browser, live_city) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(locale="zh-CN", viewport={"width": 1920, "height": 1080})
    page = context.new_page()
    page.set_default_timeout(20_000)
    login(page, live_city, "leader")
    for theme in ("economy", "livelihood", "city"):
        page.goto(f"{live_city.url}/cockpit/screen/{theme}")
        page.wait_for_selector("#bigscreen[data-loaded='1']")
        page.wait_for_function(
            f"() => ({EMPTY_CANVASES})().length === 0 && !!document.querySelector('#chart-map canvas')"
        )
        assert page.evaluate(EMPTY_CANVASES) == []
        assert page.locator("[data-testid^='tile-']").count() >= 3
        screenshot(page, f"cockpit-{theme}")
        if theme == "economy":  # no grant for 重点用能企业: refused, in words, and no number
            tile = page.locator("[data-testid='tile-power_key_firms']")
            assert "未授权" in tile.inner_text()
            assert tile.locator("b").count() == 0
    # the case heat layer draws too
    page.click("[data-testid='layer-heat']")
    page.wait_for_function(f"() => ({EMPTY_CANVASES})().length === 0")

    # city → district (click its bar) → street → grid → the case
    x, y = page.evaluate(FIRST_BAR)
    page.mouse.click(x, y)
    page.wait_for_url("**/cockpit/drill?region=*")
    assert len(page.url.rsplit("=", 1)[1]) == 6
    _open_link(page, "[data-testid='drill-children']")  # a street
    assert len(page.url.rsplit("=", 1)[1]) == 9
    _open_link(page, "[data-testid='drill-children']")  # a grid
    assert len(page.url.rsplit("=", 1)[1]) == 14
    screenshot(page, "cockpit-drill-grid")
    first = page.locator("[data-testid='drill-cases'] a").first
    number = first.inner_text()
    first.click()
    page.wait_for_load_state("networkidle")
    assert "/cases/" in page.url and number in page.content()
    screenshot(page, "cockpit-drill-case")
    context.close()

    # the ordinary theme on a phone: no sideways scrolling
    phone = browser.new_context(
        locale="zh-CN", viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    p = phone.new_page()
    login(p, live_city, "leader")
    for path in ("/cockpit", "/cockpit/screen/economy"):
        p.goto(f"{live_city.url}{path}")
        p.wait_for_load_state("networkidle")
        assert p.evaluate("document.documentElement.scrollWidth") <= 390, path
    screenshot(p, "cockpit-phone")
    phone.close()
