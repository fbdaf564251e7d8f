"""Every services page renders for the people it is for, in Chinese, with the demo-like world of
tests/services/helpers (both databases); the public guide and verification page need no login."""

from __future__ import annotations

from cityos.core import files
from cityos.services import service
from cityos.services.schemas import ApplyIn, DecisionIn
from tests.factories import PASSWORD

from .helpers import world


def _login(client, username: str) -> None:  # type: ignore[no-untyped-def]
    client.cookies.clear()
    r = client.post(
        "/login", data={"username": username, "password": PASSWORD, "next": "/"}, follow_redirects=False
    )
    assert r.status_code == 303


def test_pages_render(db, city, client) -> None:  # type: ignore[no-untyped-def]
    w = world(db, city)
    with db.transaction() as s:
        item = service.get_item(session=s, code="GA-001")
        form = next(m.id for m in item.materials if m.name == "居住登记表")
        a = service.submit(
            session=s, actor=w["citizen"], data=ApplyIn(item_code="GA-001", uploads={form: files.store(b"x")})
        )
        service.accept(session=s, actor=w["staff"], number=a.number)
        service.decide(session=s, actor=w["staff"], number=a.number, data=DecisionIn(decision="approve"))
        payload = service.wallet(session=s, actor=w["citizen"])[0].payload
    for path, needle in (
        ("/guide", "办事指南"),
        ("/guide/GA-001", "居住登记表"),
        (f"/verify?c={payload}", ""),
    ):
        r = client.get(path)
        assert r.status_code == 200 and needle in r.text
    ok = client.get("/verify", params={"c": payload})
    assert 'data-status="valid"' in ok.text
    _login(client, "citizen9")
    for path, needle in (
        ("/services", "一网通办"),
        ("/services/apply/GA-001", "本人同意"),
        ("/services/applications", a.number),
        (f"/services/applications/{a.number}", "评价本次服务"),
        ("/services/wallet", "居住证"),
        ("/services/realname", "实名认证"),
    ):
        r = client.get(path)
        assert r.status_code == 200 and needle in r.text, path
    _login(client, "window9")
    for path, needle in (
        ("/services/window", "排队叫号"),
        ("/services/inbox", "审批待办"),
        ("/services/supervision", "审管联动"),
        (f"/services/applications/{a.number}", "已办结出件"),
    ):
        r = client.get(path)
        assert r.status_code == 200 and needle in r.text, path
    _login(client, "admin1")
    for path, needle in (("/services/stats", "免证办"), ("/services/admin/clients", "统一身份认证接入")):
        r = client.get(path)
        assert r.status_code == 200 and needle in r.text, path
