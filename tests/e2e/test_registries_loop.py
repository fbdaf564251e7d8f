"""基础库 and 交叉比对 in a real browser, on the demo city: 民政's data steward runs the 低保 check and
confirms a 核查任务, on a 390 px phone; the 人口库 build sent 民政 the names its 低保 file spells
differently from the police; the steward answers "corrected", 民政 reloads the fixed file, and the
data bureau's next build closes the item."""

from __future__ import annotations

import csv
import tempfile
from pathlib import Path

import pytest

from tests.e2e.conftest import login, screenshot

# the first browser test of a run pays for building the demo city (minutes on a loaded machine)
pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e"), pytest.mark.timeout(900)]

STEWARD_PASSWORD = "demo-data-steward-2026"


def _reload_fixed_dibao(live_city) -> int:  # type: ignore[no-untyped-def]
    """民政 fixes the names the police hold differently and loads the file again (its own data)."""
    from cityos.catalog import service as catalog
    from cityos.identity import service as identity
    from cityos.registries import service

    db = live_city.db
    with db.transaction() as s:  # type: ignore[attr-defined]
        mzj = identity.principal_for(session=s, username="steward-mzj")
        fixes = {d.subject_key: d.authority_value for d in service.discrepancies(session=s, actor=mzj)}
        code = service.bindings(session=s)["dibao"]
        rows = catalog.snapshot(session=s, actor=mzj, code=code, purpose="更正").table.to_pylist()
    for r in rows:
        r["name"] = fixes.get(r["id_number"], r["name"])
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "低保对象_更正.csv"
        with path.open("w", encoding="utf-8", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows({k: ("" if v is None else v) for k, v in r.items()} for r in rows)
        catalog.load(db=db, actor=mzj, code=code, path=path, filename=path.name)
    return len(fixes)


def test_check_task_discrepancy_and_the_next_build(browser, live_city):  # type: ignore[no-untyped-def]
    context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    page.set_default_timeout(30_000)
    try:
        login(page, live_city, "steward-mzj", STEWARD_PASSWORD)
        page.goto(f"{live_city.url}/registries/checks?edit=DIBAO_ASSETS")
        page.click("[data-testid=run]")
        result = page.text_content("[data-testid=result]") or ""
        assert "命中" in result
        page.goto(f"{live_city.url}/registries/tasks")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        before = page.locator("[data-testid=confirm]").count()
        assert before >= 1
        page.locator("[data-testid=confirm]").first.click()
        page.wait_for_url("**/registries/tasks")
        assert page.locator("[data-testid=confirm]").count() == before - 1
        page.goto(f"{live_city.url}/registries/tasks?state=confirmed")
        assert "情况属实" in (page.text_content("main") or page.content())
        # the discrepancies the 人口库 build sent to 民政
        page.goto(f"{live_city.url}/registries/discrepancies")
        open_items = page.locator("[data-testid=corrected]").count()
        assert open_items >= 1
        screenshot(page, "registries-inbox-phone")
        while page.locator("[data-testid=corrected]").count():
            page.locator("[data-testid=corrected]").first.click()
            page.wait_for_url("**/registries/discrepancies")
        assert _reload_fixed_dibao(live_city) == open_items
        context.close()
        context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 860})
        page = context.new_page()
        page.set_default_timeout(60_000)
        login(page, live_city, "databureau")
        page.goto(f"{live_city.url}/registries")
        page.locator("[data-testid=registry-population] button[type=submit]").click()
        page.wait_for_url("**/registries")
        page.goto(f"{live_city.url}/registries/discrepancies?state=closed")
        assert page.locator("section.card").count() >= open_items
        page.goto(f"{live_city.url}/registries/discrepancies?state=corrected")
        assert page.locator("section.card").count() == 0
    finally:
        context.close()
