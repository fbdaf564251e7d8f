"""MQTT against real Mosquitto brokers: the test's own (CityOS's password and ACL files,
persistence in a temporary directory) and the machine's default one at 127.0.0.1:1883.

Each module-scoped city is a fresh database (SQLite file, or a new PostgreSQL database) with real
commits, since the consumer writes from its own thread as in `cityos worker`."""

from __future__ import annotations

import json
import os
import resource
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import text

from cityos import registry
from cityos.cases import service as cases
from cityos.core import events
from cityos.core.db import Database, make_engine, use_db
from cityos.core.migrate import upgrade
from cityos.core.settings import Settings, use_settings
from cityos.identity import service as identity
from cityos.sensing import service
from cityos.sensing.mqtt import Consumer
from cityos.sensing.schemas import DeviceIn, RuleIn
from tests.conftest import PG_ADMIN_URL, _pg_available
from tests.sensing.brokers import DEFAULT_BROKER, Broker, reachable, skip_or_fail
from tests.sensing.conftest import LAT, LON

pytestmark = [pytest.mark.mqtt, pytest.mark.xdist_group("sensing-mqtt")]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def live(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A fresh small city with the taxonomy, two drainage sensors and the level rule."""
    from tests.factories import SmallCity

    home = tmp_path_factory.mktemp(f"mqtt-{request.param}")
    pg_db = None
    if request.param == "sqlite":
        url = f"sqlite:///{home / 'city.db'}"
    else:
        reason = _pg_available()
        if reason:
            if os.environ.get("CI") == "true":
                pytest.fail(reason)
            pytest.skip(reason)
        pg_db = f"cityos_mqtt_{uuid.uuid4().hex[:8]}"
        admin = make_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", pool_size=1, max_overflow=0)
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{pg_db}"'))
        admin.dispose()
        url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{pg_db}"
    settings = Settings(home=home, database_url=url)
    use_settings(settings)
    engine = make_engine(url)
    upgrade(engine)
    db = Database(engine)
    use_db(db)
    before = events.knows_all_subscribers()
    registry.load_handlers()
    city = SmallCity.build(db)
    with db.transaction() as s:
        cases.load_default_taxonomy(session=s, actor=identity.SYSTEM)
        for i in (1, 2):
            service.register_device(
                session=s,
                actor=identity.SYSTEM,
                device=DeviceIn(id=f"dr-{i}", type="FloodMonitoring", name=f"积水点{i}", lon=LON, lat=LAT),
            )
        service.save_rule(
            session=s,
            actor=identity.SYSTEM,
            rule=RuleIn(
                name="积水超警戒",
                device_type="FloodMonitoring",
                attr="currentLevel",
                op="gt",
                high=0.5,
                repeat=2,
                clear_op="lt",
                clear_low=0.3,
                severity="critical",
                case_category="E0505",
            ),
        )
    yield city, db, home
    events.all_subscribers_loaded(before)
    use_db(None)
    use_settings(None)
    engine.dispose()
    if pg_db:
        admin = make_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", pool_size=1, max_overflow=0)
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{pg_db}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="module")
def broker(live: Any) -> Iterator[Broker]:
    _city, db, home = live
    passwd, acl = home / "passwd", home / "acl"
    with db.reader() as s:
        service.write_broker_files(session=s, passwd=passwd, acl=acl)
    b = Broker(home, passwd, acl).start()
    yield b
    b.stop()


def creds(db: Database, device_id: str) -> str:
    with db.transaction() as s:
        return service.credentials(session=s, actor=identity.SYSTEM, device_id=device_id).password


def device_client(b_port: int, user: str, password: str, *, v5: bool = False) -> mqtt.Client:
    c = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=f"{user}-{uuid.uuid4().hex[:6]}",
        protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
    )
    c.username_pw_set(user, password)
    c.connect("127.0.0.1", b_port, keepalive=30)
    c.loop_start()
    return c


def publish_all(c: mqtt.Client, topic: str, payloads: list[Any]) -> None:
    infos = [c.publish(topic, json.dumps(p) if not isinstance(p, bytes) else p, qos=1) for p in payloads]
    for info in infos:
        info.wait_for_publish(timeout=20)


def wait_for(cond: Any, timeout: float = 20.0) -> Any:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        got = cond()
        if got:
            return got
        time.sleep(0.1)
    raise AssertionError("timed out waiting")


def readings(db: Database, device_id: str) -> int:
    with db.reader() as s:
        return service.storage.count_readings(s, device_id)


def ts(base: datetime, i: int) -> str:
    return (base + timedelta(seconds=i)).isoformat()


def test_publish_stored_rule_alarm_case_and_the_broker_refuses_strangers(live, broker):  # type: ignore[no-untyped-def]
    """A device publishes a batch and single readings with its own credentials; the consumer
    stores them, the rule raises the alarm, the alarm opens the 道路积水 case; a bad payload is
    counted; a wrong password is refused by the broker; a device cannot write another's topic."""
    _city, db, _home = live
    consumer = Consumer(
        db,
        f"mqtt://cityos:{service.mqtt_service_password()}@127.0.0.1:{broker.port}",
        client_id=f"w-{uuid.uuid4().hex[:6]}",
    ).start()
    try:
        assert consumer.connected.wait(10)
        base = datetime.now(UTC) - timedelta(minutes=5)
        dev = device_client(broker.port, "dr-1", creds(db, "dr-1"))
        publish_all(
            dev,
            "cityos/devices/dr-1/telemetry",
            [
                [
                    {"currentLevel": 0.2, "observedAt": ts(base, 0)},
                    {"currentLevel": 0.6, "observedAt": ts(base, 60)},
                ],
                {"currentLevel": 0.7, "observedAt": ts(base, 120)},
                b"not json",
                {"currentLevel": [1, 2]},
            ],
        )
        wait_for(lambda: readings(db, "dr-1") == 3)
        with db.reader() as s:
            alarms = wait_for(lambda: service.list_alarms(session=s, actor=identity.SYSTEM))
        wait_for(lambda: consumer.rejected == 2)
        with db.reader() as s:
            (alarm,) = service.list_alarms(session=s, actor=identity.SYSTEM)
            assert alarm.device_id == "dr-1" and alarm.case_number, alarms
            case = cases.get_case(session=s, actor=identity.SYSTEM, case_id=alarm.case_id)
            assert case.category_code == "E0505" and case.channel == "sensor"
            d = service.get_device(session=s, actor=identity.SYSTEM, device_id="dr-1")
            assert d.rejected == 2 and "bad_value" in (d.last_rejection or "") and d.online
        # dr-1 writing dr-2's topic: the ACL drops it (MQTT 5 says why in the PUBACK)
        dev5 = device_client(broker.port, "dr-1", creds(db, "dr-1"), v5=True)
        info = dev5.publish("cityos/devices/dr-2/telemetry", json.dumps({"currentLevel": 9}), qos=1)
        info.wait_for_publish(timeout=10)
        time.sleep(1.0)
        assert readings(db, "dr-2") == 0
        dev5.disconnect()
        dev.disconnect()
        # a wrong password: the broker refuses the connection
        refused: list[Any] = []
        bad = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="intruder", protocol=mqtt.MQTTv5)
        bad.username_pw_set("dr-2", "guess")
        bad.on_connect = lambda _c, _u, _f, rc, _p: refused.append(rc)
        bad.connect("127.0.0.1", broker.port)
        bad.loop_start()
        wait_for(lambda: refused, 10)
        bad.loop_stop()
        assert refused[0].is_failure and refused[0].value in (0x86, 0x87)
    finally:
        consumer.stop()


def test_broker_restart_mid_stream_loses_nothing(live, broker):  # type: ignore[no-untyped-def]
    """QoS 1 + a persistent session: messages queued for the stopped worker survive a broker
    restart, and a broker killed (SIGTERM) while the worker drains redelivers what was not
    acknowledged; the readings' key makes redeliveries no-ops: exactly 400 readings."""
    _city, db, _home = live
    url = f"mqtt://cityos:{service.mqtt_service_password()}@127.0.0.1:{broker.port}"
    cid = f"w-{uuid.uuid4().hex[:6]}"
    consumer = Consumer(db, url, client_id=cid).start()
    assert consumer.connected.wait(10)
    consumer.stop()  # the worker goes away; its session stays with the broker
    base = datetime.now(UTC) - timedelta(hours=2)
    dev = device_client(broker.port, "dr-2", creds(db, "dr-2"))
    publish_all(
        dev,
        "cityos/devices/dr-2/telemetry",
        [{"currentLevel": 0.1, "observedAt": ts(base, i)} for i in range(200)],
    )
    dev.disconnect()
    broker.restart()
    consumer = Consumer(db, url, client_id=cid, batch=20).start()
    try:
        dev = device_client(broker.port, "dr-2", creds(db, "dr-2"))
        more = [{"currentLevel": 0.1, "observedAt": ts(base, 200 + i)} for i in range(200)]
        publish_all(dev, "cityos/devices/dr-2/telemetry", more)
        dev.disconnect()
        wait_for(lambda: readings(db, "dr-2") >= 250, 30)
        broker.restart()  # mid-stream: some stored, some in flight, some queued
        wait_for(lambda: readings(db, "dr-2") == 400, 40)
        time.sleep(1.0)
        assert readings(db, "dr-2") == 400
    finally:
        consumer.stop()


def test_workers_in_a_shared_subscription_split_the_stream(live, broker):  # type: ignore[no-untyped-def]
    """Two workers in one MQTT 5 shared-subscription group (CITYOS_MQTT_SHARE), each with its own
    client id, through the broker's ACL: every reading is stored once and both took a share."""
    _city, db, _home = live
    url = f"mqtt://cityos:{service.mqtt_service_password()}@127.0.0.1:{broker.port}"
    group = f"g{uuid.uuid4().hex[:6]}"
    got = [0, 0]

    def counter(k: int) -> Any:
        def on_stored(n: int) -> None:
            got[k] += n

        return on_stored

    workers = [
        Consumer(db, url, client_id=f"w{k}-{group}", share=group, batch=10, on_stored=counter(k)).start()
        for k in range(2)
    ]
    try:
        assert all(w.connected.wait(10) for w in workers)
        assert workers[0].subscription == f"$share/{group}/cityos/devices/+/telemetry"
        time.sleep(0.5)
        base = datetime.now(UTC) - timedelta(hours=3)
        before = readings(db, "dr-2")  # the module's database is shared with the other tests
        dev = device_client(broker.port, "dr-2", creds(db, "dr-2"))
        publish_all(
            dev,
            "cityos/devices/dr-2/telemetry",
            [{"currentLevel": 0.1, "observedAt": ts(base, i)} for i in range(300)],
        )
        dev.disconnect()
        wait_for(lambda: sum(got) >= 300, 30)
        time.sleep(0.5)
        assert readings(db, "dr-2") == before + 300 and sum(got) == 300
        assert min(got) > 0, got
    finally:
        for w in workers:
            w.stop()


def test_memory_stays_bounded_under_a_flood(live, broker):  # type: ignore[no-untyped-def]
    """3,000 messages published as fast as the broker takes them, to a consumer whose queue holds
    200: the queue never passes its bound (the network thread waits, the broker keeps the rest),
    the process's peak memory barely moves, and everything is stored."""
    _city, db, _home = live
    url = f"mqtt://cityos:{service.mqtt_service_password()}@127.0.0.1:{broker.port}"
    consumer = Consumer(db, url, client_id=f"w-{uuid.uuid4().hex[:6]}", queue_size=200, batch=100).start()
    assert consumer.connected.wait(10)
    peak = [0]
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], consumer.queue.qsize())
            time.sleep(0.01)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    base = datetime.now(UTC) - timedelta(days=1)
    dev = device_client(broker.port, "dr-1", creds(db, "dr-1"))
    payloads = [{"currentLevel": 0.1, "note": "x" * 100, "observedAt": ts(base, i)} for i in range(3000)]
    publish_all(dev, "cityos/devices/dr-1/telemetry", payloads)  # faster than the writer stores
    try:
        wait_for(lambda: readings(db, "dr-1") >= 3000 * 2, 60)
    finally:
        stop.set()
        consumer.stop()
        dev.disconnect()
    assert 0 < peak[0] <= 200, peak
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
    assert grown_mb < 100, grown_mb


def test_the_machines_default_broker(live):  # type: ignore[no-untyped-def]
    """The same path through the broker at 127.0.0.1:1883 (anonymous on a development machine)."""
    _city, db, _home = live
    if not reachable(*DEFAULT_BROKER):
        skip_or_fail("no MQTT broker at 127.0.0.1:1883")
    cid = f"w-{uuid.uuid4().hex[:6]}"
    consumer = Consumer(db, "mqtt://127.0.0.1:1883", client_id=cid).start()
    try:
        assert consumer.connected.wait(10)
        time.sleep(0.3)  # the subscription is in place
        before = readings(db, "dr-2")
        dev = device_client(1883, "dr-2", creds(db, "dr-2"))
        base = datetime.now(UTC) - timedelta(hours=5)
        publish_all(
            dev,
            "cityos/devices/dr-2/telemetry",
            [[{"currentLevel": 0.1, "observedAt": ts(base, i)} for i in range(10)]],
        )
        dev.disconnect()
        wait_for(lambda: readings(db, "dr-2") == before + 10)
    finally:
        consumer.stop()
        # leave no persistent session behind on the shared broker
        c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=cid, protocol=mqtt.MQTTv5)
        c.connect("127.0.0.1", 1883, clean_start=True)
        c.disconnect()
