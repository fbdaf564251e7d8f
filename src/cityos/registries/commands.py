"""`cityos crosscheck …`: the cross-checks and the base registries from the command line.

    cityos crosscheck list                      one check code per line first (tab, owner, name)
    cityos crosscheck run CODE [--engine duckdb|spark] [--json]
                                                with --json the last line is
                                                {"check", "engine", "hits", "keys": [...]} (keys sorted)
    cityos crosscheck install                   store the shipped checks not stored yet
    cityos crosscheck bind NAME RESOURCE_CODE   the catalog resource that plays part NAME
    cityos crosscheck build REGISTRY            build a base registry version (population, legal_entities)

Runs act as the system (the data bureau's account); a check still reads as its owner department.
Exit codes: 2 bad input, 3 unknown check/registry/resource, 4 not allowed (e.g. no grant).
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

NAME = "crosscheck"
app = typer.Typer(help="数据交叉比对 and 基础库: cross-checks and base registries", no_args_is_help=True)


@app.command("list")
def list_() -> None:
    """The checks: code, owner department, name (shipped ones not yet installed are marked)."""
    from cityos.cli import database, ensure_schema
    from cityos.identity import service as identity
    from cityos.registries import service

    ensure_schema()
    with database().reader() as s:
        depts = {d.id: d.code for d in identity.departments(session=s)}
        stored = [(c.code, c.owner_department_id, c.name) for c in service.checks(session=s)]
    seen = set()
    for code, owner, name in stored:
        seen.add(code)
        typer.echo(f"{code}\t{depts.get(owner, '')}\t{name}")
    for code, d in service.CHECKS.items():
        if code not in seen:
            typer.echo(f"{code}\t{d.owner}\t{d.name}\t(not installed)")


@app.command("run")
def run(
    code: str,
    engine: Annotated[str | None, typer.Option("--engine", help="duckdb or spark")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Run a check now: its hits become 核查任务 for the owner department."""
    from cityos.cli import database, ensure_schema
    from cityos.identity import service as identity
    from cityos.registries import service

    ensure_schema()
    with database().transaction() as s:
        out = service.execute(session=s, actor=identity.SYSTEM, code=code, engine=engine)
    if as_json:
        typer.echo(
            json.dumps(
                {"check": out["check"], "engine": out["engine"], "hits": out["hits"], "keys": out["keys"]},
                ensure_ascii=False,
            )
        )
    else:
        typer.echo(f"{out['check']} on {out['engine']}: {out['hits']} hits, {out['tasks_created']} new tasks")
        for k in out["keys"]:
            typer.echo(k)


@app.command("install")
def install() -> None:
    """Store the shipped checks whose owner department exists."""
    from cityos.cli import database, ensure_schema
    from cityos.identity import service as identity
    from cityos.registries import service

    ensure_schema()
    with database().transaction() as s:
        for code in service.install_shipped(session=s, actor=identity.SYSTEM):
            typer.echo(code)


@app.command("bind")
def bind(name: str, resource_code: str) -> None:
    """Bind part NAME (population, vehicles, dibao…) to a catalog resource."""
    from cityos.cli import database, ensure_schema
    from cityos.identity import service as identity
    from cityos.registries import service

    ensure_schema()
    with database().transaction() as s:
        service.bind(session=s, actor=identity.SYSTEM, name=name, code=resource_code)
    typer.echo(f"{name} -> {resource_code}")


@app.command("build")
def build(registry: str) -> None:
    """Build a base registry version as the data bureau (its grants decide what is read); prints
    the provenance and the fields left out, with why."""
    from cityos.cli import database, ensure_schema
    from cityos.registries import service

    ensure_schema()
    with database().transaction() as s:
        v = service.build(session=s, actor=service.bureau_principal(session=s), code=registry)
        typer.echo(
            f"{registry} v{v.number}: {v.rows} rows, {v.opened} discrepancies opened, {v.closed} closed"
        )
        for name, p in v.provenance.items():
            typer.echo(f"  {name}\t{p['resource']}@{p['version']}\t{p['as_of']}\t{p['authority']}")
        for name, why in v.absent.items():
            typer.echo(f"  {name}\tABSENT\t{why}")
