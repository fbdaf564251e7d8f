"""Taxonomy and dispatch-rule administration: edit a 小类 and the rules from the pages, export both
as Excel and import them back (all or nothing, every bad row named by row and column in Chinese
and English), every change in the audit trail, and only admins may do it."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from cityos.cases import admin, admin_workbook, service
from cityos.core.audit import AuditRecord, history
from cityos.core.errors import Forbidden, Invalid


@pytest.fixture
def taxonomy(city, db):  # type: ignore[no-untyped-def]
    a = city.as_role("admin")
    with db.transaction() as s:
        service.load_default_taxonomy(session=s, actor=a)
        service.add_dispatch_rule(
            session=s,
            actor=a,
            category_prefix="",
            region_prefix="371302",
            basis="territory",
            department_code="ls-cgj",
        )
        service.add_dispatch_rule(
            session=s, actor=a, category_prefix="C01", region_prefix="", basis="owner", department_code="cgj"
        )
    return city


def _snapshot(db, city):  # type: ignore[no-untyped-def]
    a = city.as_role("admin")
    with db.reader() as s:
        return (
            [c.model_dump() for c in admin.categories(session=s, actor=a)],
            [r.model_dump() for r in admin.dispatch_rules(session=s, actor=a)],
        )


def _edit(**changes):  # type: ignore[no-untyped-def]
    base = {
        "major_name": "街面秩序",
        "name": "店外经营",
        "filing_condition": "占道经营属实",
        "closing_condition": "恢复通行",
        "file_hours": 1,
        "dispatch_hours": 1,
        "handle_hours_urgent": 2,
        "handle_hours_normal": 12,
        "verify_hours": 4,
        "department_code": "cgj",
        "duplicate_radius_m": 80,
        "duplicate_window_h": 48,
        "active": True,
    }
    return admin.CategoryEdit(**{**base, **changes})


def test_admin_edits_a_category_and_the_audit_trail_has_the_change(taxonomy, db):
    a = taxonomy.as_role("admin")
    with db.transaction() as s:
        out = admin.update_category(session=s, actor=a, code="E0402", edit=_edit())
    assert out.handle_hours_normal == 12 and out.duplicate_radius_m == 80 and out.department_code == "cgj"
    with db.reader() as s:
        rec = [(r.action, r.payload) for r in history(s, subject_type="case_category", subject_id="E0402")]
    assert [a for a, _p in rec] == ["cases.category.update"]
    assert rec[0][1]["changes"]["duplicate_radius_m"] == [50.0, 80]
    # the new limit is what the next case's handling stage gets
    with db.reader() as s:
        assert next(c for c in service.categories(session=s) if c.code == "E0402").handle_hours_normal == 12


def test_a_bad_edit_names_its_field_and_changes_nothing(taxonomy, db):
    a = taxonomy.as_role("admin")
    before = _snapshot(db, taxonomy)
    for bad, field in [
        ({"handle_hours_urgent": 0}, "handle_hours_urgent"),
        ({"handle_hours_urgent": 20}, "handle_hours_urgent"),  # longer than normal
        ({"department_code": "nope"}, "department_code"),
        ({"name": " "}, "name"),
        ({"duplicate_radius_m": -1}, "duplicate_radius_m"),
    ]:
        with pytest.raises(Invalid) as e, db.transaction() as s:
            admin.update_category(session=s, actor=a, code="E0402", edit=_edit(**bad))
        assert e.value.field == field
    assert "紧急处置时限" in e.value.text("zh_CN") or "重复判定半径" in e.value.text("zh_CN")
    assert _snapshot(db, taxonomy) == before


def test_rules_add_update_delete_and_precedence(taxonomy, db):
    a = taxonomy.as_role("admin")
    with db.transaction() as s:
        rid = admin.add_rule(
            session=s,
            actor=a,
            rule=admin.RuleIn(
                category_prefix="e04", region_prefix="371302001", basis="territory", department_code="gaj"
            ),
        )
    with db.reader() as s:
        assert service.route(session=s, category_code="E0402", region_code="37130200100101") == "gaj"
    with pytest.raises(Invalid) as e, db.transaction() as s:
        admin.add_rule(
            session=s,
            actor=a,
            rule=admin.RuleIn(
                category_prefix="E04", region_prefix="371302001", basis="territory", department_code="cgj"
            ),
        )
    assert e.value.code == "duplicate_rule"
    with pytest.raises(Invalid) as e, db.transaction() as s:
        admin.add_rule(
            session=s, actor=a, rule=admin.RuleIn(category_prefix="X1", basis="owner", department_code="cgj")
        )
    assert e.value.field == "category_prefix"
    with db.transaction() as s:
        admin.update_rule(
            session=s,
            actor=a,
            rule_id=rid,
            rule=admin.RuleIn(
                category_prefix="E04", region_prefix="371302001", basis="territory", department_code="cgj"
            ),
        )
    with db.reader() as s:
        assert service.route(session=s, category_code="E0402", region_code="37130200100101") == "cgj"
    with db.transaction() as s:
        admin.delete_rule(session=s, actor=a, rule_id=rid)
    with db.reader() as s:
        assert service.route(session=s, category_code="E0402", region_code="37130200100101") == "ls-cgj"
        assert [r.action for r in history(s, subject_type="dispatch_rule", subject_id=rid)] == [
            "cases.rule.add",
            "cases.rule.update",
            "cases.rule.delete",
        ]


def test_excel_round_trip_changes_nothing(taxonomy, db):
    a = taxonomy.as_role("admin")
    before = _snapshot(db, taxonomy)
    with db.reader() as s:
        data = admin_workbook.export_xlsx(session=s, actor=a)
    wb = load_workbook(io.BytesIO(data))
    assert wb.sheetnames == ["categories", "dispatch_rules", "README"]
    assert wb["categories"].max_row == 1 + len(before[0]) and wb["dispatch_rules"].max_row == 1 + len(
        before[1]
    )
    with db.transaction() as s:
        summary = admin_workbook.import_xlsx(session=s, actor=a, data=data)
    assert summary.changes == 0
    assert _snapshot(db, taxonomy) == before


def _workbook(data: bytes, edits) -> bytes:  # type: ignore[no-untyped-def]
    wb = load_workbook(io.BytesIO(data))
    edits(wb)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _row_of(ws, code: str) -> int:  # type: ignore[no-untyped-def]
    return next(r for r in range(2, ws.max_row + 1) if ws.cell(r, 1).value == code)


def test_excel_import_applies_edits_new_categories_and_the_rule_set(taxonomy, db):
    a = taxonomy.as_role("admin")
    with db.reader() as s:
        data = admin_workbook.export_xlsx(session=s, actor=a)
        rules = admin.dispatch_rules(session=s, actor=a)

    def edit(wb):  # type: ignore[no-untyped-def]
        ws = wb["categories"]
        r = _row_of(ws, "E0402")
        ws.cell(r, 10).value = 6  # handle_hours_normal (column J)
        ws.cell(r, 15).value = 0  # active
        ws.append(["E0699", "event", "其他事件", "新小类", "", "", 1, 1, 2, 8, 4, "cgj", 30, 24, 1])
        rs = wb["dispatch_rules"]
        rs.delete_rows(3)  # the second rule goes
        rs.append([None, "E04", "371302001", "territory", "gaj"])

    with db.transaction() as s:
        summary = admin_workbook.import_xlsx(session=s, actor=a, data=_workbook(data, edit))
    assert summary.categories_created == ["E0699"] and summary.categories_updated == ["E0402"]
    assert (summary.rules_added, summary.rules_updated, summary.rules_deleted) == (1, 0, 1)
    with db.reader() as s:
        cats = {c.code: c for c in admin.categories(session=s, actor=a)}
        assert cats["E0402"].handle_hours_normal == 6 and not cats["E0402"].active
        assert cats["E0699"].case_class == "event" and cats["E0699"].name == "新小类"
        now = admin.dispatch_rules(session=s, actor=a)
        assert {r.id for r in now} >= {rules[0].id} and len(now) == 2
        assert service.route(session=s, category_code="E0401", region_code="37130200100101") == "gaj"
        actions = [r.action for r in s.scalars(select(AuditRecord).order_by(AuditRecord.seq))]
    assert actions[-1] == "cases.taxonomy.import"
    assert {"cases.category.create", "cases.category.update", "cases.rule.delete", "cases.rule.add"} <= set(
        actions
    )


def test_a_bad_row_names_its_row_and_column_and_nothing_is_applied(taxonomy, db):
    a = taxonomy.as_role("admin")
    before = _snapshot(db, taxonomy)
    with db.reader() as s:
        data = admin_workbook.export_xlsx(session=s, actor=a)

    def edit(wb):  # type: ignore[no-untyped-def]
        ws = wb["categories"]
        ws.cell(_row_of(ws, "C0101"), 10).value = 99  # a good edit that must not be applied
        ws.cell(_row_of(ws, "E0402"), 9).value = "两小时"  # handle_hours_urgent, column I
        ws.cell(_row_of(ws, "E0403"), 12).value = "no-such-dept"  # department_code, column L
        wb["dispatch_rules"].append([None, "E04", "999999", "sideways", "cgj"])

    with pytest.raises(admin.WorkbookRejected) as e, db.transaction() as s:
        admin_workbook.import_xlsx(session=s, actor=a, data=_workbook(data, edit))
    problems = e.value.details
    with db.reader() as s:
        ws = load_workbook(io.BytesIO(data))["categories"]
    e0402, e0403 = _row_of(ws, "E0402"), _row_of(ws, "E0403")
    got = {(p["sheet"], p["row"], p["letter"], p["column"], p["code"]) for p in problems}
    assert got == {
        ("categories", e0402, "I", "handle_hours_urgent", "not_a_number"),
        ("categories", e0403, "L", "department_code", "unknown_department"),
        ("dispatch_rules", 4, "C", "region_prefix", "unknown_region"),
        ("dispatch_rules", 4, "D", "basis", "bad_basis"),
    }
    line = next(p for p in problems if p["column"] == "handle_hours_urgent")["message"]
    assert line["zh-CN"] == f"工作表 categories 第 {e0402} 行 I 列（紧急处置时限）：应为数字"
    assert (
        line["en"]
        == f"Sheet categories, row {e0402}, column I (Time to handle, urgent (h)): must be a number"
    )
    assert e.value.text("zh_CN") == "工作簿有 4 处错误，未导入任何内容"
    assert _snapshot(db, taxonomy) == before


def test_not_a_workbook_is_refused(taxonomy, db):
    with pytest.raises(Invalid) as e, db.transaction() as s:
        admin_workbook.import_xlsx(session=s, actor=taxonomy.as_role("admin"), data=b"code,name\nE0402,x\n")
    assert e.value.code == "bad_workbook"


@pytest.mark.parametrize("role", ["dispatcher", "leader", "handler", "citizen"])
def test_only_admins_edit_the_taxonomy(taxonomy, db, client, role):
    p = taxonomy.as_role(role)
    with pytest.raises(Forbidden), db.transaction() as s:
        admin.update_category(session=s, actor=p, code="E0402", edit=_edit())
    with pytest.raises(Forbidden), db.reader() as s:
        admin_workbook.export_xlsx(session=s, actor=p)
    taxonomy.login(client, role)
    for path in ("/cases/admin/taxonomy", "/cases/admin/rules", "/cases/admin/taxonomy.xlsx"):
        assert client.get(path).status_code == 403
    r = client.post(
        "/cases/admin/import",
        data={"csrf_token": taxonomy.csrf(client)},
        files={"file": ("t.xlsx", b"x", admin.XLSX)},
    )
    assert r.status_code == 403


def test_admin_pages_edit_export_and_import(taxonomy, client, db):
    taxonomy.login(client, "admin")
    r = client.get("/cases/admin/taxonomy")
    assert r.status_code == 200 and "店外经营" in r.text
    page = client.get("/cases/admin/taxonomy/E0402")
    assert page.status_code == 200
    csrf = taxonomy.csrf(client)
    form = {
        "csrf_token": csrf,
        **{k: str(v) for k, v in _edit().model_dump().items() if k != "active"},
        "active": "1",
    }
    r = client.post("/cases/admin/taxonomy/E0402", data={**form, "verify_hours": "abc"})
    assert r.status_code == 422 and "核查时限:应为数字" in r.text
    r = client.post("/cases/admin/taxonomy/E0402", data=form, follow_redirects=False)
    assert r.status_code == 303
    r = client.post(
        "/cases/admin/rules",
        data={
            "csrf_token": csrf,
            "category_prefix": "E04",
            "region_prefix": "371302001",
            "basis": "territory",
            "department_code": "gaj",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    r = client.get("/cases/admin/rules?try_category=E0402&try_region=37130200100101")
    assert "临沂市公安局" in r.text and 'data-testid="tried"' in r.text
    xlsx = client.get("/cases/admin/taxonomy.xlsx")
    assert xlsx.status_code == 200 and xlsx.headers["content-type"].startswith(admin.XLSX)

    def bad(wb):  # type: ignore[no-untyped-def]
        ws = wb["categories"]
        ws.cell(_row_of(ws, "E0402"), 7).value = -1

    r = client.post(
        "/cases/admin/import",
        data={"csrf_token": csrf},
        files={"file": ("t.xlsx", _workbook(xlsx.content, bad), admin.XLSX)},
    )
    assert r.status_code == 422 and "G 列（立案时限）：应大于 0" in r.text
    r = client.post(
        "/cases/admin/import",
        data={"csrf_token": csrf},
        files={"file": ("t.xlsx", xlsx.content, admin.XLSX)},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"].endswith("imported=0")
