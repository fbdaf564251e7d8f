"""A citizen on a phone (390×844) drops the pin on the report form's map: each tap zooms from the
city to the district, the street and the community, the form names the grid and the address, and
the case is filed with that point and the grid it falls in — with nothing wider than the screen.
The map's data comes from geo.pin, which citizens have (they lack geo.view)."""

from __future__ import annotations

import re

import pytest
from shapely.geometry import shape

from tests.e2e.conftest import login, screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def _target() -> tuple[str, float, float]:
    """A unit grid of 兰山区 and a point well inside it."""
    from cityos.demo.geometry import generate, inner_box

    geo = generate("small", seed=371300)
    f = [f for f in geo.grids["features"] if f["properties"]["code"].startswith("371302")][5]
    x0, y0, x1, y1 = inner_box(shape(f["geometry"]))
    return f["properties"]["code"], (x0 + x1) / 2, (y0 + y1) / 2


def _tap(page, lon: float, lat: float) -> None:  # type: ignore[no-untyped-def]
    """Tap the map where it draws this WGS84 point, as a person would."""
    xy = page.evaluate(
        """([lon, lat]) => echarts.getInstanceByDom(document.getElementById('reportmap'))
              .convertToPixel({geoIndex: 0}, [lon, lat])""",
        [lon, lat],
    )
    box = page.locator("#reportmap").bounding_box()
    page.mouse.click(box["x"] + xy[0], box["y"] + xy[1])


def test_citizen_drops_a_pin_and_the_case_has_that_point_and_grid(phone, live_city):  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from cityos.cases.models import Case

    grid, lon, lat = _target()
    page = phone
    login(page, live_city, "citizen")
    page.goto(f"{live_city.url}/cases/report")
    page.locator("#reportmap[data-ready='1'][data-level='district']").wait_for()
    page.select_option("[data-testid=category-select]", "E0402")
    page.fill("textarea[name=description]", "人行道上堆放建筑垃圾，行人只能走机动车道")
    page.locator("[data-testid=reportmap]").scroll_into_view_if_needed()
    # each tap sets the pin and zooms into the tapped district, then street, then community
    for level in ("street", "community"):
        _tap(page, lon, lat)
        page.locator(f"#reportmap[data-ready='1'][data-level='{level}']").wait_for()
    _tap(page, lon, lat)  # in the community the tap only places the pin
    page.locator(f"#reportmap[data-grid='{grid}']").wait_for()
    place = page.text_content("[data-testid=report-place]") or ""
    assert place.startswith("兰山区 ") and "网格" in place, place
    pin = float(page.input_value("#lon")), float(page.input_value("#lat"))
    assert abs(pin[0] - lon) < 5e-4 and abs(pin[1] - lat) < 5e-4  # where the finger was, to a few pixels
    width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], width  # nothing wider than the phone's screen
    screenshot(page, "phone-report-pin")
    page.click("form[data-testid=report-form] button[type=submit]")
    page.wait_for_url(re.compile(r"/cases/\d+\?reported=1"))
    case_id = int(re.search(r"/cases/(\d+)", page.url).group(1))  # type: ignore[union-attr]
    with live_city.db.reader() as s:  # type: ignore[attr-defined]
        case = s.scalars(select(Case).where(Case.id == case_id)).one()
        assert case.grid_code == grid  # the grid the pin fell in
        assert abs(case.lon - pin[0]) < 1e-6 and abs(case.lat - pin[1]) < 1e-6  # the pin's point
