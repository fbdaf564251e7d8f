"""The OpenAPI document says what the routes really answer.

FastAPI documents a route's success and a 422 in its own validation-error shape; CityOS answers
every error (422 included) as `{"error": {"code", "message": {"zh-CN", "en"}, "field", "details"}}`
(core.errors, mapped once in web.app). This adds that `Error` schema and, on each operation, the
4xx the route can give: 422 always (bad input), 401 and 403 when it resolves the caller (a bad
token is 401 wherever it is sent; the share rules or a permission refuse with 403), 404 when its
path names something, 409 on writes (a duplicate, a version moved, a state that does not allow
it), 413 where it takes an upload.
Routes may declare more through FastAPI's `responses=`; what they declare is kept.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from cityos.web.deps import Require, RequirePage, authenticated, current_principal

ERROR_SCHEMA: dict[str, Any] = {
    "title": "Error",
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "description": "machine-readable, e.g. not_found, field_masked"},
                "message": {
                    "type": "object",
                    "required": ["zh-CN", "en"],
                    "properties": {"zh-CN": {"type": "string"}, "en": {"type": "string"}},
                },
                "field": {"type": "string", "description": "the parameter, field or row at fault"},
                "details": {"description": "every problem, for errors that list several"},
            },
        }
    },
}
DESCRIPTIONS = {
    "401": "Not logged in, or an invalid, expired or revoked token",
    "403": "The caller lacks the permission (or the share rules refuse it)",
    "404": "Not found, or not visible to the caller",
    "409": "Conflicts with the current state",
    "413": "The upload is too large",
    "422": "Invalid input; `field` names the parameter at fault",
}
# the data API resolves its caller inside each call (every call, refused or not, is audited), so
# no dependency shows it: it answers 401/403 all the same
DATA_API = ("/api/v1/data/",)
# a device posts its readings with its own token, checked inside the call (401 bad token, 403 a
# device writing for another)
DEVICE_API_SUFFIX = "/telemetry"


def _api_routes(routes: list[Any], prefix: str = "") -> Iterator[tuple[str, APIRoute]]:
    """(full path, route) of every JSON route, through included routers (FastAPI keeps an included
    router as one entry that points at the original)."""
    for r in routes:
        if isinstance(r, APIRoute):
            yield prefix + r.path_format, r
        elif hasattr(r, "original_router"):
            context = getattr(r, "include_context", None)
            yield from _api_routes(r.original_router.routes, prefix + getattr(context, "prefix", ""))


def _dependencies(dep: Dependant) -> Iterator[Any]:
    for d in dep.dependencies:
        yield d.call
        yield from _dependencies(d)


def _needs_principal(route: APIRoute) -> bool:
    return any(
        call in (authenticated, current_principal) or isinstance(call, Require | RequirePage)
        for call in _dependencies(route.dependant)
    )


def _error_codes(path: str, route: APIRoute, method: str, operation: dict[str, Any]) -> set[str]:
    codes = {"422"}
    if _needs_principal(route):
        codes |= {"401", "403"}
    if "{" in path:
        codes.add("404")
    if method not in ("get", "head", "options"):
        codes.add("409")
    content = operation.get("requestBody", {}).get("content", {})
    if "multipart/form-data" in content or "application/octet-stream" in content:
        codes.add("413")
    device = path.startswith("/api/v1/sensing/") and path.endswith(DEVICE_API_SUFFIX)
    if path.startswith(DATA_API) or device:
        codes |= {"401", "403"}
    return codes


def document_errors(app: FastAPI, schema: dict[str, Any]) -> dict[str, Any]:
    schemas = schema.setdefault("components", {}).setdefault("schemas", {})
    schemas["Error"] = ERROR_SCHEMA
    ref = {"$ref": "#/components/schemas/Error"}
    routes = dict(_api_routes(app.routes))
    for path, operations in schema.get("paths", {}).items():
        route = routes.get(path)
        if route is None:
            continue
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            for code in sorted(_error_codes(path, route, method, operation)):
                declared = responses.get(code, {})
                if code == "422" or "content" not in declared:  # 422: ours, not FastAPI's shape
                    responses[code] = {
                        "description": declared.get("description") or DESCRIPTIONS[code],
                        "content": {"application/json": {"schema": ref}},
                    }
    # FastAPI's validation-error shapes are no longer referenced: CityOS never answers them
    if "HTTPValidationError" in schemas and "HTTPValidationError" not in str(schema.get("paths")):
        schemas.pop("HTTPValidationError", None)
        if "ValidationError" not in str(schema.get("paths")):
            schemas.pop("ValidationError", None)
    return schema


def install(app: FastAPI) -> None:
    """Make app.openapi() return the document with the errors described (built once, cached)."""
    base: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        return document_errors(app, base())

    app.openapi = openapi  # type: ignore[method-assign]
