"""A 差评's rectification through the pages (both databases): the department rectifies and calls
the applicant back, the applicant appeals, the data bureau upholds the appeal (a new deadline of
the item's working days) and then dismisses the next one; each step audited, the home page's 待办
following it, the public summary counting what is still pending."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from cityos.core import clock, files
from cityos.core.audit import AuditRecord
from cityos.core.calendar import get_calendar
from cityos.services import service
from cityos.services.models import Rectification
from cityos.services.schemas import ApplyIn, DecisionIn, RatingIn
from tests.factories import PASSWORD

from .helpers import world
from .test_applications import NOW


def _login(client, username: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    client.cookies.clear()
    r = client.post("/login", data={"username": username, "password": PASSWORD, "next": "/"})
    assert r.status_code == 200
    m = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/").text)
    assert m
    return {"csrf_token": m.group(1)}


def _state(db, rect_id: int) -> Rectification:  # type: ignore[no-untyped-def]
    with db.reader() as s:
        r = s.get(Rectification, rect_id)
        assert r is not None
        s.expunge(r)
        return r


def _todo(client, key: str) -> int:  # type: ignore[no-untyped-def]
    m = re.search(
        rf'data-testid="todo-services-{key}">\s*<a [^>]*><span class="count" data-count="(\d+)"',
        client.get("/").text,
    )
    assert m, key
    return int(m.group(1))


def test_rectify_call_back_appeal_and_the_bureaus_ruling(db, city, client) -> None:  # type: ignore[no-untyped-def]
    clock.set_now(NOW)
    w = world(db, city)
    with db.transaction() as s:
        mat = next(
            m.id for m in service.get_item(session=s, code="GA-001").materials if m.name == "居住登记表"
        )
        a = service.submit(
            session=s, actor=w["citizen"], data=ApplyIn(item_code="GA-001", uploads={mat: files.store(b"f")})
        )
        service.accept(session=s, actor=w["staff"], number=a.number)
        service.decide(session=s, actor=w["staff"], number=a.number, data=DecisionIn(decision="approve"))
        rated = service.rate(
            session=s, actor=w["citizen"], number=a.number, data=RatingIn(level=2, aspects=["服务态度"])
        )
    assert rated.rectification is not None
    rid = rated.rectification.id
    assert rated.rectification.due_at == get_calendar().add_working_days(NOW, 5)

    # the department: rectify (the empty answer refused), then the callback form appears
    form = _login(client, "window9")
    assert _todo(client, "rectify") == 1
    page = client.get("/services/supervision").text
    assert f'action="/services/supervision/respond/{rid}"' in page
    bad = client.post(f"/services/supervision/respond/{rid}", data=form | {"text": " "})
    assert bad.status_code == 422 and "form-error" in bad.text
    client.post(f"/services/supervision/respond/{rid}", data=form | {"text": "窗口增配人员"})
    page = client.get("/services/supervision").text
    assert f'action="/services/supervision/callback/{rid}"' in page and "窗口增配人员" in page
    assert _todo(client, "rectify") == 1  # the callback is still the department's to do
    client.post(f"/services/supervision/callback/{rid}", data=form | {"text": "电话回访，仍不满意"})
    assert _state(db, rid).state == "rectified"
    # the department cannot rule on appeals
    assert client.post(f"/services/supervision/uphold/{rid}", data=form | {"text": "x"}).status_code == 403

    # the applicant appeals from the application's page
    form = _login(client, "citizen9")
    m = re.search(r'name="rect_id" value="(\d+)"', client.get(f"/services/applications/{a.number}").text)
    assert m and int(m.group(1)) == rid
    form |= {"rect_id": m.group(1), "reason": "整改流于形式"}
    client.post(f"/services/applications/{a.number}/appeal", data=form)
    assert _state(db, rid).state == "appealed"

    # the department sees it waiting for the bureau; the bureau rules
    _login(client, "window9")
    assert "等待裁定" in client.get("/services/supervision").text
    assert _todo(client, "rectify") == 0
    clock.set_now(NOW + timedelta(days=7))
    form = _login(client, "data_bureau1")
    assert _todo(client, "appeals") == 1
    page = client.get("/services/supervision").text
    assert f'formaction="/services/supervision/uphold/{rid}"' in page and "整改流于形式" in page
    assert client.post(f"/services/supervision/uphold/{rid}", data=form | {"text": ""}).status_code == 422
    client.post(f"/services/supervision/uphold/{rid}", data=form | {"text": "申诉成立，请重新整改"})
    r = _state(db, rid)
    assert r.state == "open" and r.ruling == "申诉成立，请重新整改"
    assert r.due_at == get_calendar().add_working_days(NOW + timedelta(days=7), 5)
    assert _todo(client, "appeals") == 0

    # rectified again, appealed again, dismissed: closed
    with db.transaction() as s:
        service.respond(session=s, actor=w["staff"], rect_id=rid, response="专人复核并致歉")
        service.appeal(session=s, actor=w["citizen"], rect_id=rid, reason="仍不满意")
    client.post(f"/services/supervision/dismiss/{rid}", data=form | {"text": "已按规定整改，申诉不成立"})
    assert _state(db, rid).state == "closed"
    _login(client, "citizen9")
    assert "已按规定整改，申诉不成立" in client.get(f"/services/applications/{a.number}").text
    assert f"/services/supervision/dismiss/{rid}" not in client.get("/services/supervision").text
    with db.reader() as s:
        actions = [
            rec.action
            for rec in s.scalars(
                select(AuditRecord)
                .where(AuditRecord.subject_type == "svc_rectification", AuditRecord.subject_id == str(rid))
                .order_by(AuditRecord.seq)
            )
        ]
        summary = service.public_summary(session=s)
    assert actions == [
        "services.rectify",
        "services.callback",
        "services.appeal",
        "services.appeal.ruling",
        "services.rectify",
        "services.appeal",
        "services.appeal.ruling",
    ]
    assert summary["ratings"]["open_rectifications"] == 0 and summary["ratings"]["total"] == 1
