"""Request dependencies every route uses: the unit of work, the principal, permission, CSRF.

Every route is authenticated unless declared public: JSON routes take `Depends(Require("perm"))`
(or `Depends(authenticated)`), pages take `Depends(RequirePage("perm"))`, which sends anonymous
visitors to the login page instead of answering 401.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from cityos.core.db import Database
from cityos.core.errors import Forbidden, TooLarge, Unauthorized
from cityos.identity import service as identity
from cityos.identity.permissions import authorize
from cityos.identity.schemas import Principal

SESSION_COOKIE = "cityos_session"
LOCALE_COOKIE = "cityos_locale"
ANONYMOUS = Principal(kind="anonymous")
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
FILES_PER_REQUEST = 10  # a form may carry this many files of the upload limit (plus 1 MB of fields)
# Routes that take one file larger than a case photo (a data delivery): path pattern -> its limit
# in bytes, registered by the module that owns the route (see `allow_upload`).
UPLOAD_LIMITS: list[tuple[re.Pattern[str], int]] = []


def allow_upload(pattern: str, limit: int) -> None:
    """Let POSTs to paths matching `pattern` carry a body up to `limit` bytes (plus 1 MB of fields)
    instead of the photo limit; the route itself still checks its file's size."""
    UPLOAD_LIMITS.append((re.compile(pattern), limit))


def get_database(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def get_session(request: Request) -> Iterator[Session]:
    """One unit of work per request: commit once when the route succeeds, roll back otherwise."""
    read_only = request.method in SAFE_METHODS
    # queue=False: FastAPI may enter and leave this dependency on different threads
    with get_database(request).transaction(read_only=read_only, queue=False) as session:
        request.state.session = session
        yield session


def current_principal(
    request: Request, session: Session = Depends(get_session, scope="function")
) -> Principal:
    cached = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    principal = ANONYMOUS
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        bearer = auth[7:].strip()
        read_only = request.method in SAFE_METHODS
        p = identity.verify_token(session=session, token=bearer, record_use=not read_only)
        if p is None:
            raise Unauthorized("Invalid, expired or revoked API token", code="invalid_token")
        if read_only and identity.token_use_due(session=session, token=bearer):
            with get_database(request).transaction() as writer:
                identity.record_token_use(session=writer, token=bearer)
        principal = p
    else:
        token = request.cookies.get(SESSION_COOKIE)
        if token:
            principal = identity.principal_from_session(session=session, token=token) or ANONYMOUS
            if principal.is_authenticated and request.method not in SAFE_METHODS:
                check_csrf(request, principal)
    request.state.principal = principal
    return principal


def check_csrf(request: Request, principal: Principal) -> None:
    """Cookie-authenticated writes carry the session's CSRF token in a header (HTMX) or form field.
    The form field is read by `csrf_form_value`, which the form routes' parsing stores."""
    sent = request.headers.get("x-csrf-token") or getattr(request.state, "csrf_form", None)
    if not sent or not principal.csrf_token or not secrets.compare_digest(sent, principal.csrf_token):
        raise Forbidden("The form has expired; reload the page and try again", code="csrf_failed")


def refuse_cross_site(request: Request) -> None:
    """A write sent by a page of another site is refused before anything runs (OWASP: verify the
    origin with standard headers). This covers what the session's CSRF token cannot: the login and
    registration forms, posted before there is a session (login CSRF). Browsers send Origin (or at
    least Referer or Sec-Fetch-Site) with every cross-site POST; a request with none of them comes
    from no browser and carries no victim's cookie worth protecting. Bearer-token calls come from
    other systems, and anonymous Open311 posts are meant to come from other sites' clients."""
    if request.method in SAFE_METHODS:
        return
    if request.headers.get("authorization", "").lower().startswith("bearer "):
        return
    if request.url.path.startswith("/open311/") and SESSION_COOKIE not in request.cookies:
        return
    cross = request.headers.get("sec-fetch-site", "") == "cross-site"
    source = request.headers.get("origin") or request.headers.get("referer")
    if source is not None:
        # a proxy that rewrites Host names the public one in X-Forwarded-Host
        host = (request.headers.get("x-forwarded-host") or request.headers.get("host") or "").lower()
        cross = cross or source == "null" or urlsplit(source).netloc.lower() != host.split(",")[0].strip()
    if cross:
        raise Forbidden(
            "This form was sent from another site; open the page here and try again", code="csrf_failed"
        )


async def read_csrf_form(request: Request) -> None:
    """Runs before the principal is resolved on every request: refuses cross-site writes, and on
    form posts keeps the form's csrf_token field."""
    refuse_cross_site(request)
    if request.method not in SAFE_METHODS and "form" in request.headers.get("content-type", ""):
        refuse_oversized(request)
        form = await request.form()
        value = form.get("csrf_token")
        request.state.csrf_form = value if isinstance(value, str) else None


def refuse_oversized(request: Request) -> None:
    """A form is parsed (and its files spooled to disk) before any route runs: refuse a body that
    says it is larger than any acceptable upload before reading it."""
    cap = request.app.state.settings.max_upload_bytes * FILES_PER_REQUEST + 1024 * 1024
    for pattern, limit in UPLOAD_LIMITS:
        if pattern.fullmatch(request.url.path):
            cap = limit + 1024 * 1024
            break
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > cap:
        raise TooLarge(
            "The upload is larger than {mb} MB", code="request_too_large", params={"mb": cap // 1024 // 1024}
        )


def authenticated(principal: Principal = Depends(current_principal)) -> Principal:
    if not principal.is_authenticated:
        raise Unauthorized("Please log in first", code="login_required")
    return principal


@dataclass(frozen=True)
class Require:
    """Route dependency: the caller must hold `perm` (role or token scope)."""

    perm: str

    def __call__(self, principal: Principal = Depends(current_principal)) -> Principal:
        return authorize(principal, self.perm)


class LoginRedirect(Exception):
    def __init__(self, next_url: str) -> None:
        self.next_url = next_url


@dataclass(frozen=True)
class RequirePage:
    """Page dependency: like Require, but anonymous visitors are sent to the login page."""

    perm: str | None = None

    def __call__(self, request: Request, principal: Principal = Depends(current_principal)) -> Principal:
        if not principal.is_authenticated:
            nxt = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            raise LoginRedirect(nxt)
        if self.perm is None:
            return principal
        return authorize(principal, self.perm)
