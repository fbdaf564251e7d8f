"""Errors users can read. Raised by services; mapped once to HTTP (status, code, zh/en message)
by the web layer and to an exit code + message by the CLI.

Messages are written in English and translated through the gettext catalogs, so an API error
always carries both {"zh-CN": …, "en": …}. `params` fill `{name}` placeholders after translation.
"""

from __future__ import annotations

from typing import Any


class CityOSError(Exception):
    status = 400
    code = "invalid"
    exit_code = 2

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        field: str | None = None,
        params: dict[str, Any] | None = None,
        details: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.field = field
        self.params = params or {}
        self.details = details

    def text(self, locale: str = "en") -> str:
        from cityos.core.i18n import gettext

        return gettext(self.message, locale).format(**self.params)

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "code": self.code,
            "message": {"zh-CN": self.text("zh_CN"), "en": self.text("en")},
        }
        if self.field:
            body["field"] = self.field
        if self.details is not None:
            body["details"] = self.details
        return {"error": body}


class Invalid(CityOSError):
    status = 422
    code = "invalid"


class TooLarge(Invalid):
    """Invalid input that is too big (an upload over the limit): HTTP 413."""

    status = 413
    code = "too_large"


class NotFound(CityOSError):
    status = 404
    code = "not_found"
    exit_code = 3


class Forbidden(CityOSError):
    status = 403
    code = "forbidden"
    exit_code = 4


class Unauthorized(CityOSError):
    status = 401
    code = "unauthorized"
    exit_code = 4


class Conflict(CityOSError):
    status = 409
    code = "conflict"
    exit_code = 5


class TooManyRequests(CityOSError):
    status = 429
    code = "rate_limited"
    exit_code = 6
