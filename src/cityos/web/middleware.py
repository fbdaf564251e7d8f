"""Locale, security headers and request metrics for every request, as a plain ASGI middleware.

Starlette's `BaseHTTPMiddleware` (`@app.middleware("http")`) runs the rest of the app in a task of
its own and passes the response through memory streams: a tenth of the Open311 intake's CPU in its
profile (bench/RESULTS.md). This one only wraps `send` to add the headers and note the status.
"""

from __future__ import annotations

import time

from prometheus_client import Counter, Histogram
from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cityos.core import i18n
from cityos.web.deps import LOCALE_COOKIE

REQUESTS = Counter("cityos_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram("cityos_http_request_seconds", "HTTP request latency", ["method", "route"])


class LocaleAndHeaders:
    """The request's locale (`?lang=`, the `cityos_locale` cookie, else the installation's), the
    security headers on every response (kept where a route set its own), and the request counted
    and timed per route for `/metrics`."""

    def __init__(self, app: ASGIApp, *, default_locale: str, csp: str) -> None:
        self.app = app
        self.default_locale = default_locale
        self.csp = csp

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        conn = HTTPConnection(scope)
        loc = (
            i18n.normalize_locale(conn.query_params.get("lang"))
            or i18n.normalize_locale(conn.cookies.get(LOCALE_COOKIE))
            or self.default_locale
        )
        defaults = (
            ("Content-Security-Policy", self.csp),
            ("X-Content-Type-Options", "nosniff"),
            ("X-Frame-Options", "DENY"),
            ("Referrer-Policy", "same-origin"),
            ("Content-Language", "zh-CN" if loc == "zh_CN" else "en"),
        )
        status = 500  # what an exception that escapes the app becomes

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = MutableHeaders(scope=message)
                for name, value in defaults:
                    headers.setdefault(name, value)
            await send(message)

        token = i18n.current_locale.set(loc)
        started = time.perf_counter()
        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            i18n.current_locale.reset(token)
            route = getattr(scope.get("route"), "path", "unmatched")
            REQUESTS.labels(scope["method"], route, str(status)).inc()
            LATENCY.labels(scope["method"], route).observe(time.perf_counter() - started)
