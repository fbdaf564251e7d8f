"""Reads that span versions: `changes` between two versions loaded with different schemas, the
portal's grant after a schema change, and version ids beyond the databases' integers."""

from __future__ import annotations

import copy
import csv
import io
import re
from pathlib import Path

from cityos.catalog import service
from cityos.catalog.schemas import DecisionIn, ResourceIn

from .helpers import HEADER, POPULATION_SCHEMA, grant, population, population_rows, steward, token, write_csv


def _retyped_schema() -> dict:  # type: ignore[type-arg]
    """gender dropped, household_size now text, an email added."""
    schema = copy.deepcopy(POPULATION_SCHEMA)
    schema["fields"] = [f for f in schema["fields"] if f["name"] != "gender"]
    for f in schema["fields"]:
        if f["name"] == "household_size":
            f["type"] = "string"
            f["constraints"] = {}
    schema["fields"].append({"name": "email", "title": "电子邮箱", "type": "string", "sensitivity": "public"})
    return schema


def test_changes_across_a_schema_change_read_each_version_with_its_own_schema(
    db, city, client, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    bureau = city.as_role("data_bureau")
    with db.transaction() as s:
        code = population(s, bureau)
    rows = population_rows(6)
    v1 = service.load(db=db, actor=bureau, code=code, path=write_csv(tmp_path / "v1.csv", rows))
    assert v1.state == "accepted"
    slug, h = code.replace("/", "-"), token(db, city, "gaj", "catalog")
    res = client.put(f"/api/v1/catalog/resources/{slug}/schema", json=_retyped_schema(), headers=h)
    assert res.status_code == 200, res.text
    # version 2: rows 0-3 kept (row 0's household size changed, rows 1-3 the same but now with an
    # email only on row 1), rows 4-5 dropped, one new row
    header = [h_ for h_ in HEADER if h_ != "gender"] + ["email"]

    def drop_gender(r: list[str]) -> list[str]:
        return [r[0], r[1], *r[3:]]

    new_rows = [[*drop_gender(r), ""] for r in rows[:4]]
    new_rows[0][5] = "9"
    new_rows[1][6] = "x@example.cn"
    extra = population_rows(1, seed=99)[0]
    new_rows.append([*drop_gender(extra), ""])
    v2 = service.load(
        db=db, actor=bureau, code=code, path=write_csv(tmp_path / "v2.csv", new_rows, header=header)
    )
    assert v2.state == "accepted" and v2.number == 2, v2.report

    res = client.get(f"/api/v1/data/{slug}/changes", params={"since": "1"}, headers=h)
    assert res.status_code == 200, res.text
    body = res.json()
    # the steward holds every field in clear: the changed rows are row 0 (household size), row 1
    # (an email where version 1 had none) and the new row; rows 2-3 are the same in both versions
    assert sorted(r["id_number"] for r in body["upserted"]) == sorted([rows[0][0], rows[1][0], extra[0]])
    assert all("gender" not in r and "email" in r for r in body["upserted"])
    assert sorted(r["id_number"] for r in body["removed"]) == sorted([rows[4][0], rows[5][0]])
    # a consumer department reading the id masked sees masked keys in both lists, never clear ones
    consumer = steward(db, "cgj", "cgj-steward")
    grant(db, bureau, consumer, code, ["id_number", "household_size", "email"])
    res = client.get(
        f"/api/v1/data/{slug}/changes",
        params={"since": "1"},
        headers=token(db, city, "cgj", "data", "城管执法系统"),
    )
    assert res.status_code == 200, res.text
    got = res.json()
    shown = [r["id_number"] for r in got["upserted"] + got["removed"]]
    assert len(shown) == 5 and all("*" in x for x in shown)
    assert not {r[0] for r in rows} & set(shown)


def test_a_changed_primary_key_is_a_clear_4xx(db, city, client, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    steward = city.as_role("data_bureau")
    with db.transaction() as s:
        code = population(s, steward)
    rows = population_rows(3)
    service.load(db=db, actor=steward, code=code, path=write_csv(tmp_path / "v1.csv", rows))
    schema = copy.deepcopy(POPULATION_SCHEMA)
    for f in schema["fields"]:
        if f["name"] == "id_number":
            f["name"] = "sfzh"
    schema["primaryKey"] = ["sfzh"]
    header = ["sfzh", *HEADER[1:]]
    v2 = service.load(
        db=db,
        actor=steward,
        code=code,
        path=write_csv(tmp_path / "v2.csv", rows, header=header),
        table_schema=schema,
    )
    assert v2.state == "accepted", v2.report
    slug = code.replace("/", "-")
    res = client.get(
        f"/api/v1/data/{slug}/changes", params={"since": "1"}, headers=token(db, city, "gaj", "catalog")
    )
    assert res.status_code == 422 and res.json()["error"]["code"] == "key_changed", res.text


def _csrf(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, "no csrf token on the page"
    return m.group(1)


def test_a_portal_grant_reads_the_current_version_under_todays_rules(
    db, city, client, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """A conditionally open resource: v1 published household_size as sensitive; the live schema
    later calls it public and adds a public `street` the data does not have. A visitor granted both
    reads neither: the version's own schema keeps household_size sensitive (a looser rule never
    applies to data published under a stricter one), and street is not in the data (no 500)."""
    steward = city.as_role("data_bureau")
    first = copy.deepcopy(POPULATION_SCHEMA)
    for f in first["fields"]:
        if f["name"] == "household_size":
            f["sensitivity"] = "sensitive"
    with db.transaction() as s:
        code = service.create_resource(
            session=s,
            actor=steward,
            data=ResourceIn(
                class_code="101001",
                name="人口基础信息",
                provider="gaj",
                summary="户籍人口基础信息",
                share_type="conditional",
                share_condition="用于政务服务身份核验",
                legal_basis="《中华人民共和国居民身份证法》",
                open_type="conditional",
                open_condition="仅用于学术研究",
                update_cycle="monthly",
                table_schema=first,
            ),
        ).code
    service.load(db=db, actor=steward, code=code, path=write_csv(tmp_path / "p.csv", population_rows(4)))
    later = copy.deepcopy(POPULATION_SCHEMA)
    later["fields"].append({"name": "street", "title": "街道", "type": "string", "sensitivity": "public"})
    with db.transaction() as s:
        service.set_schema(session=s, actor=steward, code=code, table_schema=later)

    name = code.replace("/", "-")
    r = client.post(
        "/open/register",
        data={
            "username": "researcher9",
            "display_name": "课题组",
            "password": "open-data-2026",
            "password2": "open-data-2026",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text[:300]
    page = client.get(f"/open/r/{name}").text
    r = client.post(
        f"/open/r/{name}/request",
        data={"purpose": "人口研究", "csrf_token": _csrf(page)},
        follow_redirects=False,
    )
    assert r.status_code == 303
    with db.transaction() as s:
        (req,) = service.requests(session=s, actor=steward, box="all", code=code)
        assert set(req.fields) == {"division", "household_size", "street"}
        service.decide_request(
            session=s, actor=steward, request_id=req.id, decision=DecisionIn(approve=True, fields=req.fields)
        )
    r = client.get(f"/open/r/{name}/download.csv")
    assert r.status_code == 200, r.text[:300]
    table = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert table[0] == ["division"] and len(table) == 5


def test_version_ids_beyond_the_databases_integers_are_4xx(db, city, client, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    steward = city.as_role("data_bureau")
    with db.transaction() as s:
        code = population(s, steward)
    v = service.load(db=db, actor=steward, code=code, path=write_csv(tmp_path / "p.csv", population_rows(2)))
    slug, h = code.replace("/", "-"), token(db, city, "gaj", "catalog")
    base = f"/api/v1/catalog/resources/{slug}/versions"
    for vid in (str(2**31), str(2**63), "99999999999999999999999", "0", str(-(2**40))):
        for method, path in (
            ("GET", f"{base}/{vid}"),
            ("POST", f"{base}/{vid}/accept"),
            ("POST", f"{base}/{vid}/discard"),
            ("GET", f"{base}/{vid}/quarantine.csv"),
        ):
            res = client.request(method, path, headers=h)
            assert 400 <= res.status_code < 500, (method, path, res.status_code, res.text[:200])
    assert client.get(f"{base}/{2**31 - 1}", headers=h).status_code == 404
    assert client.get(f"{base}/{v.id}", headers=h).status_code == 200
