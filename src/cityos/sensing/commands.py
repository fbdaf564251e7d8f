"""`cityos sensing …` (devices, credentials, the broker's files, roll-ups) and `cityos sensors
simulate` (the telemetry simulator)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from cityos.core.db import get_db
from cityos.identity.schemas import Principal
from cityos.sensing import service

NAME = "sensing"
app = typer.Typer(
    help="城市感知: devices, credentials, the MQTT broker's files, roll-ups", no_args_is_help=True
)
device_app = typer.Typer(help="Devices", no_args_is_help=True)
app.add_typer(device_app, name="device")
sensors_app = typer.Typer(help="The telemetry simulator", no_args_is_help=True)
MORE = {"sensors": sensors_app}


def _cli() -> Principal:
    from cityos.cli import cli_principal, ensure_schema

    ensure_schema()
    return cli_principal()


@device_app.command("token")
def device_token(
    device_id: str, rotate: Annotated[bool, typer.Option("--rotate", help="Issue a new password")] = False
) -> None:
    """Print the device's MQTT user name and topic; the password alone on the last line."""
    actor = _cli()
    with get_db().transaction() as s:
        c = service.credentials(session=s, actor=actor, device_id=device_id, rotate=rotate)
    typer.echo(f"device {c.device_id} · MQTT user {c.username} · topic {c.topic}")
    typer.echo(c.password)


@device_app.command("import")
def device_import(path: Path) -> None:
    """Register or update devices from a CSV or XLSX file; any bad row and nothing is written."""
    actor = _cli()
    with get_db().transaction() as s:
        r = service.import_devices(session=s, actor=actor, data=path.read_bytes())
    typer.echo(f"created {r.created} · updated {r.updated}")


@device_app.command("list")
def device_list() -> None:
    actor = _cli()
    with get_db().reader() as s:
        for d in service.list_devices(session=s, actor=actor, limit=100_000):
            state = "online" if d.online else "offline"
            typer.echo(f"{d.id}\t{d.type}\t{d.name}\t{d.grid_code or '-'}\t{state}")


@app.command("broker-files")
def broker_files(
    passwd: Annotated[Path, typer.Option("--passwd", help="Mosquitto password_file to write")],
    acl: Annotated[Path, typer.Option("--acl", help="Mosquitto acl_file to write")],
) -> None:
    """Write the broker's password and ACL files; print the worker's MQTT password last."""
    _cli()
    with get_db().reader() as s:
        n = service.write_broker_files(session=s, passwd=passwd, acl=acl)
    typer.echo(f"{n} devices written to {passwd} and {acl}; the worker connects as user cityos with")
    typer.echo(service.mqtt_service_password())


@app.command("rollup")
def rollup(since: Annotated[datetime | None, typer.Option(help="Recompute from (UTC)")] = None) -> None:
    """Recompute hourly and daily roll-ups (the worker does the last two hours every 5 minutes)."""
    from datetime import UTC

    _cli()
    with get_db().transaction() as s:
        n = service.rollup(session=s, since=since.replace(tzinfo=UTC) if since else None)
    typer.echo(f"{n} hourly buckets")


@sensors_app.command("simulate")
def simulate(
    devices: Annotated[int, typer.Option("--devices", help="How many simulated devices")] = 50,
    rate: Annotated[float, typer.Option("--rate", help="Messages per second over the whole fleet")] = 10.0,
    use_mqtt: Annotated[
        bool, typer.Option("--mqtt/--http", help="Publish over MQTT or post over HTTP")
    ] = True,
    seconds: Annotated[float, typer.Option("--seconds", help="How long to run")] = 60.0,
    batch: Annotated[int, typer.Option("--batch", help="Readings per message")] = 1,
    broker: Annotated[str, typer.Option("--broker", envvar="CITYOS_MQTT_URL")] = "mqtt://127.0.0.1:1883",
    url: Annotated[str, typer.Option("--url", help="CityOS base URL for --http")] = "http://127.0.0.1:8000",
    token: Annotated[
        str, typer.Option("--token", envvar="CITYOS_TOKEN", help="Token with scope sensing")
    ] = "",
    rain: Annotated[
        bool, typer.Option("--rain/--no-rain", help="A rain event raising drainage levels")
    ] = True,
) -> None:
    """Publish realistic telemetry: a rain event raising drainage levels across neighbouring grids,
    a manhole opened, a street light failing."""
    from cityos.sensing import simulate as sim

    actor = _cli()
    fleet = sim.ensure_fleet(get_db(), actor, devices)
    sent = sim.run(
        fleet,
        rate=rate,
        seconds=seconds,
        batch=batch,
        mode="mqtt" if use_mqtt else "http",
        broker=broker,
        url=url,
        token=token,
        rain=rain,
    )
    typer.echo(f"{sent.messages} messages, {sent.readings} readings sent to {len(fleet)} devices")
