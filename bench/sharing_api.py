"""The data API over real HTTP with the audit trail on, on a population resource of 10,000,000 rows
(issue goals: keyed lookup p99 ≤ 10 ms and ≥ 1,000 audited calls/s; bulk export ≥ 1,000,000 rows/s,
against CKAN's published datastore dump of 920,000 rows in 218 s).

A CITYOS_HOME is built under bench/.data through the real services: regions, the police bureau
(provider) and the city management bureau (consumer), a conditional 人口基础信息 resource with a
primary key, the file loaded with `service.load` (timed), an access request approved for every
field (sensitive ones masked), and a `data`-scoped token for the consumer. The app is then served by
`uvicorn cityos.web.main:app` (one process, as bench/case_intake.py serves it) and driven by
asyncio httpx clients with keep-alive doing lookups by random existing keys for a fixed time; the
audit trail must grow by exactly the number of calls. Last, full exports in CSV, NDJSON and Parquet.

    .venv/bin/python bench/sharing_api.py [--rows 10000000] [--seconds 30] [--concurrency 16]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres]

With --database-url the benchmark creates its own database on that server and drops it at the end.
The clients share the machine's cores with the server, so the figures are a floor.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import duckdb
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from case_intake import cpu_seconds
from validate import DATA, people_sql

CKAN_ROWS, CKAN_SECONDS = 920_000, 218  # CKAN datastore dump, as published
NAMES = ("张伟", "王芳", "李娜", "刘洋", "陈静", "杨帆", "赵磊", "黄敏", "周杰", "吴婷", "欧阳晓东", "司马云")

POPULATION_SCHEMA = {
    "fields": [
        {
            "name": "id_number",
            "title": "公民身份号码",
            "type": "string",
            "format": "cn-resident-id",
            "sensitivity": "sensitive",
            "constraints": {"required": True},
        },
        {
            "name": "name",
            "title": "姓名",
            "type": "string",
            "sensitivity": "sensitive",
            "mask": "name",
            "constraints": {"required": True, "maxLength": 20},
        },
        {
            "name": "gender",
            "title": "性别",
            "type": "string",
            "sensitivity": "internal",
            "constraints": {"enum": ["男", "女"]},
        },
        {
            "name": "birth_date",
            "title": "出生日期",
            "type": "date",
            "format": "any",
            "sensitivity": "internal",
        },
        {
            "name": "mobile",
            "title": "手机号码",
            "type": "string",
            "format": "cn-mobile",
            "sensitivity": "sensitive",
        },
        {
            "name": "division",
            "title": "户籍地行政区划",
            "type": "string",
            "format": "cn-division-code",
            "sensitivity": "public",
            "index": True,
        },
        {
            "name": "household_size",
            "title": "户内人数",
            "type": "integer",
            "sensitivity": "public",
            "constraints": {"minimum": 1, "maximum": 30},
        },
    ],
    "primaryKey": ["id_number"],
}


def population_csv(rows: int) -> Path:
    """A clean population file: unique valid resident IDs, gender and birth date read from them."""
    path = DATA / f"population-v1-{rows}.csv"
    if not path.exists():
        DATA.mkdir(parents=True, exist_ok=True)
        names = "[" + ", ".join(f"'{n}'" for n in NAMES) + "]"
        tmp = path.with_suffix(".tmp")
        t = time.perf_counter()
        con = duckdb.connect()
        con.execute("SET enable_progress_bar = false")
        con.execute(f"""
            COPY (
                SELECT id_number,
                       {names}[1 + CAST(hash(i, 'n') % {len(NAMES)} AS INTEGER)] AS name,
                       CASE WHEN CAST(substr(id_number, 17, 1) AS INTEGER) % 2 = 1 THEN '男' ELSE '女' END
                         AS gender,
                       substr(id_number, 7, 4) || '-' || substr(id_number, 11, 2) || '-'
                         || substr(id_number, 13, 2) AS birth_date,
                       '1' || ['3', '5', '8', '9'][1 + CAST(hash(i, 'm') % 4 AS INTEGER)]
                         || lpad(CAST(hash(i, 'p') % 1000000000 AS VARCHAR), 9, '0') AS mobile,
                       substr(id_number, 1, 6) AS division,
                       1 + CAST(hash(i, 'h') % 6 AS INTEGER) AS household_size
                FROM ({people_sql(rows, planted=False)})
            ) TO '{tmp}' (HEADER, DELIMITER ',')""")
        con.close()
        tmp.rename(path)
        print(
            f"generated {path.name} ({path.stat().st_size / 1e6:,.0f} MB) in {time.perf_counter() - t:.1f} s"
        )
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p / 100 * len(xs)))]


def setup(path: Path) -> tuple[str, str, float, int]:
    """Build the city, the resource and the grant through the services; load the file (timed).
    Returns (resource slug, consumer token, load seconds, rows in the version)."""
    from cityos.catalog import service
    from cityos.catalog.schemas import AccessRequestIn, DecisionIn, ResourceIn
    from cityos.cli import ensure_schema
    from cityos.core.db import get_db
    from cityos.identity import service as identity
    from cityos.identity.schemas import DepartmentIn, RegionIn, UserIn

    ensure_schema()
    db = get_db()
    system = identity.SYSTEM
    with db.transaction() as s:
        for code, name, level, parent in [
            ("371300", "临沂市", "city", None),
            ("371302", "兰山区", "district", "371300"),
        ]:
            identity.add_region(
                session=s,
                actor=system,
                region=RegionIn(code=code, name=name, level=level, parent_code=parent),
            )
        for code, name, kind in [
            ("dsjj", "临沂市大数据局", "data_bureau"),
            ("gaj", "临沂市公安局", "bureau"),
            ("cgj", "临沂市城市管理局", "bureau"),
        ]:
            identity.add_department(
                session=s,
                actor=system,
                department=DepartmentIn(code=code, name=name, kind=kind, region_code="371300"),
            )
        for user, role, dept in [
            ("admin1", "admin", "dsjj"),
            ("gaj-steward", "data_steward", "gaj"),
            ("cgj-steward", "data_steward", "cgj"),
        ]:
            identity.add_user(
                session=s,
                actor=system,
                user=UserIn(
                    username=user,
                    display_name=user,
                    password="bench-password-2026",
                    roles=[role],
                    department_code=dept,
                    region_code="371300",
                ),
            )
        admin, provider, consumer = (
            identity.principal_for(session=s, username=u) for u in ("admin1", "gaj-steward", "cgj-steward")
        )
    with db.transaction() as s:
        code = service.create_resource(
            session=s,
            actor=provider,
            data=ResourceIn(
                class_code="101001",
                name="人口基础信息",
                provider="gaj",
                summary="户籍人口基础信息",
                share_type="conditional",
                share_condition="用于政务服务身份核验",
                legal_basis="《中华人民共和国居民身份证法》",
                open_type="closed",
                update_cycle="monthly",
                policy="quarantine",
                tags=["人口"],
                topics=["社会保障"],
                table_schema=POPULATION_SCHEMA,
            ),
        ).code
    t = time.perf_counter()
    v = service.load(db=db, actor=provider, code=code, path=path, filename=path.name)
    load_s = time.perf_counter() - t
    if v.state != "accepted":
        raise SystemExit(
            f"the load was not accepted: {v.state} {v.report.get('fatal') or v.report.get('errors')}"
        )
    with db.transaction() as s:
        req = service.request_access(
            session=s,
            actor=consumer,
            code=code,
            data=AccessRequestIn(
                purpose="城管执法当事人身份核验",
                legal_basis="《城市管理执法办法》",
                fields=[],
                period_days=365,
            ),
        )
    with db.transaction() as s:
        service.decide_request(
            session=s,
            actor=provider,
            request_id=req.id,
            # the ID in clear: a lookup by a key the consumer sees masked is refused (field_masked)
            decision=DecisionIn(approve=True, reason="同意", period_days=365, clear_fields=["id_number"]),
        )
    with db.transaction() as s:
        token = identity.create_token(
            session=s, actor=admin, client="城管执法系统", scopes=["data"], department_code="cgj"
        ).token
    return code.replace("/", "-"), token, load_s, v.row_count


def sample_keys(slug: str, n: int = 20_000) -> list[str]:
    """Keys that exist in the current version (read from its Parquet file)."""
    from cityos.catalog import service
    from cityos.core.db import get_db

    with get_db().reader() as s:
        snap, _v = service.version_path(session=s, code=slug)
    con = duckdb.connect()
    keys = [
        r[0]
        for r in con.execute(
            f"SELECT id_number FROM read_parquet('{snap}') USING SAMPLE {n} ROWS (reservoir, 3)"
        ).fetchall()
    ]
    con.close()
    return keys


def audit_count(action: str) -> int:
    from sqlalchemy import func, select

    from cityos.core.audit import AuditRecord
    from cityos.core.db import get_db

    with get_db().reader() as s:
        return int(
            s.scalar(select(func.count()).select_from(AuditRecord).where(AuditRecord.action == action)) or 0
        )


async def lookups(
    url: str, headers: dict[str, str], keys: list[str], seconds: float, conc: int
) -> tuple[int, float, list[float], int]:
    """`conc` clients, each one request at a time on a kept-alive connection, for `seconds`."""
    lat_ms: list[float] = []
    errors = 0
    calls = 0
    rng = random.Random(11)
    stop = time.perf_counter() + seconds

    async def client_loop(client: httpx.AsyncClient) -> None:
        nonlocal errors, calls
        while time.perf_counter() < stop:
            key = rng.choice(keys)
            t = time.perf_counter()
            r = await client.get(f"{url}/{key}", headers=headers)
            lat_ms.append((time.perf_counter() - t) * 1000)
            calls += 1
            if r.status_code != 200 or r.json()["row"]["id_number"][-2:] != key[-2:]:
                errors += 1

    limits = httpx.Limits(max_connections=conc, max_keepalive_connections=conc)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        started = time.perf_counter()
        await asyncio.gather(*(client_loop(client) for _ in range(conc)))
        elapsed = time.perf_counter() - started
    return calls, elapsed, lat_ms, errors


def export(url: str, headers: dict[str, str], fmt: str) -> tuple[int, int, float]:
    """Stream an export; returns (rows, bytes, seconds). Rows are counted in what arrived."""
    t = time.perf_counter()
    size = 0
    lines = 0
    body = bytearray() if fmt == "parquet" else None
    with httpx.stream("GET", url, headers=headers, timeout=3600) as r:
        r.raise_for_status()
        announced = int(r.headers["x-row-count"])
        for chunk in r.iter_bytes(1 << 20):
            size += len(chunk)
            if body is not None:
                body.extend(chunk)
            else:
                lines += chunk.count(b"\n")
    secs = time.perf_counter() - t
    if fmt == "parquet":
        import io

        import pyarrow.parquet as pq

        rows = pq.ParquetFile(io.BytesIO(bytes(body or b""))).metadata.num_rows
    else:
        rows = lines - (1 if fmt == "csv" else 0)  # the CSV header
    if rows != announced:
        raise SystemExit(f"{fmt} export: {rows:,} rows arrived, {announced:,} announced")
    return rows, size, secs


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--seconds", type=float, default=30.0, help="duration of the lookup load")
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--database-url", default="", help="a PostgreSQL server (a bench database is made on it)")
    ap.add_argument("--formats", default="csv,ndjson,parquet")
    ap.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    ap.add_argument("--profile", help="write a py-spy flame graph of the server to this SVG path")
    args = ap.parse_args()

    path = population_csv(args.rows)
    home = DATA / f"home-{uuid.uuid4().hex[:8]}"
    os.environ["CITYOS_HOME"] = str(home)
    os.environ.pop("CITYOS_DATABASE_URL", None)
    pg_admin = None
    dbname = ""
    if args.database_url:
        from sqlalchemy import text

        from cityos.core.db import make_engine

        dbname = f"cityos_bench_{uuid.uuid4().hex[:6]}"
        pg_admin = make_engine(args.database_url, isolation_level="AUTOCOMMIT")
        with pg_admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{dbname}"'))
        os.environ["CITYOS_DATABASE_URL"] = args.database_url.rsplit("/", 1)[0] + f"/{dbname}"
    backend = "postgresql" if args.database_url else "sqlite"
    server = None
    try:
        slug, token, load_s, rows = setup(path)
        print(
            f"machine: {platform.machine()} python {platform.python_version()}, duckdb {duckdb.__version__}, "
            f"{backend}; server: uvicorn cityos.web.main:app, {args.workers} process(es); "
            "clients: asyncio httpx, same machine"
        )
        print(
            f"[{backend}] service.load of {path.name} ({path.stat().st_size / 1e6:,.0f} MB, {rows:,} rows, "
            f"7 fields, validated and written as the version's Parquet): {load_s:.1f} s, "
            f"{rows / load_s:,.0f} rows/s"
        )
        keys = sample_keys(slug)

        port = free_port()
        cmd = [sys.executable, "-m", "uvicorn", "cityos.web.main:app", "--port", str(port)]
        cmd += ["--log-level", "warning", "--workers", str(args.workers)]
        if args.profile:  # py-spy samples the server (and its workers) into a flame graph
            spy = str(Path(sys.executable).with_name("py-spy"))
            cmd = [spy, "record", "--subprocesses", "--rate", "200", "-o", args.profile, "--", *cmd]
        server = subprocess.Popen(cmd, env=os.environ.copy())
        base = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                if httpx.get(base + "/readyz").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        h = {"Authorization": f"Bearer {token}"}
        rows_url = f"{base}/api/v1/data/{slug}/rows"
        asyncio.run(lookups(rows_url, h, keys, 3, args.concurrency))  # warm-up (also recorded in the audit)
        before = audit_count("catalog.data.lookup")
        cpu0, client0 = cpu_seconds(server.pid), time.process_time()
        calls, elapsed, lat, errors = asyncio.run(lookups(rows_url, h, keys, args.seconds, args.concurrency))
        server_ms = (cpu_seconds(server.pid) - cpu0) / max(calls, 1) * 1000
        client_ms = (time.process_time() - client0) / max(calls, 1) * 1000
        grown = audit_count("catalog.data.lookup") - before
        print(
            f"[{backend}] GET /api/v1/data/{{code}}/rows/{{id_number}}: {calls / elapsed:,.0f} calls/s, "
            f"p50 {pct(lat, 50):.1f} ms, p95 {pct(lat, 95):.1f} ms, p99 {pct(lat, 99):.1f} ms "
            f"({calls:,} calls in {elapsed:.1f} s, {args.concurrency} concurrent, {errors} errors, "
            f"random keys of {rows:,} rows; {args.workers} server process(es); server CPU {server_ms:.2f} ms "
            f"per call, load generator CPU {client_ms:.2f} ms per call; "
            f"load {' '.join(f'{x:.2f}' for x in os.getloadavg())})"
        )
        print(
            f"[{backend}] audit trail: {grown:,} lookup records for {calls:,} calls "
            f"({'exactly one per call' if grown == calls else 'MISMATCH'})"
        )
        for fmt in [f for f in args.formats.split(",") if f]:
            n, size, secs = export(f"{base}/api/v1/data/{slug}/export.{fmt}", h, fmt)
            print(
                f"[{backend}] GET export.{fmt:<7}: {n / secs:12,.0f} rows/s ({n:,} rows, "
                f"{size / 1e6:,.0f} MB in {secs:.1f} s, masked as the consumer sees it)"
            )
        print(
            f"CKAN datastore dump as published: {CKAN_ROWS / CKAN_SECONDS:,.0f} rows/s "
            f"({CKAN_ROWS:,} rows in {CKAN_SECONDS} s)"
        )
        from cityos.core import audit
        from cityos.core.db import get_db

        with get_db().reader() as s:
            print(f"[{backend}] audit chain verifies: {audit.verify(s).ok}")
    finally:
        if server is not None:
            server.send_signal(signal.SIGINT)  # py-spy writes its flame graph on SIGINT
            server.wait(60)
        from cityos.core.db import get_db

        get_db().engine.dispose()
        shutil.rmtree(home, ignore_errors=True)
        if pg_admin is not None:
            from sqlalchemy import text

            with pg_admin.connect() as c:
                c.execute(text(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
