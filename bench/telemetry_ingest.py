"""Telemetry from MQTT into PostgreSQL with the rules evaluated: points per second, the process's
peak memory, and the end-to-end alarm latency (publish of a reading over the limit → alarm row).

Publishers (paho, QoS 1, one process and connection per publisher, `--points` readings per message as a
JSON list with observedAt) → the broker at --broker (default the machine's 127.0.0.1:1883) → the
CityOS consumer (`cityos.sensing.mqtt.Consumer`, as `cityos worker` runs it: bounded queue, batches,
COPY into PostgreSQL, rules, acknowledgement after commit) → a fresh PostgreSQL database.

    .venv/bin/python bench/telemetry_ingest.py --seconds 20 --devices 200 --points 100
"""

from __future__ import annotations

import argparse
import getpass
import itertools
import json
import multiprocessing as mp
import os
import resource
import shutil
import socket
import subprocess
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import text

from cityos.core.db import Database, make_engine, use_db
from cityos.core.migrate import upgrade
from cityos.core.settings import Settings, use_settings
from cityos.identity import service as identity
from cityos.sensing import service
from cityos.sensing.mqtt import Consumer, parse_url
from cityos.sensing.schemas import DeviceIn, RuleIn

PG_ADMIN = os.environ.get("CITYOS_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--devices", type=int, default=200)
    ap.add_argument("--points", type=int, default=100, help="readings per MQTT message")
    ap.add_argument("--publishers", type=int, default=2)
    ap.add_argument("--batch", type=int, default=500, help="messages per transaction (CITYOS_MQTT_BATCH)")
    ap.add_argument("--consumers", type=int, default=1, help="consumer processes (a shared subscription)")
    ap.add_argument(
        "--broker",
        default="own",
        help="mqtt://host:port, or `own`: a Mosquitto of the bench's own with the documented settings "
        "(max_queued_messages 100000; the machine's default broker keeps 1,000 per session and drops "
        "the rest when the consumer falls behind)",
    )
    args = ap.parse_args()

    name = f"cityos_bench_{uuid.uuid4().hex[:8]}"
    admin = make_engine(PG_ADMIN, isolation_level="AUTOCOMMIT", pool_size=1, max_overflow=0)
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    home = f"/tmp/{name}"
    os.makedirs(home, exist_ok=True)
    use_settings(Settings(home=Path(home), database_url=url))
    engine = make_engine(url)
    broker = None
    try:
        if args.broker == "own":
            broker = own_broker(Path(home))
            args.broker = f"mqtt://127.0.0.1:{broker[1]}"
        upgrade(engine)
        db = Database(engine)
        use_db(db)
        run(db, args, url)
    finally:
        if broker is not None:
            broker[0].terminate()
            broker[0].wait(10)
        engine.dispose()
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
        shutil.rmtree(home, ignore_errors=True)


def own_broker(home: Path) -> tuple[subprocess.Popen[bytes], int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    (home / "mqtt").mkdir(exist_ok=True)
    conf = home / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\nuser {getpass.getuser()}\nallow_anonymous true\n"
        f"persistence true\npersistence_location {home / 'mqtt'}/\n"
        "max_queued_messages 100000\nmax_inflight_messages 1000\n"
    )
    proc = subprocess.Popen(["/usr/sbin/mosquitto", "-c", str(conf)], stderr=subprocess.DEVNULL)
    for _ in range(100):
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return proc, port
        time.sleep(0.05)
    raise RuntimeError("mosquitto did not start")


def consumer_process(url: str, broker: str, group: str, k: int, batch: int, stop: Any, out: Any) -> None:
    """A further consumer in the shared-subscription group, in its own process."""
    engine = make_engine(url)
    consumer = Consumer(Database(engine), broker, client_id=f"{group}-{k}", share=group, batch=batch).start()

    def count(n: int) -> None:
        out.value += n

    consumer.on_stored = count
    stop.wait()
    consumer.stop()
    engine.dispose()


def publisher(
    k: int,
    publishers: int,
    points: int,
    ids: list[str],
    host: str,
    port: int,
    base: datetime,
    stop: Any,
    out: Any,
    ready: Any,
    go: Any,
) -> None:
    """One publisher process (its own interpreter, so it does not share the consumer's GIL)."""
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{k}-{uuid.uuid4().hex[:4]}")
    c.max_inflight_messages_set(200)
    c.connect(host, port)
    c.loop_start()
    with ready.get_lock():
        ready.value += 1
    go.wait()  # the clock starts when every publisher is connected
    n = 0
    info = None
    while not stop.is_set():
        dev = ids[(n * publishers + k) % len(ids)]
        t0 = base + timedelta(seconds=(n * publishers + k) * points / 1000)
        payload = [
            {"currentLevel": 0.1, "observedAt": (t0 + timedelta(milliseconds=j)).isoformat()}
            for j in range(points)
        ]
        info = c.publish(f"cityos/devices/{dev}/telemetry", json.dumps(payload), qos=1)
        if n % 50 == 0:
            info.wait_for_publish(10)
        n += 1
        out.value = n * points
    if info is not None:
        info.wait_for_publish(30)  # the last message is out (the broker acknowledged it)
    c.loop_stop()
    c.disconnect()


def run(db: Database, args: argparse.Namespace, url: str) -> None:
    ids = [f"b-{i:05d}" for i in range(args.devices)]
    with db.transaction() as s:
        for i in ids:
            service.register_device(
                session=s, actor=identity.SYSTEM, device=DeviceIn(id=i, type="FloodMonitoring", name=i)
            )
        service.save_rule(
            session=s,
            actor=identity.SYSTEM,
            rule=RuleIn(name="level", device_type="FloodMonitoring", attr="currentLevel", op="gt", high=0.5,
                        clear_op="lt", clear_low=0.3, severity="critical"),
        )  # fmt: skip
    cid = f"bench-{uuid.uuid4().hex[:6]}"
    group = cid if args.consumers > 1 else ""
    ctx = mp.get_context("spawn")
    stop, stop_consumers = ctx.Event(), ctx.Event()
    extra = [ctx.Value("q", 0) for _ in range(args.consumers - 1)]
    helpers = [
        ctx.Process(
            target=consumer_process, args=(url, args.broker, group, k, args.batch, stop_consumers, extra[k])
        )
        for k in range(args.consumers - 1)
    ]
    for h in helpers:
        h.start()
    consumer = Consumer(db, args.broker, client_id=cid, share=group, batch=args.batch).start()
    assert consumer.connected.wait(10), "no broker"
    time.sleep(3 if helpers else 0.5)  # the helper processes import and connect

    def stored_now() -> int:
        return consumer.stored + sum(v.value for v in extra)

    addr = parse_url(args.broker)
    base = datetime.now(UTC) - timedelta(days=2)
    published = [ctx.Value("q", 0) for _ in range(args.publishers)]
    ready, go = ctx.Value("i", 0), ctx.Event()
    procs = [
        ctx.Process(
            target=publisher,
            args=(
                k,
                args.publishers,
                args.points,
                ids,
                addr.host,
                addr.port,
                base,
                stop,
                published[k],
                ready,
                go,
            ),
            daemon=True,
        )
        for k in range(args.publishers)
    ]
    for p in procs:
        p.start()
    while ready.value < args.publishers:
        time.sleep(0.05)
    t_start = time.monotonic()
    go.set()
    samples = []
    while time.monotonic() - t_start < args.seconds:
        time.sleep(1)
        samples.append((time.monotonic() - t_start, stored_now(), consumer.queue.qsize()))
    stop.set()
    for p in procs:
        p.join()
    pub_total = sum(v.value for v in published)
    last, last_at = stored_now(), time.monotonic()
    while last < pub_total and time.monotonic() - last_at < 60:  # drained, or nothing more comes
        time.sleep(0.2)
        if stored_now() != last:
            last, last_at = stored_now(), time.monotonic()
    elapsed = last_at - t_start
    stored = last
    # alarm latency: one reading over the limit on a device, publish → alarm row
    lat = []
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-alarm-{uuid.uuid4().hex[:4]}")
    c.connect(addr.host, addr.port)
    c.loop_start()
    for k in range(5):
        dev = ids[k]
        t0 = time.monotonic()
        c.publish(
            f"cityos/devices/{dev}/telemetry", json.dumps({"currentLevel": 0.9}), qos=1
        ).wait_for_publish(10)
        while time.monotonic() - t0 < 30:  # a message given to a consumer that is gone never arrives
            with db.reader() as s:
                if any(a.device_id == dev for a in service.list_alarms(session=s, actor=identity.SYSTEM)):
                    lat.append((time.monotonic() - t0) * 1000)
                    break
            time.sleep(0.005)
    c.loop_stop()
    c.disconnect()
    stop_consumers.set()
    for h in helpers:
        h.join(30)
    consumer.stop()
    for client_id in [cid] + [f"{group}-{k}" for k in range(len(helpers))]:
        end = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
        end.connect(addr.host, addr.port, clean_start=True)  # leave no persistent session on the broker
        end.disconnect()
    for h in helpers:
        print(f"consumer process {h.pid} exit code {h.exitcode}")
    with db.reader() as s:
        rows = s.execute(text("SELECT count(*) FROM sensing_readings")).scalar()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    steady = [(b[1] - a[1]) / (b[0] - a[0]) for a, b in itertools.pairwise(samples)]
    setup = f"{args.devices} devices, {args.points} readings/message, {args.publishers} publishers"
    print(f"{setup}, {args.seconds:.0f} s")
    print(f"{args.consumers} consumer process(es), batches of {args.batch} messages; broker {args.broker}")
    print(f"published {pub_total:,}; stored {stored:,} (rows {rows:,}; lost {pub_total - stored:,})")
    print(f"in {elapsed:.1f} s from the first publish to the last reading stored")
    median, top = sorted(steady)[len(steady) // 2], max(steady)
    print(
        f"MQTT -> PostgreSQL with rules: {stored / elapsed:,.0f} points/s; 1 s samples median {median:,.0f}"
    )
    print(f"max {top:,.0f} points/s in one second")
    print(f"consumer queue peak {max(q for _t, _s, q in samples)} messages (bound {consumer.queue.maxsize})")
    print(f"main consumer process peak RSS {peak_mb:.0f} MB")
    shown = ", ".join(f"{x:.0f}" for x in lat)
    print(f"alarm latency publish -> alarm row: {shown} ms ({len(lat)} of 5 within 30 s)")
    with open("/proc/loadavg") as f:
        print(f"load average {f.read().strip()}")


if __name__ == "__main__":
    main()
