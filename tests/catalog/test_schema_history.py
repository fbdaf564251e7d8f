"""A schema change never breaks history: each version is read with the schema it was loaded
with, and a rejected load with a new schema changes nothing."""

from __future__ import annotations

import copy
import csv
import io
from pathlib import Path

from cityos.catalog import service

from .helpers import HEADER, POPULATION_SCHEMA, population, population_rows, token, write_csv


def _new_schema() -> dict:  # type: ignore[type-arg]
    """household_size dropped, a required email added."""
    schema = copy.deepcopy(POPULATION_SCHEMA)
    schema["fields"] = [f for f in schema["fields"] if f["name"] != "household_size"]
    schema["fields"].append(
        {"name": "email", "title": "电子邮箱", "type": "string", "constraints": {"required": True}}
    )
    return schema


def test_a_schema_change_keeps_earlier_versions_readable_with_their_own_fields(
    db, city, client, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    steward = city.as_role("data_bureau")
    with db.transaction() as s:
        code = population(s, steward)
    rows = population_rows(5)
    v1 = service.load(db=db, actor=steward, code=code, path=write_csv(tmp_path / "v1.csv", rows))
    assert v1.state == "accepted"
    slug, h = code.replace("/", "-"), token(db, city, "gaj", "catalog")
    res = client.put(f"/api/v1/catalog/resources/{slug}/schema", json=_new_schema(), headers=h)
    assert res.status_code == 200, res.text

    # version 1 (still the current one) is read with its own fields, not the new ones
    for version in ("", "&version=1"):
        res = client.get(f"/api/v1/data/{slug}/rows?limit=10{version}", headers=h)
        assert res.status_code == 200, res.text
        got = res.json()["rows"]
        assert len(got) == 5 and "household_size" in got[0] and "email" not in got[0]
        exp = client.get(f"/api/v1/data/{slug}/export.csv?{version.lstrip('&')}", headers=h)
        assert exp.status_code == 200, exp.text
        table = list(csv.reader(io.StringIO(exp.text.lstrip("\ufeff"))))
        assert table[0] == HEADER and len(table) == 6
    # asking version 1 for a field only the new schema has is a clear 4xx, not a 500
    res = client.get(f"/api/v1/data/{slug}/rows?version=1&fields=email", headers=h)
    assert res.status_code == 422 and res.json()["error"]["code"] == "unknown_fields"

    # a version 2 with the new schema; version 1 stays readable with its own
    new_rows = [[*r[:6], f"p{i}@example.cn"] for i, r in enumerate(population_rows(3, seed=9))]
    v2 = service.load(
        db=db,
        actor=steward,
        code=code,
        path=write_csv(tmp_path / "v2.csv", new_rows, header=[*HEADER[:6], "email"]),
    )
    assert v2.state == "accepted" and v2.number == 2, v2.report
    old = client.get(f"/api/v1/data/{slug}/rows?version=1", headers=h).json()["rows"]
    new = client.get(f"/api/v1/data/{slug}/rows", headers=h).json()["rows"]
    assert len(old) == 5 and "household_size" in old[0] and "email" not in old[0]
    assert len(new) == 3 and "email" in new[0] and "household_size" not in new[0]
    exp = client.get(f"/api/v1/data/{slug}/export.csv?version=1", headers=h)
    assert exp.status_code == 200 and len(exp.text.strip().splitlines()) == 6


def test_a_rejected_load_with_a_new_schema_changes_nothing(db, city, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    steward = city.as_role("data_bureau")
    with db.transaction() as s:
        code = population(s, steward, policy="reject")
        before = service.schema_of(session=s, code=code).to_json()
    # the file lacks the new schema's required email column: fatal, so rejected
    v = service.load(
        db=db,
        actor=steward,
        code=code,
        path=write_csv(tmp_path / "p.csv", population_rows(3)),
        table_schema=_new_schema(),
    )
    assert v.state == "rejected"
    with db.reader() as s:
        assert service.schema_of(session=s, code=code).to_json() == before
        assert [f.name for f in service.get_resource(session=s, code=code).fields] == HEADER
    # staged with a new schema and discarded: nothing changes either; accepted: the schema is the new one
    rows = [[*r[:6], "a@example.cn"] for r in population_rows(3)]
    path = write_csv(tmp_path / "n.csv", rows, header=[*HEADER[:6], "email"])
    staged = service.load(
        db=db, actor=steward, code=code, path=path, table_schema=_new_schema(), accept=False
    )
    with db.transaction() as s:
        assert service.schema_of(session=s, code=code).to_json() == before
        service.discard_version(session=s, actor=steward, code=code, version_id=staged.id)
    v = service.load(db=db, actor=steward, code=code, path=path, table_schema=_new_schema())
    assert v.state == "accepted"
    with db.reader() as s:
        assert service.schema_of(session=s, code=code).names() == [*HEADER[:6], "email"]


def test_the_open_portal_and_ckan_read_the_current_version_after_a_schema_change(
    db, city, client, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """A public field added to the schema after the last load is not in the data yet: downloads
    and CKAN's datastore_search answer with the version's public fields, not a 500."""
    steward = city.as_role("data_bureau")
    with db.transaction() as s:
        code = population(s, steward, share_type="unconditional", open_type="open")
    service.load(db=db, actor=steward, code=code, path=write_csv(tmp_path / "p.csv", population_rows(4)))
    schema = copy.deepcopy(POPULATION_SCHEMA)
    schema["fields"].append({"name": "street", "title": "街道", "type": "string", "sensitivity": "public"})
    with db.transaction() as s:
        service.set_schema(session=s, actor=steward, code=code, table_schema=schema)
    slug = code.replace("/", "-")
    res = client.get(f"/open/r/{slug}/download.csv")
    assert res.status_code == 200, res.text[:300]
    table = list(csv.reader(io.StringIO(res.content.decode("utf-8-sig"))))
    assert table[0] == ["division", "household_size"] and len(table) == 5
    res = client.get("/api/3/action/datastore_search", params={"resource_id": f"{slug}-csv"})
    assert res.status_code == 200, res.text[:300]
    assert {f["id"] for f in res.json()["result"]["fields"]} >= {"division", "household_size"}
    assert "street" not in {f["id"] for f in res.json()["result"]["fields"]}
