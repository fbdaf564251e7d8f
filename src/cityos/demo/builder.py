"""Build the demo city under CITYOS_HOME: 临沂市 with the real outlines of its districts, its real
streets and communities (names and codes of 国家统计局) and unit grids generated inside them, about
20 departments with their real names, users for every role with Chinese names and printed demo
passwords, then every module's demo data (`demo.populate`)."""

from __future__ import annotations

import random
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import shapely
import shapely.geometry
from faker import Faker
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from cityos import registry
from cityos.core import clock
from cityos.core.db import Database, make_engine, use_db
from cityos.core.migrate import upgrade
from cityos.core.settings import get_settings
from cityos.demo.context import DemoContext
from cityos.demo.geometry import CityGeography, generate, inner_box
from cityos.geo import service as geo
from cityos.identity import service as identity
from cityos.identity.schemas import ROLES, DepartmentIn, Principal, RegionIn, UserIn

SEED = 371300
# (code, name, kind) — city-level bodies with their real-world names
DEPARTMENTS = [
    ("dsjj", "临沂市大数据局", "data_bureau"),
    ("gaj", "临沂市公安局", "bureau"),
    ("cgj", "临沂市城市管理局", "bureau"),
    ("jtj", "临沂市交通运输局", "bureau"),
    ("zjj", "临沂市住房和城乡建设局", "bureau"),
    ("sthjj", "临沂市生态环境局", "bureau"),
    ("scjgj", "临沂市市场监督管理局", "bureau"),
    ("swj", "国家税务总局临沂市税务局", "bureau"),
    ("zrzyj", "临沂市自然资源和规划局", "bureau"),
    ("rsj", "临沂市人力资源和社会保障局", "bureau"),
    ("wjw", "临沂市卫生健康委员会", "bureau"),
    ("mzj", "临沂市民政局", "bureau"),
    ("jyj", "临沂市教育局", "bureau"),
    ("slj", "临沂市水利局", "bureau"),
    ("nyj", "临沂市农业农村局", "bureau"),
    ("yjj", "临沂市应急管理局", "bureau"),
    ("swuj", "临沂市商务局", "bureau"),
    ("fgw", "临沂市发展和改革委员会", "bureau"),
    ("gxj", "临沂市工业和信息化局", "bureau"),
    ("rx12345", "临沂市12345政务服务便民热线", "hotline"),
    ("zwfw", "临沂市行政审批服务局", "bureau"),
]
# The district-level bodies a case in a district goes to (the demo's dispatch rules send it there,
# not to the city bureau): (code suffix, city department it stands for in its district)
DISTRICT_BODIES = [
    ("cgj", "cgj"),  # 区城市管理局 (城管执法)
    ("zjj", "zjj"),  # 区住房和城乡建设局
    ("sthj", "sthjj"),  # 市生态环境局X分局
    ("scjgj", "scjgj"),  # 区市场监督管理局
    ("gaj", "gaj"),  # 市公安局X分局 (districts) / X县公安局 (counties)
    ("jtj", "jtj"),  # 区交通运输局
]


def district_prefix(name: str, code: str) -> str:
    """The code prefix of a district's departments: ls-cgj is 兰山区城市管理局."""
    return {"兰山区": "ls", "罗庄区": "lz", "河东区": "hd"}.get(name, f"d{code[-2:]}")


def district_departments(district: str) -> list[tuple[str, str, str]]:
    """(code suffix, real-style name, city department code) of a district's bodies: districts'
    公安 and 生态环境 are branches of the city bureau (临沂市公安局兰山分局), counties have their own."""
    short = district.removesuffix("区").removesuffix("县") if len(district) > 2 else district
    police = f"临沂市公安局{short}分局" if district.endswith("区") else f"{district}公安局"
    names = {
        "cgj": f"{district}城市管理局",
        "zjj": f"{district}住房和城乡建设局",
        "sthj": f"临沂市生态环境局{short}分局",
        "scjgj": f"{district}市场监督管理局",
        "gaj": police,
        "jtj": f"{district}交通运输局",
    }
    return [(suffix, names[suffix], city) for suffix, city in DISTRICT_BODIES]


PASSWORDS = {role: f"demo-{role.replace('_', '-')}-2026" for role in ROLES}
ACCOUNTS = {  # the printed account per role: username, department, region ("" = city)
    "admin": ("admin", "dsjj", ""),
    "data_bureau": ("databureau", "dsjj", ""),
    "data_steward": ("steward", "swj", ""),
    "dispatcher": ("dispatcher", "cgj", ""),
    "inspector": ("inspector", "cgj", "371302"),
    "grid_worker": ("gridworker", "cgj", None),  # region: the first grid
    "handler": ("handler", "ls-cgj", "371302"),
    "leader": ("leader", "dsjj", ""),
    "citizen": ("citizen", None, None),
}
console = Console()


def _reset_home() -> None:
    s = get_settings()
    s.home.mkdir(parents=True, exist_ok=True)
    if s.is_sqlite:
        path = s.database_url.replace("sqlite:///", "")
        for suffix in ("", "-wal", "-shm"):
            Path(path + suffix).unlink(missing_ok=True)
    for sub in (s.datastore, s.filestore):
        if sub.exists():
            shutil.rmtree(sub)


def build(
    scale: str = "small", fresh: bool = True, db: Database | None = None, now: datetime | None = None
) -> DemoContext:
    settings = get_settings()
    if db is None:
        if fresh:
            use_db(None)
            _reset_home()
        settings.home.mkdir(parents=True, exist_ok=True)
        settings.secret_key()
        db = Database(make_engine(settings.database_url))
        use_db(db)
    upgrade(db.engine)
    demo_now = (now or clock.now()).astimezone(UTC).replace(microsecond=0)
    faker = Faker("zh_CN")
    faker.seed_instance(SEED)
    system = Principal(
        kind="user", id=0, username="demo", display_name="演示数据", roles=frozenset({"admin"})
    )
    ctx = DemoContext(
        db=db,
        scale=scale,
        rng=random.Random(SEED),
        faker=faker,
        city_code="371300",
        city_name="临沂市",
        start=demo_now - timedelta(days=365),
        now=demo_now,
        system=system,
    )
    if not fresh:
        with db.reader() as s_:
            existing = identity.city(session=s_)
        if existing is not None:  # --keep: serve the city that is there, build nothing
            ctx.notes.append(f"kept the existing demo city {existing.name} in {settings.home}")
            return ctx
    geo_data = generate(scale, seed=SEED)
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        ctx.progress = progress
        t = progress.add_task("区划与网格 regions and grids", total=3)
        with db.transaction() as s:
            identity.add_regions_bulk(
                session=s,
                regions=[
                    RegionIn(
                        code=r.code,
                        name=r.name,
                        level=r.level,
                        parent_code=r.parent_code,
                        lon=r.lon,
                        lat=r.lat,
                    )
                    for r in geo_data.regions
                ],
            )
        progress.advance(t)
        with db.transaction() as s:
            geo.import_grids(session=s, actor=system, feature_collection=geo_data.grids)
        progress.advance(t, 2)

        t = progress.add_task("部门 departments", total=1)
        with db.transaction() as s:
            for code, name, kind in DEPARTMENTS:
                d = identity.add_department(
                    session=s,
                    actor=system,
                    department=DepartmentIn(code=code, name=name, kind=kind, region_code="371300"),
                )
                ctx.departments[code] = d.id
            for r in geo_data.regions:
                if r.level != "district":
                    continue
                for suffix, name, _stands_for in district_departments(r.name):
                    code = f"{district_prefix(r.name, r.code)}-{suffix}"
                    d = identity.add_department(
                        session=s,
                        actor=system,
                        department=DepartmentIn(
                            code=code, name=name, kind="district_bureau", region_code=r.code
                        ),
                    )
                    ctx.departments[code] = d.id
        progress.advance(t)

        grids = [f["properties"]["code"] for f in geo_data.grids["features"]]
        t = progress.add_task("用户 users", total=len(ACCOUNTS) + 1)
        with db.transaction() as s:
            people = _people(geo_data, grids, scale, faker)
            created = identity.add_users_bulk(session=s, actor=system, users=[u for _, u in people])
            for (role, _u), p in zip(people, created, strict=True):
                ctx.users.setdefault(role, []).append(p)
                ctx.passwords[p.username] = PASSWORDS[role]
            by_grid = {p.region_code: p.id for p in ctx.users["grid_worker"] if p.region_code and p.id}
            geo.assign_grid_workers(session=s, actor=system, workers=by_grid)
        progress.advance(t, len(ACCOUNTS) + 1)

        # (code, box inside the grid): where demo cases drop their points, so each lands in its grid
        ctx.extra["grids"] = [
            (f["properties"]["code"], *inner_box(shapely.geometry.shape(f["geometry"])))
            for f in geo_data.grids["features"]
        ]
        for name, mod in registry.parts("demo"):
            t = progress.add_task(f"{name} demo data", total=None)
            mod.populate(ctx)
            progress.update(t, total=1, completed=1)
    return ctx


def _people(geo_data: CityGeography, grids: list[str], scale: str, faker: Faker) -> list[tuple[str, UserIn]]:
    """Everyone the demo city has: the printed account per role, an inspector per district, a
    handler per district body, 20 citizens and the grid workers (per grid small, per community city)."""
    people: list[tuple[str, UserIn]] = []
    for role, (username, dept, region) in ACCOUNTS.items():
        reg = grids[0] if role == "grid_worker" else (region or ("371300" if region == "" else None))
        people.append(
            (
                role,
                UserIn(
                    username=username,
                    display_name=faker.name(),
                    password=PASSWORDS[role],
                    roles=[role],
                    department_code=dept,
                    region_code=reg,
                    phone=faker.phone_number(),
                ),
            )
        )
    # more staff so queues and evaluations have people: an inspector per district and a
    # handler for each district body (the printed `handler` is 兰山区城市管理局's)
    for r in (r for r in geo_data.regions if r.level == "district"):
        people.append(
            (
                "inspector",
                UserIn(
                    username=f"inspector{r.code}",
                    display_name=faker.name(),
                    password=PASSWORDS["inspector"],
                    roles=["inspector"],
                    department_code="cgj",
                    region_code=r.code,
                ),
            )
        )
        for suffix, _name, _city in district_departments(r.name):
            people.append(
                (
                    "handler",
                    UserIn(
                        username=f"handler{r.code}" + ("" if suffix == "cgj" else suffix),
                        display_name=faker.name(),
                        password=PASSWORDS["handler"],
                        roles=["handler"],
                        department_code=f"{district_prefix(r.name, r.code)}-{suffix}",
                        region_code=r.code,
                    ),
                )
            )
    for i in range(20):
        people.append(
            (
                "citizen",
                UserIn(
                    username=f"citizen{i + 1:03d}",
                    display_name=faker.name(),
                    password=PASSWORDS["citizen"],
                    roles=["citizen"],
                    phone=faker.phone_number(),
                ),
            )
        )
    # one grid worker per grid (small scale) or per community (city scale)
    communities = sorted({g[:12] for g in grids})
    worker_grids = (
        grids[1:] if scale == "small" else [next(g for g in grids if g.startswith(c)) for c in communities]
    )
    for g in worker_grids:
        people.append(
            (
                "grid_worker",
                UserIn(
                    username=f"gw{g}",
                    display_name=faker.name(),
                    password=PASSWORDS["grid_worker"],
                    roles=["grid_worker"],
                    department_code="cgj",
                    region_code=g,
                ),
            )
        )
    return people


def print_accounts(ctx: DemoContext, url: str, serving: bool = True) -> None:
    """The demo accounts (one per role, with its department and region by name) and the URL, last,
    whether the command goes on to serve the city or exits (`--no-serve`)."""
    table = Table(title=f"演示账号 Demo accounts · {ctx.city_name}")
    for col in ("角色 role", "用户名 username", "密码 password", "部门 department", "区域 region"):
        table.add_column(col)
    with ctx.db.reader() as s:
        for role, (username, _d, _r) in ACCOUNTS.items():
            u = identity.get_user(session=s, username=username)
            region = identity.get_region(session=s, code=u.region_code).name if u.region_code else "-"
            table.add_row(role, username, PASSWORDS[role], u.department_name or "-", region)
    Console(width=max(console.width, 150)).print(table)
    # notes and the last line are never wrapped: they carry paths and commands to copy
    for line in ctx.notes:
        console.print(line, soft_wrap=True)
    if serving:
        console.print(
            f"\n[bold green]CityOS demo city ready 演示城市已就绪:[/bold green] {url}", soft_wrap=True
        )
    else:
        console.print(
            f"\n[bold green]CityOS demo city built 演示城市已生成[/bold green] in {get_settings().home}; "
            f"serve it with `cityos serve` (or `make serve`) and open {url}",
            soft_wrap=True,
        )
