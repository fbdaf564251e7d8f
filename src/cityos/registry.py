"""The feature modules, in dependency order, and the optional parts each may offer.

A module `cityos.<name>` may have (all optional; the app, CLI, worker, migrations and demo
generator discover them here, so adding a module is one line in MODULES):
    models.py    its tables (imported so migrations and metadata see them)
    api.py       `router`: JSON routes
    views.py     `router`: HTML pages;  `NAV`: list[NavItem] for the base layout
    public.py    `router`: routes mounted without the authenticated prefix (portals, Open311...)
    commands.py  `app`: a Typer sub-command group named `NAME` (`cityos NAME ...`)
    handlers.py  event subscribers (imported by the app and the worker)
    jobs.py      `JOBS`: list[Job] run by `cityos worker`
    demo.py      `populate(ctx)`: adds the module's demo data to the demo city
"""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType
from typing import Any

MODULES: list[str] = [
    "identity",
    "geo",
    "cases",
    "catalog",
    "notify",
    "patrol",
    "sensing",
    "services",
    "registries",
    "cockpit",
]


def part(module: str, name: str) -> ModuleType | None:
    full = f"cityos.{module}.{name}"
    if importlib.util.find_spec(f"cityos.{module}") is None:
        return None
    if importlib.util.find_spec(full) is None:
        return None
    return importlib.import_module(full)


def parts(name: str) -> list[tuple[str, ModuleType]]:
    out = []
    for m in MODULES:
        p = part(m, name)
        if p is not None:
            out.append((m, p))
    return out


def import_models() -> None:
    importlib.import_module("cityos.core.audit")
    importlib.import_module("cityos.core.events")
    importlib.import_module("cityos.core.calendar_models")
    parts("models")


def load_handlers() -> None:
    """Import every module's subscribers; from then on this process may mark events delivered."""
    from cityos.core import events

    parts("handlers")
    events.all_subscribers_loaded()


def all_jobs() -> list[Any]:
    """The worker's timers: core's, then each module's `JOBS` (core itself never imports the
    registry, so the list is put together here)."""
    from cityos.core import jobs

    out = list(jobs.CORE_JOBS)
    for _name, mod in parts("jobs"):
        out.extend(getattr(mod, "JOBS", []))
    return out
