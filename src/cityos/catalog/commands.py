"""`cityos catalog …`: load data into a resource, import/export the catalog Excel, list resources.

    cityos catalog load RESOURCE_CODE FILE [--schema TABLE_SCHEMA.json] [--mode replace|append|upsert]
                        [--policy reject|quarantine] [--json] [--create --name NAME --provider DEPT_CODE]

Exit codes: 0 accepted (invalid rows, if any, kept in quarantine), 5 a replace dropping most rows
staged and not accepted (without --confirm-drop, and not confirmed at a terminal), 1 rejected (the report says
why, row by row), 2 bad input, 3 unknown resource, 4 not allowed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from cityos.catalog.schemas import VersionOut
from cityos.core.errors import Conflict, Invalid
from cityos.identity.schemas import Principal

NAME = "catalog"
app = typer.Typer(help="数据共享交换: the data catalog and its data", no_args_is_help=True)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise Invalid(
            "The file is not readable JSON: {reason}",
            field=str(path),
            code="bad_json",
            params={"reason": str(e)},
        ) from None


def _named(entry: dict[str, Any]) -> str:
    """A report entry's field by its Chinese title, with the name the schema gives it."""
    title = entry.get("title")
    return f"{title} ({entry['field']})" if title and title != entry["field"] else entry["field"]


def _print_report(v: Any) -> None:
    rep = v.report
    out = typer.echo
    src = rep.get("source", {})
    out(
        f"{v.resource_code}: {rep.get('rows', 0)} rows read from {v.source_name} "
        f"({src.get('format', '').upper()}{' ' + src['encoding'] if src.get('encoding') else ''}"
        f"{', delimiter ' + repr(src['delimiter']) if src.get('delimiter') else ''})"
        f" in {rep.get('seconds', 0)} s"
    )
    for f in rep.get("fatal", []):
        out(f"  fatal {f['code']}: {f['message']}", err=True)
    for e in rep.get("errors", []):
        out(f"  {_named(e)}: {e['code']} × {e['count']} ({e['message']})", err=True)
    for s in rep.get("samples", [])[:20]:
        out(f"    row {s['row']} {_named(s)} {s['code']}: {s['value']!r}", err=True)
    sc = rep.get("scores", {})
    if sc.get("completeness") is not None:
        out(
            f"  completeness {sc['completeness']:.2%}  validity {sc['validity']:.2%}  "
            f"uniqueness {sc['uniqueness']:.2%}"
        )


@app.command("load")
def load(
    resource_code: str,
    file: Path,
    schema: Annotated[
        Path | None, typer.Option("--schema", help="Table Schema JSON for the resource")
    ] = None,
    mode: Annotated[
        str, typer.Option("--mode", help="replace | append | upsert (by primary key)")
    ] = "replace",
    policy: Annotated[
        str | None, typer.Option("--policy", help="reject | quarantine (default: the resource's policy)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the validation report as JSON")] = False,
    confirm_drop: Annotated[
        bool,
        typer.Option(
            "--confirm-drop",
            help="Accept a replace that drops most of the current rows (otherwise it is staged, "
            "and asked about at a terminal)",
        ),
    ] = False,
    create: Annotated[bool, typer.Option("--create", help="Register the resource first")] = False,
    name: Annotated[str | None, typer.Option("--name", help="Resource name (with --create)")] = None,
    provider: Annotated[
        str | None, typer.Option("--provider", help="Provider department code (with --create)")
    ] = None,
) -> None:
    """Validate FILE (CSV in UTF-8/GBK/GB18030, XLSX, JSON, NDJSON or Parquet) against the
    resource's Table Schema and accept it as a new version."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from cityos.catalog import service
    from cityos.cli import cli_principal, database, ensure_schema

    if not file.is_file():
        raise Invalid("No such file: {path}", field="FILE", code="no_file", params={"path": str(file)})
    table_schema = _read_json(schema) if schema else None
    if mode not in ("replace", "append", "upsert"):
        raise Invalid("Mode must be replace, append or upsert", code="bad_mode", field="--mode")
    ensure_schema()
    actor = cli_principal()
    if create:
        resource_code = _create(actor, resource_code, name, provider, table_schema)
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[rows]}"),
        TimeElapsedColumn(),
        transient=True,
        disable=as_json or not sys.stderr.isatty(),
        console=None,
    ) as bar:
        task = bar.add_task("read", total=3, rows="")
        steps = {"read": 0, "validate": 1, "write": 2}

        def progress(step: str, rows: float) -> None:
            bar.update(task, completed=steps.get(step, 0), description=step, rows=f"{int(rows):,} rows")

        try:
            v = service.load(
                db=database(),
                actor=actor,
                code=resource_code,
                path=file,
                filename=file.name,
                mode=mode,
                policy=policy,
                table_schema=table_schema if not create else None,
                progress=progress,
                confirm_drop=confirm_drop,
            )
        except Conflict as held:
            bar.stop()
            v = _confirm_drop(held, actor, resource_code)
        bar.update(task, completed=3)
    _print_outcome(v, as_json)
    if v.state != "accepted":
        raise typer.Exit(1)


def _create(
    actor: Principal, resource_code: str, name: str | None, provider: str | None, table_schema: Any
) -> str:
    """`--create`: register the resource first (the code given, or the next in its class); its code."""
    from cityos.catalog import service
    from cityos.catalog.schemas import ResourceIn
    from cityos.cli import database

    if not name or not provider:
        raise Invalid("--create needs --name and --provider", code="create_needs_name", field="--name")
    with database().transaction() as s:
        class_code, _, _seq = resource_code.partition("/")
        service.create_resource(
            session=s,
            actor=actor,
            data=ResourceIn(
                class_code=class_code,
                code=resource_code if "/" in resource_code else None,
                name=name,
                provider=provider,
                table_schema=table_schema,
            ),
        )
        if "/" not in resource_code:
            resource_code = service.list_resources(session=s, q=name, limit=1)[0][0].code
    return resource_code


def _print_outcome(v: VersionOut, as_json: bool) -> None:
    if as_json:
        typer.echo(
            json.dumps({"version": v.number, "state": v.state, **v.report}, ensure_ascii=False, indent=2)
        )
        return
    _print_report(v)
    if v.state == "accepted":
        q = f", {v.quarantined_rows} rows quarantined" if v.quarantined_rows else ""
        typer.echo(f"accepted as version {v.number}: {v.row_count} rows, sha256 {v.sha256}{q}")
    else:
        typer.echo("rejected: nothing was loaded", err=True)


def _confirm_drop(held: Conflict, actor: Principal, code: str) -> VersionOut:
    """A replace that drops most rows was staged, not accepted: at a terminal, ask and accept the
    staged version on yes; otherwise (or on no) the refusal stands (exit code 5, the counts said)."""
    from cityos.catalog import service
    from cityos.cli import database

    if held.code != "replace_drops_rows" or not sys.stdin.isatty():
        raise held
    d = held.details
    typer.echo(f"replace drops {d['dropped']:,} of {d['before']:,} rows ({d['after']:,} left)", err=True)
    if not typer.confirm(f"accept staged version #{d['version_id']} anyway?", default=False):
        raise held
    with database().transaction() as s:
        return service.accept_version(session=s, actor=actor, code=code, version_id=int(d["version_id"]))


@app.command("export")
def export(
    out: Path,
    department: Annotated[str | None, typer.Option("--department", help="Only this provider")] = None,
) -> None:
    """Write the catalog as Excel (sheets 信息资源 and 信息项)."""
    from cityos.catalog import excel
    from cityos.cli import database, ensure_schema

    ensure_schema()
    with database().reader() as s:
        out.write_bytes(excel.export_catalog(session=s, department=department))
    typer.echo(f"wrote {out}")


@app.command("import")
def import_(file: Path) -> None:
    """Import a catalog Excel: all rows or none; each bad cell is printed with sheet, row, column."""
    from cityos.catalog import excel
    from cityos.cli import cli_principal, database, ensure_schema

    ensure_schema()
    try:
        with database().transaction() as s:
            res = excel.import_catalog(session=s, actor=cli_principal(), data=file.read_bytes())
    except Invalid as e:
        for d in e.details or []:
            typer.echo(f"{d['sheet']} row {d['row']} column {d['column']}: {d['message']}", err=True)
        raise
    typer.echo(f"imported: {res['created']} created, {res['updated']} updated")


@app.command("list")
def list_(
    department: Annotated[str | None, typer.Option("--department")] = None,
    stale: Annotated[bool, typer.Option("--stale", help="Only resources overdue for an update")] = False,
) -> None:
    """Resources with their provider, share type, current version and freshness."""
    from cityos.catalog import service
    from cityos.cli import database, ensure_schema

    ensure_schema()
    with database().reader() as s:
        items, total = service.list_resources(
            session=s, department=department, stale_only=stale, limit=100_000
        )
    for r in items:
        typer.echo(
            f"{r.code}\t{r.name}\t{r.provider_code}\t{r.share_type}\t"
            f"v{r.current_version or '-'}\t{r.row_count or 0}\t{'STALE' if r.stale else 'fresh'}"
        )
    typer.echo(f"{total} resources")
