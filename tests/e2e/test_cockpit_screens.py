"""领导驾驶舱 in a real browser at 1920×1080: each theme's big screen renders every chart (no empty
canvas), the refused source shows as refused, every map layer draws (grids, case heat, devices,
alarms), a number changes on the screen without a reload when the worker stores a new value, and
the leader drills from the city down to one case (city screen → district → street → grid → the
case's page) and to one device; the overview fits a 390 px phone. Screenshots in
test-artifacts/cockpit-*.png."""

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


def _open_link(page, selector: str, col: str = "open") -> None:  # type: ignore[no-untyped-def]
    """Follow the first link in `selector` whose row counts at least one in column `col` (open
    cases, devices)."""
    rows = page.locator(f"{selector} tbody tr")
    for i in range(rows.count()):
        row = rows.nth(i)
        if int(row.locator(f"td[data-col='{col}']").inner_text() or 0) > 0:
            row.locator("td a").first.click()
            page.wait_for_load_state("networkidle")
            return
    raise AssertionError(f"no row with {col} in {selector}")


def _place_a_device(live_city) -> None:  # type: ignore[no-untyped-def]
    """A new device placed beside an existing one, then what the worker does next."""
    from cityos.cockpit import compute
    from cityos.identity import service as identity
    from cityos.sensing import service as sensing
    from cityos.sensing.schemas import DeviceIn

    db = live_city.db
    with db.reader() as s:
        # a sensor, not a camera: the camera pages' tests count the demo's cameras on the same city
        near = next(
            d
            for d in sensing.list_devices(session=s, actor=identity.SYSTEM)
            if d.lon is not None and d.type != "Camera"
        )
    with db.transaction() as s:
        sensing.register_device(
            session=s,
            actor=identity.SYSTEM,
            device=DeviceIn(
                id="cockpit-e2e-1",
                type=near.type,
                name="新装监测点",
                lon=near.lon,
                lat=near.lat,
                department_code="cgj",
            ),
        )
    compute.refresh(db, force=True, codes=["device_count", "device_online", "device_alarms"])


def _all_charts_drawn(page) -> None:  # type: ignore[no-untyped-def]
    """Wait until every canvas has pixels (the map's too); on a timeout, name the empty ones."""
    try:
        page.wait_for_function(
            f"() => ({EMPTY_CANVASES})().length === 0 && !!document.querySelector('#chart-map canvas')"
        )
    except Exception:
        screenshot(page, "cockpit-empty-canvas")
    assert page.evaluate(EMPTY_CANVASES) == []


def test_big_screens_and_drill_down_to_a_case(browser, live_city) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(locale="zh-CN", viewport={"width": 1920, "height": 1080})
    page = context.new_page()
    page.set_default_timeout(20_000)
    login(page, live_city, "leader")
    for theme in ("economy", "livelihood", "city"):
        page.goto(f"{live_city.url}/cockpit/screen/{theme}")
        page.wait_for_selector("#bigscreen[data-loaded='1']")
        _all_charts_drawn(page)
        assert page.locator("[data-testid^='tile-']").count() >= 3
        screenshot(page, f"cockpit-{theme}")
        if theme == "economy":  # no grant for 重点用能企业: refused, in words, and no number
            tile = page.locator("[data-testid='tile-power_key_firms']")
            assert "未授权" in tile.inner_text()
            assert tile.locator("b").count() == 0
    # the other map layers draw too: case heat, the devices, the devices with open alarms
    for layer in ("heat", "devices", "alarms"):
        page.click(f"[data-testid='layer-{layer}']")
        _all_charts_drawn(page)
        if layer != "heat":
            assert "设备" in page.locator("[data-testid='map-note']").inner_text()
        screenshot(page, f"cockpit-layer-{layer}")
    page.click("[data-testid='layer-grids']")

    # numbers update without a reload: the page polls the stored numbers (here every 5 s)
    page.goto(f"{live_city.url}/cockpit/screen/city?refresh=5")
    page.wait_for_selector("#bigscreen[data-loaded='1']")
    page.evaluate("window.__same_page = true")
    city = page.get_attribute("#bigscreen", "data-city")
    tile = page.locator("[data-testid='tile-device_count'] b")
    before = tile.inner_text()
    _place_a_device(live_city)
    page.wait_for_function(
        "b => document.querySelector(\"[data-testid='tile-device_count'] b\").textContent !== b", arg=before
    )
    assert page.evaluate("window.__same_page") is True  # the same page: no reload
    assert int(tile.inner_text().replace(",", "")) == int(before.replace(",", "")) + 1

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

    # … and down to a device: city → district → street → grid with devices → the device's page
    page.goto(f"{live_city.url}/cockpit/drill?region={city}")
    page.wait_for_load_state("networkidle")
    _open_link(page, "[data-testid='drill-children']", "devices")  # a district
    _open_link(page, "[data-testid='drill-children']", "devices")  # a street
    _open_link(page, "[data-testid='drill-children']", "devices")  # a grid
    device = page.locator("[data-testid='drill-devices'] a").first
    name = device.inner_text()
    device.click()
    page.wait_for_load_state("networkidle")
    assert "/sensing/devices/" in page.url and name in page.content()
    screenshot(page, "cockpit-drill-device")
    context.close()

    # the ordinary theme on a phone: no sideways scrolling
    phone = browser.new_context(
        locale="zh-CN", viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    p = phone.new_page()
    login(p, live_city, "leader")
    pages = ("/cockpit", "/cockpit/screen/economy", "/cockpit/screen/city", f"/cockpit/drill?region={city}")
    for path in (*pages, "/cockpit/metrics/industry_va"):
        p.goto(f"{live_city.url}{path}")
        p.wait_for_load_state("networkidle")
        assert p.evaluate("document.documentElement.scrollWidth") <= 390, path
        name = path.split("?")[0].strip("/").replace("/", "-")
        screenshot(p, f"phone-{name}")
    phone.close()
