"""One case through the whole loop in a real browser: a citizen reports it from a phone with the
device's location and a photo, the dispatcher files and dispatches it, the district's department
accepts and reports back with an after photo, the inspector verifies, and everyone sees it closed
with the full timeline and both photos; the public page shows them without their GPS."""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image

from tests.e2e.conftest import login, screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def _point_in_lanshan() -> tuple[float, float]:
    from shapely.geometry import shape

    from cityos.demo.geometry import generate, inner_box

    geo = generate("small", seed=371300)
    f = next(f for f in geo.grids["features"] if f["properties"]["code"].startswith("371302"))
    x0, y0, x1, y1 = inner_box(shape(f["geometry"]))  # well inside the grid, however it is shaped
    return (x0 + x1) / 2, (y0 + y1) / 2


def _photo(color: tuple[int, int, int], lon: float, lat: float) -> bytes:
    """A phone photo with the GPS position in its EXIF."""
    exif = Image.Exif()
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (float(int(lat)), float(int(lat % 1 * 60)), 0.0)
    gps[3], gps[4] = "E", (float(int(lon)), float(int(lon % 1 * 60)), 0.0)
    out = io.BytesIO()
    Image.new("RGB", (320, 240), color).save(out, "JPEG", exif=exif)
    return out.getvalue()


def _shown(page, selector: str) -> int:  # type: ignore[no-untyped-def]
    """How many of the images the browser really loaded and decoded."""
    page.wait_for_load_state("networkidle")
    return int(
        page.eval_on_selector_all(selector, "els => els.filter(e => e.complete && e.naturalWidth > 0).length")
    )


def _act(page, action: str, photo: bytes | None = None, **fields: str) -> None:  # type: ignore[no-untyped-def]
    form = page.locator(f"[data-testid=action-{action}]")
    if photo is not None:
        form.locator("input[type=file]").set_input_files(
            files=[{"name": "after.jpg", "mimeType": "image/jpeg", "buffer": photo}]
        )
    for name, value in fields.items():
        el = form.locator(f"[name={name}]")
        if el.evaluate("e => e.tagName") == "SELECT":
            el.select_option(value)
        else:
            el.fill(value)
    form.locator("button[type=submit]").click()
    page.wait_for_load_state("networkidle")
    assert page.locator("[data-testid=form-error]").count() == 0, page.text_content(
        "[data-testid=form-error]"
    )


def test_a_case_goes_round_the_loop(browser, live_city):
    lon, lat = _point_in_lanshan()
    phone = browser.new_context(
        locale="zh-CN",
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        geolocation={"longitude": lon, "latitude": lat},
        permissions=["geolocation"],
    )
    page = phone.new_page()
    login(page, live_city, "citizen")
    page.goto(f"{live_city.url}/cases/report")
    page.select_option("select[name=category_code]", "E0402")
    page.fill("textarea[name=description]", "<b>超市门口</b>摆放货架占用人行道")
    page.click("[data-testid=use-location]")
    page.locator("#location-status:has-text('m')").wait_for()  # filled from navigator.geolocation
    assert page.input_value("#lon") != "" and abs(float(page.input_value("#lon")) - lon) < 1e-5
    page.set_input_files(
        "[data-testid=report-photos]",
        files=[{"name": "现场.jpg", "mimeType": "image/jpeg", "buffer": _photo((190, 60, 40), lon, lat)}],
    )
    page.click("[data-testid=report-form] button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert page.locator("[data-testid=reported-notice]").count() == 1
    case_url = page.url.split("?")[0]
    case_id = int(re.search(r"/cases/(\d+)", case_url).group(1))
    # the description is shown as typed, not as HTML
    assert page.text_content("[data-testid=case-description]") == "<b>超市门口</b>摆放货架占用人行道"
    assert _shown(page, "[data-testid=attachments-before] img") == 1  # the photo the citizen took
    screenshot(page, "case-reported-phone")
    phone.close()

    def as_user(username: str):  # type: ignore[no-untyped-def]
        ctx = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
        p = ctx.new_page()
        login(p, live_city, username)
        p.goto(case_url)
        return ctx, p

    ctx, page = as_user("dispatcher")
    assert "已上报" in page.text_content("[data-testid=case-state]")
    _act(page, "file")
    _act(page, "dispatch", department_code="ls-cgj")
    assert "已派遣" in page.text_content("[data-testid=case-state]")
    ctx.close()

    ctx, page = as_user("handler")
    assert page.locator("[data-testid=action-file]").count() == 0  # only the steps this viewer may take
    _act(page, "accept")
    _act(page, "report_back", photo=_photo((40, 160, 60), lon, lat), reason="已清理占道货架,恢复通行")
    ctx.close()

    ctx, page = as_user("inspector")
    _act(page, "verify")
    assert "已结案" in page.text_content("[data-testid=case-state]")
    steps = page.locator("[data-testid=timeline] li b").all_text_contents()
    assert steps == ["上报", "立案", "派遣", "接收", "处置反馈", "核查结案"]
    assert _shown(page, "[data-testid=attachments-before] img") == 1
    assert _shown(page, "[data-testid=attachments-after] img") == 1
    screenshot(page, "case-closed-timeline")
    ctx.close()

    ctx, page = as_user("citizen")
    assert "已结案" in page.text_content("[data-testid=case-state]")
    public_url = live_city.url + page.get_attribute("a[href^='/p/cases/']", "href")
    page.goto(f"{live_city.url}/cases/mine")
    assert page.locator(f"[data-testid=my-reports] a[href='/cases/{case_id}']").count() == 1
    ctx.close()

    # anyone with the number sees both photos, served without their EXIF
    anon = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
    page = anon.new_page()
    page.goto(public_url)
    assert _shown(page, "[data-testid=public-photos] img") == 2
    src = page.get_attribute("[data-testid=public-photos] img", "src")
    with Image.open(io.BytesIO(page.request.get(f"{live_city.url}{src}").body())) as img:
        assert img.getexif().get_ifd(0x8825) == {} and img.size == (320, 240)
    screenshot(page, "case-public-photos-phone")
    anon.close()
