"""Telemetry from MQTT into PostgreSQL with the rules evaluated: points per second, the process's
peak memory, and the end-to-end alarm latency (publish of a reading over the limit → alarm row).

Publishers (paho, QoS 1, one connection per publisher thread, `--points` readings per message as a
JSON list with observedAt) → the broker at --broker (default the machine's 127.0.0.1:1883) → the
CityOS consumer (`cityos.sensing.mqtt.Consumer`, as `cityos worker` runs it: bounded queue, batches,
COPY into PostgreSQL, rules, acknowledgement after commit) → a fresh PostgreSQL database.

    .venv/bin/python bench/telemetry_ingest.py --seconds 20 --devices 200 --points 100
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import resource
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

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
    ap.add_argument("--broker", default="mqtt://127.0.0.1:1883")
    args = ap.parse_args()

    name = f"cityos_bench_{uuid.uuid4().hex[:8]}"
    admin = make_engine(PG_ADMIN, isolation_level="AUTOCOMMIT", pool_size=1, max_overflow=0)
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    home = f"/tmp/{name}"
    os.makedirs(home, exist_ok=True)
    use_settings(Settings(home=__import__("pathlib").Path(home), database_url=url))
    engine = make_engine(url)
    try:
        upgrade(engine)
        db = Database(engine)
        use_db(db)
        run(db, args)
    finally:
        engine.dispose()
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def run(db: Database, args: argparse.Namespace) -> None:
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
    consumer = Consumer(db, args.broker, client_id=cid).start()
    assert consumer.connected.wait(10), "no broker"
    time.sleep(0.5)
    addr = parse_url(args.broker)
    stop = threading.Event()
    published = [0] * args.publishers
    base = datetime.now(UTC) - timedelta(days=2)

    def publisher(k: int) -> None:
        c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{k}-{uuid.uuid4().hex[:4]}")
        c.max_inflight_messages_set(200)
        c.connect(addr.host, addr.port)
        c.loop_start()
        n = 0
        while not stop.is_set():
            dev = ids[(n * args.publishers + k) % len(ids)]
            t0 = base + timedelta(seconds=(n * args.publishers + k) * args.points / 1000)
            payload = [
                {"currentLevel": 0.1, "observedAt": (t0 + timedelta(milliseconds=j)).isoformat()}
                for j in range(args.points)
            ]
            info = c.publish(f"cityos/devices/{dev}/telemetry", json.dumps(payload), qos=1)
            if n % 50 == 0:
                info.wait_for_publish(10)
            n += 1
            published[k] = n * args.points
        c.loop_stop()
        c.disconnect()

    threads = [threading.Thread(target=publisher, args=(k,), daemon=True) for k in range(args.publishers)]
    t_start = time.monotonic()
    for t in threads:
        t.start()
    samples = []
    while time.monotonic() - t_start < args.seconds:
        time.sleep(1)
        samples.append((time.monotonic() - t_start, consumer.stored, consumer.queue.qsize()))
    stop.set()
    for t in threads:
        t.join()
    pub_total = sum(published)
    drain_start = time.monotonic()
    while consumer.stored < pub_total and time.monotonic() - drain_start < 120:
        time.sleep(0.2)
    elapsed = time.monotonic() - t_start
    stored = consumer.stored
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
        while True:
            with db.reader() as s:
                if any(a.device_id == dev for a in service.list_alarms(session=s, actor=identity.SYSTEM)):
                    break
            time.sleep(0.005)
        lat.append((time.monotonic() - t0) * 1000)
    c.loop_stop()
    c.disconnect()
    consumer.stop()
    end = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=cid, protocol=mqtt.MQTTv5)
    end.connect(addr.host, addr.port, clean_start=True)  # leave no persistent session on the broker
    end.disconnect()
    with db.reader() as s:
        rows = s.execute(text("SELECT count(*) FROM sensing_readings")).scalar()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    steady = [(b[1] - a[1]) / (b[0] - a[0]) for a, b in itertools.pairwise(samples)]
    setup = f"{args.devices} devices, {args.points} readings/message, {args.publishers} publishers"
    print(f"{setup}, {args.seconds:.0f} s")
    print(f"published {pub_total:,}; stored {stored:,} (rows {rows:,}) in {elapsed:.1f} s with the drain")
    median, top = sorted(steady)[len(steady) // 2], max(steady)
    print(
        f"MQTT -> PostgreSQL with rules: {stored / elapsed:,.0f} points/s; 1 s samples median {median:,.0f}"
    )
    print(f"max {top:,.0f} points/s in one second")
    print(f"consumer queue peak {max(q for _t, _s, q in samples)} messages (bound {consumer.queue.maxsize})")
    print(f"process peak RSS {peak_mb:.0f} MB (publishers and consumer in one process)")
    print(f"alarm latency publish -> alarm row: {', '.join(f'{x:.0f}' for x in lat)} ms")
    with open("/proc/loadavg") as f:
        print(f"load average {f.read().strip()}")


if __name__ == "__main__":
    main()
