"""`cityos calendar ...`: the working calendar (filled by core/calendar.py)."""

from __future__ import annotations

import typer

app = typer.Typer(help="Working calendar: statutory holidays, make-up working days, entered years",
                  no_args_is_help=True)
