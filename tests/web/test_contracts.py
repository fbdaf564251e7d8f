"""The import contracts cover every module the registry lists, and the code keeps them.

For each module in cityos.registry.MODULES, pyproject.toml must hold: a `protected` contract that
keeps its models to itself; a `forbidden` contract that lets every other module (and the web layer,
the demo, the CLI and the registry) reach it only through its public surface; and the core
contract must forbid it to core. Adding a module to the registry without its contracts fails here,
and `lint-imports` must pass."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

from cityos import registry

ROOT = Path(__file__).resolve().parents[2]
OUTSIDE = ["cityos.web", "cityos.demo", "cityos.cli", "cityos.registry"]


def _contracts() -> list[dict[str, Any]]:
    with (ROOT / "pyproject.toml").open("rb") as f:
        return list(tomllib.load(f)["tool"]["importlinter"]["contracts"])


def missing_from_contracts(modules: list[str], contracts: list[dict[str, Any]]) -> list[str]:
    """What each module lacks, as sentences; empty when every module is covered."""
    problems = []
    core = [c for c in contracts if c["type"] == "forbidden" and c["source_modules"] == ["cityos.core"]]
    core_forbids = {m for c in core for m in c["forbidden_modules"]}
    if "cityos.registry" not in core_forbids:
        problems.append("core may import the registry")
    for m in modules:
        pkg = f"cityos.{m}"
        if pkg not in core_forbids:
            problems.append(f"core may import {pkg}")
        if not any(
            c["type"] == "protected"
            and f"{pkg}.models" in c["protected_modules"]
            and c["allowed_importers"] == [pkg]
            for c in contracts
        ):
            problems.append(f"{pkg}.models is not protected")
        reached = [
            c for c in contracts if c["type"] == "forbidden" and f"{pkg}.*" in c.get("forbidden_modules", [])
        ]
        others = {f"cityos.{o}" for o in modules if o != m} | set(OUTSIDE)
        sources = {s for c in reached for s in c["source_modules"]}
        if not reached:
            problems.append(f"{pkg} has no contract for how others reach it")
        elif others - sources:
            problems.append(f"{pkg} may be reached freely by {sorted(others - sources)}")
    return problems


def test_every_registry_module_is_in_the_contracts():
    assert missing_from_contracts(registry.MODULES, _contracts()) == []


def test_a_module_added_to_the_registry_without_contracts_is_reported():
    problems = missing_from_contracts([*registry.MODULES, "newmodule"], _contracts())
    assert "cityos.newmodule.models is not protected" in problems
    assert "cityos.newmodule has no contract for how others reach it" in problems
    assert "core may import cityos.newmodule" in problems
    # and every existing module is now reachable freely by the new one
    assert "cityos.identity may be reached freely by ['cityos.newmodule']" in problems


def test_lint_imports_passes():
    lint = Path(sys.executable).parent / "lint-imports"
    r = subprocess.run([str(lint)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    assert " 0 broken" in r.stdout
