"""sensing's timers in `cityos worker`: the MQTT consumer (when CITYOS_MQTT_URL is set), the
no-data rules, roll-ups, retention, the coming months' reading partitions (PostgreSQL) and the
broker's password/ACL files (when CITYOS_MQTT_PASSWORD_FILE and CITYOS_MQTT_ACL_FILE are set)."""

from __future__ import annotations

import os
from pathlib import Path

from cityos.core.db import Database
from cityos.core.jobs import Job
from cityos.sensing import mqtt, service

_written: dict[str, str] = {}


def _nodata(db: Database) -> int:
    with db.transaction() as s:
        return service.check_nodata(session=s)


def _rollup(db: Database) -> int:
    with db.transaction() as s:
        return service.rollup(session=s)


def _purge(db: Database) -> int:
    with db.transaction() as s:
        return service.purge(session=s)


def _partitions(db: Database) -> int:
    with db.transaction() as s:
        return service.ensure_partitions(session=s)


def _broker_files(db: Database) -> int:
    """Rewrite the broker's files when the devices or their credentials changed; the broker
    rereads them on SIGHUP (CITYOS_MQTT_RELOAD_PID: the pid file of the broker to signal)."""
    passwd, acl = os.environ.get("CITYOS_MQTT_PASSWORD_FILE"), os.environ.get("CITYOS_MQTT_ACL_FILE")
    if not passwd or not acl:
        return 0
    with db.reader() as s:
        key = service.credentials_fingerprint(session=s)
        if _written.get("key") == key:
            return 0
        n = service.write_broker_files(session=s, passwd=Path(passwd), acl=Path(acl))
    _written["key"] = key
    pidfile = os.environ.get("CITYOS_MQTT_RELOAD_PID")
    if pidfile and Path(pidfile).exists():
        import signal

        os.kill(int(Path(pidfile).read_text().strip()), signal.SIGHUP)
    return n


JOBS = [
    Job("sensing.mqtt", 5, mqtt.ensure_consumer),
    Job("sensing.nodata", 60, _nodata),
    Job("sensing.rollup", 300, _rollup),
    Job("sensing.purge", 3600, _purge),
    Job("sensing.partitions", 3600, _partitions),
    Job("sensing.broker_files", 30, _broker_files),
]
