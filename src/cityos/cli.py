"""The `cityos` command. Module command groups are found through cityos.registry (commands.py).

Errors: a CityOSError prints its code and message (with the field or row at fault) to stderr and
exits non-zero (2 invalid, 3 not found, 4 forbidden, 5 conflict)."""

from __future__ import annotations

import getpass
import logging
import sys
from typing import Annotated

import typer
from rich.console import Console

from cityos import registry
from cityos.core import calendar_cli
from cityos.core.db import Database, get_db
from cityos.core.errors import CityOSError
from cityos.identity.schemas import Principal

app = typer.Typer(help="CityOS — 城市操作系统", no_args_is_help=True, pretty_exceptions_enable=False)
token_app = typer.Typer(
    help="API tokens for other systems (scoped, hashed, expiring, revocable)", no_args_is_help=True
)
user_app = typer.Typer(help="People who log in", no_args_is_help=True)
audit_app = typer.Typer(help="The audit log: signed Merkle tree heads, verify, export", no_args_is_help=True)
events_app = typer.Typer(help="The outbox: events the worker could not deliver", no_args_is_help=True)
app.add_typer(token_app, name="token")
app.add_typer(user_app, name="user")
app.add_typer(audit_app, name="audit")
app.add_typer(events_app, name="events")
app.add_typer(calendar_cli.app, name="calendar")
err = Console(stderr=True)


def cli_principal() -> Principal:
    return Principal(
        kind="user", id=0, username=f"cli:{getpass.getuser()}", display_name="CLI", roles=frozenset({"admin"})
    )


def database() -> Database:
    return get_db()


def ensure_schema() -> None:
    from cityos.core.db import get_db
    from cityos.core.migrate import upgrade
    from cityos.core.settings import get_settings

    s = get_settings()
    s.home.mkdir(parents=True, exist_ok=True)
    s.secret_key()
    upgrade(get_db().engine)


@app.command()
def init() -> None:
    """Create or upgrade the schema (Alembic) and the secret key under CITYOS_HOME."""
    from cityos.core.settings import get_settings

    ensure_schema()
    typer.echo(f"CityOS schema is up to date in {get_settings().database_url}")


@app.command()
def serve(host: str = "127.0.0.1", port: int = 8000, workers: int = 1) -> None:
    """Serve whatever CITYOS_HOME (or CITYOS_DATABASE_URL) holds."""
    import uvicorn

    ensure_schema()
    uvicorn.run("cityos.web.main:app", host=host, port=port, workers=workers, log_level="info")


@app.command()
def worker(once: bool = typer.Option(False, help="Run every job once and exit")) -> None:
    """Timers, outbox redelivery and the MQTT subscriber (one or more per deployment)."""
    from cityos.core import jobs

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    ensure_schema()
    registry.load_handlers()
    db = database()
    all_jobs = registry.all_jobs()
    if once:
        for job in all_jobs:
            n = jobs.run_once(db, job)
            typer.echo(f"{job.name}: {'held by another worker' if n is None else n}")
        return
    typer.echo(f"worker running {len(all_jobs)} jobs: {', '.join(j.name for j in all_jobs)}")
    jobs.run_forever(db, all_jobs)


@token_app.command("create")
def token_create(
    client: Annotated[str, typer.Option("--client", help="Name of the calling system")],
    scope: Annotated[list[str], typer.Option("--scope", help="Scope; repeat for several")],
    department: Annotated[
        str | None, typer.Option("--department", help="Department code the token acts for")
    ] = None,
    days: Annotated[int, typer.Option(help="Days until it expires (0: never)")] = 365,
) -> None:
    """Mint a token. It is printed once, alone on the last line."""
    from cityos.identity import service

    ensure_schema()
    with database().transaction() as s:
        new = service.create_token(
            session=s,
            actor=cli_principal(),
            client=client,
            scopes=scope,
            department_code=department,
            days=days or None,
        )
    typer.echo(
        f"client {new.info.client} · scopes {','.join(new.info.scopes)} · expires "
        f"{new.info.expires_at.isoformat() if new.info.expires_at else 'never'}"
    )
    typer.echo(new.token)


@token_app.command("list")
def token_list() -> None:
    from cityos.identity import service

    with database().reader() as s:
        for t in service.tokens(session=s):
            state = "revoked" if t.revoked_at else "active"
            typer.echo(f"{t.prefix}\t{t.client}\t{','.join(t.scopes)}\t{t.department_code or '-'}\t{state}")


@token_app.command("revoke")
def token_revoke(prefix: str) -> None:
    from cityos.identity import service

    with database().transaction() as s:
        service.revoke_token(session=s, actor=cli_principal(), prefix=prefix)
    typer.echo(f"revoked {prefix}")


@user_app.command("create")
def user_create(
    username: str,
    name: Annotated[str, typer.Option("--name")],
    role: Annotated[list[str], typer.Option("--role")],
    password: Annotated[str, typer.Option("--password", prompt=True, hide_input=True)],
    department: Annotated[str | None, typer.Option("--department")] = None,
    region: Annotated[str | None, typer.Option("--region")] = None,
) -> None:
    from cityos.identity import service
    from cityos.identity.schemas import UserIn

    ensure_schema()
    with database().transaction() as s:
        u = service.add_user(
            session=s,
            actor=cli_principal(),
            user=UserIn(
                username=username,
                display_name=name,
                password=password,
                roles=role,
                department_code=department,
                region_code=region,
            ),
        )
    typer.echo(f"created user {u.username} ({', '.join(u.roles)})")


@audit_app.command("verify")
def audit_verify(
    no_wait: Annotated[
        bool, typer.Option("--no-wait", help="Read only: do not sequence and sign the waiting tail first")
    ] = False,
    witness: Annotated[
        str | None, typer.Option("--witness", help="JSON lines of tree heads kept outside the database")
    ] = None,
    keys_dir: Annotated[
        list[str] | None, typer.Option("--keys", help="Another directory of trusted public keys (*.pub)")
    ] = None,
) -> None:
    """Recompute the audit log and check every signed tree head; exit 1 naming what was tampered."""
    from pathlib import Path

    from cityos.core import audit
    from cityos.core.audit import cli as audit_cli

    db = database()
    if not no_wait:
        try:
            audit.sequence(db, force_head=True)
        except audit.LogTampered as e:
            err.print(f"the sequencer refuses to extend the log: {e}", markup=False)
    heads = audit_cli.read_witness(Path(witness)) if witness else []
    with db.reader() as s:
        res = audit.verify(
            s,
            witness=heads,
            witness_name=witness or "",
            key_dirs=[Path(k) for k in keys_dir or []],
            require_signed=not no_wait,
        )
    typer.echo(audit_cli.summary(res))
    if res.ok:
        return
    for f in res.findings:
        err.print(f"[red]{f}[/red]", highlight=False)
    raise typer.Exit(1)


@audit_app.command("heads")
def audit_heads(
    since: Annotated[
        str, typer.Option("--since", help="A head number, or a date/time (ISO 8601, UTC unless it says)")
    ] = "0",
) -> None:
    """Export signed tree heads as JSON lines, for a witness to keep outside the database."""
    from cityos.core.audit import cli as audit_cli

    with database().reader() as s:
        for head in audit_cli.heads_since(s, since):
            typer.echo(head.to_json())


@audit_app.command("sequence")
def audit_sequence() -> None:
    """Sequence the waiting entries now and sign a tree head for the whole log."""
    from cityos.core import audit

    n = audit.sequence(database(), force_head=True)
    typer.echo(f"sequenced {n} entries")


@audit_app.command("rotate-key")
def audit_rotate_key() -> None:
    """A new key signs tree heads from now on; the old public key stays trusted for older heads."""
    from cityos.core.audit import keys

    old, new = keys.rotate()
    typer.echo(f"signing key {new} (was {old or 'none'}); public keys in {keys.public_dir()}")


@events_app.command("abandoned")
def events_abandoned() -> None:
    """Events redelivery gave up on; exit 1 while there are any (for a monitoring check)."""
    from cityos.core import events

    with database().reader() as s:
        n = events.count_abandoned(s)
        for r in events.abandoned(s):
            typer.echo(
                f"{r.id}\t{r.name}\t{r.created_at.isoformat()}\tattempts={r.attempts}\t{r.last_error or ''}"
            )
    typer.echo(f"{n} abandoned events")
    if n:
        raise typer.Exit(1)


@events_app.command("retry")
def events_retry(event_id: int) -> None:
    """Start an abandoned event over (after fixing its handler): the worker delivers it next."""
    from cityos.core import events
    from cityos.core.errors import NotFound

    with database().transaction() as s:
        if not events.retry(s, event_id=event_id):
            raise NotFound("No undelivered event with this id", code="event_not_found", field="event_id")
    typer.echo(f"event {event_id} will be redelivered")


@app.command()
def demo(
    scale: Annotated[str, typer.Option(help="small (≈300 grids) or city (12,387 grids)")] = "small",
    port: int = 8000,
    host: str = "127.0.0.1",
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Build the demo city and exit")] = False,
    fresh: Annotated[bool, typer.Option("--fresh/--keep", help="Rebuild from scratch if one exists")] = True,
) -> None:
    """Build the deterministic demo city under CITYOS_HOME and serve it."""
    from cityos.demo import builder

    if scale not in ("small", "city"):
        raise CityOSError("--scale must be small or city", code="bad_scale", field="scale")
    ctx = builder.build(scale=scale, fresh=fresh)
    builder.print_accounts(ctx, f"http://{host}:{port}/", serving=not no_serve)
    if not no_serve:
        serve(host=host, port=port)


for _name, _mod in registry.parts("commands"):
    app.add_typer(_mod.app, name=getattr(_mod, "NAME", _name))
    for _group, _typer in getattr(_mod, "MORE", {}).items():  # further groups, e.g. `cityos oidc`
        app.add_typer(_typer, name=_group)


def main() -> None:
    # Every command knows every subscriber, so the events it publishes are delivered after its
    # commit as in the app (and a process that skips this leaves them to the worker).
    registry.load_handlers()
    try:
        app()
    except CityOSError as e:
        where = f" [{e.field}]" if e.field else ""
        err.print(f"error {e.code}{where}: {e.text('zh_CN')} / {e.text('en')}", markup=False, soft_wrap=True)
        if e.details:
            err.print(e.details, markup=False, soft_wrap=True)
        sys.exit(e.exit_code)


if __name__ == "__main__":
    main()
