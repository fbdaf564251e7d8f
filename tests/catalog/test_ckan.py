"""The CKAN-compatible Action API: CKAN's response shape and error statuses, package_search's fq,
rows, start, sort and facets, datastore_search's filters, q, fields, sort, limit, offset and
include_total; only resources open without condition and only their public fields ever appear.
One test drives the real `ckanapi` client against a live server."""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from cityos.catalog import service
from cityos.catalog.schemas import ResourceIn

from .helpers import POPULATION_SCHEMA, population, population_rows, write_csv

WASTE_SCHEMA = {
    "fields": [
        {"name": "station", "title": "转运站", "type": "string", "sensitivity": "public", "index": True},
        {"name": "day", "title": "日期", "type": "date", "sensitivity": "public"},
        {"name": "tons", "title": "清运量（吨）", "type": "number", "sensitivity": "public"},
        {
            "name": "operator_mobile",
            "title": "负责人手机",
            "type": "string",
            "format": "cn-mobile",
            "sensitivity": "sensitive",
        },
        {"name": "note", "title": "内部备注", "type": "string", "sensitivity": "internal"},
    ],
    "primaryKey": ["station", "day"],
}
WASTE_HEADER = ["station", "day", "tons", "operator_mobile", "note"]
STATIONS = ["兰山站", "罗庄站", "河东站"]
SECRET_FIELDS = ("id_number", "mobile", "gender", "birth_date", "operator_mobile", "note")
PERSONAL_NAMES = ("张伟", "王芳", "李娜", "刘洋", "陈静")  # the sensitive `name` field's values


def waste_rows() -> list[list[str]]:
    return [
        [st, f"2026-01-{d:02d}", f"{10 + i * 3 + d}.5", f"1380000{i}{d:03d}", "内部"]
        for i, st in enumerate(STATIONS)
        for d in range(1, 5)
    ]


@dataclass
class OpenCatalog:
    population: str  # open, unconditional share: public fields division, household_size
    secret: str  # conditional share, closed: must be invisible
    conditional: str  # open on condition
    waste: str  # open, another department (cgj)


def open_catalog(db, city, tmp_path: Path) -> OpenCatalog:  # type: ignore[no-untyped-def]
    steward = city.as_role("data_bureau")
    with db.transaction() as s:
        pop = population(s, steward, share_type="unconditional", open_type="open")
        secret = population(s, steward, share_type="conditional", open_type="closed")
        cond = service.create_resource(
            session=s,
            actor=steward,
            data=ResourceIn(
                class_code="101002",
                name="纳税人登记信息",
                provider="swj",
                summary="纳税人户籍地与户内人数",
                open_type="conditional",
                open_condition="仅用于学术研究",
                tags=["税务"],
                topics=["市场监管"],
                table_schema=POPULATION_SCHEMA,
            ),
        ).code
        waste = service.create_resource(
            session=s,
            actor=steward,
            data=ResourceIn(
                class_code="301001",
                name="生活垃圾清运量",
                provider="cgj",
                summary="各转运站每日生活垃圾清运量",
                open_type="open",
                update_cycle="daily",
                tags=["环卫"],
                topics=["城市管理"],
                table_schema=WASTE_SCHEMA,
            ),
        ).code
    for code, path in (
        (pop, write_csv(tmp_path / "pop.csv", population_rows(30))),
        (secret, write_csv(tmp_path / "secret.csv", population_rows(5, seed=9))),
        (cond, write_csv(tmp_path / "cond.csv", population_rows(8, seed=11))),
        (waste, write_csv(tmp_path / "waste.csv", waste_rows(), header=WASTE_HEADER)),
    ):
        v = service.load(db=db, actor=steward, code=code, path=path, filename=path.name)
        assert v.state == "accepted", v.report
    return OpenCatalog(population=pop, secret=secret, conditional=cond, waste=waste)


def slug(code: str) -> str:
    return code.replace("/", "-")


@pytest.fixture
def cat(db, city, tmp_path: Path) -> OpenCatalog:  # type: ignore[no-untyped-def]
    return open_catalog(db, city, tmp_path)


def call(client, action: str, **params):  # type: ignore[no-untyped-def]
    return client.get(f"/api/3/action/{action}", params=params)


def ok(client, action: str, **params):  # type: ignore[no-untyped-def]
    r = call(client, action, **params)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["success"] is True
    assert body["help"].endswith(f"/api/3/action/help_show?name={action}")
    return body["result"]


def assert_no_secret(text: str, cat: OpenCatalog) -> None:
    for f in SECRET_FIELDS:
        assert f'"{f}"' not in text, f
    for n in PERSONAL_NAMES:
        assert n not in text, n
    assert slug(cat.secret) not in text and slug(cat.conditional) not in text


def test_package_list_has_only_resources_open_without_condition(client, cat: OpenCatalog) -> None:
    r = call(client, "package_list")
    assert set(r.json()) == {"help", "success", "result"}
    assert r.json()["result"] == sorted([slug(cat.population), slug(cat.waste)])
    assert ok(client, "package_list", limit=1, offset=1) == [max(slug(cat.population), slug(cat.waste))]
    # the path the ckanapi client uses answers the same
    assert client.get("/api/action/package_list").json()["result"] == r.json()["result"]


def test_package_show_by_name_and_id_in_ckans_shape(client, cat: OpenCatalog) -> None:
    pkg = ok(client, "package_show", id=slug(cat.population))
    for key in (
        "id",
        "name",
        "title",
        "notes",
        "metadata_created",
        "metadata_modified",
        "organization",
        "owner_org",
        "tags",
        "resources",
        "num_resources",
        "num_tags",
        "license_id",
        "state",
        "type",
        "private",
        "extras",
    ):
        assert key in pkg, key
    assert pkg["name"] == slug(cat.population) and pkg["title"] == "人口基础信息"
    assert pkg["type"] == "dataset" and pkg["private"] is False and pkg["state"] == "active"
    assert pkg["organization"]["name"] == "gaj" and pkg["organization"]["title"] == "临沂市公安局"
    assert pkg["owner_org"] == pkg["organization"]["id"]
    assert pkg["tags"] == [pkg["tags"][0]] and pkg["tags"][0]["name"] == "人口" and pkg["num_tags"] == 1
    assert [r["format"] for r in pkg["resources"]] == ["CSV", "NDJSON", "Parquet"]
    assert pkg["num_resources"] == 3
    first = pkg["resources"][0]
    assert first["id"] == f"{slug(cat.population)}-csv" and first["package_id"] == pkg["id"]
    assert first["url"].endswith(f"/open/r/{slug(cat.population)}/download.csv")
    assert {"key": "fields", "value": "division,household_size"} in pkg["extras"]
    assert pkg["metadata_modified"][:4].isdigit() and "T" in pkg["metadata_modified"]
    # by id, the same package
    assert ok(client, "package_show", id=pkg["id"]) == pkg
    assert_no_secret(json.dumps(pkg, ensure_ascii=False), cat)


def test_closed_and_conditional_resources_are_not_found(client, cat: OpenCatalog) -> None:
    for code in (cat.secret, cat.conditional, "999999-000001"):
        r = call(client, "package_show", id=slug(code))
        assert r.status_code == 404
        body = r.json()
        assert body["success"] is False and "result" not in body
        assert body["error"] == {"__type": "Not Found Error", "message": "Not found"}
        assert body["help"].endswith("help_show?name=package_show")
    for rid in (f"{slug(cat.secret)}-csv", f"{slug(cat.conditional)}-csv"):
        assert call(client, "resource_show", id=rid).status_code == 404
        r = call(client, "datastore_search", resource_id=rid)
        assert r.status_code == 404 and r.json()["error"]["__type"] == "Not Found Error"


def test_errors_have_ckans_types_and_statuses(client, cat: OpenCatalog) -> None:
    r = call(client, "package_create")
    assert r.status_code == 400 and r.json()["success"] is False
    assert r.json()["error"]["__type"] == "Bad Request"
    r = call(client, "package_show")
    assert r.status_code == 409 and r.json()["error"] == {
        "__type": "Validation Error",
        "id": ["Missing value"],
    }
    r = call(client, "package_search", rows="many")
    assert r.status_code == 409 and r.json()["error"]["rows"] == ["Invalid integer"]
    r = call(client, "package_search", fq="colour:red")
    assert r.status_code == 400 and r.json()["error"]["__type"] == "Search Query Error"
    r = client.post(
        "/api/3/action/package_search", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert r.status_code == 400 and r.json()["error"]["__type"] == "Bad Request"


def test_package_search_fq_rows_start_sort_and_facets(client, cat: OpenCatalog) -> None:
    res = ok(client, "package_search")
    assert res["count"] == 2 and {p["name"] for p in res["results"]} == {
        slug(cat.population),
        slug(cat.waste),
    }
    assert set(res) >= {"count", "results", "facets", "search_facets", "sort"}
    res = ok(client, "package_search", fq="organization:gaj tags:人口")
    assert [p["name"] for p in res["results"]] == [slug(cat.population)]
    assert ok(client, "package_search", fq="organization:gaj tags:环卫")["count"] == 0
    assert ok(client, "package_search", fq="-organization:gaj")["results"][0]["name"] == slug(cat.waste)
    assert ok(client, "package_search", fq='groups:"城市管理" AND res_format:CSV')["count"] == 1
    assert ok(client, "package_search", q="垃圾")["results"][0]["name"] == slug(cat.waste)
    assert ok(client, "package_search", q="tags:环卫")["count"] == 1
    # conditional and closed resources never match, whatever the query
    assert ok(client, "package_search", q="纳税人")["count"] == 0
    assert ok(client, "package_search", fq="organization:swj")["count"] == 0
    by_name = [p["name"] for p in ok(client, "package_search", sort="name asc")["results"]]
    assert by_name == sorted(by_name)
    assert [p["name"] for p in ok(client, "package_search", sort="name desc")["results"]] == by_name[::-1]
    page = ok(client, "package_search", sort="name asc", rows=1, start=1)
    assert page["count"] == 2 and [p["name"] for p in page["results"]] == by_name[1:]
    assert ok(client, "package_search", rows=0)["results"] == []
    newest = ok(client, "package_search", sort="metadata_modified desc")["results"]
    assert newest[0]["metadata_modified"] >= newest[1]["metadata_modified"]
    res = ok(client, "package_search", **{"facet.field": '["organization","tags"]'})
    assert res["facets"]["organization"] == {"gaj": 1, "cgj": 1}
    items = {i["name"]: i for i in res["search_facets"]["organization"]["items"]}
    assert items["cgj"]["display_name"] == "临沂市城市管理局" and items["cgj"]["count"] == 1
    assert res["facets"]["tags"] == {"人口": 1, "环卫": 1}
    assert_no_secret(json.dumps(res, ensure_ascii=False), cat)


def test_post_with_a_json_body_works_as_get(client, cat: OpenCatalog) -> None:
    r = client.post(
        "/api/3/action/package_search",
        json={"fq": "organization:cgj", "rows": 5, "facet.field": ["tags"]},
    )
    assert r.status_code == 200 and r.json()["success"] is True
    res = r.json()["result"]
    assert [p["name"] for p in res["results"]] == [slug(cat.waste)] and res["facets"]["tags"] == {"环卫": 1}
    r = client.post(
        "/api/3/action/datastore_search",
        json={"resource_id": f"{slug(cat.waste)}-csv", "filters": {"station": ["兰山站", "罗庄站"]}},
    )
    assert r.json()["result"]["total"] == 8


def test_organizations_are_providers_with_open_data(client, cat: OpenCatalog) -> None:
    assert ok(client, "organization_list", sort="name asc") == ["cgj", "gaj"]
    full = ok(client, "organization_list", all_fields="true", sort="name asc")
    assert [(o["name"], o["package_count"], o["type"]) for o in full] == [
        ("cgj", 1, "organization"),
        ("gaj", 1, "organization"),
    ]
    org = ok(client, "organization_show", id="gaj", include_datasets="true")
    assert org["title"] == "临沂市公安局" and org["is_organization"] is True
    assert [p["name"] for p in org["packages"]] == [slug(cat.population)]
    assert ok(client, "organization_show", id=org["id"])["name"] == "gaj"
    assert call(client, "organization_show", id="swj").status_code == 404


def test_resource_show(client, cat: OpenCatalog) -> None:
    res = ok(client, "resource_show", id=f"{slug(cat.waste)}-parquet")
    assert res["format"] == "Parquet" and res["mimetype"] == "application/vnd.apache.parquet"
    assert res["package_id"] == ok(client, "package_show", id=slug(cat.waste))["id"]
    assert call(client, "resource_show", id=f"{slug(cat.waste)}-xlsx").status_code == 404


def test_datastore_search_filters_q_fields_sort_limit_offset_total(client, cat: OpenCatalog) -> None:
    rid = f"{slug(cat.waste)}-csv"
    res = ok(client, "datastore_search", resource_id=rid)
    assert res["resource_id"] == rid and res["total"] == 12 and res["limit"] == 100 and res["offset"] == 0
    assert res["fields"] == [
        {"id": "_id", "type": "int"},
        {"id": "station", "type": "text"},
        {"id": "day", "type": "date"},
        {"id": "tons", "type": "numeric"},
    ]
    assert res["records"][0] == {"_id": 1, "station": "兰山站", "day": "2026-01-01", "tons": 11.5}
    assert res["_links"]["start"].startswith("/api/3/action/datastore_search?")
    assert "offset=100" in res["_links"]["next"]
    assert res["total_was_estimated"] is False

    res = ok(client, "datastore_search", resource_id=rid, filters=json.dumps({"station": "罗庄站"}))
    assert res["total"] == 4 and {r["station"] for r in res["records"]} == {"罗庄站"}
    assert res["filters"] == {"station": "罗庄站"}
    res = ok(
        client, "datastore_search", resource_id=rid, filters=json.dumps({"day": "2026-01-02", "tons": 15.5})
    )
    assert [r["station"] for r in res["records"]] == ["罗庄站"]

    assert ok(client, "datastore_search", resource_id=rid, q="河东")["total"] == 4
    assert ok(client, "datastore_search", resource_id=rid, q=json.dumps({"station": "兰山"}))["total"] == 4
    assert (
        ok(client, "datastore_search", resource_id=rid, q="内部")["total"] == 0
    )  # internal field unsearched

    res = ok(
        client,
        "datastore_search",
        resource_id=rid,
        fields="station,tons",
        sort="tons desc",
        limit=3,
        offset=1,
    )
    assert res["fields"] == [{"id": "station", "type": "text"}, {"id": "tons", "type": "numeric"}]
    assert [r["tons"] for r in res["records"]] == [19.5, 18.5, 17.5]
    assert set(res["records"][0]) == {"station", "tons"} and res["total"] == 12
    assert res["sort"] == "tons desc"

    res = ok(client, "datastore_search", resource_id=rid, include_total="false", limit=2)
    assert "total" not in res and len(res["records"]) == 2
    res = ok(client, "datastore_search", resource_id=rid, records_format="lists", fields="station", limit=1)
    assert res["records"] == [["兰山站"]]
    # any of the dataset's resource ids reads the same data
    assert ok(client, "datastore_search", resource_id=f"{slug(cat.waste)}-parquet")["total"] == 12


def test_datastore_search_never_reads_internal_or_sensitive_fields(client, cat: OpenCatalog) -> None:
    rid = f"{slug(cat.population)}-csv"
    res = ok(client, "datastore_search", resource_id=rid, limit=5)
    assert [f["id"] for f in res["fields"]] == ["_id", "division", "household_size"]
    assert_no_secret(json.dumps(res, ensure_ascii=False), cat)
    for params in (
        {"fields": "id_number"},
        {"filters": json.dumps({"mobile": "13800000000"})},
        {"sort": "name asc"},
        {"q": json.dumps({"id_number": "3713"})},
    ):
        r = call(client, "datastore_search", resource_id=rid, **params)
        assert r.status_code == 409, params
        err = r.json()["error"]
        assert err["__type"] == "Validation Error"
        key = next(k for k in err if k != "__type")
        assert "not in table" in err[key][0]
    r = call(client, "datastore_search", resource_id=rid, limit=-1)
    assert r.status_code == 409 and r.json()["error"]["limit"]
    r = call(client, "datastore_search")
    assert r.status_code == 409 and r.json()["error"]["resource_id"] == ["Missing value"]


def test_every_datastore_call_is_counted_and_audited(client, db, cat: OpenCatalog) -> None:
    rid = f"{slug(cat.waste)}-csv"
    ok(client, "datastore_search", resource_id=rid, limit=5)
    ok(client, "datastore_search", resource_id=rid, limit=2)
    ok(client, "package_show", id=slug(cat.waste))
    with db.reader() as s:
        rows = [u for u in service.usage(session=s, code=cat.waste) if u.consumer_code == "public"]
        from sqlalchemy import select

        from cityos.core.audit import AuditRecord

        actions = list(
            s.scalars(
                select(AuditRecord.action)
                .where(AuditRecord.subject_id == cat.waste)
                .order_by(AuditRecord.seq)
            )
        )
    assert [(u.calls, u.rows, u.downloads) for u in rows] == [(2, 7, 0)]
    assert actions.count("catalog.open.api") == 2


# ------------------------------------------------------------------------ the ckanapi client
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def live(db, settings, cat: OpenCatalog):  # type: ignore[no-untyped-def]
    """A real HTTP server on a free port over the test's database."""
    import uvicorn

    from cityos.web.app import create_app

    app = create_app(settings=settings, db=db)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.05)
    assert server.started
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def test_the_ckanapi_client_reads_the_catalog_unchanged(live: str, cat: OpenCatalog) -> None:
    import ckanapi

    with ckanapi.RemoteCKAN(live) as site:
        found = site.action.package_search(fq="organization:cgj", rows=10)
        assert found["count"] == 1
        pkg = site.action.package_show(id=found["results"][0]["name"])
        assert pkg["title"] == "生活垃圾清运量"
        rid = next(r["id"] for r in pkg["resources"] if r["datastore_active"])
        rows = site.action.datastore_search(resource_id=rid, filters={"station": "河东站"}, sort="day desc")
        assert rows["total"] == 4 and rows["records"][0]["day"] == "2026-01-04"
        with pytest.raises(ckanapi.NotFound):
            site.action.package_show(id=slug(cat.secret))
        with pytest.raises(ckanapi.ValidationError):
            site.action.datastore_search(resource_id=rid, fields=["operator_mobile"])
    with ckanapi.RemoteCKAN(live, get_only=True) as site:
        assert site.action.package_list() == sorted([slug(cat.population), slug(cat.waste)])
