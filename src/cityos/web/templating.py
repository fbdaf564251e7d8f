"""Jinja2 with gettext (the request's locale), the layout's navigation and small filters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape

from cityos.core import i18n
from cityos.core.clock import local
from cityos.core.settings import get_settings
from cityos.identity.permissions import has
from cityos.identity.schemas import Principal

TEMPLATES = Path(__file__).resolve().parent / "templates"


@dataclass(frozen=True)
class NavItem:
    label: str  # English msgid; translated in the layout
    href: str
    perm: str | None = None  # shown only to principals holding it (None: any logged-in user)
    order: int = 100
    public: bool = False  # shown to anonymous visitors too
    group: str | None = None  # English msgid of the loop it belongs to (LOOPS); None: on its own


# The header groups the modules' pages by the platform's loops, so ten modules fit one line on a
# desktop: a loop with two or more pages for the reader becomes one menu (<details>) in the bar.
LOOPS: dict[str, str] = {
    "geo": "Unified city management",
    "cases": "Unified city management",
    "patrol": "Unified city management",
    "sensing": "Urban sensing",
    "catalog": "Data sharing and exchange",
    "registries": "Data sharing and exchange",
    "services": "One-window services",
}


@dataclass(frozen=True)
class NavGroup:
    label: str
    items: list[NavItem]

    def active(self, path: str) -> bool:
        return any(nav_active(i, path) for i in self.items)


def nav_active(item: NavItem, path: str) -> bool:
    return path == item.href or (item.href != "/" and path.startswith(item.href))


def nav_entries(items: list[NavItem]) -> list[NavItem | NavGroup]:
    """The header's entries in order: a loop's pages as one group where the reader has two or more
    of them, otherwise the page itself (at the place of the loop's first page)."""
    by_group: dict[str, list[NavItem]] = {}
    for item in items:
        if item.group:
            by_group.setdefault(item.group, []).append(item)
    out: list[NavItem | NavGroup] = []
    placed: set[str] = set()
    for item in items:
        members = by_group.get(item.group or "", [])
        if len(members) < 2:
            out.append(item)
        elif item.group not in placed:
            placed.add(item.group or "")
            out.append(NavGroup(item.group or "", members))
    return out


def _dt(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if value is None:
        return ""
    return local(value, get_settings().timezone).strftime(fmt)


def _colon(label: str) -> Markup:
    """A label and its colon in the reader's script: 来源：… in Chinese, Source: … in English."""
    return escape(label) + Markup("：" if i18n.current_locale.get() == "zh_CN" else ": ")


def _paren(text: object) -> Markup:
    """An aside in brackets: （高德、腾讯） in Chinese (full-width, no space before it),
    " (AMap, Tencent)" in English."""
    if i18n.current_locale.get() == "zh_CN":
        return Markup("（") + escape(text) + Markup("）")
    return Markup(" (") + escape(text) + Markup(")")


def make_env() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(["html", "xml"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]
        lambda m: i18n.gettext(m), lambda s, p, n: i18n.ngettext(s, p, n), newstyle=True
    )
    env.filters["dt"] = _dt
    env.filters["colon"] = _colon
    env.filters["paren"] = _paren
    env.globals["has_perm"] = has
    env.globals["base_map_json"] = _base_map_json
    env.globals["nav_active"] = nav_active
    return env


def _base_map_json() -> str:
    """The configured tile base map as JSON for the map pages (empty offline: outlines only)."""
    from cityos.web import basemap

    bm = basemap.config()
    return bm.as_json() if bm else ""


ENV = make_env()


def nav_for(request: Request, principal: Principal) -> list[NavItem]:
    items: list[NavItem] = request.app.state.nav
    out = []
    for item in items:
        if item.public or (principal.is_authenticated and (item.perm is None or has(principal, item.perm))):
            out.append(item)
    return sorted(out, key=lambda i: i.order)


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    principal: Principal | None = None,
) -> HTMLResponse:
    p = principal or getattr(request.state, "principal", None) or Principal(kind="anonymous")
    ctx = {
        "request": request,
        "principal": p,
        "nav": nav_entries(nav_for(request, p)),
        "locale": i18n.current_locale.get(),
        "csrf_token": p.csrf_token or "",
        "htmx": request.headers.get("hx-request") == "true",
        "path": request.url.path,
    }
    ctx.update(context or {})
    html = ENV.get_template(template).render(ctx)
    return HTMLResponse(html, status_code=status_code)
