"""A Mosquitto of the test's own: on a free port, with the password and ACL files CityOS writes,
persistence in a temporary directory (so a restart keeps the queued messages of persistent
sessions). In CI (CI=true) a missing mosquitto fails the run; elsewhere the tests skip."""

from __future__ import annotations

import getpass
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

MOSQUITTO = os.environ.get("CITYOS_MOSQUITTO", "/usr/sbin/mosquitto")
DEFAULT_BROKER = ("127.0.0.1", 1883)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def skip_or_fail(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI must run the MQTT tests: {reason}")
    pytest.skip(reason)


class Broker:
    def __init__(self, home: Path, passwd: Path, acl: Path) -> None:
        if not Path(MOSQUITTO).exists():
            skip_or_fail(f"mosquitto not found at {MOSQUITTO} (apt-get install mosquitto)")
        self.home = home
        self.port = free_port()
        self.conf = home / "mosquitto.conf"
        (home / "data").mkdir(exist_ok=True)
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\n"
            f"user {getpass.getuser()}\n"  # started as root it would drop to `mosquitto`, who cannot read tmp
            "allow_anonymous false\n"
            f"password_file {passwd}\n"
            f"acl_file {acl}\n"
            "persistence true\n"
            f"persistence_location {home / 'data'}/\n"
            "max_queued_messages 100000\n"
            "max_inflight_messages 1000\n"
            f"log_dest file {home / 'mosquitto.log'}\n"
        )
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> Broker:
        self.proc = subprocess.Popen(
            [MOSQUITTO, "-c", str(self.conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        for _ in range(100):
            if reachable("127.0.0.1", self.port):
                return self
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"mosquitto exited: {self.proc.stderr.read().decode() if self.proc.stderr else ''}"
                )
            time.sleep(0.05)
        raise RuntimeError("mosquitto did not start listening")

    def reload(self) -> None:
        """Reread the password and ACL files (what an operator's `kill -HUP` does)."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGHUP)
        time.sleep(0.3)

    def stop(self) -> None:
        """SIGTERM: mosquitto writes its persistence file and exits."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()
