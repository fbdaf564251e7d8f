"""Every role (and an anonymous visitor and an API token) against a sample of the app's routes:
each answer is allowed (2xx/3xx), refused (401/403, or 303 to the login page) — never a 500.
The GET routes without path parameters are discovered from the app, so new modules' pages and
APIs join the matrix by themselves; the expectations below pin the ones whose rule we know."""

from __future__ import annotations

import pytest

from cityos.identity import service
from cityos.identity.schemas import ROLES

EXPECT = {  # route: roles allowed (others: 403 for users)
    "/admin/users": {"admin"},
    "/admin/tokens": {"admin", "data_bureau"},
    "/admin/departments": {"admin", "data_bureau"},
    "/admin/calendar": {"admin"},
    "/geo/map": set(ROLES) - {"citizen"},
    "/api/v1/geo/grids.geojson": set(ROLES) - {"citizen"},
    "/api/v1/identity/users": {"admin"},
    "/api/v1/identity/tokens": {"admin", "data_bureau"},
    "/api/v1/identity/me": set(ROLES),
    "/": set(ROLES),
}
SKIP = {
    "/logout",
    "/api/docs",
    "/api/openapi.json",
    "/docs/oauth2-redirect",
    "/metrics",
    "/healthz",
    "/readyz",
    "/login",
    "/open311/v2/discovery.json",
}


def _get_routes(app) -> list[str]:  # type: ignore[no-untyped-def]
    paths = set()
    for route in app.openapi()["paths"]:
        paths.add(route)
    for r in app.router.routes:
        p = getattr(r, "path", None)
        if p:
            paths.add(p)
    for p in EXPECT:
        paths.add(p)
    return sorted(p for p in paths if "{" not in p and p not in SKIP and not p.startswith("/static"))


@pytest.mark.parametrize("who", [*ROLES, "anonymous", "token"])
def test_every_role_gets_allowed_or_refused_never_500(city, client, db, who):
    if who == "token":
        with db.transaction() as s:
            tok = service.create_token(
                session=s, actor=city.as_role("admin"), client="matrix", scopes=["geo"]
            )
        client.headers["Authorization"] = f"Bearer {tok.token}"
    elif who != "anonymous":
        city.login(client, who)
    for path in _get_routes(client.app):
        r = client.get(path, follow_redirects=False)
        assert r.status_code < 500, (who, path, r.status_code, r.text[:300])
        if path in EXPECT and who not in ("anonymous", "token"):
            if who in EXPECT[path]:
                assert r.status_code in (200, 303, 307), (who, path, r.status_code)
            else:
                assert r.status_code == 403, (who, path, r.status_code)
        if who == "anonymous" and path in EXPECT:
            assert r.status_code in (401, 303), (who, path, r.status_code)
            if r.status_code == 303:
                assert r.headers["location"].startswith("/login")
    if who == "token":
        assert client.get("/api/v1/geo/grids.geojson").status_code == 200
        assert client.get("/api/v1/identity/users").status_code == 403
