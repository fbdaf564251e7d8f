"""The MQTT consumer `cityos worker` runs when CITYOS_MQTT_URL is set.

It subscribes to `cityos/devices/+/telemetry` with QoS 1 in a persistent session (MQTT 5, a fixed
client id, clean start off and a session expiry of a week), so the broker keeps what arrives while
the worker or the broker restarts. Messages are acknowledged only after the transaction that
stored them committed (paho's manual_ack): a crash before the commit means redelivery, and the
readings' primary key makes the redelivery a no-op.

Back-pressure: the network thread puts each message on a bounded queue (CITYOS_MQTT_QUEUE, 20,000
messages); when the writer falls behind the queue fills, the network thread blocks, TCP stops
reading, and the broker holds the rest (its queue for the session). Memory stays bounded by the
queue size. The writer takes up to CITYOS_MQTT_BATCH messages (5,000) or what arrived within
0.2 s, stores them in one transaction and then acknowledges them. A database error keeps the
batch and retries it after a pause; a bad message is rejected and counted, never retried.

CITYOS_MQTT_URL       mqtt://[user:password@]host:port (the worker's account: user `cityos`, the
                      password `cityos sensing broker-files` prints)
CITYOS_MQTT_CLIENT_ID the session's client id (cityos-worker); one consumer per id
CITYOS_MQTT_SHARE     a shared-subscription group (MQTT 5 `$share/GROUP/...`, Mosquitto 2): several
                      workers, each with its own client id, then split the messages between them
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from prometheus_client import Gauge

from cityos.core.db import Database
from cityos.sensing import ingest

log = logging.getLogger("cityos.sensing.mqtt")
SUBSCRIPTION = "cityos/devices/+/telemetry"
SESSION_EXPIRY = 7 * 86400
QUEUED = Gauge("cityos_sensing_mqtt_queued", "MQTT messages received and not yet stored")


@dataclass(frozen=True)
class BrokerAddress:
    host: str
    port: int
    username: str | None
    password: str | None


def parse_url(url: str) -> BrokerAddress:
    u = urlsplit(url)
    if u.scheme not in ("mqtt", "tcp") or not u.hostname:
        raise ValueError(f"CITYOS_MQTT_URL must look like mqtt://host:1883, not {url!r}")
    return BrokerAddress(
        host=u.hostname,
        port=u.port or 1883,
        username=unquote(u.username) if u.username else None,
        password=unquote(u.password) if u.password else None,
    )


class Consumer:
    """Subscribe, queue (bounded), store in batches, acknowledge after commit."""

    def __init__(
        self,
        db: Database,
        url: str,
        *,
        client_id: str | None = None,
        queue_size: int | None = None,
        batch: int | None = None,
        on_stored: Callable[[int], None] | None = None,
        share: str | None = None,
    ) -> None:
        self.db = db
        self.address = parse_url(url)
        self.client_id = client_id or os.environ.get("CITYOS_MQTT_CLIENT_ID", "cityos-worker")
        group = share if share is not None else os.environ.get("CITYOS_MQTT_SHARE", "")
        self.subscription = f"$share/{group}/{SUBSCRIPTION}" if group else SUBSCRIPTION
        self.queue: queue.Queue[tuple[str, bytes, int]] = queue.Queue(
            maxsize=queue_size or int(os.environ.get("CITYOS_MQTT_QUEUE", "20000"))
        )
        self.batch = batch or int(os.environ.get("CITYOS_MQTT_BATCH", "5000"))
        self.on_stored = on_stored
        self.stored = 0
        self.rejected = 0
        self.connected = threading.Event()
        self._stop = threading.Event()
        self._writer: threading.Thread | None = None
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            protocol=mqtt.MQTTv5,
            manual_ack=True,
        )
        if self.address.username:
            self.client.username_pw_set(self.address.username, self.address.password)
        self.client.max_inflight_messages_set(1000)
        self.client.reconnect_delay_set(min_delay=1, max_delay=10)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message

    # -- network thread
    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            log.error("MQTT broker refused the connection: %s", reason)
            return
        client.subscribe(self.subscription, qos=1)
        self.connected.set()
        log.info("MQTT connected to %s:%s as %s", self.address.host, self.address.port, self.client_id)

    def _on_disconnect(self, _c: Any, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        self.connected.clear()
        if not self._stop.is_set():
            log.warning("MQTT disconnected (%s); reconnecting", reason)

    def _on_message(self, _c: Any, _u: Any, msg: mqtt.MQTTMessage) -> None:
        while not self._stop.is_set():  # blocks the network loop while the queue is full
            try:
                self.queue.put((msg.topic, bytes(msg.payload), msg.mid if msg.qos else 0), timeout=0.5)
                QUEUED.set(self.queue.qsize())
                return
            except queue.Full:
                continue

    # -- writer thread
    def _take(self) -> list[tuple[str, bytes, int]]:
        try:
            first = self.queue.get(timeout=0.2)
        except queue.Empty:
            return []
        items = [first]
        deadline = time.monotonic() + 0.2
        while len(items) < self.batch:
            try:
                items.append(self.queue.get(timeout=max(0.0, deadline - time.monotonic())))
            except queue.Empty:
                break
        QUEUED.set(self.queue.qsize())
        return items

    def _write(self) -> None:
        while not self._stop.is_set():
            items = self._take()
            if not items:
                continue
            msgs = []
            for topic, payload, _mid in items:
                m = ingest.TOPIC.match(topic)
                msgs.append((m.group(1) if m else topic, payload))
            while not self._stop.is_set():
                try:
                    with self.db.transaction() as s:
                        result = ingest.ingest(s, msgs)
                    break
                except Exception:
                    log.exception("storing %s MQTT messages failed; retrying", len(msgs))
                    time.sleep(1.0)
            else:
                return  # stopping: unacknowledged messages stay with the broker
            for _t, _p, mid in items:
                if mid:
                    self.client.ack(mid, 1)
            self.stored += len(result.rows)
            self.rejected += len(result.rejected)
            if self.on_stored:
                self.on_stored(len(result.rows))

    # -- life cycle
    def start(self) -> Consumer:
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = SESSION_EXPIRY
        props.ReceiveMaximum = 65535
        self.client.connect_async(
            self.address.host, self.address.port, keepalive=30, clean_start=False, properties=props
        )
        self.client.loop_start()
        self._writer = threading.Thread(target=self._write, name="sensing-mqtt-writer", daemon=True)
        self._writer.start()
        return self

    def alive(self) -> bool:
        return self._writer is not None and self._writer.is_alive()

    def stop(self) -> None:
        self._stop.set()
        if self._writer is not None:
            self._writer.join(timeout=10)
        self.client.disconnect()
        self.client.loop_stop()


_consumer: Consumer | None = None


def ensure_consumer(db: Database) -> int:
    """The worker's job: start the consumer once (and again if its thread died)."""
    global _consumer
    url = os.environ.get("CITYOS_MQTT_URL", "")
    if not url:
        from cityos.core.settings import get_settings

        url = get_settings().mqtt_url
    if not url:
        return 0
    if _consumer is not None and _consumer.alive():
        return 0
    if _consumer is not None:
        _consumer.stop()
    _consumer = Consumer(db, url).start()
    return 1
