"""数据异议 in a real browser on a 390 px phone, on the demo city: a citizen (real name verified)
opens 我的数据, sees what the 人口库 holds about them with each item's source department and as-of
date, objects to the address with a reason; the police's data steward finds it in the inbox and
disputes it with an explanation; the citizen sees the answer. Every registries page a steward opens
fits the phone's width."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import login, screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e"), pytest.mark.timeout(900)]

STEWARD_PASSWORD = "demo-data-steward-2026"
PHONE = {"width": 390, "height": 844}


def _fits(page) -> None:  # type: ignore[no-untyped-def]
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, page.url


def test_citizen_objects_and_sees_the_answer(browser, live_city):  # type: ignore[no-untyped-def]
    context = browser.new_context(locale="zh-CN", viewport=PHONE, is_mobile=True)
    page = context.new_page()
    page.set_default_timeout(30_000)
    try:
        login(page, live_city, "citizen")
        page.goto(f"{live_city.url}/registries/mine")
        record = page.locator("[data-testid=own-record]")
        text = record.text_content() or ""
        assert "临沂市公安局" in text and "户籍地址" in text
        _fits(page)
        row = page.locator("tr[data-field=address]")
        row.locator("summary").click()
        row.locator("textarea[name=reason]").fill("已于今年迁居，户籍地址未更新")
        row.locator("[data-testid=object-address]").click()
        page.wait_for_url("**/registries/mine**")
        assert "已于今年迁居" in (page.text_content("main") or "")
        _fits(page)
        screenshot(page, "registries-mine-phone")
        context.close()

        context = browser.new_context(locale="zh-CN", viewport=PHONE, is_mobile=True)
        page = context.new_page()
        page.set_default_timeout(30_000)
        login(page, live_city, "steward-gaj", STEWARD_PASSWORD)
        for path in ("/registries", "/registries/checks", "/registries/tasks"):
            page.goto(f"{live_city.url}{path}")
            _fits(page)
        page.goto(f"{live_city.url}/registries/discrepancies")
        _fits(page)
        item = page.locator("section.card", has_text="已于今年迁居")
        assert item.count() == 1
        item.locator("input[name=reason]").fill("户籍地址以户口迁移登记为准，请先到派出所办理迁移")
        item.locator("button[value=disputed]").click()
        page.wait_for_url("**/registries/discrepancies")
        context.close()

        context = browser.new_context(locale="zh-CN", viewport=PHONE, is_mobile=True)
        page = context.new_page()
        page.set_default_timeout(30_000)
        login(page, live_city, "citizen")
        page.goto(f"{live_city.url}/registries/mine")
        main = page.text_content("main") or ""
        assert "请先到派出所办理迁移" in main and "有异议" in main
        _fits(page)
    finally:
        context.close()
