"""Administration pages through HTTP, on both databases."""

from __future__ import annotations

from sqlalchemy import select

from cityos.core.audit import AuditRecord


def _post(client, city, url, data):  # type: ignore[no-untyped-def]
    return client.post(url, data={"csrf_token": city.csrf(client), **data}, follow_redirects=False)


def test_region_tree_opens_lazily(city, client):
    city.login(client, "admin")
    page = client.get("/admin/regions")
    assert page.status_code == 200 and "临沂市" in page.text and "兰山区" not in page.text
    kids = client.get("/admin/regions/children", params={"code": "371300"})
    assert "兰山区" in kids.text and "罗庄区" in kids.text


def test_add_region_and_refuse_a_bad_parent(city, client):
    city.login(client, "admin")
    r = _post(
        client,
        city,
        "/admin/regions",
        {"code": "371302003", "name": "新街道", "level": "street", "parent_code": "371302"},
    )
    assert r.status_code == 303
    assert "新街道" in client.get("/admin/regions/children", params={"code": "371302"}).text
    r = _post(
        client,
        city,
        "/admin/regions",
        {"code": "371399001", "name": "无主街道", "level": "street", "parent_code": "371399"},
    )
    assert r.status_code == 422 and "上级区划代码不存在" in r.text


def test_department_and_user_creation_with_errors_in_chinese(city, client):
    city.login(client, "admin")
    r = _post(
        client,
        city,
        "/admin/departments",
        {"code": "hbj", "name": "临沂市环保局", "kind": "bureau", "region_code": "371300"},
    )
    assert r.status_code == 303 and "临沂市环保局" in client.get("/admin/departments").text
    r = _post(
        client,
        city,
        "/admin/departments",
        {"code": "hbj", "name": "重复", "kind": "bureau", "region_code": "371300"},
    )
    assert r.status_code == 422 and "部门代码已存在" in r.text
    r = _post(
        client,
        city,
        "/admin/users",
        {
            "username": "zhangsan",
            "display_name": "张三",
            "password": "longpassword",
            "role": "inspector",
            "department_code": "hbj",
            "region_code": "371302",
        },
    )
    assert r.status_code == 303
    listing = client.get("/admin/users", params={"role": "inspector", "department": "hbj"}).text
    assert "zhangsan" in listing and "inspector1" not in listing
    r = _post(
        client,
        city,
        "/admin/users",
        {"username": "lisi", "display_name": "李四", "password": "short", "role": "inspector"},
    )
    assert r.status_code == 422 and "至少 8 位" in r.text


def test_roles_change_through_htmx_is_audited(city, client, db):
    city.login(client, "admin")
    r = client.post(
        "/admin/users/handler1/roles",
        data={"roles": ["handler", "inspector"]},
        headers={"X-CSRF-Token": city.csrf(client), "HX-Request": "true"},
    )
    assert r.status_code == 200 and "角色已保存" in r.text
    with db.reader() as s:
        payload = s.scalars(select(AuditRecord).where(AuditRecord.action == "user.roles")).one().payload
    assert payload == {"before": ["handler"], "after": ["handler", "inspector"]}


def test_token_is_shown_once_and_can_be_revoked(city, client):
    city.login(client, "admin")
    r = _post(
        client, city, "/admin/tokens", {"client": "12345热线系统", "scopes": "open311 geo", "days": "30"}
    )
    assert r.status_code == 200 and 'data-testid="new-token"' in r.text
    token = r.text.split('data-testid="new-token"')[1].split("<code>")[1].split("</code>")[0]
    assert token.startswith("cos_")
    assert (
        client.get("/api/v1/identity/me", headers={"Authorization": f"Bearer {token}"}).json()["kind"]
        == "token"
    )
    page = client.get("/admin/tokens").text
    assert token not in page
    prefix = token.split("_")[1]
    _post(client, city, f"/admin/tokens/{prefix}/revoke", {})
    r = client.get("/api/v1/identity/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_token"


def test_calendar_page_enters_a_year_and_names_a_bad_row(city, client):
    city.login(client, "admin")
    page = client.get("/admin/calendar", params={"year": 2027}).text
    assert "仅按周末计算" in page
    r = _post(
        client,
        city,
        "/admin/calendar",
        {"year": "2027", "schedule": "date,type,name\n2027-02-08,holiday,春节\n2027-13-01,holiday,x"},
    )
    assert r.status_code == 422 and "第 3 行" in r.text
    r = _post(
        client,
        city,
        "/admin/calendar",
        {"year": "2027", "schedule": "date,type,name\n2027-02-08,holiday,春节\n2027-02-06,workday,调休"},
    )
    assert r.status_code == 200 and "已录入 2 天" in r.text and "管理员录入" in r.text


def test_identity_api_creates_and_refuses(city, client):
    import json

    city.login(client, "admin")
    h = {"X-CSRF-Token": city.csrf(client), "content-type": "application/json"}
    r = client.post(
        "/api/v1/identity/users",
        content=json.dumps(
            {"username": "wangwu", "display_name": "王五", "password": "long-enough", "roles": ["dispatcher"]}
        ),
        headers=h,
    )
    assert r.status_code == 201 and r.json()["roles"] == ["dispatcher"]
    r = client.post(
        "/api/v1/identity/users",
        content=json.dumps(
            {"username": "wangwu2", "display_name": "王五", "password": "long-enough", "roles": ["mayor"]}
        ),
        headers=h,
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "unknown_role"
    chain = client.get("/api/v1/identity/regions/37130200100101/chain").json()
    assert [x["level"] for x in chain] == ["city", "district", "street", "community", "grid"]
    assert client.get("/api/v1/identity/regions/999/chain").status_code == 404
