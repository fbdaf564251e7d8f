"""领导驾驶舱 in the demo city: 统计局, 税务局, 供电公司 and 市场监管局 publish two years of monthly
figures per district through the catalog (`catalog.service.load`, as every department does; 统计局
also the province's figures, to compare with); the cockpit's department (大数据局) asks for the
conditional ones and is granted 税务局's and 供电公司's main resources, not 供电公司's 重点用能企业
data — so that metric shows as refused on the screen. Then the worker's job computes every metric
once. The districts come from geo.service (the demo's grids), never a list here."""

from __future__ import annotations

import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

from cityos.catalog import service as catalog
from cityos.catalog.schemas import AccessRequestIn, DecisionIn, ResourceIn
from cityos.cockpit import compute
from cityos.cockpit.demo_figures import figures, province_figures
from cityos.cockpit.indicators import shift
from cityos.cockpit.sources import cockpit_department, province_code
from cityos.core import clock
from cityos.core.db import Database
from cityos.demo.context import DemoContext
from cityos.geo import service as geo
from cityos.identity import service as identity
from cityos.identity.schemas import DepartmentIn, Principal, UserIn

STEWARD_PASSWORD = "demo-data-steward-2026"
NEW_DEPARTMENTS = [  # the providers, added when the city lacks them
    ("tjj", "临沂市统计局"),
    ("gdgs", "国网临沂供电公司"),
    ("swj", "国家税务总局临沂市税务局"),
    ("scjgj", "临沂市市场监督管理局"),
]
SCHEMA: dict[str, Any] = {
    "fields": [
        {
            "name": "period",
            "title": "统计期",
            "type": "string",
            "sensitivity": "public",
            "constraints": {"required": True, "minLength": 7, "maxLength": 7},
        },
        {
            "name": "region_code",
            "title": "行政区划代码",
            "type": "string",
            "format": "cn-division-code",
            "sensitivity": "public",
            "constraints": {"required": True},
        },
        {"name": "region_name", "title": "区县", "type": "string", "sensitivity": "public"},
        {
            "name": "indicator",
            "title": "指标代码",
            "type": "string",
            "sensitivity": "public",
            "constraints": {"required": True},
        },
        {"name": "indicator_name", "title": "指标名称", "type": "string", "sensitivity": "public"},
        {
            "name": "value",
            "title": "数值",
            "type": "number",
            "sensitivity": "internal",
            "constraints": {"required": True},
        },
    ],
    "primaryKey": ["period", "region_code", "indicator"],
}
# key: (code, provider, name, share type, indicators)
RESOURCES = [
    (
        "222001/000001",
        "tjj",
        "主要经济指标月度数据（分区县）",
        "unconditional",
        ["gdp", "industry_va", "fixed_investment", "retail_sales", "trade"],
    ),
    ("222002/000001", "swj", "一般公共预算收入月度数据（分区县）", "conditional", ["budget_revenue"]),
    (
        "222003/000001",
        "gdgs",
        "全社会及工业用电量月度数据（分区县）",
        "conditional",
        ["power_total", "power_industry"],
    ),
    ("222004/000001", "scjgj", "新登记市场主体月度统计（分区县）", "unconditional", ["new_entities"]),
    ("222005/000001", "gdgs", "重点用能企业用电量月度数据（分区县）", "conditional", ["power_key_firms"]),
]
PROVINCE_RESOURCE = ("222001/000002", "tjj", "全省主要经济指标月度数据（省统计局发布）", "unconditional")
LEGAL_BASIS = "《中华人民共和国统计法》第二十五条；《政务信息资源共享管理暂行办法》（国发〔2016〕51号）"
GRANTED = ("222002/000001", "222003/000001")
PROVIDERS = ("tjj", "swj", "gdgs", "scjgj")


def _stewards(db: Database, system: Principal, city: str, names: dict[str, str]) -> dict[str, Principal]:
    """The providers' departments (统计局 and 供电公司 added when missing) and a data steward each."""
    out: dict[str, Principal] = {}
    with db.transaction() as s:
        have = {d.code for d in identity.departments(session=s)}
        for code, name in NEW_DEPARTMENTS:
            if code not in have:
                identity.add_department(
                    session=s,
                    actor=system,
                    department=DepartmentIn(code=code, name=name, kind="bureau", region_code=city),
                )
        missing = []
        for code in PROVIDERS:
            dept = identity.get_department(session=s, code=code)
            stewards = identity.users(session=s, role="data_steward", department_id=dept.id)
            if stewards:
                out[code] = identity.principal_for(session=s, username=stewards[0].username)
            else:
                missing.append(code)
        new = [
            UserIn(
                username=f"steward-{code}",
                display_name=names.get(code, code),
                password=STEWARD_PASSWORD,
                roles=["data_steward"],
                department_code=code,
                region_code=city,
            )
            for code in missing
        ]
        for p in identity.add_users_bulk(session=s, actor=system, users=new) if new else []:
            out[p.department_code or ""] = p
    return out


def publish(
    db: Database,
    *,
    system: Principal,
    asker: Principal,
    city: str,
    last: str,
    grant: tuple[str, ...] = GRANTED,
    names: dict[str, str] | None = None,
) -> dict[str, Principal]:
    """Publish 24 months ending with `last` for the districts under `city` (from geo.service)
    through the catalog, as each provider's steward; `asker` (of the cockpit's department) asks
    for the conditional resources in `grant` and their providers approve. Returns the stewards."""
    stewards = _stewards(db, system, city, names or {})
    with db.reader() as s:
        fc = geo.outlines(session=s, level="district", under=city)
    districts = [(f["properties"]["code"], f["properties"]["name"]) for f in fc["features"]]
    rows = figures(districts, last)
    header = [f["name"] for f in SCHEMA["fields"]]
    with tempfile.TemporaryDirectory(prefix="cityos-cockpit-") as tmp:
        for code, provider, name, share, keys in RESOURCES:
            with db.transaction() as s:
                catalog.create_resource(
                    session=s, actor=stewards[provider], data=_resource(code, provider, name, share)
                )
            path = Path(tmp) / f"{code.replace('/', '-')}.csv"
            _csv(path, header, [r for r in rows if r[3] in keys])
            catalog.load(db=db, actor=stewards[provider], code=code, path=path, filename=path.name)
        code, provider, name, share = PROVINCE_RESOURCE  # the province's figures, to compare with
        with db.transaction() as s:
            catalog.create_resource(
                session=s, actor=stewards[provider], data=_resource(code, provider, name, share)
            )
        path = Path(tmp) / "province.csv"
        _csv(path, header, province_figures(province_code(city), last))
        catalog.load(db=db, actor=stewards[provider], code=code, path=path, filename=path.name)
    for code in grant:
        provider = next(p for c, p, *_ in RESOURCES if c == code)
        with db.transaction() as s:
            req = catalog.request_access(
                session=s,
                actor=asker,
                code=code,
                data=AccessRequestIn(
                    purpose="领导驾驶舱经济运行监测：按区县汇总当月值、累计值和同比",
                    legal_basis="《中华人民共和国统计法》第二十五条",
                ),
            )
        with db.transaction() as s:
            catalog.decide_request(
                session=s,
                actor=stewards[provider],
                request_id=req.id,
                decision=DecisionIn(approve=True, reason="同意，用于经济运行监测。"),
            )
    return stewards


def _resource(code: str, provider: str, name: str, share: str) -> ResourceIn:
    return ResourceIn(
        class_code=code[:6],
        code=code,
        name=name,
        provider=provider,
        summary=f"{name}，按月报送，含各区县当月值，用于经济运行监测和领导驾驶舱。",
        share_type=share,
        share_condition="" if share == "unconditional" else "仅限经济运行监测分析使用，不得对外公开。",
        legal_basis="" if share == "unconditional" else LEGAL_BASIS,
        update_cycle="monthly",
        tags=["经济运行", "月度"],
        topics=["经济运行"],
        table_schema=SCHEMA,
    )


def _asker(ctx: DemoContext) -> Principal:
    """A person of the cockpit's department who may ask for data (the data bureau's account)."""
    dept = cockpit_department()
    for p in ctx.users.get("data_bureau", []):
        if p.department_code == dept:
            return p
    return ctx.user("data_bureau")


def populate(ctx: DemoContext) -> None:
    last = shift(clock.local(ctx.now).strftime("%Y-%m"), -1)
    names = {c: ctx.faker.name() for c in PROVIDERS}
    try:
        clock.set_now(ctx.now - timedelta(days=5))  # the figures arrived a few days ago
        stewards = publish(
            ctx.db, system=ctx.system, asker=_asker(ctx), city=ctx.city_code, last=last, names=names
        )
        for p in stewards.values():
            if p.username.startswith("steward-") and p.username not in ctx.passwords:
                ctx.passwords[p.username] = STEWARD_PASSWORD
        clock.set_now(ctx.now)
        compute.refresh(ctx.db, force=True)  # what the worker does within its first minute
    finally:
        clock.set_now(None)
    ctx.notes.append(
        "领导驾驶舱: /cockpit (leader, admin); 经济运行简报: cityos cockpit report YYYY-MM --out FILE.pdf"
    )


def _csv(path: Path, header: list[str], rows: list[list[Any]]) -> None:
    import csv

    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
