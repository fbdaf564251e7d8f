"""Settings come from the environment (documented in docs/operations.md).

CITYOS_HOME          where the embedded database, the data store and the secret key live (./var)
CITYOS_DATABASE_URL  SQLAlchemy URL; default sqlite file in CITYOS_HOME; postgresql+psycopg://… in production
CITYOS_LOCALE        default UI locale: zh_CN (default) or en
CITYOS_TIMEZONE      display timezone (Asia/Shanghai); times are stored in UTC
CITYOS_WORK_HOURS    working hours per day, e.g. "09:00-12:00,13:30-17:30"
CITYOS_MQTT_URL      mqtt://host:port of the broker the worker subscribes to (empty: no MQTT)
CITYOS_SECURE_COOKIES  "1" behind HTTPS
CITYOS_MAX_UPLOAD_MB   largest uploaded file (a case photo or document) in MB (10)
CITYOS_AUDIT_KEY       Ed25519 key (PEM) signing audit tree heads (CITYOS_HOME/audit/signing-key.pem)
CITYOS_AUDIT_SEQUENCER "thread" (default): app processes also sequence the audit log; "worker": only it
CITYOS_ARGON2          password hashing cost "t=3,m=65536,p=4" (argon2id; the default is RFC 9106's second
                       option), read once when the identity module loads
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

SUPPORTED_LOCALES = ("zh_CN", "en")


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str
    locale: str = "zh_CN"
    timezone: str = "Asia/Shanghai"
    work_hours: str = "09:00-12:00,13:30-17:30"
    mqtt_url: str = ""
    secure_cookies: bool = False
    session_hours: int = 12
    max_upload_bytes: int = 10 * 1024 * 1024
    audit_key: str = ""
    audit_sequencer: str = "thread"
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def datastore(self) -> Path:
        return self.home / "datasets"

    @property
    def filestore(self) -> Path:
        return self.home / "files"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def secret_key(self) -> bytes:
        """The installation's secret, generated on first use and kept in CITYOS_HOME."""
        path = self.home / "secret.key"
        if not path.exists():
            self.home.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(32))
        return bytes.fromhex(path.read_text().strip())


def load_settings(env: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ if env is None else env)
    home = Path(env.get("CITYOS_HOME", "var")).resolve()
    url = env.get("CITYOS_DATABASE_URL") or f"sqlite:///{home / 'cityos.db'}"
    locale = env.get("CITYOS_LOCALE", "zh_CN").replace("-", "_")
    if locale not in SUPPORTED_LOCALES:
        raise ValueError(f"CITYOS_LOCALE must be one of {SUPPORTED_LOCALES}, not {locale!r}")
    return Settings(
        home=home,
        database_url=url,
        locale=locale,
        timezone=env.get("CITYOS_TIMEZONE", "Asia/Shanghai"),
        work_hours=env.get("CITYOS_WORK_HOURS", "09:00-12:00,13:30-17:30"),
        mqtt_url=env.get("CITYOS_MQTT_URL", ""),
        secure_cookies=env.get("CITYOS_SECURE_COOKIES", "") == "1",
        max_upload_bytes=int(float(env.get("CITYOS_MAX_UPLOAD_MB", "10")) * 1024 * 1024),
        audit_key=env.get("CITYOS_AUDIT_KEY", ""),
        audit_sequencer=env.get("CITYOS_AUDIT_SEQUENCER", "thread"),
    )


_override: Settings | None = None


@lru_cache(maxsize=1)
def _from_env() -> Settings:
    return load_settings()


def get_settings() -> Settings:
    return _override or _from_env()


def use_settings(settings: Settings | None) -> None:
    """Install settings for this process (the CLI, the app factory and tests call this)."""
    global _override
    _override = settings
