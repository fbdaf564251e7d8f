"""Base registries (一数一源), discrepancies and their correction loop, cross-checks and their
核查任务, on both databases, over the hand-made world of tests/registries/world.py (its docstring
lists every planted hit)."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest
from sqlalchemy import select

from cityos.core.audit import AuditRecord
from cityos.core.errors import Forbidden, Invalid, NotFound
from cityos.core.settings import get_settings
from cityos.registries import service
from tests.registries.world import E, P, rows

pytestmark = pytest.mark.xdist_group("registries")

EXPECTED = {
    "DIBAO_ASSETS": sorted([P["P1"], P["P3"], P["P4"], P["P5"]]),
    "ZOMBIE_ENTERPRISE": [E["E1"]],
    "PERMIT_INVESTMENT": ["PJ1", "PJ4"],
    "DECEASED_PENSION": [P["D1"]],
}


def test_build_authority_provenance_and_grants(world, db):
    """The police are the authority for names: the registry takes 张贰 and a discrepancy goes to
    人社 (whose copy says 张二). Every present field names its resource, version and as-of time;
    the cremation record, for which the bureau holds no grant, is absent and the build says why;
    the refused read is on the record of use."""
    with db.transaction() as s:
        v = service.build(session=s, actor=world.bureau, code="population")
    assert v.number == 1 and v.rows == 9
    assert set(v.provenance) == {
        "name",
        "gender",
        "birth_date",
        "address",
        "division",
        "insured_status",
        "assistance",
    }
    for name, p in v.provenance.items():
        assert (
            p["resource"]
            == world.codes[{"insured_status": "insurance", "assistance": "dibao"}.get(name, "population")]
        )
        assert p["version"] == 1 and p["as_of"].startswith("2026-12-02")
    assert "access_not_granted" in v.absent["cremated_on"]
    table = pq.read_table(get_settings().datastore / v.path)
    assert b"cityos.provenance" in table.schema.metadata
    rec = {r["id_number"]: r for r in table.to_pylist()}
    assert rec[P["P2"]]["name"] == "张贰"  # the authority wins
    assert rec[P["P5"]]["insured_status"] == "参保缴费"
    assert rec[P["P1"]]["assistance"] == "在保"
    with db.reader() as s:
        items = service.discrepancies(session=s, actor=world.stewards["rsj"])
        assert [(d.subject_key, d.field, d.authority_value, d.holder_value, d.state) for d in items] == [
            (P["P2"], "name", "张贰", "张二", "open")
        ]
        assert items[0].holder_code == world.codes["insurance"]
        assert service.discrepancies(session=s, actor=world.stewards["mzj"]) == []  # not theirs
        refused = s.scalars(
            select(AuditRecord).where(
                AuditRecord.action == "catalog.data.snapshot",
                AuditRecord.subject_id == world.codes["cremations"],
            )
        ).all()
        assert [e.payload["outcome"] for e in refused] == ["access_not_granted"]


def test_correction_loop_closes_on_the_next_build(world, db):
    """人社 says corrected but has not reloaded: the next build reopens the item. After the reload
    with the police's spelling, the next build closes it; a second build opens nothing new."""
    with db.transaction() as s:
        service.build(session=s, actor=world.bureau, code="population")
    with db.transaction() as s:
        (d,) = service.discrepancies(session=s, actor=world.stewards["rsj"])
        with pytest.raises(NotFound):  # another department's item does not exist for 民政
            service.answer(session=s, actor=world.stewards["mzj"], discrepancy_id=d.id, answer="corrected")
        service.answer(session=s, actor=world.stewards["rsj"], discrepancy_id=d.id, answer="corrected")
    with db.transaction() as s:
        v2 = service.build(session=s, actor=world.bureau, code="population")
        assert (v2.opened, v2.closed) == (0, 0)
        assert service.get_discrepancy(s, world.stewards["rsj"], d.id).state == "open"  # reopened
    world.load("insurance", rows("insurance", insurance_name_p2="张贰"))
    with db.transaction() as s:
        v3 = service.build(session=s, actor=world.bureau, code="population")
        assert (v3.opened, v3.closed) == (0, 1)
        assert service.get_discrepancy(s, world.stewards["rsj"], d.id).state == "closed"
        assert v3.provenance["insured_status"]["version"] == 2


def test_dispute_goes_to_the_data_bureau(world, db, city):
    with db.transaction() as s:
        service.build(session=s, actor=world.bureau, code="population")
        (d,) = service.discrepancies(session=s, actor=world.stewards["rsj"])
        with pytest.raises(Invalid):
            service.answer(session=s, actor=world.stewards["rsj"], discrepancy_id=d.id, answer="disputed")
        service.answer(
            session=s,
            actor=world.stewards["rsj"],
            discrepancy_id=d.id,
            answer="disputed",
            reason="本人提供的证件为张二",
        )
        assert [
            x.id
            for x in service.discrepancies(session=s, actor=city.as_role("data_bureau"), state="disputed")
        ] == [d.id]
        service.arbitrate(
            session=s, actor=city.as_role("data_bureau"), discrepancy_id=d.id, uphold=False, reason="已核实"
        )
        assert service.get_discrepancy(s, city.as_role("data_bureau"), d.id).state == "accepted"
        stats = service.statistics(session=s, actor=city.as_role("data_bureau"))
        assert [(r["opened"], r["pending"]) for r in stats if r["opened"]] == [(1, 0)]


def test_each_shipped_check_finds_its_planted_hits(installed, world, db, city):
    """DuckDB, as the owner department: the hits of the world's docstring, one 核查任务 each, due in
    ten working days; a second run adds no duplicate task."""
    admin = city.as_role("admin")
    for code, keys in EXPECTED.items():
        with db.transaction() as s:
            out = service.execute(session=s, actor=admin, code=code, engine="duckdb")
        assert out["keys"] == sorted(keys), code
        assert out["tasks_created"] == len(keys)
    with db.transaction() as s:
        again = service.execute(session=s, actor=admin, code="DIBAO_ASSETS", engine="duckdb")
        assert again["tasks_created"] == 0
        mine = service.tasks(session=s, actor=world.stewards["mzj"])
        assert sorted(t.subject_key for t in mine) == EXPECTED["DIBAO_ASSETS"]
        assert all(t.due_at.date().isoformat() == "2026-12-16" for t in mine)  # 10 working days
        p1 = next(t for t in mine if t.subject_key == P["P1"])
        assert p1.evidence["名下车辆"] == 2
        assert service.tasks(session=s, actor=world.stewards["fgw"], check="DIBAO_ASSETS") == []


def test_check_needs_the_owner_grants(installed, world, db, city):
    """Without 民政's grant on vehicles the check is refused (403), and nothing is half-created."""
    with db.transaction() as s:
        from cityos.catalog import service as catalog

        for r in catalog.requests(session=s, actor=world.stewards["gaj"], box="incoming"):
            if r.state == "approved" and r.consumer_code == "mzj":
                catalog.revoke_grant(
                    session=s, actor=world.stewards["gaj"], request_id=r.id, reason="到期收回"
                )
    with pytest.raises(Forbidden), db.transaction() as s:
        service.execute(session=s, actor=city.as_role("admin"), code="DIBAO_ASSETS", engine="duckdb")
    with db.reader() as s:
        assert service.tasks(session=s, actor=world.stewards["mzj"]) == []


def test_task_outcomes(installed, world, db, city):
    """confirmed; not_confirmed needs a note; data_error opens a discrepancy for the wrong source."""
    with db.transaction() as s:
        service.execute(session=s, actor=city.as_role("admin"), code="DIBAO_ASSETS", engine="duckdb")
    mzj = world.stewards["mzj"]
    with db.transaction() as s:
        t1, t2, t3, _t4 = service.tasks(session=s, actor=mzj)
        service.decide(session=s, actor=mzj, task_id=t1.id, outcome="confirmed")
        with pytest.raises(Invalid):
            service.decide(session=s, actor=mzj, task_id=t2.id, outcome="not_confirmed")
        service.decide(
            session=s, actor=mzj, task_id=t2.id, outcome="not_confirmed", note="车辆为残疾人代步车"
        )
        service.decide(
            session=s,
            actor=mzj,
            task_id=t3.id,
            outcome="data_error",
            note="房产已于2025年过户",
            wrong_binding_code=world.codes["property"],
            wrong_field="owner_id",
        )
        (d,) = service.discrepancies(session=s, actor=world.stewards["zrzyj"])
        assert (d.origin, d.subject_key, d.evidence["task"]) == ("check", t3.subject_key, t3.id)
        with pytest.raises(Invalid):
            service.decide(session=s, actor=mzj, task_id=t1.id, outcome="confirmed")


def test_check_definitions_are_validated(world, db, city):
    bad = service.CHECKS["ZOMBIE_ENTERPRISE"]
    from dataclasses import replace

    with db.transaction() as s:
        for change, code in (
            ({"code": "x"}, "bad_code"),
            ({"legal_basis": " "}, "basis_required"),
            ({"sql": "SELECT 1"}, "no_subject_key"),
            ({"resources": {"params": "tax"}}, "bad_alias"),
        ):
            with pytest.raises(Invalid) as e:
                service.save(
                    session=s, actor=city.as_role("admin"), data=replace(bad, **change), owner_department_id=1
                )
            assert e.value.code == code
        with pytest.raises(Forbidden):
            service.save(
                session=s,
                actor=world.stewards["mzj"],
                data=replace(bad, code="MZJ_OWN"),
                owner_department_id=world.stewards["scjgj"].department_id,
            )
