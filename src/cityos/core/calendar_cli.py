"""`cityos calendar ...`: look at the working calendar and enter a year's published schedule."""

from __future__ import annotations

import getpass
from datetime import datetime
from pathlib import Path

import typer

from cityos.core import calendar
from cityos.core.db import Database, get_db
from cityos.core.errors import Invalid
from cityos.core.migrate import upgrade
from cityos.core.settings import get_settings

app = typer.Typer(
    help="Working calendar: statutory holidays, make-up working days, entered years", no_args_is_help=True
)


def _db() -> Database:
    """The database with its schema up to date (core only: no feature module is imported here)."""
    settings = get_settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    db = get_db()
    upgrade(db.engine)
    return db


@app.command("show")
def show(year: int) -> None:
    """The year's source and its holidays and make-up working days."""
    with _db().reader() as s:
        source, days = calendar.year_overview(session=s, year=year)
    typer.echo(f"{year}: {source}")
    for d in days:
        kind = "workday" if d.is_workday else "holiday"
        typer.echo(f"{d.day.isoformat()}\t{kind}\t{d.name}")


@app.command("import")
def import_year(year: int, file: Path) -> None:
    """Enter a year's published schedule from CSV or .xlsx (date,type,name); replaces that year's entries."""
    data: str | bytes
    try:
        data = file.read_bytes() if file.suffix.lower() == ".xlsx" else file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        raise Invalid("The file is not readable UTF-8 text", field=str(file), code="bad_file") from None
    rows = calendar.parse_schedule(data)
    with _db().transaction() as s:
        n = calendar.enter_days(session=s, actor_name=f"user:cli:{getpass.getuser()}", year=year, days=rows)
    typer.echo(f"{year}: {n} days entered")


@app.command("add-hours")
def add_hours(start: str, hours: float) -> None:
    """When do HOURS working hours after START (ISO time, local if no offset) end?"""
    from zoneinfo import ZoneInfo

    from cityos.core.settings import get_settings

    t = datetime.fromisoformat(start)
    tz = ZoneInfo(get_settings().timezone)
    if t.tzinfo is None:
        t = t.replace(tzinfo=tz)
    with _db().reader() as s:
        end = calendar.get_calendar(s).add_working_hours(t, hours)
    typer.echo(end.astimezone(tz).isoformat())
