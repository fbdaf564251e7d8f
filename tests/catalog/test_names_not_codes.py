"""People read field titles, types and constraints in words, not column codes and Table Schema
JSON: the schema tables, previews and requests of the staff pages and the open portal; and a
`replace` that drops most rows says so with the counts before it is accepted."""

from __future__ import annotations

import re
from pathlib import Path

from cityos.catalog import service
from cityos.catalog.schemas import AccessRequestIn

from .helpers import login, population, population_rows, steward, token, write_csv

ESCAPED_JSON = ("&#34;enum&#34;", '{"enum"', "\\u7537", "&#34;required&#34;", '"maxLength"')


def _schema_rows(html: str, testid: str) -> str:
    m = re.search(rf'data-testid="{testid}".*?</table>', html, re.S)
    assert m, f"no table {testid}"
    return m.group(0)


def test_staff_pages_show_titles_types_and_constraints_in_words(db, city, client, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    provider = steward(db, "gaj", "gaj-steward")
    consumer = steward(db, "cgj", "cgj-steward")
    with db.transaction() as s:
        code = population(s, city.as_role("data_bureau"))
    service.load(db=db, actor=provider, code=code, path=write_csv(tmp_path / "p.csv", population_rows(5)))
    slug = code.replace("/", "-")
    with db.transaction() as s:
        service.request_access(
            session=s,
            actor=consumer,
            code=code,
            data=AccessRequestIn(
                purpose="执法核验身份", legal_basis="《城市管理执法办法》", fields=["id_number", "mobile"]
            ),
        )

    login(client, "gaj-steward")
    page = client.get(f"/catalog/r/{slug}").text
    schema = _schema_rows(page, "schema")
    for words in (
        "文本（身份证号）",
        "文本（行政区划代码）",
        "文本（手机号码）",
        "整数",
        "日期",
        "取值：男、女",
        "必填",
        "长度至多 20",
        "最小值 1；最大值 30",
    ):
        assert words in schema, words
    assert not [x for x in ESCAPED_JSON if x in page]
    preview = _schema_rows(page, "preview")
    heads = re.findall(r"<th[^>]*>([^<]*)</th>", preview)
    assert heads == ["公民身份号码", "姓名", "性别", "出生日期", "手机号码", "户籍地行政区划", "户内人数"]
    # the requests on the resource page and in the inbox name the fields by their titles
    assert "公民身份号码、手机号码" in page
    inbox = client.get("/catalog/requests").text
    assert "公民身份号码、手机号码" in inbox and "id_number, mobile" not in inbox
    # who asked, by name and role, never the account's code
    assert "user:cgj-steward" not in inbox and "user:cgj-steward" not in page
    assert consumer.display_name and consumer.display_name in inbox and consumer.display_name in page
    # the approval form's checkboxes carry the titles, inside the label that the CSS lays out in a row
    box = r'<label class="inline"><input type="checkbox" name="fields" value="id_number"[^>]*> 公民身份号码<'
    assert re.search(box, inbox)

    # the upload page's schema table too
    upload = client.get(f"/catalog/r/{slug}/upload").text
    assert "文本（身份证号）" in upload and not [x for x in ESCAPED_JSON if x in upload]

    # the consumer sees its outgoing request and, after approval, the masked fields by title
    login(client, "cgj-steward")
    out = client.get("/catalog/requests?box=outgoing").text
    assert "公民身份号码、手机号码" in out


def test_the_open_portal_shows_titles_and_types_in_words(db, city, client, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    steward = city.as_role("data_bureau")
    with db.transaction() as s:
        code = population(s, steward, share_type="unconditional", open_type="open")
    service.load(db=db, actor=steward, code=code, path=write_csv(tmp_path / "p.csv", population_rows(4)))
    page = client.get(f"/open/r/{code.replace('/', '-')}").text
    fields = _schema_rows(page, "open-schema")
    assert "文本（行政区划代码）" in fields and "整数" in fields and "cn-division-code" not in fields
    heads = re.findall(r"<th[^>]*>([^<]*)</th>", _schema_rows(page, "open-preview"))
    assert heads == ["户籍地行政区划", "户内人数"]


def test_a_replace_that_drops_most_rows_warns_with_the_counts(db, city, client, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    steward = city.as_role("data_bureau")
    with db.transaction() as s:
        code = population(s, steward)
    rows = population_rows(10)
    service.load(db=db, actor=steward, code=code, path=write_csv(tmp_path / "v1.csv", rows))
    slug, h = code.replace("/", "-"), token(db, city, "gaj", "catalog")

    def upload(n: int) -> dict:  # type: ignore[type-arg]
        body = write_csv(tmp_path / f"r{n}.csv", rows[:n]).read_bytes()
        res = client.post(
            f"/api/v1/catalog/resources/{slug}/versions",
            data={"mode": "replace", "accept": "false"},
            files={"file": (f"r{n}.csv", body, "text/csv")},
            headers=h,
        )
        assert res.status_code == 201, res.text
        return res.json()  # type: ignore[no-any-return]

    staged = upload(3)
    assert staged["state"] == "staged"
    assert staged["report"]["replace"] == {"before": 10, "after": 3, "dropped": 7, "drops_most": True}
    city.login(client, "data_bureau")
    page = client.get(f"/catalog/r/{slug}/versions/{staged['id']}").text
    warning = re.search(r'data-testid="replace-drops">([^<]*)<', page)
    assert warning and "本次替换将删除 7 行（原有 10 行）" in warning.group(1), page[:2000]
    assert 'class="error" role="alert" data-testid="replace-drops"' in page
    # a replace that keeps most rows names the count quietly; one that keeps all says nothing
    mild = upload(8)
    assert mild["report"]["replace"] == {"before": 10, "after": 8, "dropped": 2, "drops_most": False}
    page = client.get(f"/catalog/r/{slug}/versions/{mild['id']}").text
    assert 'class="notice" role="alert" data-testid="replace-drops"' in page and "删除 2 行" in page
    edited = [r[:] for r in rows]
    edited[0][6] = "9"
    same_size = write_csv(tmp_path / "all.csv", edited).read_bytes()
    res = client.post(
        f"/api/v1/catalog/resources/{slug}/versions",
        data={"mode": "replace", "accept": "false"},
        files={"file": ("all.csv", same_size, "text/csv")},
        headers=h,
    )
    assert res.status_code == 201 and res.json()["report"]["replace"]["dropped"] == 0
    assert (
        'data-testid="replace-drops"' not in client.get(f"/catalog/r/{slug}/versions/{res.json()['id']}").text
    )
