"""CityOS as an OpenID Connect provider, driven by a real client library (authlib's OAuth2Client
over httpx) against the app served by uvicorn: discovery, authorization code + PKCE (S256) +
nonce, consent once, the token endpoint's RFC 6749 errors, the ID token validated against the
JWKS (joserfc), pairwise subjects, acr for a verified real name, userinfo; and the CLI's JSON."""

from __future__ import annotations

import contextlib
import gc
import json
import re
import secrets
import socket
import sys
import threading
import time
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import OAuth2Client
from joserfc import jwt
from joserfc.jwk import KeySet

from cityos.services import oidc
from cityos.web.app import create_app
from tests.factories import PASSWORD

from .helpers import world

REDIRECT = "https://app.example.org/cb"


def _serve(settings, db):  # type: ignore[no-untyped-def]
    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings=settings, db=db), host="127.0.0.1", port=port, log_level="warning")
    )
    t = threading.Thread(target=server.run, daemon=True)
    t.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.02)
    return server, t, f"http://127.0.0.1:{port}"


def _login(base: str, username: str) -> httpx.Client:
    browser = httpx.Client(base_url=base, follow_redirects=False)
    r = browser.post("/login", data={"username": username, "password": PASSWORD, "next": "/"})
    assert r.status_code == 303
    return browser


def _authorize(browser: httpx.Client, url: str) -> httpx.Response:
    r = browser.get(url)
    if r.status_code == 200:  # the consent page: a plain form
        assert "consent-form" in r.text
        fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', r.text))
        fields = {k: v.replace("&amp;", "&") for k, v in fields.items()}
        r = browser.post(
            "/oidc/authorize",
            data=fields | {"decision": "allow"},
            headers={"Origin": str(browser.base_url).rstrip("/")},
        )
    assert r.status_code == 303, r.text[:500]
    return r


def test_code_flow_with_pkce_and_nonce(db, settings, city) -> None:  # type: ignore[no-untyped-def]
    # authlib's client leaves pooled sockets to be finalised when the flow's frame goes away: that
    # happens inside this hook, so they are not reported against a later test
    old = sys.unraisablehook
    sys.unraisablehook = lambda u: None if isinstance(u.exc_value, ResourceWarning) else old(u)
    try:
        _flow(db, settings, city)
        gc.collect()
    finally:
        sys.unraisablehook = old


def _flow(db, settings, city) -> None:  # type: ignore[no-untyped-def]
    w = world(db, city)
    with db.transaction() as s:
        app1 = oidc.add_client(session=s, actor=w["admin"], name="公积金系统", redirect_uris=[REDIRECT])
        app2 = oidc.add_client(session=s, actor=w["admin"], name="医保系统", redirect_uris=[REDIRECT])
    server, thread, base = _serve(settings, db)
    clients = contextlib.ExitStack()
    try:
        meta = httpx.get(f"{base}/.well-known/openid-configuration").json()
        assert meta["issuer"] == base and "S256" in meta["code_challenge_methods_supported"]
        jwks = KeySet.import_key_set(httpx.get(meta["jwks_uri"]).json())
        browser = _login(base, "citizen9")
        clients.callback(browser.close)
        subs = []
        for app in (app1, app2):
            client = OAuth2Client(
                app.client_id,
                app.client_secret,
                scope="openid profile",
                redirect_uri=REDIRECT,
                code_challenge_method="S256",
            )
            verifier, nonce = generate_token(48), secrets.token_urlsafe(16)
            url, state = client.create_authorization_url(
                meta["authorization_endpoint"], code_verifier=verifier, nonce=nonce
            )
            r = _authorize(browser, url)
            back = r.headers["location"]
            assert back.startswith(REDIRECT) and parse_qs(urlsplit(back).query)["state"] == [state]
            # a second authorisation of the same client asks no consent again: straight back
            again = browser.get(
                client.create_authorization_url(
                    meta["authorization_endpoint"], code_verifier=generate_token(48)
                )[0]
            )
            assert again.status_code == 303 and "code=" in again.headers["location"]
            # a wrong verifier is refused as RFC 6749 says
            code = parse_qs(urlsplit(back).query)["code"][0]
            bad = httpx.post(
                meta["token_endpoint"],
                data={
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": REDIRECT,
                    "code_verifier": "x" * 43,
                },
                auth=(app.client_id, app.client_secret),
            )
            assert bad.status_code == 400 and bad.json()["error"] == "invalid_grant"
            token = client.fetch_token(
                meta["token_endpoint"], authorization_response=back, code_verifier=verifier
            )
            claims = jwt.decode(token["id_token"], jwks).claims
            assert claims["iss"] == base and claims["aud"] == app.client_id and claims["nonce"] == nonce
            assert claims["acr"] == oidc.ACR_REAL_NAME and claims["exp"] > time.time()
            subs.append(claims["sub"])
            info = client.get(meta["userinfo_endpoint"]).json()
            assert info["sub"] == claims["sub"] and info["name"] == "citizen9"
            # the code is single use
            reuse = httpx.post(
                meta["token_endpoint"],
                data={
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": REDIRECT,
                    "code_verifier": verifier,
                },
                auth=(app.client_id, app.client_secret),
            )
            assert reuse.json() == {"error": "invalid_grant", "error_description": "code already used"}
        assert subs[0] != subs[1]  # pairwise: two clients cannot join their users
        wrong = httpx.post(
            meta["token_endpoint"],
            data={"grant_type": "authorization_code", "code": "x"},
            auth=(app1.client_id, "not-the-secret"),
        )
        assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
        grant = httpx.post(
            meta["token_endpoint"], data={"grant_type": "password"}, auth=(app1.client_id, app1.client_secret)
        )
        assert grant.json()["error"] == "unsupported_grant_type"
        # without PKCE the client is told, at its redirect URI
        plain = browser.get(
            f"{meta['authorization_endpoint']}?response_type=code&client_id={app1.client_id}"
            f"&redirect_uri={REDIRECT}&scope=openid&state=s1"
        )
        assert (
            "error=invalid_request" in plain.headers["location"] and "state=s1" in plain.headers["location"]
        )
        # a person without a verified real name gets the password level
        other = _login(base, "window9")
        client = OAuth2Client(
            app1.client_id,
            app1.client_secret,
            scope="openid",
            redirect_uri=REDIRECT,
            code_challenge_method="S256",
        )
        verifier = generate_token(48)
        url, _ = client.create_authorization_url(meta["authorization_endpoint"], code_verifier=verifier)
        tok = client.fetch_token(
            meta["token_endpoint"],
            authorization_response=_authorize(other, url).headers["location"],
            code_verifier=verifier,
        )
        assert jwt.decode(tok["id_token"], jwks).claims["acr"] == oidc.ACR_PASSWORD
    finally:
        clients.close()
        server.should_exit = True
        thread.join(timeout=10)


def test_cli_prints_the_client_as_json_on_its_last_line(db) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from cityos.cli import app

    runner = CliRunner()
    out = runner.invoke(app, ["oidc", "client", "add", "--name", "不动产系统", "--redirect-uri", REDIRECT])
    assert out.exit_code == 0, out.output
    last = json.loads(out.stdout.strip().splitlines()[-1])
    assert set(last) == {"client_id", "client_secret"}
    bad = runner.invoke(
        app, ["oidc", "client", "add", "--name", "x", "--redirect-uri", "http://evil.example/cb"]
    )
    assert bad.exit_code == 2 and "redirect_uri" in bad.stderr


pytestmark = pytest.mark.xdist_group("services-live")
