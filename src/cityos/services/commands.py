"""`cityos services …` (the 事项清单 workbook, license kinds, key rotation) and `cityos oidc …`
(OpenID Connect clients).

    cityos services items-import FILE.xlsx     all or nothing; exit 2 naming sheet, row and column
    cityos services items-export FILE.xlsx
    cityos services rotate-key DEPT_CODE
    cityos oidc client add --name NAME --redirect-uri URI [--redirect-uri URI2]
        prints {"client_id": …, "client_secret": …} as JSON alone on its last line
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from cityos.core.db import get_db
from cityos.core.errors import CityOSError
from cityos.identity import service as identity
from cityos.services import oidc, service

NAME = "services"
app = typer.Typer(help="一网通办: service items, licenses", no_args_is_help=True)
oidc_app = typer.Typer(help="统一身份认证: OpenID Connect clients", no_args_is_help=True)
client_app = typer.Typer(help="OpenID Connect clients", no_args_is_help=True)
oidc_app.add_typer(client_app, name="client")
MORE = {"oidc": oidc_app}  # further top-level groups this module adds (`cityos oidc …`)


def _fail(e: CityOSError) -> None:
    where = f" [{e.field}]" if e.field else ""
    typer.echo(f"error {e.code}{where}: {e.text('zh_CN')} / {e.text('en')}", err=True)
    raise typer.Exit(2)


@app.command("items-import")
def items_import(file: Path) -> None:
    """Import the 事项清单 workbook (sheets 事项 and 材料)."""
    try:
        with get_db().transaction() as s:
            n = service.import_workbook(session=s, actor=identity.SYSTEM, data=file.read_bytes())
    except CityOSError as e:
        _fail(e)
    typer.echo(f"{n} items imported")


@app.command("items-export")
def items_export(file: Path) -> None:
    with get_db().reader() as s:
        file.write_bytes(service.export_workbook(session=s))
    typer.echo(str(file))


@app.command("rotate-key")
def rotate_key(department: str) -> None:
    """Retire a department's signing key and make a new one (old licenses still verify)."""
    try:
        with get_db().transaction() as s:
            k = service.rotate_key(session=s, actor=identity.SYSTEM, department_code=department)
            kid = k.kid
    except CityOSError as e:
        _fail(e)
    typer.echo(kid)


@client_app.command("add")
def client_add(
    name: Annotated[str, typer.Option("--name")],
    redirect_uri: Annotated[list[str], typer.Option("--redirect-uri")],
) -> None:
    """Register a client; the secret is shown only here."""
    try:
        with get_db().transaction() as s:
            new = oidc.add_client(session=s, actor=identity.SYSTEM, name=name, redirect_uris=redirect_uri)
    except CityOSError as e:
        _fail(e)
    sys.stdout.write(json.dumps({"client_id": new.client_id, "client_secret": new.client_secret}) + "\n")
