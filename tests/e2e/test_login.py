from __future__ import annotations

import pytest

from tests.e2e.conftest import login, screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def test_admin_logs_in_switches_language_and_logs_out(page, live_city):
    login(page, live_city, "admin")
    assert page.url.rstrip("/") == live_city.url
    assert "欢迎" in page.text_content("h1")
    assert "网格地图" in page.text_content("nav.mainnav")
    screenshot(page, "home-zh")
    page.click("[data-testid=lang-switch]")
    page.wait_for_load_state("networkidle")
    assert "Welcome" in page.text_content("h1") and "Grid map" in page.text_content("nav.mainnav")
    page.click("[data-testid=lang-switch]")
    page.click("text=退出")
    page.wait_for_url("**/login")
    assert "登录城市操作系统" in page.text_content("h1")


def test_wrong_password_shows_the_error(page, live_city):
    login(page, live_city, "dispatcher", "not-the-password")
    assert page.text_content("[data-testid=login-error]") == "用户名或密码错误"
