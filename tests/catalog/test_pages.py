"""The catalog pages render in Chinese for each role and the steward's upload flow works through
forms: validate → report → accept; request → approve."""

from __future__ import annotations

import re
from pathlib import Path

from cityos.catalog import service

from .helpers import HEADER, login, population, population_rows, steward


def _csrf(client) -> str:  # type: ignore[no-untyped-def]
    m = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/catalog").text)
    assert m
    return m.group(1)


def test_steward_uploads_reads_the_report_and_accepts_then_a_department_asks(
    db, city, client, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    steward(db, "gaj", "gaj-steward")
    steward(db, "cgj", "cgj-steward")
    with db.transaction() as s:
        code = population(s, city.as_role("data_bureau"))
    slug = code.replace("/", "-")
    login(client, "gaj-steward")
    page = client.get("/catalog")
    assert page.status_code == 200 and "数据目录" in page.text and "人口基础信息" in page.text
    rows = population_rows(10)
    rows[2][4] = "1380013"
    csv = "\n".join([",".join(HEADER)] + [",".join(r) for r in rows]).encode("gbk")
    token = _csrf(client)
    r = client.post(
        f"/catalog/r/{slug}/upload",
        data={"csrf_token": token, "mode": "replace", "policy": ""},
        files={"file": ("人口.csv", csv, "text/csv")},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    report = client.get(r.headers["location"])
    assert "校验报告" in report.text and "待审核" in report.text and "格式不符" in report.text
    assert ">4<" in report.text  # the bad mobile is on file row 4
    with db.reader() as s:
        assert service.get_resource(session=s, code=code).current_version is None  # nothing before accepting
    vid = r.headers["location"].rsplit("/", 1)[1]
    r = client.post(
        f"/catalog/r/{slug}/versions/{vid}/accept", data={"csrf_token": token}, follow_redirects=False
    )
    assert r.status_code == 303
    res = client.get(f"/catalog/r/{slug}")
    assert "已接收" in res.text and "数据预览" in res.text
    # another department's steward asks for two fields
    login(client, "cgj-steward")
    res = client.get(f"/catalog/r/{slug}")
    assert "申请共享" in res.text
    token = _csrf(client)
    r = client.post(
        f"/catalog/r/{slug}/request",
        data={
            "csrf_token": token,
            "purpose": "执法核验身份",
            "legal_basis": "《城市管理执法办法》",
            "fields": ["id_number", "division"],
            "period_days": "90",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    assert "待审批" in client.get("/catalog/requests?box=outgoing").text
    login(client, "gaj-steward")
    inbox = client.get("/catalog/requests")
    rid = re.search(r'data-testid="decide-(\d+)"', inbox.text).group(1)  # type: ignore[union-attr]
    token = _csrf(client)
    r = client.post(
        f"/catalog/requests/{rid}/decide",
        data={
            "csrf_token": token,
            "approve": "yes",
            "fields": ["id_number", "division"],
            "period_days": "90",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    login(client, "cgj-steward")
    res = client.get(f"/catalog/r/{slug}")
    assert "对您脱敏显示" in res.text and "id_number" in res.text and "已同意" in res.text


def test_pages_render_for_every_role(db, city, client) -> None:  # type: ignore[no-untyped-def]
    with db.transaction() as s:
        code = population(s, city.as_role("data_bureau"))
    slug = code.replace("/", "-")
    for role in ("data_bureau", "data_steward", "handler", "leader", "dispatcher"):
        city.login(client, role)
        for path in ("/catalog", f"/catalog/r/{slug}"):
            r = client.get(path)
            assert r.status_code == 200, (role, path, r.text[:300])
        r = client.get("/catalog/overview")
        assert r.status_code in (200, 403), (role, r.status_code)
        if role in ("data_bureau", "leader"):
            assert r.status_code == 200 and "数据总览" in r.text
            assert client.get("/catalog/overview.json").json()["total"] == 1
    city.login(client, "citizen")
    assert client.get("/catalog").status_code == 403


def test_new_resource_form_shows_the_refusal_in_chinese(db, city, client) -> None:  # type: ignore[no-untyped-def]
    city.login(client, "data_bureau")
    token = _csrf(client)
    form = {
        "csrf_token": token,
        "class_code": "301001",
        "name": "不动产登记",
        "provider": "gaj",
        "share_type": "conditional",
        "share_condition": "",
        "legal_basis": "",
        "update_cycle": "monthly",
        "format_class": "sheet",
        "open_type": "closed",
    }
    r = client.post("/catalog/new", data=form)
    assert r.status_code == 422 and "法律依据" in r.text
    form.update(legal_basis="《不动产登记暂行条例》", share_condition="办理业务核验")
    r = client.post("/catalog/new", data=form, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/catalog/r/301001-000001"
