"""Freshness against the update cycle, reminders to the data stewards, and schema refusals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from cityos.catalog import service, tableschema
from cityos.core import clock
from cityos.core.audit import AuditRecord
from cityos.core.errors import Invalid

from .helpers import population, population_rows, write_csv


def test_monthly_resource_goes_stale_and_its_stewards_are_reminded_once(db, city, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    actor = city.as_role("data_bureau")
    start = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)
    clock.set_now(start)
    try:
        with db.transaction() as s:
            code = population(s, actor, provider="swj")  # data_steward1 is swj's steward
        service.load(db=db, actor=actor, code=code, path=write_csv(tmp_path / "p.csv", population_rows(3)))
        clock.set_now(start + timedelta(days=30))
        with db.transaction() as s:
            assert service.remind_stale(session=s) == 0
            assert service.stale_resources(session=s) == []
        clock.set_now(start + timedelta(days=32))
        with db.transaction() as s:
            assert [r.code for r in service.stale_resources(session=s, department="swj")] == [code]
            assert service.stale_resources(session=s, department="gaj") == []
            assert service.remind_stale(session=s) == 1
        with db.transaction() as s:
            assert service.remind_stale(session=s) == 0  # once per cycle
            rec = s.scalars(
                select(AuditRecord).where(AuditRecord.action == "catalog.resource.stale_reminder")
            ).one()
            assert rec.payload["stewards"] == ["data_steward1"] and rec.subject_id == code
        clock.set_now(start + timedelta(days=64))
        with db.transaction() as s:
            assert service.remind_stale(session=s) == 1  # a cycle later, again
        # a new version makes it fresh
        service.load(db=db, actor=actor, code=code, path=write_csv(tmp_path / "p2.csv", population_rows(4)))
        with db.reader() as s:
            assert service.stale_resources(session=s) == []
            assert service.overview(session=s)["stale"] == 0
    finally:
        clock.set_now(None)


@pytest.mark.parametrize(
    "doc,where",
    [
        ({"fields": []}, "fields"),
        ({"fields": [{"name": "a", "type": "money"}]}, "fields[0] (a)"),
        ({"fields": [{"name": "a", "format": "cn-passport"}]}, "fields[0] (a)"),
        ({"fields": [{"name": "a"}, {"name": "a"}]}, "fields[1] (a)"),
        ({"fields": [{"name": "a", "constraints": {"pattern": "("}}]}, "fields[0] (a)"),
        ({"fields": [{"name": "a", "constraints": {"between": 1}}]}, "fields[0] (a)"),
        ({"fields": [{"name": "a"}], "primaryKey": ["b"]}, "primaryKey"),
        ({"fields": [{"name": "a", "sensitivity": "secret"}]}, "fields[0] (a)"),
    ],
)
def test_bad_table_schema_names_where(doc, where) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(Invalid) as e:
        tableschema.parse(doc)
    assert e.value.code == "bad_schema" and e.value.field == where
    assert where in e.value.text("zh_CN")


def test_schema_round_trips_through_the_catalog(db, city) -> None:  # type: ignore[no-untyped-def]
    from .helpers import POPULATION_SCHEMA

    with db.transaction() as s:
        code = population(s, city.as_role("data_bureau"))
        out = service.schema_of(session=s, code=code).to_json()
    assert out["primaryKey"] == ["id_number"]
    assert [f["name"] for f in out["fields"]] == [f["name"] for f in POPULATION_SCHEMA["fields"]]
    assert tableschema.parse(out) == tableschema.parse(POPULATION_SCHEMA)


def test_files_of_rejected_loads_are_purged_after_thirty_days(db, city, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from cityos.catalog import jobs
    from cityos.core.settings import get_settings

    actor = city.as_role("data_bureau")
    rows = population_rows(5)
    rows[1][4] = "12"
    start = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)
    clock.set_now(start)
    try:
        with db.transaction() as s:
            code = population(s, actor, policy="reject")
        bad = service.load(db=db, actor=actor, code=code, path=write_csv(tmp_path / "b.csv", rows))
        good = service.load(
            db=db, actor=actor, code=code, path=write_csv(tmp_path / "g.csv", population_rows(5))
        )
        assert bad.state == "rejected" and good.state == "accepted"
        store = get_settings().datastore
        with db.reader() as s:
            from cityos.catalog.models import Version

            kept = s.get(Version, bad.id)
            assert kept is not None and kept.quarantine_path and (store / kept.quarantine_path).exists()
            qfile = store / kept.quarantine_path
        clock.set_now(start + timedelta(days=29))
        assert jobs.purge(db) == 0 and qfile.exists()
        clock.set_now(start + timedelta(days=31))
        assert jobs.purge(db) == 1 and not qfile.exists()
        with db.reader() as s:
            path, _ = service.version_path(session=s, code=code)
            assert path.exists()  # the accepted version is untouched
            assert (
                service.get_version(session=s, actor=actor, code=code, version_id=bad.id).report[
                    "invalid_rows"
                ]
                == 1
            )
    finally:
        clock.set_now(None)
