"""`cityos grid import FILE`: unit grids from GeoJSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from cityos.core.errors import Invalid

NAME = "grid"
app = typer.Typer(help="Unit grids (单元网格): import polygons from GeoJSON", no_args_is_help=True)


@app.command("import")
def import_file(
    file: Path,
    crs: Annotated[str, typer.Option(help="wgs84, gcj02 (AMap/Tencent) or bd09 (Baidu)")] = "wgs84",
    replace: Annotated[bool, typer.Option("--replace", help="Update grids that already exist")] = False,
) -> None:
    """Validate every feature, then import all grids or none (the report names each bad feature)."""
    from cityos.cli import cli_principal, database, ensure_schema
    from cityos.geo import service

    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise Invalid(
            "The file is not readable JSON: {reason}",
            field=str(file),
            code="bad_json",
            params={"reason": str(e)},
        ) from None
    ensure_schema()
    try:
        with database().transaction() as s:
            report = service.import_grids(
                session=s, actor=cli_principal(), feature_collection=data, crs=crs, replace=replace
            )
    except Invalid as e:
        if isinstance(e.details, dict):
            for p in e.details.get("errors", []):
                where = f"feature {p['index']}" if p["index"] is not None else "file"
                typer.echo(f"{where} {p['code'] or ''}: {p['problem']}: {p['message']}", err=True)
        raise
    for w in report.warnings:
        typer.echo(f"warning {w.code}: {w.message}", err=True)
    typer.echo(f"imported {report.imported} grids")
