"""The open-data portal without login: the list in Chinese with search and filters, resource pages
with the public fields only, downloads of the public fields that are counted, closed resources
invisible, and a visitor's registration and request for a conditionally open resource that the
provider answers in the staff inbox."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from cityos.catalog import service
from cityos.catalog.schemas import DecisionIn

from .test_ckan import PERSONAL_NAMES, SECRET_FIELDS, OpenCatalog, open_catalog, slug


@pytest.fixture
def cat(db, city, tmp_path: Path) -> OpenCatalog:  # type: ignore[no-untyped-def]
    return open_catalog(db, city, tmp_path)


def test_portal_lists_open_and_conditional_resources_in_chinese(client, cat: OpenCatalog) -> None:
    r = client.get("/open/")
    assert r.status_code == 200
    html = r.text
    assert "数据开放" in html and "共 3 个数据集" in html
    assert "人口基础信息" in html and "生活垃圾清运量" in html and "纳税人登记信息" in html
    assert f"/open/r/{slug(cat.secret)}" not in html
    assert "有条件开放" in html and "无条件开放" in html
    assert client.get("/open/?lang=en").text.count("Open on condition") >= 1


def test_portal_search_and_filters(client, cat: OpenCatalog) -> None:
    def listed(**params: str) -> set[str]:
        html = client.get("/open/", params=params).text
        return set(re.findall(r'href="/open/r/([0-9-]+)"', html))

    assert listed(department="cgj") == {slug(cat.waste)}
    assert listed(department="gaj") == {slug(cat.population)}  # the closed one stays hidden
    assert listed(q="垃圾") == {slug(cat.waste)}
    assert listed(topic="市场监管") == {slug(cat.conditional)}
    assert listed(format_class="sheet") == {slug(cat.population), slug(cat.waste), slug(cat.conditional)}
    assert listed(format_class="media") == set()
    assert listed(department="no-such-department") == set()


def test_resource_page_shows_public_fields_preview_downloads_and_api(client, cat: OpenCatalog) -> None:
    r = client.get(f"/open/r/{slug(cat.population)}")
    assert r.status_code == 200
    html = r.text
    assert "数据项" in html and "division" in html and "household_size" in html
    for f in (*SECRET_FIELDS, "公民身份号码", "手机号码"):
        assert f not in html, f
    for n in PERSONAL_NAMES:
        assert n not in html
    assert 'data-testid="open-preview"' in html and "371302" in html
    assert f"/open/r/{slug(cat.population)}/download.csv" in html
    assert f"/api/3/action/datastore_search?resource_id={slug(cat.population)}-csv" in html
    assert "curl" in html and "ckanapi" in html


def test_closed_resources_are_invisible(client, cat: OpenCatalog) -> None:
    assert client.get(f"/open/r/{slug(cat.secret)}").status_code == 404
    assert client.get(f"/open/r/{slug(cat.secret)}/download.csv").status_code == 404
    assert client.get("/open/r/999999-000009").status_code == 404


def test_downloads_stream_public_fields_only_and_are_counted(client, db, cat: OpenCatalog) -> None:
    name = slug(cat.population)
    r = client.get(f"/open/r/{name}/download.csv")
    assert r.status_code == 200 and r.headers["x-row-count"] == "30"
    assert "attachment" in r.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0] == ["division", "household_size"] and len(rows) == 31
    r = client.get(f"/open/r/{name}/download.ndjson")
    lines = [json.loads(line) for line in r.text.splitlines() if line]
    assert len(lines) == 30 and set(lines[0]) == {"division", "household_size"}
    r = client.get(f"/open/r/{name}/download.parquet")
    table = pq.read_table(io.BytesIO(r.content))
    assert table.column_names == ["division", "household_size"] and table.num_rows == 30
    assert client.get(f"/open/r/{name}/download.xlsx").status_code == 404
    with db.reader() as s:
        public = [u for u in service.usage(session=s, code=cat.population) if u.consumer_code == "public"]
    assert [(u.downloads, u.calls, u.rows) for u in public] == [(3, 3, 90)]
    html = client.get(f"/open/r/{name}").text
    m = re.search(r'data-testid="open-downloads"><b>(\d+)</b>', html)
    assert m and m.group(1) == "3"


def _csrf(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, "no csrf token on the page"
    return m.group(1)


def test_visitor_registers_and_applies_for_a_conditional_resource(client, db, city, cat: OpenCatalog) -> None:
    name = slug(cat.conditional)
    page = client.get(f"/open/r/{name}").text
    assert "仅用于学术研究" in page and "/open/register?next=" in page
    assert client.get(f"/open/r/{name}/download.csv").status_code == 403
    assert 'data-testid="open-preview"' not in page

    r = client.post(
        "/open/register",
        data={"username": "ab", "display_name": "研究者", "password": "short", "password2": "short"},
    )
    assert r.status_code == 422 and "密码至少 8 位" in r.text
    r = client.post(
        "/open/register",
        data={
            "username": "researcher1",
            "display_name": "某大学课题组",
            "password": "open-data-2026",
            "password2": "open-data-2026",
            "next": f"/open/r/{name}",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == f"/open/r/{name}"
    page = client.get(f"/open/r/{name}").text
    assert 'data-testid="open-request-form"' in page
    r = client.post(
        f"/open/r/{name}/request",
        data={"purpose": "人口与税源关系研究", "csrf_token": _csrf(page)},
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = client.get(f"/open/r/{name}?requested=1").text
    assert "申请已提交" in page and "待审批" in page
    r = client.post(f"/open/r/{name}/request", data={"purpose": "再次申请", "csrf_token": _csrf(page)})
    assert r.status_code == 422 and "已有待审批的申请" in r.text
    # a form without the session's CSRF token is refused
    assert client.post(f"/open/r/{name}/request", data={"purpose": "伪造"}).status_code == 403

    bureau = city.as_role("data_bureau")
    with db.reader() as s:
        inbox = service.requests(session=s, actor=bureau, box="all", code=cat.conditional)
    assert [(a.requested_by, a.purpose, a.state) for a in inbox] == [
        ("user:researcher1", "人口与税源关系研究", "pending")
    ]
    assert inbox[0].fields == ["division", "household_size"]
    with db.transaction() as s:
        service.decide_request(
            session=s,
            actor=bureau,
            request_id=inbox[0].id,
            decision=DecisionIn(approve=True, fields=["division", "household_size", "id_number"]),
        )
    # the grant opens the public fields only, never the sensitive one the provider ticked
    r = client.get(f"/open/r/{name}/download.csv")
    assert r.status_code == 200
    assert next(csv.reader(io.StringIO(r.content.decode("utf-8-sig")))) == ["division", "household_size"]
    page = client.get(f"/open/r/{name}").text
    assert "已同意" in page and 'data-testid="open-preview"' in page
    # another visitor still cannot read it
    client.cookies.clear()
    assert client.get(f"/open/r/{name}/download.csv").status_code == 403


def test_applying_needs_a_login(client, cat: OpenCatalog) -> None:
    r = client.post(
        f"/open/r/{slug(cat.conditional)}/request", data={"purpose": "研究"}, follow_redirects=False
    )
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")


def test_registrations_from_one_address_are_rate_limited(client, db, city) -> None:  # type: ignore[no-untyped-def]
    from cityos.identity import service as identity

    for i in range(identity.REGISTRATIONS_PER_HOUR):
        client.cookies.clear()
        r = client.post(
            "/open/register",
            data={
                "username": f"visitor{i}",
                "display_name": "访客",
                "password": "open-data-2026",
                "password2": "open-data-2026",
            },
            follow_redirects=False,
        )
        assert r.status_code == 303, r.text
    client.cookies.clear()
    r = client.post(
        "/open/register",
        data={
            "username": "visitor-x",
            "display_name": "访客",
            "password": "open-data-2026",
            "password2": "open-data-2026",
        },
    )
    assert r.status_code == 429 and "注册过于频繁" in r.text
    with db.reader() as s:
        assert [
            u.username for u in identity.users(session=s, role="citizen") if u.username.startswith("visitor")
        ] == [f"visitor{i}" for i in range(identity.REGISTRATIONS_PER_HOUR)]
