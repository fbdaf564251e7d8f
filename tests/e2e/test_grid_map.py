from __future__ import annotations

import pytest

from tests.e2e.conftest import login, screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def _wait_for_level(page, level: str) -> int:  # type: ignore[no-untyped-def]
    page.locator(f"#gridmap[data-level='{level}']").wait_for()  # no eval: the page's CSP forbids it
    return int(page.get_attribute("#gridmap", "data-regions"))


def _codes(page) -> list[str]:  # type: ignore[no-untyped-def]
    return page.evaluate(
        """() => {
            const chart = echarts.getInstanceByDom(document.getElementById('gridmap'));
            const fc = echarts.getMap(chart.getOption().series[0].map).geoJSON;
            return fc.features.map(f => f.properties.code);
        }"""
    )


def _hover_region(page, code: str) -> str:  # type: ignore[no-untyped-def]
    """Hover the centre of a region and return the tooltip's text."""
    _click_region(page, code, click=False)
    tip = page.locator(f"#gridmap div:has-text('{code}')").last
    tip.wait_for(state="visible")
    return tip.inner_text()


def _click_region(page, code: str, click: bool = True) -> None:  # type: ignore[no-untyped-def]
    """Click (or hover) a point inside a region's shape as ECharts drew it."""
    xy = page.evaluate(
        """(code) => {
            const chart = echarts.getInstanceByDom(document.getElementById('gridmap'));
            const opt = chart.getOption();
            const map = echarts.getMap(opt.series[0].map);
            const f = map.geoJSON.features.find(x => x.properties.code === code);
            return chart.convertToPixel({seriesIndex: 0}, f.properties.point);  // a point inside
        }""",
        code,
    )
    box = page.locator("#gridmap").bounding_box()
    if click:
        page.mouse.click(box["x"] + xy[0], box["y"] + xy[1])
    else:
        page.mouse.move(box["x"] + xy[0], box["y"] + xy[1])


def test_admin_opens_the_grid_map_and_drills_into_a_district(page, live_city):
    login(page, live_city, "admin")
    page.click("nav.mainnav summary:has-text('一网统管')")  # the loop's menu in the header
    page.click("nav.mainnav a:has-text('网格地图')")
    assert _wait_for_level(page, "district") == 3
    assert "371302" in _hover_region(page, "371302")  # hover shows the code
    _click_region(page, "371302")
    streets = _wait_for_level(page, "street")
    assert streets >= 2
    crumbs = page.text_content("[data-testid=crumbs]")
    assert "临沂市" in crumbs and "兰山区" in crumbs
    screenshot(page, "grid-map-district")
    # down to the unit grids: hovering one shows its code and its grid worker
    _click_region(page, _codes(page)[0])
    _wait_for_level(page, "community")
    _click_region(page, _codes(page)[0])
    _wait_for_level(page, "grid")
    grid = _codes(page)[0]
    tip = _hover_region(page, grid)
    assert grid in tip and "网格员" in tip and "未配置" not in tip
    # back up through the breadcrumb
    page.click("[data-testid=crumbs] a[data-depth='0']")
    assert _wait_for_level(page, "district") == 3
