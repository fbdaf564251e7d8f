"""数据共享交换 in a real browser: the tax bureau's data steward uploads a file with errors, reads the
validation report, discards it, uploads the fixed file and accepts it; the district urban management
bureau asks for access; the steward approves two fields; the bureau's system token then reads them
over the data API, masked as the grant says, and every call is on the audit trail."""

from __future__ import annotations

import random

import httpx
import pytest

from tests.e2e.conftest import login, screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

SCHEMA = {
    "fields": [
        {
            "name": "uscc",
            "title": "统一社会信用代码",
            "type": "string",
            "format": "cn-uscc",
            "sensitivity": "public",
        },
        {
            "name": "taxpayer",
            "title": "纳税人名称",
            "type": "string",
            "sensitivity": "public",
            "constraints": {"required": True},
        },
        {
            "name": "legal_rep_id",
            "title": "法定代表人身份证号",
            "type": "string",
            "format": "cn-resident-id",
            "sensitivity": "sensitive",
        },
        {"name": "period", "title": "所属期", "type": "date", "format": "any", "sensitivity": "internal"},
        {
            "name": "tax_paid",
            "title": "实缴税额(元)",
            "type": "number",
            "sensitivity": "internal",
            "constraints": {"minimum": 0},
        },
    ],
    "primaryKey": ["uscc", "period"],
}


def _rows(n: int) -> list[list[str]]:
    from stdnum.cn import ric, uscc

    rng = random.Random(5)
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    out = []
    for i in range(n):
        body = "91371302" + "".join(rng.choice(alphabet) for _ in range(9))
        birth = f"{rng.randint(1995, 2005)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
        idb = f"371302{birth}{rng.randint(100, 999)}"
        out.append(
            [
                body + uscc.calc_check_digit(body),
                f"临沂市兰山区商贸有限公司{i + 1}号",
                idb + ric.calc_check_digit(idb + "0"),
                "2026年10月1日",
                f"{rng.randint(1000, 90000)}.50",
            ]
        )
    return out


def _csv(rows: list[list[str]]) -> bytes:
    head = "统一社会信用代码,纳税人名称,法定代表人身份证号,所属期,实缴税额(元)"
    return ("\n".join([head] + [",".join(r) for r in rows]) + "\n").encode("gbk")


def test_upload_fix_accept_request_approve_read(page, live_city, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from cityos.catalog import service
    from cityos.catalog.schemas import ResourceIn
    from cityos.identity import service as identity

    db = live_city.db
    with db.transaction() as s:  # type: ignore[attr-defined]
        bureau = identity.principal_for(session=s, username="databureau")
        code = service.create_resource(
            session=s,
            actor=bureau,
            data=ResourceIn(
                class_code="302002",
                name="企业纳税申报",
                provider="swj",
                summary="按月申报的企业纳税信息",
                share_type="conditional",
                share_condition="用于亩均效益评价和信用监管",
                legal_basis="《中华人民共和国税收征收管理法》第八条",
                update_cycle="monthly",
                table_schema=SCHEMA,
            ),
        ).code
    slug = code.replace("/", "-")
    rows = _rows(12)
    bad = [r[:] for r in rows]
    bad[3][0] = bad[3][0][:-1] + ("0" if bad[3][0][-1] != "0" else "1")  # a wrong check character, file row 5
    bad[6][3] = "2026年13月1日"  # no such month, file row 8
    (tmp_path / "bad.csv").write_bytes(_csv(bad))
    (tmp_path / "fixed.csv").write_bytes(_csv(rows))

    login(page, live_city, "steward")
    page.goto(f"{live_city.url}/catalog/r/{slug}")
    page.get_by_test_id("upload-link").click()
    page.set_input_files("input[name=file]", str(tmp_path / "bad.csv"))
    page.locator("[data-testid=upload-form] button[type=submit]").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_test_id("invalid-rows").inner_text() == "2"
    samples = page.get_by_test_id("sample-table").inner_text()
    sample_rows = {line.split("\t")[0]: line for line in samples.splitlines()[1:]}
    assert set(sample_rows) == {"5", "8"}  # file rows of the bad check character and the 13th month
    assert "uscc" in sample_rows["5"] and "period" in sample_rows["8"]
    assert "2026年13月1日" in samples and "GBK" in page.get_by_test_id("report").inner_text()
    screenshot(page, "catalog-validation-report")
    page.get_by_test_id("discard").click()
    page.wait_for_load_state("networkidle")
    page.get_by_test_id("upload-link").click()
    page.set_input_files("input[name=file]", str(tmp_path / "fixed.csv"))
    page.locator("[data-testid=upload-form] button[type=submit]").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_test_id("invalid-rows").inner_text() == "0"
    page.get_by_test_id("accept").click()
    page.wait_for_load_state("networkidle")
    assert "已接收" in page.get_by_test_id("versions").inner_text()
    screenshot(page, "catalog-resource")

    page.context.clear_cookies()
    login(page, live_city, "handler")  # 兰山区城市管理局
    page.goto(f"{live_city.url}/catalog/r/{slug}")
    form = page.get_by_test_id("request-form")
    form.locator("textarea[name=purpose]").fill("核验沿街商户纳税人身份,用于门前三包执法")
    form.locator("input[name=legal_basis]").fill("《山东省城市管理综合执法条例》")
    for name in ("period", "tax_paid", "legal_rep_id"):
        form.locator(f"input[name=fields][value={name}]").uncheck()
    form.locator("button[type=submit]").click()
    page.wait_for_load_state("networkidle")
    assert "待审批" in page.content()

    page.context.clear_cookies()
    login(page, live_city, "steward")
    page.goto(f"{live_city.url}/catalog/requests")
    decide = page.locator("form[data-testid^=decide-]").first
    assert "uscc" in decide.inner_text() or "统一社会信用代码" in decide.inner_text()
    screenshot(page, "catalog-request-inbox")
    decide.get_by_test_id("approve").click()
    page.wait_for_load_state("networkidle")
    assert "已同意" in page.content()

    with db.transaction() as s:  # type: ignore[attr-defined]
        admin = identity.principal_for(session=s, username="admin")
        token = identity.create_token(
            session=s, actor=admin, client="兰山城管执法系统", scopes=["data"], department_code="ls-cgj"
        ).token
    h = {"Authorization": f"Bearer {token}"}
    r = httpx.get(f"{live_city.url}/api/v1/data/{slug}/rows", headers=h)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["fields"] == ["uscc", "taxpayer"] and len(body["rows"]) == 12
    r = httpx.get(f"{live_city.url}/api/v1/data/{slug}/rows", params={"fields": "uscc,tax_paid"}, headers=h)
    assert r.status_code == 403 and r.json()["error"]["code"] == "field_not_granted"
    with db.reader() as s:  # type: ignore[attr-defined]
        use = [u for u in service.usage(session=s, code=code) if u.consumer_code == "ls-cgj"]
    # the handler's look at the page before asking was a (refused) preview: on record too
    assert use and (use[0].calls, use[0].refused, use[0].rows) == (3, 2, 12)
