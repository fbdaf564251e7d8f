"""Map tooltips show names as text: ECharts inserts a tooltip formatter's string as HTML, so a region,
grid, worker or category named like markup must arrive escaped. The formatters of the grid map and
of the cases map run in the browser on hostile names; the result is put into the page the way
ECharts puts it, and nothing of the name may become an element or run."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

JS = Path(__file__).resolve().parents[2] / "src" / "cityos" / "web" / "static" / "js"
EVIL = '<img src=x onerror="window.pwned=1">'
LABELS = {
    "labelCode": "代码",
    "labelWorker": "网格员",
    "labelNone": "未配置",
    "labelGrids": "网格数",
    "labelState": "状态",
    "labelReported": "上报",
}


@pytest.fixture
def blank(browser):  # type: ignore[no-untyped-def]
    context = browser.new_context()
    p = context.new_page()
    p.set_content("<html><body><div id=tip></div></body></html>")
    p.add_script_tag(content=(JS / "gridmap.js").read_text())
    p.add_script_tag(content=(JS / "casemap.js").read_text())
    yield p
    context.close()


def _render(page, expression: str) -> dict:  # type: ignore[type-arg]
    """Evaluate a formatter, insert its HTML as ECharts does, and report what the page got."""
    return page.evaluate(
        """([expr, evil, labels]) => {
            const html = eval(expr);
            const tip = document.getElementById('tip');
            tip.innerHTML = html;
            return {html: html, text: tip.textContent, elements: tip.querySelectorAll('img,script,a').length};
        }""",
        [expression, EVIL, LABELS],
    )


@pytest.mark.parametrize(
    "expression",
    [
        "CityOSGridMap.tooltip({name: evil, grids: 3}, '371302', 'district', labels)",
        "CityOSGridMap.tooltip({name: '网格', grid_worker: evil}, '37130200100101', 'grid', labels)",
        "CityOSGridMap.tooltip({}, evil, 'street', labels)",
        "CityOSCaseMap.regionTip(evil, '371302', labels)",
        "CityOSCaseMap.caseTip({number: 'A1', category_name: evil, state: evil, reported: '2026-12-01'},"
        " labels, {}, {})",
    ],
)
def test_hostile_names_in_map_tooltips_render_as_text(blank, expression):
    out = _render(blank, expression)
    assert out["elements"] == 0, out["html"]
    assert EVIL in out["text"]  # shown, literally
    blank.wait_for_timeout(50)  # an onerror would have fired by now
    assert blank.evaluate("window.pwned") is None


def test_tooltips_still_show_the_fields(blank):
    out = _render(blank, "CityOSGridMap.tooltip({name: '兰山区', grids: 7}, '371302', 'district', labels)")
    assert out["text"] == "兰山区代码: 371302网格数: 7"
    assert out["html"].startswith("<b>兰山区</b><br>")
