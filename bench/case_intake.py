"""Case intake over real HTTP: Open311 POST requests.json per second and p50/p99 latency from
concurrent clients (locate + duplicate check + routing + timeline + audit included), on SQLite and
PostgreSQL; then case-list latency with 1,000,000 cases stored.

    .venv/bin/python bench/case_intake.py [--requests 2000] [--concurrency 16 64] [--rows 1000000]

The server's CPU time per POST (from /proc, uvicorn and its workers) is printed beside each rate: it
is what the machine's load changes least.

The server is `cityos serve` (uvicorn, one process) on 127.0.0.1; the clients share the same
2 cores, so the figures are a floor for a machine with a separate load generator.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def setup(env: dict[str, str]) -> str:
    """Build the small demo city in the given home/database and mint an open311 token."""

    def run(*a: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "cityos", *a], env=env, capture_output=True, text=True, check=True
        )

    run("demo", "--no-serve")
    return run(
        "token", "create", "--client", "bench", "--scope", "open311", "--scope", "cases"
    ).stdout.split()[-1]


def load() -> str:
    return "load " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its children (uvicorn's workers), from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(c) for c in children.read_text().split()]
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p / 100 * len(xs)))]


async def post_load(url: str, key: str, n: int, conc: int) -> tuple[float, list[float], int]:
    from shapely.geometry import Point, shape

    from cityos.demo.geometry import generate

    rng = random.Random(7)
    polys = [shape(f["geometry"]) for f in generate("small").grids["features"]]

    def inside(poly: Any) -> tuple[float, float]:  # a random point of a grid (any shape)
        x0, y0, x1, y1 = poly.bounds
        for _ in range(50):
            x, y = rng.uniform(x0, x1), rng.uniform(y0, y1)
            if poly.contains(Point(x, y)):
                return x, y
        p = poly.representative_point()
        return p.x, p.y

    codes = ["E0402", "E0404", "E0102", "C0110", "E0201", "C0306"]
    lat_ms: list[float] = []
    errors = 0
    sem = asyncio.Semaphore(conc)

    async def one(client: httpx.AsyncClient) -> None:
        nonlocal errors
        lon, lat = inside(rng.choice(polys))
        data = {
            "api_key": key,
            "service_code": rng.choice(codes),
            "lat": f"{lat:.6f}",
            "long": f"{lon:.6f}",
            "description": "压测上报",
        }
        async with sem:
            t = time.perf_counter()
            r = await client.post(f"{url}/open311/v2/requests.json", data=data)
            lat_ms.append((time.perf_counter() - t) * 1000)
            if r.status_code != 200:
                errors += 1

    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=conc)) as client:
        started = time.perf_counter()
        await asyncio.gather(*(one(client) for _ in range(n)))
        elapsed = time.perf_counter() - started
    return n / elapsed, lat_ms, errors


def _points(n: int) -> list[tuple[float, float]]:
    """`n` random points inside the small demo city's grids (the same seed every run)."""
    from shapely.geometry import Point, shape

    from cityos.demo.geometry import generate

    rng = random.Random(11)
    polys = [shape(f["geometry"]) for f in generate("small").grids["features"]]
    out: list[tuple[float, float]] = []
    while len(out) < n:
        poly = rng.choice(polys)
        x0, y0, x1, y1 = poly.bounds
        x, y = rng.uniform(x0, x1), rng.uniform(y0, y1)
        if poly.contains(Point(x, y)):
            out.append((x, y))
    return out


def _ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    assert m, text
    return float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]


def wrk_load(url: str, key: str, seconds: int, conns: int) -> tuple[float, float, float, int, int]:
    """Open311 POSTs from wrk (C, one thread: a small share of the cores the server also needs),
    each a different point and category: (requests/s, p50 ms, p99 ms, requests, non-2xx)."""
    from urllib.parse import urlencode

    codes = ["E0402", "E0404", "E0102", "C0110", "E0201", "C0306"]
    bodies = [
        urlencode(
            {
                "api_key": key,
                "service_code": codes[i % len(codes)],
                "lat": f"{lat:.6f}",
                "long": f"{lon:.6f}",
                "description": "压测上报",
            }
        )
        for i, (lon, lat) in enumerate(_points(2000))
    ]
    lua = (
        "bodies = {"
        + ",".join(f'"{b}"' for b in bodies)
        + "}\n"
        + (
            "i = 0\n"
            "request = function()\n"
            "  i = i + 1\n"
            '  return wrk.format("POST", "/open311/v2/requests.json", '
            '{["Content-Type"] = "application/x-www-form-urlencoded"}, bodies[(i % #bodies) + 1])\n'
            "end\n"
        )
    )
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(lua)
    out = subprocess.run(
        ["wrk", "-t1", f"-c{conns}", f"-d{seconds}s", "--latency", "-s", f.name, url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    os.unlink(f.name)
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"\s50%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"\s99%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rate, p50, p99, total, int(bad.group(1)) if bad else 0


async def get_load(url: str, path: str, headers: dict[str, str], n: int, conc: int) -> list[float]:
    lat_ms: list[float] = []
    sem = asyncio.Semaphore(conc)

    async def one(client: httpx.AsyncClient) -> None:
        async with sem:
            t = time.perf_counter()
            r = await client.get(url + path, headers=headers)
            r.raise_for_status()
            lat_ms.append((time.perf_counter() - t) * 1000)

    async with httpx.AsyncClient(timeout=60) as client:
        await asyncio.gather(*(one(client) for _ in range(n)))
    return lat_ms


def bulk_cases(db_url: str, rows: int) -> float:
    """Insert `rows` cases (and no timelines) straight into the table: a stored history to query."""
    from datetime import UTC, datetime, timedelta

    from cityos.core.db import make_engine

    eng = make_engine(db_url)
    start = datetime.now(UTC) - timedelta(days=365)
    states = ["closed"] * 8 + ["handling", "filed", "reported", "handled"]
    t = time.perf_counter()
    with eng.begin() as c:
        grid_codes = [r[0] for r in c.execute(text("SELECT code FROM grids"))]
        base = c.execute(text("SELECT COALESCE(MAX(id), 0) FROM cases")).scalar() or 0
        batch = 20_000
        for off in range(0, rows, batch):
            params = []
            for i in range(off, min(rows, off + batch)):
                g = grid_codes[i % len(grid_codes)]
                at = (start + timedelta(seconds=i * 31_536_000 // rows)).replace(tzinfo=None)
                params.append(
                    {
                        "number": f"B{base + i + 1:015d}",
                        "cat": "E0402",
                        "ch": "hotline",
                        "st": states[i % len(states)],
                        "g": g,
                        "at": at,
                    }
                )
            c.execute(
                text(
                    "INSERT INTO cases (number, category_code, channel, state, urgency, description, address,"
                    " grid_code, region_code, reporter_name, reporter_phone, reported_at, stage_started_at,"
                    " escalation_level, rework_count, return_count, version)"
                    " VALUES (:number, :cat, :ch, :st, 'normal', '历史案卷', '', :g,"
                    " :g, '', '', :at, :at, 0, 0, 0, 1)"
                ),
                params,
            )
    if eng.dialect.name == "postgresql":
        with eng.begin() as c:  # what autovacuum does a minute after such a load: plans need the new stats
            c.execute(text("ANALYZE cases"))
    eng.dispose()
    return time.perf_counter() - t


def run_backend(name: str, db_url: str | None, args: argparse.Namespace) -> None:
    home = Path(tempfile.mkdtemp(prefix=f"cityos-bench-{name}-"))
    env = {**os.environ, "CITYOS_HOME": str(home)}
    if db_url:
        env["CITYOS_DATABASE_URL"] = db_url
    else:
        env.pop("CITYOS_DATABASE_URL", None)
        db_url = f"sqlite:///{home / 'cityos.db'}"
    key = setup(env)
    port = free_port()
    cmd = [sys.executable, "-m", "uvicorn", "cityos.web.main:app", "--port", str(port)]
    cmd += ["--log-level", "warning", "--workers", str(args.workers)]
    if args.profile:  # py-spy samples the server (and its workers) into a flame graph
        spy = str(Path(sys.executable).with_name("py-spy"))
        out = f"{args.profile}-{name}.svg"
        cmd = [spy, "record", "--subprocesses", "--rate", "200", "-o", out, "--", *cmd]
    server = subprocess.Popen(cmd, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if httpx.get(url + "/readyz").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        asyncio.run(post_load(url, key, 100, args.concurrency[0]))  # warm-up
        for conc in args.concurrency:
            cpu0, client0 = cpu_seconds(server.pid), time.process_time()
            rate, lat, errors = asyncio.run(post_load(url, key, args.requests, conc))
            cpu = (cpu_seconds(server.pid) - cpu0) / args.requests * 1000
            client = (time.process_time() - client0) / args.requests * 1000
            print(
                f"[{name}] Open311 POST: {rate:,.0f} requests/s, p50 {statistics.median(lat):.1f} ms, "
                f"p99 {pct(lat, 99):.1f} ms ({args.requests} requests, {conc} concurrent, {errors} errors; "
                f"server CPU {cpu:.2f} ms per POST, load generator CPU {client:.2f} ms per POST; {load()})"
            )
        if args.wrk and shutil.which("wrk"):
            for conns in args.concurrency:
                cpu0 = cpu_seconds(server.pid)
                rate, p50, p99, total, bad = wrk_load(url, key, args.wrk, conns)
                cpu = (cpu_seconds(server.pid) - cpu0) / max(total, 1) * 1000
                print(
                    f"[{name}] Open311 POST (wrk, 1 thread, {conns} connections, {args.wrk} s): {rate:,.0f} "
                    f"requests/s, p50 {p50:.1f} ms, p99 {p99:.1f} ms ({total} requests, {bad} not 2xx; "
                    f"server CPU {cpu:.2f} ms per POST; {load()})"
                )
        elif args.wrk:
            print("wrk not found (apt-get install wrk): the wrk run is skipped")
        if args.rows <= 0:
            return
        secs = bulk_cases(db_url, args.rows)
        print(f"[{name}] stored {args.rows:,} more cases in {secs:.0f} s")
        h = {"Authorization": f"Bearer {key}"}
        for path in [
            "/api/v1/cases?limit=50",
            "/api/v1/cases?limit=50&state=handling",
            "/open311/v2/requests.json?status=open&page_size=50",
        ]:
            asyncio.run(get_load(url, path, h, 10, 4))
            lat = asyncio.run(get_load(url, path, h, 200, 4))
            print(
                f"[{name}] GET {path}: p50 {statistics.median(lat):.1f} ms, p99 {pct(lat, 99):.1f} ms "
                f"(200 requests, 4 concurrent, with {args.rows:,}+ cases; {load()})"
            )
    finally:
        server.send_signal(signal.SIGINT)  # py-spy writes its flame graph on SIGINT
        server.wait(60)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--concurrency", type=int, nargs="+", default=[16, 64])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--only", choices=["sqlite", "postgresql"])
    ap.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    ap.add_argument("--wrk", type=int, default=0, help="also load the POST with wrk for this many seconds")
    ap.add_argument("--profile", help="py-spy flame graph path prefix (adds -<database>.svg)")
    args = ap.parse_args()
    if args.only != "postgresql":
        run_backend("sqlite", None, args)
    if args.only != "sqlite":
        from cityos.core.db import make_engine

        name = f"cityos_bench_{uuid.uuid4().hex[:6]}"
        admin = make_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            run_backend("postgresql", PG_ADMIN.rsplit("/", 1)[0] + f"/{name}", args)
        finally:
            with admin.connect() as c:
                c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
