"""The telemetry simulator (`cityos sensors simulate`), the demo's and the benchmark's source.

The fleet: drainage level sensors (FloodMonitoring), manhole covers and street lights spread over
the city's unit grids in code order, so consecutive devices sit in neighbouring grids. What they
send: a rain event whose intensity rises and falls over the run and raises the drainage levels of
the low-lying first third of the fleet past the alarm level; one manhole cover opened (its tilt
jumps from ~1° to ~70°); one street light failing (its illuminance drops to zero).
"""

from __future__ import annotations

import contextlib
import json
import math
import random
import time
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from cityos.core.db import Database
from cityos.core.errors import Conflict
from cityos.geo import service as geo
from cityos.identity.schemas import Principal
from cityos.sensing import devices as registry
from cityos.sensing import rules
from cityos.sensing.models import Rule
from cityos.sensing.schemas import DeviceIn, RuleIn

KINDS = (
    ("FloodMonitoring", "dr", "积水监测点"),
    ("ManholeCover", "mh", "井盖"),
    ("Streetlight", "sl", "路灯"),
)
DEFAULT_RULES = [
    RuleIn(
        name="积水超警戒水位",
        device_type="FloodMonitoring",
        attr="currentLevel",
        op="gt",
        high=0.3,
        repeat=2,
        clear_op="lt",
        clear_low=0.15,
        severity="critical",
        case_category="E0505",
    ),
    RuleIn(
        name="井盖开启",
        device_type="ManholeCover",
        attr="tilt",
        op="gt",
        high=15,
        severity="major",
        case_category="C0103",
    ),
    RuleIn(
        name="路灯不亮",
        device_type="Streetlight",
        attr="illuminanceLevel",
        op="lt",
        low=0.05,
        repeat=3,
        severity="minor",
        case_category="C0110",
    ),
    RuleIn(
        name="积水监测点离线",
        device_type="FloodMonitoring",
        attr="currentLevel",
        kind="nodata",
        minutes=30,
        severity="warning",
    ),
]


@dataclass
class SimDevice:
    id: str
    type: str
    index: int
    password: str


@dataclass
class Sent:
    messages: int = 0
    readings: int = 0


def ensure_rules(session: Session, actor: Principal) -> None:
    names = set(session.scalars(Rule.__table__.select().with_only_columns(Rule.name)))
    for r in DEFAULT_RULES:
        if r.name not in names:
            rules.save_rule(session=session, actor=actor, rule=r)


def fleet_plan(session: Session, n: int, prefix: str = "sim", start: float = 0.0) -> list[DeviceIn]:
    """`n` devices over the grids in code order, from the fraction `start` of them on."""
    grids = sorted(geo.grid_polygons(session=session).items())
    if not grids:
        return []
    out = []
    for i in range(n):
        kind, short, label = KINDS[0] if i % 10 < 7 else KINDS[1] if i % 10 < 9 else KINDS[2]
        _code, poly = grids[(int(start * len(grids)) + (i * len(grids)) // max(n, 1)) % len(grids)]
        p = poly.representative_point()
        out.append(
            DeviceIn(
                id=f"{prefix}-{short}-{i:04d}",
                type=kind,
                name=f"{label}{i:04d}",
                lon=round(p.x, 6),
                lat=round(p.y, 6),
                department_code="cgj",
                firmware="sim-1.0",
            )
        )
    return out


def ensure_fleet(
    db: Database, actor: Principal, n: int, prefix: str = "sim", start: float = 0.0
) -> list[SimDevice]:
    """Register the simulated devices that are missing (and the default rules); their passwords."""
    with db.transaction() as s:
        ensure_rules(s, actor)
        plan = fleet_plan(s, n, prefix, start)
        for d in plan:
            with contextlib.suppress(Conflict):
                registry.save_device(s, actor, d, create_only=True)
    with db.reader() as s:
        out = []
        for i, d in enumerate(plan):
            dev = s.get(registry.Device, d.id)
            assert dev is not None
            out.append(SimDevice(d.id, d.type, i, registry.device_password(d.id, dev.token_generation)))
    return out


def reading(dev: SimDevice, phase: float, n: int, rng: random.Random, rain: bool = True) -> dict[str, Any]:
    """One device's values at `phase` (0 … 1 of the run)."""
    if dev.type == "FloodMonitoring":
        intensity = math.sin(math.pi * min(max(phase, 0.0), 1.0)) if rain else 0.0
        low_lying = dev.index < max(n // 3, 1)
        level = 0.05 + intensity * (0.45 if low_lying else 0.12) + rng.uniform(-0.01, 0.01)
        return {"currentLevel": round(max(level, 0.0), 3)}
    if dev.type == "ManholeCover":
        opened = dev.index % 10 == 7 and dev.index < 10 and phase > 0.3
        return {"tilt": round(70 + rng.uniform(-2, 2) if opened else 1 + rng.uniform(-0.5, 0.5), 2)}
    failing = dev.index % 10 == 9 and dev.index < 10 and phase > 0.2
    return {
        "illuminanceLevel": 0.0 if failing else round(0.8 + rng.uniform(-0.05, 0.05), 3),
        "powerState": "on",
    }


def messages(fleet: list[SimDevice], phase: float, batch: int, rng: random.Random, rain: bool) -> Any:
    now = datetime.now(UTC)
    for dev in fleet:
        items = []
        for k in range(batch):
            values = reading(dev, phase, len(fleet), rng, rain)
            at = now.timestamp() - (batch - 1 - k) * 0.001
            items.append({**values, "observedAt": datetime.fromtimestamp(at, UTC).isoformat()})
        yield dev, (items[0] if batch == 1 else items)


def run(
    fleet: list[SimDevice],
    *,
    rate: float,
    seconds: float,
    batch: int = 1,
    mode: str = "mqtt",
    broker: str = "mqtt://127.0.0.1:1883",
    url: str = "",
    token: str = "",
    rain: bool = True,
    seed: int = 7,
) -> Sent:
    rng = random.Random(seed)
    sender: _Sender = _Mqtt(fleet, broker) if mode == "mqtt" else _Http(url, token)
    sent = Sent()
    start = time.monotonic()
    try:
        while (elapsed := time.monotonic() - start) < seconds:
            due = int(elapsed * rate) + 1 - sent.messages
            if due <= 0:
                sender.idle(min(0.05, 1 / rate))
                continue
            phase = elapsed / seconds
            out = []
            for i, (dev, payload) in enumerate(messages(fleet, phase, batch, rng, rain)):
                if i >= due:
                    break
                out.append((dev, payload))
            sender.send(out)
            sent.messages += len(out)
            sent.readings += len(out) * batch
            fleet[:] = fleet[len(out) :] + fleet[: len(out)]  # round robin
    finally:
        sender.close()
    return sent


class _Sender:
    def send(self, out: list[tuple[SimDevice, Any]]) -> None: ...
    def idle(self, seconds: float) -> None:
        time.sleep(seconds)

    def close(self) -> None: ...


class _Mqtt(_Sender):
    """One connection per device, with its own credentials (the broker's ACL allows it only its
    own topic); QoS 1, each client's network I/O driven from this thread."""

    def __init__(self, fleet: list[SimDevice], broker: str) -> None:
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        from cityos.sensing.mqtt import parse_url

        addr = parse_url(broker)
        self.clients: dict[str, Any] = {}
        for dev in fleet:
            c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"{dev.id}", protocol=mqtt.MQTTv311)
            c.username_pw_set(dev.id, dev.password)
            c.connect(addr.host, addr.port, keepalive=60)
            self.clients[dev.id] = c
        for c in self.clients.values():
            c.loop(0.01)

    def send(self, out: list[tuple[SimDevice, Any]]) -> None:
        for dev, payload in out:
            self.clients[dev.id].publish(registry.topic_of(dev.id), json.dumps(payload), qos=1)
        self.idle(0)

    def idle(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        for c in self.clients.values():
            c.loop(0)
        rest = end - time.monotonic()
        if rest > 0:
            time.sleep(rest)

    def close(self) -> None:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            pending = 0
            for c in self.clients.values():
                c.loop(0.01)
                pending += len(getattr(c, "_out_messages", {}))
            if not pending:
                break
        for c in self.clients.values():
            c.disconnect()
            c.loop(0.01)


class _Http(_Sender):
    def __init__(self, url: str, token: str) -> None:
        self.url = url.rstrip("/") + "/api/v1/sensing/telemetry"
        self.token = token

    def send(self, out: list[tuple[SimDevice, Any]]) -> None:
        items = []
        for dev, payload in out:
            for p in payload if isinstance(payload, list) else [payload]:
                items.append({"device_id": dev.id, **p})
        for i in range(0, len(items), 1000):
            body = json.dumps({"items": items[i : i + 1000]}).encode()
            req = urllib.request.Request(
                self.url,
                data=body,
                headers={"Content-Type": "application/json", "Authorization": f"Bearer {self.token}"},
            )
            with urllib.request.urlopen(req, timeout=30) as r:
                r.read()
