"""A 12345 call in a real browser: the operator picks the caller's point on the grid map (the map
zooms in with each click and names the grid), files the call, and the dispatcher finds it on the
map of open cases and opens it from its point."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import login, screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def _grid_centre_in_lanshan() -> tuple[str, float, float]:
    from shapely.geometry import shape

    from cityos.demo.geometry import generate, inner_box

    geo = generate("small", seed=371300)
    f = [f for f in geo.grids["features"] if f["properties"]["code"].startswith("371302")][3]
    x0, y0, x1, y1 = inner_box(shape(f["geometry"]))  # well inside the grid, however it is shaped
    return f["properties"]["code"], (x0 + x1) / 2, (y0 + y1) / 2


def _click_at(page, selector: str, lon: float, lat: float) -> None:  # type: ignore[no-untyped-def]
    """Click the map where ECharts draws this coordinate, as a person would."""
    xy = page.evaluate(
        """([sel, lon, lat]) => {
            const chart = echarts.getInstanceByDom(document.querySelector(sel));
            return chart.convertToPixel({geoIndex: 0}, [lon, lat]);
        }""",
        [selector, lon, lat],
    )
    box = page.locator(selector).bounding_box()
    page.mouse.click(box["x"] + xy[0], box["y"] + xy[1])


def test_operator_files_a_call_from_the_map_and_the_dispatcher_sees_it(page, live_city):
    grid, lon, lat = _grid_centre_in_lanshan()
    login(page, live_city, "dispatcher")
    page.click("nav.mainnav summary:has-text('一网统管')")  # the loop's menu in the header
    page.click("nav.mainnav a:has-text('12345热线')")
    page.locator("#pickmap[data-ready='1'][data-level='district']").wait_for()
    page.fill("input[name=caller_name]", "张先生")
    page.fill("input[name=caller_phone]", "139 0539 1234")
    page.check("[data-testid=callback-sms]")
    page.select_option("[data-testid=hotline-category]", "E0402")
    page.fill("textarea[name=description]", "来电反映:超市门口摆放货架占用人行道")
    # each click sets the point and zooms into the clicked region: district → street → community → grid
    for level in ("street", "community", "grid"):
        _click_at(page, "#pickmap", lon, lat)
        page.locator(f"#pickmap[data-ready='1'][data-level='{level}']").wait_for()
    _click_at(page, "#pickmap", lon, lat)  # at grid level the click only refines the point
    page.locator(f"#pick-grid[data-grid='{grid}']").wait_for()
    assert abs(float(page.input_value("#pick-lon")) - lon) < 2e-4
    assert abs(float(page.input_value("#pick-lat")) - lat) < 2e-4
    assert "兰山区" in page.text_content("#pick-grid")
    # htmx asked for the open cases nearby once the point was known
    page.locator("[data-testid=no-nearby], [data-testid=nearby-cases]").first.wait_for()
    screenshot(page, "hotline-console-picked")
    page.click("[data-testid=file-call]")
    page.wait_for_load_state("networkidle")
    assert page.locator("[data-testid=form-error]").count() == 0, page.text_content(
        "[data-testid=form-error]"
    )
    filed = page.locator("[data-testid=filed-case]")
    number = filed.text_content()
    case_id = int(re.search(r"/cases/(\d+)", filed.get_attribute("href")).group(1))
    recent = page.text_content("[data-testid=recent-calls]")
    assert number in recent and "13905391234" in recent and "短信回访" in recent

    page.goto(f"{live_city.url}/cases?view=queue&channel=hotline")
    page.click("[data-testid=map-link]")
    page.locator("#casemap[data-ready='1'][data-shown]").wait_for()
    ids = page.get_attribute("#casemap", "data-case-ids").split(",")
    assert str(case_id) in ids
    assert "未结案卷" in page.text_content("[data-testid=map-summary]")
    screenshot(page, "dispatcher-case-map")
    _click_at(page, "#casemap", lon, lat)  # the district level: the point is on top of its region
    page.wait_for_url(f"**/cases/{case_id}")
    assert "已上报" in page.text_content("[data-testid=case-state]")
    assert page.text_content("[data-testid=case-description]") == "来电反映:超市门口摆放货架占用人行道"
