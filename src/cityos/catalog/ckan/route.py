"""The action table and the one route that answers /api/3/action/{action} and /api/action/{action}
in CKAN's envelope.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from cityos.catalog import service
from cityos.catalog.ckan.actions import (
    organization_list,
    organization_show,
    package_list,
    package_search,
    package_show,
    resource_show,
)
from cityos.catalog.ckan.common import CkanError, Ctx, _required, bad_request, denied, invalid, not_found
from cityos.catalog.ckan.datastore import datastore_search
from cityos.core.db import Database
from cityos.core.errors import CityOSError, Forbidden, NotFound

router = APIRouter(include_in_schema=False)


def help_show(ctx: Ctx, data: dict[str, Any]) -> str:
    """The help text of an action."""
    name = _required(data, "name")
    fn = ACTIONS.get(name)
    if fn is None:
        raise not_found("Action function not found")
    return (fn.__doc__ or "").strip()


def site_read(ctx: Ctx, data: dict[str, Any]) -> bool:
    """The site may be read (always true: the open catalog is public)."""
    return True


def status_show(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    """What this site is and which CKAN extensions it imitates."""
    return {
        "site_title": "CityOS",
        "site_url": ctx.base,
        "site_description": "",
        "ckan_version": "2.10.0",
        "locale_default": "zh_Hans_CN",
        "extensions": ["datastore"],
    }


ACTIONS: dict[str, Callable[[Ctx, dict[str, Any]], Any]] = {
    "package_list": package_list,
    "package_show": package_show,
    "package_search": package_search,
    "organization_list": organization_list,
    "organization_show": organization_show,
    "resource_show": resource_show,
    "datastore_search": datastore_search,
    "help_show": help_show,
    "site_read": site_read,
    "status_show": status_show,
}


# ------------------------------------------------------------------------------- the route
def _run(db: Database, base: str, fn: Callable[[Ctx, dict[str, Any]], Any], data: dict[str, Any]) -> Any:
    with db.reader() as session:
        ctx = Ctx(session=session, base=base)
        try:
            result = fn(ctx, data)
        except NotFound:
            raise not_found() from None
        except Forbidden as exc:
            raise denied(exc.text("en")) from None
        except CityOSError as exc:
            raise invalid(exc.field or "message", exc.text("en")) from None
    if ctx.records:
        with db.transaction() as w:
            for code, rows in ctx.records:
                service.record_public_download(session=w, code=code, kind="api", rows=rows)
    return result


async def _data_dict(request: Request) -> dict[str, Any]:
    data: dict[str, Any] = dict(request.query_params)
    if request.method != "POST":
        return data
    ctype = request.headers.get("content-type", "")
    if "form" in ctype:
        form = await request.form()
        data.update({k: v for k, v in form.items() if isinstance(v, str)})
        return data
    raw = await request.body()
    if raw.strip():
        try:
            body = json.loads(raw)
        except ValueError as exc:
            raise bad_request(f"JSON Error: {exc}") from None
        if not isinstance(body, dict):
            raise bad_request("JSON Error: Request data JSON decoded to a non-dictionary")
        data.update(body)
    return data


@router.api_route("/api/3/action/{action}", methods=["GET", "POST"])
@router.api_route("/api/action/{action}", methods=["GET", "POST"])
async def action_api(request: Request, action: str) -> Response:
    base = str(request.base_url).rstrip("/")
    help_url = f"{base}/api/3/action/help_show?name={action}"
    try:
        fn = ACTIONS.get(action)
        if fn is None:
            raise bad_request(f"Action name not known: {action}")
        data = await _data_dict(request)
        result = await run_in_threadpool(_run, request.app.state.db, base, fn, data)
    except CkanError as exc:
        return JSONResponse(
            {"help": help_url, "success": False, "error": exc.error},
            status_code=exc.status,
            headers={"Access-Control-Allow-Origin": "*"},
        )
    return JSONResponse(
        {"help": help_url, "success": True, "result": result}, headers={"Access-Control-Allow-Origin": "*"}
    )
