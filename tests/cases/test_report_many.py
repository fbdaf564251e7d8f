"""Many reports in one unit of work (cases.service.report_cases, the Open311 intake's group commit):
each is answered as report_case would answer it alone; a refused report writes nothing and refuses
no other; the written ones have their numbers, timeline entries, events and audit entries."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from cityos.cases import service
from cityos.cases.models import Case, CaseEvent
from cityos.cases.open311 import _Post, _post_batch
from cityos.cases.schemas import CaseOut, ReportIn
from cityos.core.audit.models import AuditRecord
from cityos.core.errors import CityOSError
from cityos.core.events import OutboxEvent
from cityos.identity import service as identity


def _report(**kw: object) -> ReportIn:
    base: dict[str, object] = dict(
        category_code="E0402", description="店外经营占道", channel="api", lon=118.3515, lat=35.0515
    )
    return ReportIn(**{**base, **kw})  # type: ignore[arg-type]


def _counts(s) -> tuple[int, int, int, int]:  # type: ignore[no-untyped-def]
    return (
        s.scalar(select(func.count()).select_from(Case)),
        s.scalar(select(func.count()).select_from(CaseEvent)),
        s.scalar(
            select(func.count()).select_from(OutboxEvent).where(OutboxEvent.name == "cases.CaseReported")
        ),
        s.scalar(select(func.count()).select_from(AuditRecord).where(AuditRecord.action == "case.report")),
    )


def test_a_mixed_batch_writes_the_good_reports_and_refuses_the_bad_ones(city, db) -> None:  # type: ignore[no-untyped-def]
    admin, citizen = city.as_role("admin"), city.as_role("citizen")
    with db.transaction() as s:
        service.load_default_taxonomy(session=s, actor=admin)
    with db.reader() as s:
        before = _counts(s)
    with db.transaction() as s:
        out = service.report_cases(
            session=s,
            reports=[
                (citizen, _report(description="第一件"), "cases.report"),
                (citizen, _report(category_code="Z9999"), "cases.report"),  # unknown category
                (citizen, _report(lon=100.0, lat=20.0), "cases.report"),  # outside the city's grids
                (citizen, _report(description="   "), "cases.report"),  # no description
                (
                    citizen,
                    _report(description="第二件", lon=None, lat=None, address="兰山区某路"),
                    "cases.report",
                ),
            ],
        )
    assert [type(o).__name__ for o in out] == ["CaseOut", "Invalid", "Invalid", "Invalid", "CaseOut"]
    assert [o.code for o in out if isinstance(o, CityOSError)] == [
        "unknown_category",
        "outside_city",
        "description_required",
    ]
    good = [o for o in out if isinstance(o, CaseOut)]
    with db.reader() as s:
        assert _counts(s) == tuple(n + 2 for n in before)  # two cases, each with its three records
        for o in good:
            case = s.get(Case, o.id)
            assert case is not None and case.state == "reported" and o.state == "reported"
            assert o.number == case.number and o.number.endswith(f"{case.id:08d}")  # number from the id
            steps = s.scalars(select(CaseEvent.action).where(CaseEvent.case_id == case.id)).all()
            assert steps == ["report"]
            audited = s.scalars(
                select(AuditRecord.subject_id).where(
                    AuditRecord.action == "case.report", AuditRecord.subject_id == case.number
                )
            ).all()
            assert audited == [case.number]
    assert [o.description for o in good] == ["第一件", "第二件"]
    assert good[0].grid_code and good[1].grid_code is None  # placed by point; by address in the city


def test_one_report_alone_is_the_same_as_report_case(city, db) -> None:  # type: ignore[no-untyped-def]
    citizen = city.as_role("citizen")
    with db.transaction() as s:
        service.load_default_taxonomy(session=s, actor=city.as_role("admin"))
    with db.transaction() as s:
        [many] = service.report_cases(session=s, reports=[(citizen, _report(), "cases.report")])
        one = service.report_case(session=s, actor=citizen, report=_report())
    assert isinstance(many, CaseOut)
    skip = {"id", "number", "reported_at", "stage_started_at", "deadline", "light"}
    assert {k: v for k, v in many.model_dump().items() if k not in skip} == {
        k: v for k, v in one.model_dump().items() if k not in skip
    }


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_open311_posts_in_one_unit_are_answered_one_by_one(city, db, fmt) -> None:  # type: ignore[no-untyped-def]
    admin = city.as_role("admin")
    with db.transaction() as s:
        service.load_default_taxonomy(session=s, actor=admin)
        key = identity.create_token(session=s, actor=admin, client="app", scopes=["open311"]).token
        cases_only = identity.create_token(session=s, actor=admin, client="other", scopes=["cases"]).token
    good = {"api_key": key, "service_code": "E0402", "lat": "35.0515", "long": "118.3515"}
    posts = [
        _Post(fmt, good, "", None),
        _Post(fmt, {**good, "api_key": "bogus"}, "", None),
        _Post(fmt, {**good, "api_key": cases_only}, "", None),  # a token without open311
        _Post(fmt, {**good, "service_code": "Z9999"}, "", None),
        _Post(fmt, {**good, "lat": "north"}, "", None),
        _Post(fmt, {**good, "long": "100.0", "lat": "20.0"}, "", None),  # outside the city: our 422 → 400
        _Post(fmt, {**good, "api_key": ""}, key, None),  # the key in the query string
        _Post(fmt, good, "", "999999"),  # another jurisdiction
    ]
    with db.reader() as s:
        before = _counts(s)[0]
    answers = _post_batch(db, posts)
    assert [a.status_code for a in answers] == [200, 403, 403, 404, 400, 400, 200, 404]
    with db.reader() as s:
        assert _counts(s)[0] == before + 2
    body = answers[0].body.decode()
    assert ("service_request_id" in body) and (fmt == "json") == body.startswith("[")
