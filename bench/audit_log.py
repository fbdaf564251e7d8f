"""The audit log on PostgreSQL: sequencer lag under concurrent writers, entries sequenced per
second, and verify time per million entries.

    .venv/bin/python bench/audit_log.py [--writers 16] [--seconds 20] [--entries 1000000]

1. Lag: `--writers` threads commit one audit entry per transaction (as request units do) for
   `--seconds`, while a sequencer runs in its own process (as `cityos worker` would, every 0.5 s).
   Lag is sequenced_at minus the moment the writer's commit returned, per entry (p50/p99/max; issue
   goal p99 <= 2 s). Writes/s shows what the writers reached with no lock between them.
2. Throughput and verify: `--entries` entries inserted in bulk, unsequenced; one sequencer drains
   them (entries/s), then `verify` recomputes everything (seconds per million; 10 M extrapolated
   linearly: the pass is one streaming scan, O(n)).

Writers, sequencer and PostgreSQL share the machine's cores (and other work running on it: the
load average is printed), so the figures are a floor.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p / 100 * len(xs)))]


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def sequencer_process(url: str, home: str, stop_file: str) -> None:
    """Run in a child process: sequence every 0.5 s until the stop file appears."""
    from cityos.core import audit
    from cityos.core.db import Database, make_engine
    from cityos.core.settings import Settings, use_settings

    use_settings(Settings(home=Path(home), database_url=url))
    db = Database(make_engine(url))
    while not os.path.exists(stop_file):
        audit.sequence(db)
        time.sleep(0.5)
    audit.sequence(db, force_head=True)


def lag(url: str, home: Path, writers: int, seconds: float) -> None:
    from cityos.core import audit
    from cityos.core.db import Database, make_engine

    db = Database(make_engine(url, pool_size=writers + 2))
    stop_file = home / "stop"
    child = subprocess.Popen(
        [sys.executable, __file__, "--sequencer", url, str(home), str(stop_file)],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")},
    )
    committed: list[list[tuple[int, float]]] = [[] for _ in range(writers)]
    end = time.monotonic() + seconds

    def writer(n: int) -> None:
        mine = committed[n]
        i = 0
        while time.monotonic() < end:
            with db.transaction() as s:
                rec = audit.record(
                    s, actor=f"user:w{n}", action="bench.write", subject_id=i, payload={"i": i}
                )
            mine.append((rec.seq, time.time()))
            i += 1

    print(f"load average before: {load()}")
    t0 = time.perf_counter()
    threads = [threading.Thread(target=writer, args=(n,)) for n in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    total = sum(len(c) for c in committed)
    print(f"load average after writing: {load()}")
    stop_file.write_text("")
    child.wait(timeout=600)
    with db.reader() as s:
        rows = s.execute(text("SELECT seq, sequenced_at FROM audit_log WHERE sequenced_at IS NOT NULL")).all()
        waiting = s.execute(text("SELECT count(*) FROM audit_log WHERE leaf_index IS NULL")).scalar()
    at = {r.seq: r.sequenced_at.replace(tzinfo=UTC).timestamp() for r in rows}
    lags = [at[seq] - t for c in committed for seq, t in c]
    print(
        f"writers {writers}: {total} entries in {wall:.1f} s = {total / wall:,.0f} commits/s; "
        f"{waiting} left unsequenced"
    )
    print(
        f"sequencer lag (commit -> sequenced): p50 {statistics.median(lags) * 1000:.0f} ms, "
        f"p99 {pct(lags, 99) * 1000:.0f} ms, max {max(lags) * 1000:.0f} ms"
    )


def bulk(url: str, entries: int) -> None:
    """`entries` unsequenced entries whose payload digests are right, written by PostgreSQL itself."""
    from cityos.core.db import make_engine

    eng = make_engine(url)
    with eng.begin() as c:
        c.execute(
            text(
                "INSERT INTO audit_log (at, actor, action, subject_type, subject_id, payload, payload_digest)"
                " "
                "SELECT (now() AT TIME ZONE 'utc') + g * interval '1 microsecond', 'token:bench', "
                "'catalog.data.read', 'resource', (g % 500)::text, jsonb_build_object('i', g), "
                """encode(sha256(convert_to('{"i":' || g || '}', 'UTF8')), 'hex') """
                "FROM generate_series(1, :n) AS g"
            ),
            {"n": entries},
        )
        c.execute(text("ANALYZE audit_log"))
    eng.dispose()


def throughput_and_verify(url: str, entries: int) -> None:
    from cityos.core import audit
    from cityos.core.db import Database, make_engine

    db = Database(make_engine(url))
    with db.reader() as s:
        before = s.execute(text("SELECT count(*) FROM audit_log")).scalar() or 0
    t = time.perf_counter()
    bulk(url, entries)
    print(f"bulk insert of {entries:,} entries: {time.perf_counter() - t:.1f} s")
    t = time.perf_counter()
    n = audit.sequence(db, max_batches=10**9, force_head=True)
    dt = time.perf_counter() - t
    print(f"sequenced {n:,} entries in {dt:.1f} s = {n / dt:,.0f} entries/s (load {load()})")
    t = time.perf_counter()
    with db.reader() as s:
        res = audit.verify(s, require_signed=True)
    dt = time.perf_counter() - t
    size = res.tree_size
    print(
        f"verify of {size:,} entries ({res.heads_checked} heads): {dt:.1f} s, ok={res.ok}; "
        f"{dt / size * 1e6:.1f} s per million, 10 M extrapolated {dt / size * 1e7 / 60:.1f} min "
        f"(load {load()}); {before:,} of them from the lag run"
    )


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--sequencer":
        sequencer_process(*sys.argv[2:])
        return
    ap = argparse.ArgumentParser()
    ap.add_argument("--writers", type=int, default=16)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--entries", type=int, default=1_000_000)
    args = ap.parse_args()
    from cityos.core.db import make_engine
    from cityos.core.migrate import upgrade
    from cityos.core.settings import Settings, use_settings

    name = f"cityos_bench_audit_{uuid.uuid4().hex[:6]}"
    admin = make_engine(PG_ADMIN, isolation_level="AUTOCOMMIT", pool_size=1, max_overflow=0)
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    home = Path(tempfile.mkdtemp(prefix="cityos-bench-audit-"))
    use_settings(Settings(home=home, database_url=url))
    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, database {name}")
    try:
        eng = make_engine(url)
        upgrade(eng)
        eng.dispose()
        if args.seconds > 0:
            lag(url, home, args.writers, args.seconds)
        if args.entries > 0:
            throughput_and_verify(url, args.entries)
    finally:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
