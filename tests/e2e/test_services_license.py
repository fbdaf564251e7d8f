"""一网通办 in a real browser on a phone (390×844): a citizen applies online (the 户籍信息 fetched
through data sharing with consent, the form uploaded), the hall's window accepts, the police's back
office approves, the license appears in the citizen's wallet and its QR image (read back from a
screenshot with zxing-cpp) verifies through the public API and the /verify page."""

from __future__ import annotations

import io
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import zxingcpp
from PIL import Image
from playwright.sync_api import expect

from tests.e2e.conftest import login, screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]
ITEM = "370100-GA-001"


def _page(browser):  # type: ignore[no-untyped-def]
    context = browser.new_context(
        locale="zh-CN", viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    page = context.new_page()
    page.set_default_timeout(20_000)
    return context, page


def test_apply_accept_approve_and_verify_the_license_qr(browser, live_city, tmp_path):  # type: ignore[no-untyped-def]
    from cityos.services.demo import STAFF_PASSWORD

    form = tmp_path / "居住登记表.pdf"
    form.write_bytes(b"%PDF-1.4 demo registration form")
    ctx, page = _page(browser)
    login(page, live_city, "citizen")
    page.goto(f"{live_city.url}/services/apply/{ITEM}")
    page.fill("[data-testid=form-address]", "兰山区金雀山路 8 号")
    page.locator("input[type=file]").first.set_input_files(str(form))
    page.check("[data-testid=consent]")
    page.click("[data-testid=submit]")
    expect(page.locator("[data-testid=app-state]")).to_contain_text("已提交")
    number = page.url.rstrip("/").rsplit("/", 1)[-1]
    expect(page.locator("[data-testid=materials]")).to_contain_text("已通过数据共享获取")
    ctx.close()

    for user, button, state in (("window", "accept", "已受理"), ("gaj-review", "approve", "已办结出件")):
        c, p = _page(browser)
        login(p, live_city, user, STAFF_PASSWORD)
        p.goto(f"{live_city.url}/services/applications/{number}")
        p.click(f"[data-testid={button}]")
        expect(p.locator("[data-testid=app-state]")).to_contain_text(state)
        c.close()

    ctx, page = _page(browser)
    login(page, live_city, "citizen")
    page.goto(f"{live_city.url}/services/wallet")
    card = page.locator("[data-testid=license]").first
    expect(card).to_contain_text("居住证")
    screenshot(page, "services-wallet-phone")
    png = card.locator("[data-testid=license-qr]").screenshot()
    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert len(found) == 1
    url = found[0].text
    assert urlsplit(url).path == "/verify"
    payload = parse_qs(urlsplit(url).query)["c"][0]
    r = httpx.post(f"{live_city.url}/api/v1/licenses/verify", json={"payload": payload})
    assert r.json()["status"] == "valid" and r.json()["license"]["holder_code"].count("*") == 8
    page.goto(f"{live_city.url}/verify?" + urlsplit(url).query)
    expect(page.locator("[data-testid=verdict]")).to_have_attribute("data-status", "valid")
    ctx.close()
