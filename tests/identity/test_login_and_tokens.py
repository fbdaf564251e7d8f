from __future__ import annotations

import pytest

from cityos.core.errors import Forbidden, TooManyRequests, Unauthorized
from cityos.identity import service
from tests.factories import PASSWORD


def test_login_wrong_password_and_unknown_user_look_the_same(city, client):
    a = client.post("/login", data={"username": "dispatcher1", "password": "wrong-one", "next": "/"})
    b = client.post("/login", data={"username": "nobody-here", "password": "wrong-one", "next": "/"})
    assert a.status_code == b.status_code == 401
    assert "用户名或密码错误" in a.text and "用户名或密码错误" in b.text


def test_login_is_rate_limited_for_known_and_unknown_names(city, db):
    # as the login route does: the failed attempt is committed although authenticate raised
    for name in ("dispatcher1", "ghost"):
        for _ in range(5):
            with db.transaction() as s, pytest.raises(Unauthorized):
                service.authenticate(session=s, username=name, password="nope-nope")
        with db.transaction() as s, pytest.raises(TooManyRequests):
            service.authenticate(session=s, username=name, password=PASSWORD)


def test_failed_logins_are_counted_even_though_the_request_fails(city, client):
    for _ in range(5):
        client.post("/login", data={"username": "leader1", "password": "bad-pass-1"})
    r = client.post("/login", data={"username": "leader1", "password": PASSWORD})
    assert r.status_code == 429


def test_login_then_logout_needs_csrf(city, client):
    city.login(client, "admin")
    assert client.get("/").status_code == 200
    r = client.post("/logout", data={})
    assert r.status_code == 403 and "csrf_failed" in r.text
    r = client.post("/logout", data={"csrf_token": city.csrf(client)}, follow_redirects=False)
    assert r.status_code == 303
    assert client.get("/", follow_redirects=False).status_code == 303


def test_token_lifecycle(city, db):
    admin = city.as_role("admin")
    with db.transaction() as s:
        new = service.create_token(
            session=s, actor=admin, client="12345热线", scopes=["open311"], department_code="cgj"
        )
    with db.transaction() as s:
        p = service.verify_token(session=s, token=new.token)
        assert p and p.kind == "token" and p.scopes == {"open311"} and p.department_code == "cgj"
        assert service.verify_token(session=s, token=new.token[:-1] + "x") is None
        service.revoke_token(session=s, actor=admin, prefix=new.info.prefix)
    with db.transaction() as s:
        assert service.verify_token(session=s, token=new.token) is None


def test_token_use_is_audited_at_most_once_a_minute(city, db):
    from datetime import timedelta

    from sqlalchemy import func, select

    from cityos.core import clock
    from cityos.core.audit import AuditRecord

    with db.transaction() as s:
        new = service.create_token(session=s, actor=city.as_role("admin"), client="sys", scopes=["geo"])

    def uses() -> int:
        with db.reader() as s:
            return s.scalar(
                select(func.count()).select_from(AuditRecord).where(AuditRecord.action == "token.use")
            )

    for _ in range(3):
        with db.transaction() as s:
            service.verify_token(session=s, token=new.token)
    assert uses() == 1
    clock.set_now(clock.now() + timedelta(minutes=2))
    with db.transaction() as s:
        service.verify_token(session=s, token=new.token)
    assert uses() == 2


def test_only_admins_mint_tokens(city, db):
    with pytest.raises(Forbidden), db.transaction() as s:
        service.create_token(session=s, actor=city.as_role("dispatcher"), client="x", scopes=["geo"])


def test_bad_bearer_token_is_401_json(city, client):
    r = client.get("/api/v1/identity/me", headers={"Authorization": "Bearer cos_deadbeef_not-the-secret"})
    assert r.status_code == 401
    body = r.json()["error"]
    assert body["code"] == "invalid_token" and body["message"]["zh-CN"] == "API 令牌无效、已过期或已吊销"
    r = client.get("/api/v1/identity/me")
    assert r.status_code == 401 and r.json()["error"]["code"] == "login_required"
