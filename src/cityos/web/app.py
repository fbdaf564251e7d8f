"""The FastAPI app factory. Mounts core pages, every module's routers and navigation (found
through cityos.registry), static assets, error mapping, security headers and metrics."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from cityos import registry
from cityos.core import i18n
from cityos.core.db import Database, get_db, use_db
from cityos.core.errors import CityOSError
from cityos.core.settings import Settings, get_settings, use_settings
from cityos.web import basemap
from cityos.web.deps import LoginRedirect, read_csrf_form
from cityos.web.middleware import LocaleAndHeaders
from cityos.web.templating import LOOPS, NavItem, render

log = logging.getLogger("cityos.web")
STATIC = Path(__file__).resolve().parent / "static"
JSON_PREFIXES = ("/api/", "/open311/", "/healthz", "/readyz")

CSP = (
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)


def content_security_policy(tile_origins: list[str]) -> str:
    """The pages' CSP: a configured tile server's origins may serve the base map's images."""
    if not tile_origins:
        return CSP
    img = "img-src 'self' data: blob:"
    return CSP.replace(img, f"{img} {' '.join(tile_origins)}", 1)


def wants_json(request: Request) -> bool:
    if request.url.path.startswith(JSON_PREFIXES):
        return True
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def error_response(request: Request, status: int, body: dict[str, Any]) -> Response:
    if wants_json(request):
        return JSONResponse(body, status_code=status)
    err = body.get("error", {})
    loc = i18n.current_locale.get()
    message = err.get("message", {}).get("zh-CN" if loc == "zh_CN" else "en", "")
    return render(
        request,
        "errors/error.html",
        {"status": status, "code": err.get("code"), "message": message},
        status_code=status,
    )


def create_app(settings: Settings | None = None, db: Database | None = None) -> FastAPI:
    if settings is not None:
        use_settings(settings)
    settings = get_settings()
    if db is not None:
        use_db(db)
    base_map = basemap.config()  # a wrong CITYOS_MAP_* setting stops the start, naming it
    csp = content_security_policy(base_map.origins() if base_map else [])
    app = FastAPI(
        title="CityOS",
        version="0.1.0",
        description="一网统管 · 数据共享交换 · 城市感知 · 一网通办 — the platform's JSON APIs.",
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
        dependencies=[Depends(read_csrf_form)],
    )
    app.state.db = db or get_db()
    app.state.settings = settings
    app.state.nav = []
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")

    app.add_middleware(LocaleAndHeaders, default_locale=settings.locale, csp=csp)

    @app.exception_handler(CityOSError)
    async def cityos_error(request: Request, exc: CityOSError) -> Response:
        return error_response(request, exc.status, exc.payload())

    @app.exception_handler(LoginRedirect)
    async def login_redirect(request: Request, exc: LoginRedirect) -> Response:
        from urllib.parse import quote

        return RedirectResponse(f"/login?next={quote(exc.next_url)}", status_code=303)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        errors = exc.errors()
        first = errors[0] if errors else {}
        field = ".".join(str(p) for p in first.get("loc", ())[1:]) or None
        err = CityOSError(
            "The request has invalid fields",
            code="invalid",
            field=field,
            details=[
                {"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")} for e in errors
            ],
        )
        return error_response(request, 422, err.payload())

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        msg = {404: "Page not found", 405: "Method not allowed"}.get(exc.status_code, str(exc.detail))
        return error_response(request, exc.status_code, CityOSError(msg, code=code).payload())

    @app.exception_handler(Exception)
    async def server_error(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        err = CityOSError("Internal error; it has been logged", code="internal_error")
        return error_response(request, 500, err.payload())

    from cityos.web import audit_api
    from cityos.web import views as core_views

    app.include_router(core_views.router)
    app.include_router(audit_api.router)
    app.state.nav.extend(core_views.NAV)
    for _name, mod in registry.parts("public"):
        app.include_router(mod.router)
        app.state.nav.extend(getattr(mod, "NAV", []))
    for _name, mod in registry.parts("api"):
        app.include_router(mod.router)
    for name, mod in registry.parts("views"):
        app.include_router(mod.router)
        app.state.nav.extend(
            dataclasses.replace(item, group=item.group or LOOPS.get(name)) for item in getattr(mod, "NAV", [])
        )
    registry.load_handlers()
    from cityos.web import openapi

    openapi.install(app)
    return app


__all__ = ["NavItem", "create_app"]
