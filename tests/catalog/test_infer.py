"""A new resource's fields inferred from a sample file: names and Chinese titles, types, the
Chinese formats the loader checks, required fields, short value lists, sensitivity and the key;
the proposal creates a resource that loads the same file without an invalid row."""

from __future__ import annotations

import random
import re
from pathlib import Path

from cityos.catalog import service
from cityos.catalog.schemas import ResourceIn

from .helpers import credit_code, population_rows, token, write_csv

CN_HEADER = [
    "公民身份号码",
    "姓名",
    "性别",
    "出生日期",
    "手机号码",
    "户籍地",
    "统一社会信用代码",
    "户内人数",
    "月收入",
    "登记日期",
    "备注",
]


def _sample(tmp_path: Path, n: int = 30, *, encoding: str = "gbk") -> Path:
    rng = random.Random(5)
    rows = []
    for i, r in enumerate(population_rows(n)):
        rows.append(
            [
                r[0],
                r[1],
                r[2],
                r[3],
                r[4],
                "371302",
                credit_code(rng),
                r[6],
                f"{rng.randint(1000, 9999)}.5",
                f"2024年{rng.randint(1, 12)}月{rng.randint(1, 28)}日",
                "" if i % 3 else "备注",
            ]
        )
    return write_csv(tmp_path / "样例.csv", rows, header=CN_HEADER, encoding=encoding)


def _infer(client, headers, path: Path) -> dict:  # type: ignore[no-untyped-def, type-arg]
    res = client.post(
        "/api/v1/catalog/schema/infer",
        files={"file": (path.name, path.read_bytes(), "text/csv")},
        headers=headers,
    )
    assert res.status_code == 200, res.text
    return res.json()  # type: ignore[no-any-return]


def test_fields_are_inferred_from_a_chinese_sample_and_load_it_cleanly(
    db, city, client, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    h = token(db, city, "gaj", "catalog")
    path = _sample(tmp_path)
    out = _infer(client, h, path)
    assert out["sampled_rows"] == 30
    doc = out["table_schema"]
    got = {f["title"]: f for f in doc["fields"]}
    assert [f["title"] for f in doc["fields"]] == CN_HEADER
    assert [f["name"] for f in doc["fields"]][:7] == [
        "id_number",
        "name",
        "gender",
        "birth_date",
        "mobile",
        "division",
        "credit_code",
    ]
    assert (got["公民身份号码"]["format"], got["公民身份号码"]["sensitivity"]) == (
        "cn-resident-id",
        "sensitive",
    )
    assert got["手机号码"]["format"] == "cn-mobile" and got["手机号码"]["sensitivity"] == "sensitive"
    assert got["统一社会信用代码"]["format"] == "cn-uscc"
    assert got["户籍地"]["format"] == "cn-division-code"
    assert got["姓名"]["mask"] == "name" and "enum" not in got["姓名"].get("constraints", {})
    assert got["性别"]["constraints"] == {"required": True, "enum": ["女", "男"]}
    assert got["出生日期"]["type"] == "date" and "format" not in got["出生日期"]
    assert (got["登记日期"]["type"], got["登记日期"]["format"]) == ("date", "any")
    assert got["户内人数"]["type"] == "integer" and got["月收入"]["type"] == "number"
    assert got["备注"]["type"] == "string" and "constraints" not in got["备注"]
    assert doc["primaryKey"] == ["id_number"]

    # the proposal is a schema the catalog takes, and the sample loads under it without a bad row
    steward = city.as_role("data_bureau")
    with db.transaction() as s:
        code = service.create_resource(
            session=s,
            actor=steward,
            data=ResourceIn(
                class_code="101001",
                name="人口样例",
                provider="gaj",
                summary="",
                share_type="unconditional",
                update_cycle="monthly",
                table_schema=doc,
            ),
        ).code
    v = service.load(db=db, actor=steward, code=code, path=path)
    assert v.state == "accepted" and v.valid_rows == 30 and v.quarantined_rows == 0, v.report


def test_identifier_headers_stay_names_and_bad_samples_are_4xx(db, city, client, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    h = token(db, city, "gaj", "catalog")
    rows = [[r[0], r[2], r[6]] for r in population_rows(5)]
    path = write_csv(tmp_path / "en.csv", rows, header=["id_number", "gender", "size"], encoding="utf-8")
    doc = _infer(client, h, path)["table_schema"]
    assert [(f["name"], f["title"], f["type"]) for f in doc["fields"]] == [
        ("id_number", "", "string"),
        ("gender", "", "string"),
        ("size", "", "integer"),
    ]
    # a code with leading zeros is text, not a number
    path = write_csv(tmp_path / "codes.csv", [["007"], ["012"]], header=["编号"], encoding="utf-8")
    (f,) = _infer(client, h, path)["table_schema"]["fields"]
    assert (f["name"], f["title"], f["type"]) == ("field_1", "编号", "string")
    empty = client.post(
        "/api/v1/catalog/schema/infer", files={"file": ("e.csv", b"a,b\n", "text/csv")}, headers=h
    )
    assert empty.status_code == 422 and empty.json()["error"]["code"] == "empty_file"
    broken = client.post(
        "/api/v1/catalog/schema/infer", files={"file": ("x.xlsx", b"not a zip", "application/zip")}, headers=h
    )
    assert 400 <= broken.status_code < 500, broken.text
    # a department that manages nothing may not ask
    assert client.post(
        "/api/v1/catalog/schema/infer", files={"file": ("e.csv", path.read_bytes(), "text/csv")}
    ).status_code in (401, 403)


def test_the_new_resource_form_is_prefilled_from_a_sample(db, city, client, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    city.login(client, "data_bureau")
    page = client.get("/catalog/new").text
    assert 'data-testid="infer-form"' in page
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    path = _sample(tmp_path, encoding="utf-8")
    res = client.post(
        "/catalog/new/infer",
        data={"csrf_token": token},
        files={"file": (path.name, path.read_bytes(), "text/csv")},
    )
    assert res.status_code == 200, res.text[:500]
    table = re.search(r'data-testid="inferred".*?</table>', res.text, re.S).group(0)  # type: ignore[union-attr]
    for words in (
        "公民身份号码",
        "文本（身份证号）",
        "文本（统一社会信用代码）",
        "取值：女、男",
        "整数",
        "日期",
        "敏感",
    ):
        assert words in table, words
    textarea = re.search(r'<textarea name="table_schema"[^>]*>(.*?)</textarea>', res.text, re.S).group(1)  # type: ignore[union-attr]
    assert "cn-resident-id" in textarea and "公民身份号码" in textarea
    bad = client.post(
        "/catalog/new/infer", data={"csrf_token": token}, files={"file": ("e.csv", b"a,b\n", "text/csv")}
    )
    assert bad.status_code == 422 and 'data-testid="form-error"' in bad.text
