"""Writes sent by another site's page are refused: the login and registration forms (posted before
any session exists, so the session's CSRF token cannot protect them) and every other form post.
A same-site post, and calls from systems that send no browser headers, still work."""

from __future__ import annotations

import pytest

from tests.factories import PASSWORD

EVIL = {"Origin": "https://evil.example"}
LOGIN = {"username": "leader1", "password": PASSWORD, "next": "/"}


@pytest.mark.parametrize(
    "headers",
    [
        EVIL,
        {"Origin": "null"},  # a sandboxed frame or a data: page
        {"Referer": "https://evil.example/attack.html"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Origin": "http://testserver.evil.example"},
    ],
)
def test_cross_site_login_is_refused(city, client, headers):
    r = client.post("/login", data=LOGIN, headers=headers, follow_redirects=False)
    assert r.status_code == 403 and "csrf_failed" in r.text
    assert "cityos_session" not in r.cookies


def test_same_site_login_still_works(city, client):
    for headers in ({"Origin": "http://testserver"}, {"Referer": "http://testserver/login"}, {}):
        r = client.post("/login", data=LOGIN, headers=headers, follow_redirects=False)
        assert r.status_code == 303, r.text
        assert r.cookies.get("cityos_session")


def test_cross_site_registration_is_refused(city, client):
    form = {
        "username": "newcomer",
        "display_name": "新来的",
        "password": "long-enough-pw",
        "password2": "long-enough-pw",
        "next": "/open/",
    }
    r = client.post("/open/register", data=form, headers=EVIL, follow_redirects=False)
    assert r.status_code == 403 and "csrf_failed" in r.text
    r = client.post(
        "/open/register", data=form, headers={"Origin": "http://testserver"}, follow_redirects=False
    )
    assert r.status_code == 303, r.text


def test_cross_site_form_post_with_a_session_is_refused_even_with_the_token(city, client):
    city.login(client, "admin")
    token = city.csrf(client)
    r = client.post("/logout", data={"csrf_token": token}, headers=EVIL, follow_redirects=False)
    assert r.status_code == 403 and "csrf_failed" in r.text
    assert client.get("/", follow_redirects=False).status_code == 200  # still logged in


def test_bearer_calls_are_not_browser_posts(city, client, db):
    from cityos.identity import service

    with db.transaction() as s:
        new = service.create_token(
            session=s, actor=city.as_role("admin"), client="其他系统", scopes=["admin"]
        )
    r = client.post(
        "/api/v1/identity/departments",
        json={"code": "wsj", "name": "临沂市卫生健康委员会", "kind": "bureau", "region_code": "371300"},
        headers={"Authorization": f"Bearer {new.token}", **EVIL},
    )
    assert r.status_code == 201, r.text
