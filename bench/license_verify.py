"""E-license verification and application search (issue 12 goals on 2 cores: ≥ 10,000 offline
verifications/s, verification API p99 ≤ 10 ms, application search p99 ≤ 100 ms with 1,000,000
applications).

    .venv/bin/python bench/license_verify.py [--licenses 2000] [--requests 2000] [--applications 1000000]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres] [--profile server.svg]

1. offline: QR payloads (base45 → zlib → COSE_Sign1 → Ed25519 signature against the trust list's
   key by kid, the revocation set, expiry) verified by `credential.Verifier`, as a checker holding the
   published trust list does; the trust list has every issuer key and 10,000 revoked identifiers.
   Measured in one process and in two (one per core), with wall-clock and CPU time: on a shared
   machine the CPU-time rate is what the code does per core, the wall-clock rate what it got.
2. the verification API: POST /api/v1/licenses/verify over HTTP, sequential requests from this
   process to `uvicorn cityos.web.main:app` (one server process, as `cityos serve` runs it).
3. search: `service.search` (the one visible(actor) clause) as a department's back office and as
   the hall's window, by state, by applicant code and by number, over 1,000,000 applications.
With --database-url the benchmark makes its own database on that PostgreSQL server and drops it.
Prints figures with the load average (the machine is shared).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import insert, select, text

from cityos.core import clock
from cityos.core.db import Database, make_engine, use_db
from cityos.core.migrate import upgrade
from cityos.core.settings import load_settings, use_settings
from cityos.identity import service as identity
from cityos.identity.schemas import DepartmentIn, RegionIn, UserIn
from cityos.services import credential, licenses, service
from cityos.services.models import Application, ServiceItem
from cityos.services.schemas import ItemIn, KindIn


def load() -> str:
    return Path("/proc/loadavg").read_text().split(" ", 3)[:3].__str__()


def p(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def setup(home: Path) -> tuple[Database, dict]:  # type: ignore[type-arg]
    os.environ["CITYOS_HOME"] = str(home)
    settings = load_settings()
    use_settings(settings)
    engine = make_engine(settings.database_url)
    upgrade(engine)
    db = Database(engine)
    use_db(db)
    sysp = identity.SYSTEM
    with db.transaction() as s:
        identity.add_region(
            session=s, actor=sysp, region=RegionIn(code="371300", name="临沂市", level="city")
        )
        for code, name in (("gaj", "临沂市公安局"), ("zwfw", "临沂市行政审批服务局"), ("rsj", "人社局")):
            identity.add_department(
                session=s, actor=sysp, department=DepartmentIn(code=code, name=name, region_code="371300")
            )
        for u, dept in (("gaj-review", "gaj"), ("window", "zwfw")):
            identity.add_user(
                session=s,
                actor=sysp,
                user=UserIn(
                    username=u,
                    display_name=u,
                    password="bench-pass-1",
                    roles=["handler"],
                    department_code=dept,
                    region_code="371300",
                ),
            )
        service.add_kind(
            session=s,
            actor=sysp,
            kind=KindIn(
                code="rp",
                name="居住证",
                type_code="11100000000013338W011",
                department_code="gaj",
                issuer_code="11371300004302100X",
                validity_years=3,
            ),
        )
        for code, dept in (("GA-1", "gaj"), ("RS-1", "rsj")):
            service.save_item(
                session=s,
                actor=sysp,
                data=ItemIn(code=code, name=code, department_code=dept, time_limit_days=5),
            )
        people = {u: identity.principal_for(session=s, username=u) for u in ("gaj-review", "window")}
    return db, people


def issue(db: Database, n: int) -> list[str]:
    out = []
    with db.transaction() as s:
        for i in range(n):
            lic = licenses.issue(
                session=s,
                actor=identity.SYSTEM,
                kind_code="rp",
                holder_user_id=None,
                holder_name=f"持证人{i}",
                holder_code=f"371302199001{i:06d}",
                holder_kind="person",
                jurisdiction="371300",
            )
            out.append(lic.payload)
    return out


def _verify_for(payloads: list[str], doc: dict, seconds: float) -> tuple[int, float, float]:  # type: ignore[type-arg]
    """One verifier's loop: (verifications, wall seconds, CPU seconds)."""
    v = credential.Verifier.from_document(doc)
    now = clock.now()
    n, t0, c0 = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - t0 < seconds:
        for pl in payloads:
            if not v.verify(pl, now).ok:
                raise SystemExit(f"not valid: {pl[:40]}")
        n += len(payloads)
    return n, time.perf_counter() - t0, time.process_time() - c0


def offline(db: Database, payloads: list[str], seconds: float = 5.0) -> None:
    with db.reader() as s:
        doc = service.trust_list(session=s)
    doc["revoked"] = [f"1.2.156.3005.2.X.Y.{i}.001.0" for i in range(10_000)]
    n, wall, cpu = _verify_for(payloads, doc, seconds)
    print(
        f"offline verify, 1 process: {n / wall:,.0f} verifications/s wall, {n / cpu:,.0f} per CPU-second "
        f"({n} in {wall:.2f} s)   load {load()}"
    )
    with multiprocessing.get_context("fork").Pool(2) as pool:
        parts = pool.starmap(_verify_for, [(payloads, doc, seconds)] * 2)
    total = sum(x[0] for x in parts)
    wall = max(x[1] for x in parts)
    per_cpu = sum(x[0] / x[2] for x in parts)
    print(
        f"offline verify, 2 processes (one per core): {total / wall:,.0f} verifications/s wall, "
        f"{per_cpu:,.0f} per 2 CPU-seconds ({total} in {wall:.2f} s)   load {load()}"
    )


def free_port() -> int:
    with socket.socket() as sk:
        sk.bind(("127.0.0.1", 0))
        return int(sk.getsockname()[1])


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (the server; under py-spy, py-spy's own)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def api(payloads: list[str], requests: int, profile: str | None) -> None:
    port = free_port()
    cmd = [sys.executable, "-m", "uvicorn", "cityos.web.main:app", "--port", str(port)]
    cmd += ["--log-level", "warning"]
    if profile:  # py-spy samples the server: a flame graph (.svg) or collapsed stacks (.txt)
        spy = str(Path(sys.executable).with_name("py-spy"))
        fmt = ["-f", "raw"] if profile.endswith(".txt") else []
        cmd = [spy, "record", "--rate", "200", *fmt, "-o", profile, "--", *cmd]
    server = subprocess.Popen(cmd, env=os.environ.copy())
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(base + "/readyz").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        lat = []
        cpu0 = _cpu_seconds(server.pid)
        with httpx.Client(base_url=base) as c:
            for i in range(100):  # warm up
                c.post("/api/v1/licenses/verify", json={"payload": payloads[i % len(payloads)]})
            for i in range(requests):
                t0 = time.perf_counter()
                r = c.post("/api/v1/licenses/verify", json={"payload": payloads[i % len(payloads)]})
                lat.append((time.perf_counter() - t0) * 1000)
                if r.json()["status"] != "valid":
                    raise SystemExit(r.text)
        cpu = (_cpu_seconds(server.pid) - cpu0) * 1000 / (requests + 100)
        print(
            f"verify API: server CPU {cpu:.2f} ms per request (utime+stime of the uvicorn process; "
            "what the figures below would be near on idle cores)"
        )
        print(
            f"verify API: p50 {statistics.median(lat):.2f} ms, p99 {p(lat, 0.99):.2f} ms, "
            f"max {max(lat):.1f} ms "
            f"({requests} sequential requests over HTTP, one uvicorn process)   load {load()}"
        )
    finally:
        server.send_signal(signal.SIGINT)  # py-spy writes its flame graph on SIGINT
        server.wait(60)


def fill(db: Database, n: int) -> list[tuple[str, str]]:
    rng = random.Random(7)
    with db.reader() as s:
        items = {
            c: (i, d)
            for c, i, d in s.execute(select(ServiceItem.code, ServiceItem.id, ServiceItem.department_id))
        }
    start = datetime(2026, 1, 1, tzinfo=UTC)
    states = ["submitted", "accepted", "issued", "issued", "issued", "rejected", "returned", "approved"]
    probes = []
    t0 = time.perf_counter()
    batch = 20_000
    with db.engine.begin() as conn:
        for lo in range(0, n, batch):
            rows = []
            for k in range(lo, min(n, lo + batch)):
                code = "GA-1" if k % 3 else "RS-1"
                item_id, dept = items[code]
                at = start + timedelta(seconds=k * 20)
                number = f"{at:%Y%m%d}{k + 1:08d}"
                idn = f"3713021990{k % 100000:06d}{k % 10}X"[:18]
                rows.append(
                    dict(
                        number=number,
                        item_id=item_id,
                        department_id=dept,
                        applicant_user_id=None,
                        applicant_kind="person",
                        applicant_name=f"申请人{k % 50000}",
                        applicant_code=idn,
                        channel="online",
                        created_by="bench",
                        state=states[k % len(states)],
                        form={},
                        consent=True,
                        missing=[],
                        returned_count=0,
                        reason="",
                        history=[],
                        created_at=at,
                        submitted_at=at,
                    )
                )
                if rng.random() < 0.0002:
                    probes.append((number, idn))
            conn.execute(insert(Application), rows)
    with db.engine.begin() as conn:  # the statistics autovacuum would have gathered on a live table
        conn.execute(text("ANALYZE"))
    print(f"stored {n:,} applications in {time.perf_counter() - t0:.0f} s (and ANALYZE)   load {load()}")
    return probes


def search(db: Database, people: dict, probes: list[tuple[str, str]], rounds: int = 500) -> None:  # type: ignore[type-arg]
    cases = {
        "back office (gaj), state=accepted": lambda s, i: service.search(
            session=s, actor=people["gaj-review"], state="accepted", limit=50
        ),
        "back office (gaj), newest": lambda s, i: service.search(
            session=s, actor=people["gaj-review"], limit=50
        ),
        "hall window, state=submitted": lambda s, i: service.search(
            session=s, actor=people["window"], state="submitted", limit=50
        ),
        "hall window, by applicant code": lambda s, i: service.search(
            session=s, actor=people["window"], q=probes[i % len(probes)][1], limit=50
        ),
        "hall window, by number": lambda s, i: service.search(
            session=s, actor=people["window"], q=probes[i % len(probes)][0], limit=50
        ),
    }
    for name, fn in cases.items():
        lat = []
        for i in range(rounds):
            with db.reader() as s:
                t0 = time.perf_counter()
                fn(s, i)
                lat.append((time.perf_counter() - t0) * 1000)
        print(
            f"search [{name}]: p50 {statistics.median(lat):.1f} ms, p99 {p(lat, 0.99):.1f} ms "
            f"({rounds} searches)   load {load()}"
        )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--licenses", type=int, default=2000)
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--applications", type=int, default=1_000_000)
    ap.add_argument("--search-only", action="store_true", help="skip the verification figures")
    ap.add_argument("--database-url", default="", help="a PostgreSQL server (a bench database is made on it)")
    ap.add_argument(
        "--profile", help="py-spy of the API server: a flame graph (.svg) or collapsed stacks (.txt)"
    )
    a = ap.parse_args()
    home = Path(tempfile.mkdtemp(prefix="license-verify-"))
    os.environ.pop("CITYOS_DATABASE_URL", None)
    admin, dbname = None, ""
    if a.database_url:
        dbname = f"cityos_bench_lv_{uuid.uuid4().hex[:6]}"
        admin = make_engine(a.database_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{dbname}"'))
        os.environ["CITYOS_DATABASE_URL"] = a.database_url.rsplit("/", 1)[0] + f"/{dbname}"
    print(f"backend: {'postgresql' if a.database_url else 'sqlite'}; python {sys.version.split()[0]}")
    db = None
    try:
        db, people = setup(home)
        if not a.search_only:
            t0 = time.perf_counter()
            payloads = issue(db, a.licenses)
            print(
                f"issued and signed {a.licenses} licenses in {time.perf_counter() - t0:.1f} s; payload "
                f"{statistics.mean(len(x) for x in payloads):.0f} characters on average"
            )
            offline(db, payloads)
            api(payloads, a.requests, a.profile)
        probes = fill(db, a.applications)
        search(db, people, probes)
    finally:
        if db is not None:
            db.engine.dispose()
        shutil.rmtree(home, ignore_errors=True)
        if admin is not None:
            with admin.connect() as c:
                c.execute(text(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
