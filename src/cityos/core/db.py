"""Database engine, sessions and the declarative base every module's models use.

One `Database` per process. Service functions take a `session` and never commit; the unit of
work (`db.transaction()`, a request, a job) commits once, then the outbox dispatcher delivers the
events that transaction published.

SQLite (the embedded default) runs in WAL mode with foreign keys on, and every transaction starts
with BEGIN IMMEDIATE so that read-then-write sequences (the audit chain) never race.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, MetaData, create_engine, event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC on every backend, returns aware UTC. Refuses naive input."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None else None


# JSON everywhere, JSONB on PostgreSQL.
JSONType = JSON().with_variant(JSONB(), "postgresql")


def make_engine(url: str, **kw: Any) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30, "isolation_level": None}, **kw
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Connection) -> None:
            # Writers take the write lock up front (no read-then-write races); read-only units of
            # work begin deferred, so WAL lets any number of them run beside the writer.
            read_only = conn.get_execution_options().get("cityos_read_only", False)
            conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

        return engine
    kw.setdefault("pool_pre_ping", True)
    kw.setdefault("pool_size", 10)
    kw.setdefault("max_overflow", 20)
    return create_engine(url, **kw)


class Database:
    """An engine and the session factory bound to it (or to one connection, in tests)."""

    def __init__(self, bind: Engine | Connection, *, savepoints: bool = False) -> None:
        self.bind = bind
        self.engine: Engine = bind if isinstance(bind, Engine) else bind.engine
        opts: dict[str, Any] = {"expire_on_commit": False}
        if savepoints:
            opts["join_transaction_mode"] = "create_savepoint"
        self.sessionmaker: Callable[[], Session] = sessionmaker(bind=bind, **opts)
        read_bind = bind.execution_options(cityos_read_only=True) if isinstance(bind, Engine) else bind
        self.read_sessionmaker: Callable[[], Session] = sessionmaker(bind=read_bind, **opts)
        # SQLite has one writer at a time, and a thread waiting for it polls with growing sleeps
        # (busy_timeout), which turns a queue of short writes into second-long tails. Writers of
        # this process queue on a lock instead, first come first served; other processes still
        # meet SQLite's own lock. PostgreSQL needs none of this.
        self._writers: threading.RLock | None = (
            threading.RLock() if self.engine.dialect.name == "sqlite" and isinstance(bind, Engine) else None
        )

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def transaction(
        self, *, deliver_events: bool = True, read_only: bool = False, queue: bool = True
    ) -> Iterator[Session]:
        """One unit of work: commit on success, then deliver the events it published. `read_only`
        units (GET requests) do not take SQLite's write lock; they must not write. On SQLite, a
        writing unit first queues on the process's writer lock (see __init__); `queue=False` is for
        units whose start and end may run on different threads (FastAPI's request dependency),
        which wait on SQLite's own lock as before."""
        from cityos.core import events

        session = (self.read_sessionmaker if read_only else self.sessionmaker)()
        lock = self._writers if queue and not read_only else None
        if lock is not None:
            lock.acquire()
        try:
            yield session
            session.commit()
            committed = events.take_committed(session)
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()
            if lock is not None:
                lock.release()
        if committed and deliver_events:
            events.deliver(committed, self)

    @contextmanager
    def reader(self) -> Iterator[Session]:
        session = self.read_sessionmaker()
        try:
            yield session
        finally:
            session.rollback()
            session.close()


_db: Database | None = None


def get_db() -> Database:
    global _db
    if _db is None:
        from cityos.core.settings import get_settings

        _db = Database(make_engine(get_settings().database_url))
    return _db


def use_db(db: Database | None) -> None:
    global _db
    _db = db
