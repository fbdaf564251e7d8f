"""城市感知 in a real browser: the simulator posts a rain event over HTTP (a token with the
`sensing` scope, as `cityos sensors simulate --http` does), the drainage rule raises the alarm,
the dispatcher sees it on the map and in the alarm list, follows it to the case the alarm opened,
sees the telemetry chart there and dispatches the case."""

from __future__ import annotations

import pytest

from cityos.identity import service as identity
from cityos.sensing import simulate as sim
from tests.e2e.conftest import login, screenshot


@pytest.mark.e2e
@pytest.mark.xdist_group("e2e")
def test_simulated_rain_raises_a_drainage_alarm_that_becomes_a_dispatched_case(page, live_city):  # type: ignore[no-untyped-def]
    db = live_city.db
    with db.transaction() as s:
        token = identity.create_token(
            session=s, actor=identity.SYSTEM, client="simulator", scopes=["sensing"]
        ).token
    fleet = sim.ensure_fleet(db, identity.SYSTEM, 6, prefix="e2e", start=0.6)  # away from the demo's alarms
    sent = sim.run(fleet, rate=25, seconds=4, mode="http", url=live_city.url, token=token, rain=True)
    assert sent.readings > 50

    login(page, live_city, "dispatcher")
    page.goto(f"{live_city.url}/sensing")
    page.wait_for_selector("[data-testid=sensing-map][data-ready='1']")
    assert int(page.get_attribute("[data-testid=sensing-map]", "data-alarms") or 0) >= 1
    item = page.locator("[data-testid=map-alarms] li:has(a[href='/sensing/devices/e2e-dr-0000'])")
    assert item.count() == 1 and "紧急" in item.inner_text()
    screenshot(page, "sensing-map-alarm")
    item.locator("[data-testid=alarm-case]").click()
    page.wait_for_load_state("networkidle")
    page.wait_for_selector("[data-testid=case-chart][data-ready='1']")
    assert int(page.get_attribute("[data-testid=case-chart]", "data-count") or 0) >= 2
    if page.locator("[data-testid=action-file]").count():
        page.locator("[data-testid=action-file] button[type=submit]").click()
        page.wait_for_load_state("networkidle")
    form = page.locator("[data-testid=action-dispatch]")
    if form.count():
        form.locator("[name=department_code]").select_option(index=1)
        form.locator("button[type=submit]").click()
        page.wait_for_load_state("networkidle")
    assert "已派遣" in page.text_content("[data-testid=case-state]")
    screenshot(page, "sensing-case-dispatched")
