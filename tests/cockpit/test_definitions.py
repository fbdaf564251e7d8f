"""Metric definitions: a bad YAML is refused whole, naming the key at fault (in the 4xx's field and
in its Chinese and English message); an admin's good YAML is in force at once, and its alert
rules raise and clear warnings with hysteresis, notifying the owner department."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from cityos.cockpit import compute, definitions, render, report, screens, service
from cityos.cockpit.demo_figures import province_figures
from cityos.core import audit
from cityos.core.errors import Invalid
from cityos.identity import service as identity
from cityos.notify import service as notify
from tests.cockpit.helpers import LAST, publish

ECONOMY = definitions.packaged("economy")


def _bad(text: str) -> Invalid:
    with pytest.raises(Invalid) as e:
        definitions.parse(text, theme="economy")
    return e.value


def _with(change: str, to: str) -> str:
    assert change in ECONOMY
    return ECONOMY.replace(change, to, 1)


@pytest.mark.parametrize(
    ("text", "field"),
    [
        (
            _with(
                '    source: {kind: catalog, resource: "222001/000001", filter: {indicator: gdp}}',
                "    source: {kind: catalog, filter: {indicator: gdp}}",
            ),
            "metrics[0].source.resource",
        ),
        (_with("    period: quarter", "    period: weekly"), "metrics[0].period"),
        (_with("  - code: industry_va", "  - code: Industry-VA"), "metrics[1].code"),
        (
            _with(
                "    refresh: 3600\n    target: {growth_pct: 7.0}",
                "    refresh: soon\n    target: {growth_pct: 7.0}",
            ),
            "metrics[1].refresh",
        ),
        (
            _with(
                "    unit: 亿元\n    owner: tjj\n    refresh",
                "    unit: 亿元\n    colour: red\n    owner: tjj\n    refresh",
            ),
            "metrics[1].colour",
        ),
        (_with("  - code: industry_va", "  - code: gdp"), "metrics[1].code"),
        (_with("theme: economy", "theme: weather"), "theme"),
    ],
)
def test_errors_name_the_bad_key(text: str, field: str) -> None:
    e = _bad(text)
    assert (e.code, e.field) == ("bad_definition", field)
    assert field in e.text("zh_CN") and field in e.text("en")


def test_unreadable_yaml_names_the_line() -> None:
    e = _bad("theme: economy\nmetrics: [\n  - code: x\n")
    assert e.code == "bad_yaml" and "第3行" in e.text("zh_CN") and re.search(r"line \d+", e.text("en"))
    city = ECONOMY.replace("theme: economy", "theme: city")
    assert _bad(city).field == "theme"


def test_query_sources_are_checked() -> None:
    text = definitions.packaged("city").replace("query: cases.red", "query: cases.nothing")
    with pytest.raises(Invalid) as e:
        definitions.parse(text, theme="city")
    assert e.value.field == "metrics[2].source.query" and "cases.red" not in e.value.text("en").split(":")[0]


def test_api_and_page_refuse_whole_and_name_the_key(city, client, db) -> None:  # type: ignore[no-untyped-def]
    city.login(client, "admin")
    token = city.csrf(client)
    bad = _with("    period: quarter", "    period: weekly")
    r = client.put(
        "/api/v1/cockpit/definitions/economy", content=bad.encode(), headers={"X-CSRF-Token": token}
    )
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["code"] == "bad_definition" and err["field"] == "metrics[0].period"
    assert "metrics[0].period" in err["message"]["zh-CN"] and "metrics[0].period" in err["message"]["en"]
    page = client.post("/cockpit/definitions", data={"theme": "economy", "text": bad, "csrf_token": token})
    assert page.status_code == 422 and "metrics[0].period" in page.text
    with db.reader() as s:  # nothing applied
        assert (
            next(m for m in service.metrics(session=s, actor=city.as_role("admin")) if m["code"] == "gdp")[
                "period"
            ]
            == "quarter"
        )
    # owners are departments of this city: the small test city has no 统计局 (tjj)
    r = client.put(
        "/api/v1/cockpit/definitions/economy", content=ECONOMY.encode(), headers={"X-CSRF-Token": token}
    )
    assert r.status_code == 422 and r.json()["error"]["field"] == "metrics[0].owner"
    assert "tjj" in r.json()["error"]["message"]["en"]
    city.login(client, "leader")
    assert client.get("/cockpit/definitions").status_code == 403


def _yoy(db, leader) -> list[dict]:  # type: ignore[no-untyped-def,type-arg]
    with db.reader() as s:
        return [
            a for a in service.open_alerts(session=s, actor=leader)
            if (a["region"], a["metric"], a["rule"]) == ("371300", "industry_va", "yoy")
        ]  # fmt: skip


def _set_threshold(db, admin, **rule: float) -> None:  # type: ignore[no-untyped-def]
    doc = yaml.safe_load(ECONOMY)
    m = next(x for x in doc["metrics"] if x["code"] == "industry_va")
    m["thresholds"] = rule
    with db.transaction() as s:
        service.save_definitions(
            session=s, actor=admin, theme="economy", text=yaml.safe_dump(doc, allow_unicode=True)
        )
    compute.refresh(db, force=True, codes=["industry_va"])


@pytest.mark.xdist_group("cockpit")
def test_report_and_alerts_with_hysteresis(city, db, client, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    stewards = publish(city, db)
    compute.refresh(db, force=True)
    leader, admin = city.as_role("leader"), city.as_role("admin")
    with db.reader() as s:
        row = service.values(session=s, actor=leader, code="industry_va", start=LAST, end=LAST)[0]
        r = report.data(session=s, actor=leader, month=LAST)
    g = row["ytd_yoy_pct"]
    # the province's 累计同比 by hand from what 统计局 published (Jan–Oct 2026 over Jan–Oct 2025)
    prov = {r[0]: float(r[5]) for r in province_figures("370000", LAST) if r[3] == "industry_va"}  # type: ignore[arg-type]
    this = sum(v for p, v in prov.items() if "2026-01" <= p <= LAST)
    before = sum(v for p, v in prov.items() if "2025-01" <= p <= "2025-10")
    gap = round(round(g, 1) - round((this / before - 1) * 100, 1), 1)
    assert gap != 0
    versus = f"{'高于' if gap > 0 else '低于'}全省{abs(gap):.1f}个百分点"
    expected = f"1—10月，全市规上工业增加值{report.change(g)}，{versus}，累计{row['ytd']:.2f}亿元，"
    assert expected in r.summary
    with db.reader() as s:  # the province's figures are stored with their lineage, not ranked
        lin = service.lineage(session=s, actor=leader, code="industry_va", region="370000", period=LAST)
        assert lin["source_ref"] == "222001/000002" and lin["source_version"] == 1
        ranked = service.ranking(session=s, actor=leader, code="industry_va", period=LAST)
        assert {x["region"] for x in ranked} == {"371302", "371311"}
        tiles = {t["code"]: t for t in screens.screen(session=s, actor=leader, theme="economy")["tiles"]}
    assert round(tiles["industry_va"]["growth"], 1) - round(tiles["industry_va"]["province_growth"], 1) == gap

    # the PDF says it, in Chinese text a machine can read back (the CJK font is embedded)
    pdf = tmp_path / "简报.pdf"
    render.write(r, pdf)
    if shutil.which("pdftotext") is None:
        pytest.fail("pdftotext missing: run scripts/system-deps.sh (poppler-utils)")
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    flat = re.sub(r"\s+", "", text)
    assert "临沂市经济运行简报" in flat and expected in flat
    assert f"{row['ytd']:.2f}" in flat and "兰山区" in flat and "罗庄区" in flat
    assert "重点用能企业用电量：数据源未向驾驶舱授权" in flat  # refused, named — not a 0 in a table
    docx_path = tmp_path / "简报.docx"
    render.write(r, docx_path)
    from docx import Document

    assert expected in "".join(p.text for p in Document(str(docx_path)).paragraphs)

    # the leader downloads the same document from the overview, no one runs a command
    city.login(client, "leader")
    assert 'name="month" value="2026-10"' in client.get("/cockpit").text
    got = client.get(f"/cockpit/report?month={LAST}&format=pdf")
    assert got.status_code == 200 and got.content.startswith(b"%PDF")
    assert "attachment" in got.headers["content-disposition"]
    (tmp_path / "web.pdf").write_bytes(got.content)
    web = subprocess.run(["pdftotext", str(tmp_path / "web.pdf"), "-"], capture_output=True, text=True).stdout
    assert expected in re.sub(r"\s+", "", web)
    assert client.get(f"/cockpit/report?month={LAST}&format=docx").content.startswith(b"PK")
    assert client.get("/cockpit/report?month=2019-01").status_code == 422  # nothing stored: named, no file

    # alerts: 累计同比 below the line → raised (owner 统计局 notified, audited); inside the band → kept
    assert _yoy(db, leader) == []
    _set_threshold(db, admin, yoy_below=g + 1, hysteresis=1)
    raised = _yoy(db, leader)
    assert len(raised) == 1 and raised[0]["value"] == g
    with db.reader() as s:
        tjj = identity.principal_for(session=s, username=stewards["tjj"].username)
        assert any(n.link and "industry_va" in n.link for n in notify.inbox(session=s, actor=tjj).items)
        assert (
            audit.history(s, subject_type="cockpit_alert", subject_id=raised[0]["id"])[0].action
            == "cockpit.alert.raised"
        )
    _set_threshold(db, admin, yoy_below=g - 0.5, hysteresis=1)  # back over the line, not past the band
    assert [a["id"] for a in _yoy(db, leader)] == [raised[0]["id"]]
    _set_threshold(db, admin, yoy_below=g - 2, hysteresis=1)
    assert _yoy(db, leader) == []
    with db.reader() as s:
        trail = [e.action for e in audit.history(s, subject_type="cockpit_alert", subject_id=raised[0]["id"])]
        assert trail == ["cockpit.alert.raised", "cockpit.alert.cleared"]
