"""Core pages: home, login/logout, language switch, health, readiness, metrics."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import PlainTextResponse, RedirectResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.orm import Session

from cityos.core import events, i18n
from cityos.core.errors import CityOSError
from cityos.core.migrate import current
from cityos.identity import service as identity
from cityos.identity.schemas import Principal
from cityos.web import home as home_page
from cityos.web.deps import LOCALE_COOKIE, SESSION_COOKIE, current_principal, get_database, get_session
from cityos.web.templating import NavItem, render

router = APIRouter(include_in_schema=False)
NAV = [NavItem("Home", "/", order=0)]


def _safe_next(value: str | None) -> str:
    return value if value and value.startswith("/") and not value.startswith("//") else "/"


@router.get("/")
def home(
    request: Request,
    session: Session = Depends(get_session, scope="function"),
    principal: Principal = Depends(current_principal),
) -> Response:
    """Work first: the person's 待办 with counts and links, what changed since yesterday, and the
    city's figures for those who follow it (web/home.py decides by permission)."""
    if not principal.is_authenticated:
        return RedirectResponse("/login", status_code=303)
    return render(request, "home.html", home_page.page(session=session, actor=principal))


@router.get("/login")
def login_page(
    request: Request, next: str = "/", principal: Principal = Depends(current_principal)
) -> Response:
    if principal.is_authenticated:
        return RedirectResponse(_safe_next(next), status_code=303)
    return render(request, "login.html", {"next": _safe_next(next), "error": None})


@router.post("/login")
def login(
    request: Request,
    username: str = Form(""),
    password: str = Form(""),
    next: str = Form("/"),
) -> Response:
    # Login is its own unit of work so that a failed attempt is counted even though it errors.
    db = get_database(request)
    ip = request.client.host if request.client else None
    error: CityOSError | None = None
    try:
        with db.transaction() as session:
            try:
                p = identity.authenticate(session=session, username=username, password=password, ip=ip)
            except CityOSError as e:
                error = e
            else:
                error = None
                token, _csrf = identity.start_session(
                    session=session, user_id=p.id or 0, hours=request.app.state.settings.session_hours, ip=ip
                )
    except CityOSError as e:  # pragma: no cover - commit-time failures
        error = e
    if error is not None:
        status = error.status if error.status == 429 else 401
        return render(
            request,
            "login.html",
            {"next": _safe_next(next), "error": error.text(i18n.current_locale.get()), "username": username},
            status_code=status,
        )
    resp = RedirectResponse(_safe_next(next), status_code=303)
    resp.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=request.app.state.settings.secure_cookies,
        path="/",
    )
    return resp


@router.post("/logout")
def logout(
    request: Request,
    session: Session = Depends(get_session, scope="function"),
    principal: Principal = Depends(current_principal),
) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        identity.end_session(session=session, token=token)
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(SESSION_COOKIE, path="/")
    return resp


@router.get("/lang/{locale}")
def switch_language(locale: str, request: Request, next: str = "/") -> Response:
    loc = i18n.normalize_locale(locale) or "zh_CN"
    resp = RedirectResponse(_safe_next(next), status_code=303)
    resp.set_cookie(LOCALE_COOKIE, loc, samesite="lax", path="/", max_age=365 * 86400)
    return resp


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
def readyz(request: Request) -> Response:
    db = get_database(request)
    try:
        with db.reader() as s:
            s.execute(text("SELECT 1"))
        rev = current(db.engine) if db.bind is db.engine else "test"
    except Exception as e:  # readiness reports, it does not raise
        return Response(
            f'{{"status":"unavailable","reason":"{type(e).__name__}"}}',
            status_code=503,
            media_type="application/json",
        )
    if rev is None:
        return Response(
            '{"status":"unavailable","reason":"schema not initialised"}',
            status_code=503,
            media_type="application/json",
        )
    return Response(f'{{"status":"ready","schema":"{rev}"}}', media_type="application/json")


@router.get("/metrics")
def metrics(request: Request) -> Response:
    # the worker alerts on abandoned events; the gauge is read from the outbox at each scrape so
    # that every app process serves the same number
    with get_database(request).reader() as s:
        events.count_abandoned(s)
    return PlainTextResponse(generate_latest().decode(), media_type=CONTENT_TYPE_LATEST)
