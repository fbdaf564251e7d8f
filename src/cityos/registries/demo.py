"""基础库 and 交叉比对 in the demo city, after the catalog's demo (whose people, vehicles, homes,
enterprises, tax and insurance it reuses, read through the share rules like any consumer).

民政 publishes its 低保 recipients and cremation records, 人社 its pension payments, 工信 the
enterprises' power use, 住建 building permits and 发改 completed investment; the owners ask for
the grants their checks need; the data bureau binds the parts, installs the shipped checks, runs
them (so the 核查任务 lists have work) and builds both registries. Planted: 低保 recipients who own
cars or several homes, pensions paid after cremation, permits with no investment reported, and
enterprises with no power use (zombie candidates where tax and insurance are silent too).
"""

from __future__ import annotations

import csv
import random
import tempfile
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from cityos.catalog import service as catalog
from cityos.catalog.schemas import AccessRequestIn, DecisionIn
from cityos.core import calendar
from cityos.demo.context import DemoContext
from cityos.identity.schemas import Principal
from cityos.registries import service
from cityos.registries.sources import ENTRIES, resource_in

KINDS = ["物流园", "安置房", "产业园", "学校", "医院"]
NEED = ["gaj", "scjgj", "zrzyj", "rsj", "swj", "mzj", "gxj", "zjj", "fgw", "dsjj"]


def _stewards(ctx: DemoContext) -> dict[str, Principal]:
    return ctx.stewards(NEED)


def _read(ctx: DemoContext, actor: Principal, code: str, fields: list[str]) -> list[dict[str, Any]]:
    with ctx.db.transaction() as s:
        snap = catalog.snapshot(session=s, actor=actor, code=code, fields=fields, purpose="demo")
    return list(snap.table.to_pylist())


def _write(path: Path, rows: list[dict[str, Any]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return path


def _rows(
    ctx: DemoContext, st: dict[str, Principal], codes: dict[str, str], today: date
) -> dict[str, list[Any]]:
    rng = random.Random(371300_14)
    people = _read(ctx, st["gaj"], codes["population"], ["id_number", "name", "birth_date"])
    cars = Counter(r["owner_id"] for r in _read(ctx, st["gaj"], codes["vehicles"], ["owner_id", "status"]))
    homes = Counter(r["owner_id"] for r in _read(ctx, st["zrzyj"], codes["property"], ["owner_id", "use"]))
    entities = _read(ctx, st["scjgj"], codes["legal_entities"], ["uscc", "status", "legal_rep_id"])
    firms = [r["uscc"] for r in entities]
    ids = {p["id_number"] for p in people}
    names = {p["id_number"]: p["name"] for p in people}
    adults = [p for p in people if p["birth_date"] and p["birth_date"].year < today.year - 20]
    # where the register gives no representative's ID, one of the city's adults stands in
    rep_of = {e["uscc"]: e["legal_rep_id"] or rng.choice(adults)["id_number"] for e in entities}
    plain = [p for p in adults if not cars[p["id_number"]] and homes[p["id_number"]] < 2]
    plain = [p for p in plain if p["id_number"] not in set(rep_of.values())]
    reps = {rep_of[e["uscc"]] for e in entities if e["status"] in ("存续", "在业")}
    planted = [i for i in cars if i in ids][:3] + [i for i, n in homes.items() if n >= 2 and i in ids][:2]
    planted += [i for i in reps if i in ids][:2]
    recipients = [p["id_number"] for p in rng.sample(plain, min(60, len(plain)))] + planted
    dibao = [
        {
            "id_number": i,
            # planted: two recipients' names mistyped in 民政's copy (the police are the authority)
            "name": names.get(i, "") if k not in (1, 2) else names.get(i, "")[:-1] + "晓",
            "status": "停保" if k % 15 == 14 else "在保",
            "since": (today - timedelta(days=rng.randint(60, 900))).isoformat(),
            "monthly_amount": rng.choice([760, 820, 880]),
        }
        for k, i in enumerate(dict.fromkeys(recipients))
    ]
    old = [p for p in people if p["birth_date"] and p["birth_date"].year < 1962]
    elders = rng.sample(old, min(80, len(old)))
    months = [(today.replace(day=1) - timedelta(days=30 * k)).strftime("%Y%m") for k in range(6, 0, -1)]
    dead = elders[:12]
    cremations, pensions = [], []
    for k, p in enumerate(dead):
        on = today - timedelta(days=rng.randint(40, 170))
        cremations.append(
            {
                "id_number": p["id_number"],
                "name": p["name"],
                "cremated_on": on.isoformat(),
                "funeral_home": "临沂市殡仪馆",
            }
        )
        paid = [m for m in months if m <= on.strftime("%Y%m") or k < 3]  # planted: three paid on
        pensions += [{"id_number": p["id_number"], "month": m, "amount": 2300} for m in paid]
    for p in elders[12:]:
        pensions += [
            {"id_number": p["id_number"], "month": m, "amount": rng.choice([1850, 2300, 3100])}
            for m in months
        ]
    power = [
        {"uscc": u, "month": m, "kwh": rng.randint(800, 90_000)}
        for u in firms[: max(1, len(firms) - 8)]
        for m in months
    ]
    permits, investment = [], []
    for k in range(30):
        code = f"2026-371300-{47 + k % 5:02d}-01-{100_000 + k}"
        issued = today - timedelta(days=rng.randint(30, 500))
        permits.append(
            {
                "permit_no": f"371300{issued:%Y%m%d}{k:04d}",
                "project_code": code,
                "project_name": f"临沂{rng.choice(KINDS)}项目{k + 1}期",
                "uscc": rng.choice(firms),
                "issued_on": issued.isoformat(),
                "planned_investment": rng.randint(2000, 90_000),
            }
        )
        if k % 7 != 3:  # planted: projects k = 3, 10, 17, 24 report nothing
            investment.append(
                {"project_code": code, "period": months[-1], "completed_investment": rng.randint(200, 5000)}
            )
    people_of = [
        {"uscc": e["uscc"], "person_id": rep_of[e["uscc"]], "role": "法定代表人", "status": e["status"]}
        for e in entities
    ]
    return {
        "entity_people": people_of,
        "dibao": dibao,
        "cremations": cremations,
        "pensions": pensions,
        "electricity": power,
        "permits": permits,
        "investment": investment,
    }


GRANTS = {
    "mzj": {
        "vehicles": ["owner_id", "status"],
        "property": ["owner_id", "use"],
        "entity_people": ["uscc", "person_id", "status"],
        "insurance": ["id_number", "status", "contribution_base"],
    },
    "scjgj": {
        "tax": ["uscc", "period_end"],
        "insurance": ["employer_uscc", "last_paid"],
        "electricity": ["uscc", "month", "kwh"],
    },
    "fgw": {"permits": ["project_code", "issued_on", "planned_investment"]},
    "rsj": {"cremations": ["id_number", "cremated_on"]},
    "dsjj": {
        "population": ["id_number", "name", "gender", "birth_date", "address", "division"],
        "insurance": ["id_number", "insurance_type", "name", "status", "employer_uscc"],
        "dibao": ["id_number", "name", "status"],
        "tax": ["uscc", "period_end", "taxpayer"],
        "entity_people": ["uscc", "person_id", "role", "status"],  # 法人库 legal_rep_id (数据异议)
    },
}


def _grant(s: Any, consumer: Principal, provider: Principal, code: str, fields: list[str]) -> None:
    """Ask and approve; a request the consumer already has pending (another module's demo) is the
    one answered, with these fields granted in clear."""
    pending = catalog.requests(session=s, actor=consumer, box="outgoing", state="pending", code=code)
    if pending:
        rid = pending[0].id
    else:
        rid = catalog.request_access(
            session=s,
            actor=consumer,
            code=code,
            data=AccessRequestIn(
                purpose="数据交叉比对和基础库建设",
                legal_basis="《社会救助暂行办法》第六十一条；《政务信息资源共享管理暂行办法》",
                fields=fields,
            ),
        ).id
    catalog.decide_request(
        session=s,
        actor=provider,
        request_id=rid,
        decision=DecisionIn(
            approve=True,
            reason="同意，按最小必要原则提供，比对字段明文。",
            fields=fields,
            clear_fields=fields,
        ),
    )


def populate(ctx: DemoContext) -> None:
    codes: dict[str, str] = dict(ctx.extra.get("catalog", {}).get("codes", {}))
    if "population" not in codes:
        return
    st = _stewards(ctx)
    today = ctx.now.astimezone(calendar.get_calendar().tz).date()
    with ctx.db.transaction() as s:
        for part in ENTRIES:
            codes[part] = catalog.create_resource(
                session=s, actor=st[resource_in(part).provider], data=resource_in(part)
            ).code
    data = _rows(ctx, st, codes, today)
    with tempfile.TemporaryDirectory(prefix="cityos-registries-demo-") as tmp:
        for part, rows in data.items():
            if rows:
                path = _write(Path(tmp) / f"{part}.csv", rows)
                catalog.load(
                    db=ctx.db,
                    actor=st[resource_in(part).provider],
                    code=codes[part],
                    path=path,
                    filename=path.name,
                )
    providers = {
        "population": "gaj",
        "vehicles": "gaj",
        "property": "zrzyj",
        "legal_entities": "scjgj",
        "insurance": "rsj",
        "tax": "swj",
        **{p: resource_in(p).provider for p in ENTRIES},
    }
    with ctx.db.transaction() as s:
        for part, code in codes.items():
            if part in providers:
                service.bind(session=s, actor=ctx.system, name=part, code=code)
        for consumer, parts in GRANTS.items():
            for part, fields in parts.items():
                _grant(s, st[consumer], st[providers[part]], codes[part], fields)
        service.install_shipped(session=s, actor=ctx.system)
    for code in service.CHECKS:
        with ctx.db.transaction() as s:
            service.execute(session=s, actor=ctx.system, code=code, engine="duckdb")
    for reg in service.REGISTRIES:
        with ctx.db.transaction() as s:
            service.build(session=s, actor=service.bureau_principal(session=s), code=reg)
    ctx.notes.append(
        "基础库与交叉比对: /registries (核查任务 for steward-mzj, steward-rsj, steward-fgw, steward-scjgj)"
    )
