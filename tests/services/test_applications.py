"""Applications through the real services on both databases: a material satisfied by data
sharing (catalog's share rules, a grant, the audit record with the stated reason) and never asked
again, the window's one return with the complete list, deadlines on the working calendar, the
back office's decision and 审管联动, 好差评 with its rectification deadline, the 事项清单 workbook."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import select

from cityos.catalog import service as catalog
from cityos.catalog.schemas import AccessRequestIn
from cityos.catalog.schemas import DecisionIn as GrantDecision
from cityos.core import clock
from cityos.core.audit import AuditRecord
from cityos.core.calendar import get_calendar
from cityos.core.errors import Conflict, Invalid, NotFound
from cityos.identity import service as identity
from cityos.identity.schemas import UserIn
from cityos.services import service
from cityos.services.schemas import ApplyIn, DecisionIn, ItemIn, MaterialIn, RatingIn, ReturnIn
from tests.catalog.helpers import population, population_rows, write_csv
from tests.factories import PASSWORD

from .helpers import world

NOW = datetime(2026, 9, 29, 2, tzinfo=UTC)  # Tuesday 10:00 in Shanghai, just before 国庆


def _steward(db, dept: str, name: str):  # type: ignore[no-untyped-def]
    with db.transaction() as s:
        identity.add_user(
            session=s,
            actor=identity.SYSTEM,
            user=UserIn(
                username=name,
                display_name=name,
                password=PASSWORD,
                roles=["data_steward"],
                department_code=dept,
                region_code="371300",
            ),
        )
        return identity.principal_for(session=s, username=name)


def test_deadline_runs_in_working_days_over_the_national_holiday(db, city) -> None:  # type: ignore[no-untyped-def]
    clock.set_now(NOW)
    w = world(db, city)
    with db.transaction() as s:
        a = service.submit(session=s, actor=w["citizen"], data=ApplyIn(item_code="GA-001"))
        mats = {m.name: m.material_id for m in a.materials}
        # accepting with the form missing is refused; the return must list everything missing
        with pytest.raises(Invalid) as e:
            service.accept(session=s, actor=w["staff"], number=a.number)
        assert e.value.code == "materials_missing"
        with pytest.raises(Invalid) as e:
            service.return_once(session=s, actor=w["staff"], number=a.number, data=ReturnIn(missing=["照片"]))
        assert e.value.code == "list_incomplete" and "居住登记表" in e.value.params["names"]
        back = service.return_once(
            session=s,
            actor=w["staff"],
            number=a.number,
            data=ReturnIn(missing=["居住登记表", "照片"], reason="请一并补齐"),
        )
        assert back.state == "returned" and back.missing == ["居住登记表", "照片"]
    from cityos.core import files

    with db.transaction() as s:
        service.supplement(
            session=s,
            actor=w["citizen"],
            number=a.number,
            uploads={mats["居住登记表"]: files.store(b"registration form")},
        )
        with pytest.raises(Conflict):  # 一次性告知: no second return
            service.return_once(session=s, actor=w["staff"], number=a.number, data=ReturnIn(missing=["照片"]))
        ok = service.accept(session=s, actor=w["staff"], number=a.number)
    # 5 working days from Tue 29 Sep 2026: 30 Sep, then 1–7 Oct are 国庆 holidays, 8, 9, 10 (调休
    # Saturday) ... the calendar decides; the deadline is close of business of the 5th working day
    cal = get_calendar()
    assert ok.due_at == cal.add_working_days(NOW, 5)
    assert cal.working_days_between(clock.local(NOW).date(), clock.local(ok.due_at).date()) == 5
    assert (ok.due_at - NOW).days >= 9  # the holiday is skipped, not counted
    with db.transaction() as s, pytest.raises(NotFound):
        service.decide(session=s, actor=w["other"], number=a.number, data=DecisionIn(decision="approve"))
    with db.transaction() as s:
        with pytest.raises(Invalid):
            service.decide(session=s, actor=w["staff"], number=a.number, data=DecisionIn(decision="reject"))
        done = service.decide(
            session=s, actor=w["staff"], number=a.number, data=DecisionIn(decision="approve")
        )
    assert done.state == "issued" and done.license_identifier
    with db.reader() as s:  # 审管联动: the regulator (cgj) has its task
        tasks = service.supervision_tasks(session=s, actor=w["other"])
        assert [t["number"] for t in tasks] == [a.number]
        assert service.search(session=s, actor=w["other"]) == []  # but sees no application of gaj's
        assert service.search(session=s, actor=w["citizen"], mine=True)[0].applicant_code == w["id_number"]
        assert "*" in service.search(session=s, actor=w["staff"])[0].applicant_code


def test_rating_opens_rectification_due_in_configured_working_days(db, city) -> None:  # type: ignore[no-untyped-def]
    clock.set_now(NOW)
    w = world(db, city)
    with db.transaction() as s:
        first = service.submit(session=s, actor=w["citizen"], data=ApplyIn(item_code="GA-001"))
        mats = {m.name: m.material_id for m in first.materials}
    from cityos.core import files

    sha = files.store(b"f")
    with db.transaction() as s:
        service.return_once(
            session=s, actor=w["staff"], number=first.number, data=ReturnIn(missing=["居住登记表"])
        )
        service.supplement(
            session=s, actor=w["citizen"], number=first.number, uploads={mats["居住登记表"]: sha}
        )
        service.accept(session=s, actor=w["staff"], number=first.number)
        service.decide(session=s, actor=w["staff"], number=first.number, data=DecisionIn(decision="approve"))
    # GA-002 asks for the residence permit: the wallet's license satisfies it with consent
    with db.transaction() as s:
        a = service.submit(session=s, actor=w["citizen"], data=ApplyIn(item_code="GA-002", consent=True))
    got = {m.name: m for m in a.materials}
    assert got["居住证"].status == "license" and got["居住证"].reference.startswith("1.2.156.3005.2.")
    with db.transaction() as s:
        place = next(m.material_id for m in a.materials if m.name == "经营场所证明")
        service.return_once(
            session=s, actor=w["staff"], number=a.number, data=ReturnIn(missing=["经营场所证明"])
        )
        service.supplement(session=s, actor=w["citizen"], number=a.number, uploads={place: sha})
        service.accept(session=s, actor=w["staff"], number=a.number)
        service.decide(
            session=s,
            actor=w["staff"],
            number=a.number,
            data=DecisionIn(decision="reject", reason="经营场所不符合要求"),
        )
    with db.transaction() as s:
        with pytest.raises(Invalid):
            service.rate(session=s, actor=w["citizen"], number=a.number, data=RatingIn(level=1))
        r = service.rate(
            session=s,
            actor=w["citizen"],
            number=a.number,
            data=RatingIn(level=1, aspects=["办事效率"], comment="等了很久"),
        )
        good = service.rate(session=s, actor=w["citizen"], number=first.number, data=RatingIn(level=5))
    assert good.rectification is None and r.rectification is not None
    assert r.rectification.due_at == get_calendar().add_working_days(NOW, 15)  # GA-002: 15 working days
    with db.transaction() as s:
        with pytest.raises(Conflict):
            service.rate(session=s, actor=w["citizen"], number=a.number, data=RatingIn(level=5))
        service.respond(session=s, actor=w["staff"], rect_id=r.rectification.id, response="已优化审核流程")
        service.call_back(
            session=s, actor=w["staff"], rect_id=r.rectification.id, note="电话回访", satisfied=False
        )
        appealed = service.appeal(
            session=s, actor=w["citizen"], rect_id=r.rectification.id, reason="仍不满意"
        )
    assert appealed.state == "appealed"
    with db.reader() as s:
        stats = service.statistics(session=s)
    assert stats["total"] == 2 and stats["satisfaction"] == 50.0 and stats["open_rectifications"] == 1
    dept = stats["departments"][0]
    assert dept["levels"][1] == 1 and dept["levels"][5] == 1


def test_material_from_data_sharing_is_fetched_with_consent_and_audited(db, city, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    w = world(db, city)
    provider, consumer = _steward(db, "gaj", "gaj-steward"), _steward(db, "cgj", "cgj-steward")
    rows = population_rows(5)
    with db.transaction() as s:
        code = population(s, provider, share_type="conditional")
    catalog.load(db=db, actor=provider, code=code, path=write_csv(tmp_path / "p.csv", rows))
    with db.transaction() as s:
        req = catalog.request_access(
            session=s,
            actor=consumer,
            code=code,
            data=AccessRequestIn(
                purpose="一网通办身份核验",
                legal_basis="国发〔2018〕27号",
                fields=["id_number", "name", "division"],
            ),
        )
    with db.transaction() as s:
        catalog.decide_request(
            session=s,
            actor=provider,
            request_id=req.id,
            decision=GrantDecision(
                approve=True, fields=["id_number", "name", "division"], clear_fields=["id_number", "name"]
            ),
        )
    with db.transaction() as s:
        service.save_item(
            session=s,
            actor=w["admin"],
            data=ItemIn(
                code="CG-001",
                name="占道经营许可",
                department_code="cgj",
                time_limit_days=3,
                materials=[
                    MaterialIn(
                        name="户籍证明",
                        source="resource",
                        resource_code=code,
                        resource_fields=["id_number", "name", "division"],
                    )
                ],
            ),
        )
        citizen2 = _citizen(s, rows[0][0])
    os_env = pytest.MonkeyPatch()
    os_env.setenv("CITYOS_SERVICES_HALL", "cgj")  # the hall whose grant it is
    try:
        with db.transaction() as s:
            no = service.submit(session=s, actor=citizen2, data=ApplyIn(item_code="CG-001", consent=False))
            yes = service.submit(session=s, actor=citizen2, data=ApplyIn(item_code="CG-001", consent=True))
    finally:
        os_env.undo()
    assert no.materials[0].status == "missing"  # no consent, no lookup
    m = yes.materials[0]
    assert m.status == "shared" and m.data["name"] == rows[0][1] and m.data["id_number"] == rows[0][0]
    with db.reader() as s:
        recs = [
            (r.action, r.subject_id, r.payload)
            for r in s.scalars(
                select(AuditRecord).where(
                    AuditRecord.action.in_(("catalog.data.lookup", "services.material.shared"))
                )
            )
        ]
    calls = [p for a, _, p in recs if a == "catalog.data.lookup"]
    ours = [(sid, p) for a, sid, p in recs if a == "services.material.shared"]
    assert len(calls) == 1 and len(ours) == 1
    assert yes.number in calls[0]["filter"]["purpose"] and "户籍证明" in calls[0]["filter"]["purpose"]
    assert calls[0]["outcome"] == "ok" and calls[0]["department"] == "cgj"
    assert ours[0][0] == yes.number and ours[0][1]["reason"] == calls[0]["filter"]["purpose"]
    with db.transaction() as s:  # accepted at once: nothing to hand in, nothing asked again
        assert service.accept(session=s, actor=w["other"], number=yes.number).state == "accepted"
    with db.reader() as s:
        free = {r["code"]: r for r in service.certificate_free(session=s)}
    assert free["CG-001"]["from_data"] == 1 and free["CG-001"]["missing"] == 1


def _citizen(s, id_number: str):  # type: ignore[no-untyped-def]
    identity.add_user(
        session=s,
        actor=identity.SYSTEM,
        user=UserIn(username="citizen10", display_name="citizen10", password=PASSWORD, roles=["citizen"]),
    )
    p = identity.principal_for(session=s, username="citizen10")
    service.set_real_name(session=s, actor=p, name="张三", id_number=id_number)
    return p


def test_items_workbook_round_trip_and_all_or_nothing(db, city) -> None:  # type: ignore[no-untyped-def]
    w = world(db, city)
    with db.reader() as s:
        data = service.export_workbook(session=s)
    wb = openpyxl.load_workbook(io.BytesIO(data))
    assert [c.value for c in wb["事项"][1]][:3] == ["事项编码", "事项名称", "实施部门"]
    wb["事项"].append(["GA-009", "新事项", "gaj", "行政许可", "", "", "7", "", "是", "", "", "5"])
    wb["材料"].append(["GA-009", "申请表", "是", "申请人提交", "", "", ""])
    bad = _copy(wb)
    bad["事项"].append(["GA-010", "坏事项", "nowhere", "行政许可", "", "", "7", "", "是", "", "", "5"])
    with db.transaction() as s, pytest.raises(Invalid) as e:
        service.import_workbook(session=s, actor=w["admin"], data=_bytes(bad))
    assert e.value.field == "事项!C5" and e.value.params["row"] == 5
    with db.reader() as s, pytest.raises(NotFound):
        service.get_item(session=s, code="GA-009")  # nothing of the bad workbook was written
    bad2 = _copy(wb)
    bad2["事项"].cell(row=2, column=7).value = "many"
    with db.transaction() as s, pytest.raises(Invalid) as e:
        service.import_workbook(session=s, actor=w["admin"], data=_bytes(bad2))
    assert e.value.field == "事项!G2"
    with db.transaction() as s:
        assert service.import_workbook(session=s, actor=w["admin"], data=_bytes(wb)) == 3
    with db.reader() as s:
        it = service.get_item(session=s, code="GA-009")
        assert it.time_limit_days == 7 and [m.name for m in it.materials] == ["申请表"]
        assert [m.source for m in service.get_item(session=s, code="GA-002").materials] == [
            "license",
            "upload",
        ]


def _copy(wb):  # type: ignore[no-untyped-def]
    return openpyxl.load_workbook(io.BytesIO(_bytes(wb)))


def _bytes(wb) -> bytes:  # type: ignore[no-untyped-def]
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
