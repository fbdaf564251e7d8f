"""`cityos cockpit …`: the monthly economic report and recompute-now.

cityos cockpit report 2026-10 --out 简报.pdf     (or .docx) from the stored values
cityos cockpit refresh                          recompute every metric now (the worker's job)
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="领导驾驶舱: metrics, the monthly economic report", no_args_is_help=True)


@app.command("report")
def report(
    month: str,
    out: Annotated[Path, typer.Option("--out", help="FILE.pdf or FILE.docx")],
) -> None:
    """Write the 经济运行简报 of MONTH (YYYY-MM) from the stored values."""
    from cityos.cli import database, ensure_schema
    from cityos.cockpit import render
    from cityos.cockpit import report as rep
    from cityos.cockpit.sources import cockpit_principal
    from cityos.core.errors import Invalid

    if out.suffix.lower() not in (".pdf", ".docx"):
        raise Invalid("The report is written as .pdf or .docx", code="bad_format", field="--out")
    ensure_schema()
    with database().reader() as s:
        actor = cockpit_principal(s).model_copy(update={"scopes": frozenset({"metrics"})})
        r = rep.data(session=s, actor=actor, month=month)
    render.write(r, out)
    typer.echo(f"{out} ({r.title}, {r.month})")


@app.command("refresh")
def refresh() -> None:
    """Recompute every metric now and store the values (what the worker does on its schedule)."""
    from cityos.cli import database, ensure_schema
    from cityos.cockpit import compute

    ensure_schema()
    n = compute.refresh(database(), force=True)
    typer.echo(f"{n} metrics computed")
