"""A hand-made world for the registries tests, built through the real catalog and identity services:
departments with data stewards, the resources the registries and checks bind, their rows, and the
grants each reader holds (request + approval by the provider, with the fields in clear).

People (resident IDs valid per GB 11643, made with python-stdnum):
  P1 低保在保, two cars                      → DIBAO_ASSETS hit
  P2 低保在保, one home                      → no hit
  P3 低保在保, two homes                     → hit
  P4 低保在保, legal rep of a 存续 enterprise → hit (P2 is a shareholder of a 注销 one: no hit)
  P5 低保在保, paid on a 6,000 yuan base      → hit
  P6 低保停保, three cars                     → no hit (not receiving)
  P7 低保在保, one car, 注销                  → no hit
  D1 cremated 2026-08-15, pension paid 202607–202610 → DECEASED_PENSION hit (202609, 202610)
  D2 cremated 2026-09-20, pension paid to 202609     → no hit
Enterprises (established 2020 unless said): E1 no tax, no insurance, no power → ZOMBIE hit;
  E2 tax for 2026Q3, E3 insurance paid 202610, E4 power in 202609 → no hit; E5 注销 → no hit;
  E6 established 2026-03 → no hit.
Projects (today 2026-12-02, so six months back is 2026-06-03): PJ1 permit 2026-01-10, nothing
  reported → PERMIT_INVESTMENT hit; PJ2 500 reported → no; PJ3 permit 2026-10-01 → no (recent);
  PJ4 permit 2025-12-01, only zeros reported → hit.
Copies: the insurance resource spells P2's name 张二 where the police have 张贰 (authority: 公安).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from stdnum.cn import ric, uscc

from cityos.catalog import service as catalog
from cityos.catalog.schemas import AccessRequestIn, DecisionIn
from cityos.core import clock
from cityos.core.db import Database
from cityos.identity import service as identity
from cityos.identity.schemas import DepartmentIn, Principal, UserIn
from cityos.registries import service
from cityos.registries.sources import SCHEMAS, resource_in
from tests.factories import PASSWORD

NOW = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)  # Wednesday 10:00 in Shanghai
DEPTS = {
    "mzj": "临沂市民政局",
    "rsj": "临沂市人力资源和社会保障局",
    "scjgj": "临沂市市场监督管理局",
    "zrzyj": "临沂市自然资源和规划局",
    "fgw": "临沂市发展和改革委员会",
    "zjj": "临沂市住房和城乡建设局",
    "gxj": "临沂市工业和信息化局",
}


def rid(n: int, birth: str = "19950101") -> str:
    body = f"371302{birth}{n:03d}"
    return body + ric.calc_check_digit(body + "0")


def credit(n: int) -> str:
    body8 = f"{n:08d}"
    total = sum(int(c, 36) * w for c, w in zip(body8, (3, 7, 9, 10, 5, 8, 4, 2), strict=True))
    check = 11 - total % 11
    body = "91371302" + body8 + ("X" if check == 10 else "0" if check == 11 else str(check))
    return body + uscc.calc_check_digit(body)


P = {k: rid(i + 1) for i, k in enumerate(["P1", "P2", "P3", "P4", "P5", "P6", "P7", "D1", "D2"])}
E = {k: credit(i + 1) for i, k in enumerate(["E1", "E2", "E3", "E4", "E5", "E6"])}

POPULATION = {
    "fields": [
        {
            "name": "id_number",
            "title": "公民身份号码",
            "type": "string",
            "sensitivity": "sensitive",
            "format": "cn-resident-id",
            "constraints": {"required": True},
        },
        {"name": "name", "title": "姓名", "type": "string", "sensitivity": "sensitive", "mask": "name"},
        {"name": "gender", "title": "性别", "type": "string", "sensitivity": "internal"},
        {"name": "birth_date", "title": "出生日期", "type": "date", "sensitivity": "internal"},
        {
            "name": "address",
            "title": "户籍地址",
            "type": "string",
            "sensitivity": "sensitive",
            "mask": "partial",
        },
        {"name": "division", "title": "户籍地行政区划", "type": "string", "sensitivity": "public"},
    ],
    "primaryKey": ["id_number"],
}
VEHICLES = {
    "fields": [
        {"name": "plate", "title": "号牌号码", "type": "string", "sensitivity": "internal"},
        {
            "name": "owner_id",
            "title": "所有人身份证明号码",
            "type": "string",
            "sensitivity": "sensitive",
            "mask": "id",
        },
        {"name": "status", "title": "机动车状态", "type": "string", "sensitivity": "internal"},
    ],
    "primaryKey": ["plate"],
}
PROPERTY = {
    "fields": [
        {"name": "unit_no", "title": "不动产单元号", "type": "string", "sensitivity": "internal"},
        {
            "name": "owner_id",
            "title": "权利人证件号码",
            "type": "string",
            "sensitivity": "sensitive",
            "mask": "id",
        },
        {"name": "use", "title": "用途", "type": "string", "sensitivity": "internal"},
    ],
    "primaryKey": ["unit_no"],
}
ENTITIES = {
    "fields": [
        {"name": "uscc", "title": "统一社会信用代码", "type": "string", "sensitivity": "public"},
        {"name": "name", "title": "企业名称", "type": "string", "sensitivity": "public"},
        {"name": "legal_rep", "title": "法定代表人", "type": "string", "sensitivity": "public"},
        {
            "name": "legal_rep_id",
            "title": "法定代表人证件号码",
            "type": "string",
            "sensitivity": "sensitive",
            "mask": "id",
        },
        {"name": "status", "title": "登记状态", "type": "string", "sensitivity": "public"},
        {"name": "established", "title": "成立日期", "type": "date", "sensitivity": "public"},
        {
            "name": "registered_capital",
            "title": "注册资本（万元）",
            "type": "number",
            "sensitivity": "public",
        },
    ],
    "primaryKey": ["uscc"],
}
INSURANCE = {
    "fields": [
        {"name": "id_number", "title": "公民身份号码", "type": "string", "sensitivity": "sensitive"},
        {"name": "insurance_type", "title": "险种", "type": "string", "sensitivity": "internal"},
        {"name": "name", "title": "姓名", "type": "string", "sensitivity": "sensitive", "mask": "name"},
        {
            "name": "employer_uscc",
            "title": "参保单位统一社会信用代码",
            "type": "string",
            "sensitivity": "internal",
        },
        {"name": "status", "title": "参保状态", "type": "string", "sensitivity": "internal"},
        {"name": "last_paid", "title": "最近缴费年月", "type": "string", "sensitivity": "internal"},
        {
            "name": "contribution_base",
            "title": "缴费基数（元）",
            "type": "number",
            "sensitivity": "sensitive",
            "mask": "partial",
        },
    ],
    "primaryKey": ["id_number", "insurance_type"],
}
TAX = {
    "fields": [
        {"name": "declaration_no", "title": "申报序号", "type": "string", "sensitivity": "internal"},
        {"name": "uscc", "title": "纳税人识别号", "type": "string", "sensitivity": "internal"},
        {"name": "taxpayer", "title": "纳税人名称", "type": "string", "sensitivity": "internal"},
        {"name": "period_end", "title": "税款所属期止", "type": "date", "sensitivity": "internal"},
    ],
    "primaryKey": ["declaration_no"],
}
PENSION = "企业职工基本养老保险"
NAMES = {
    "P1": "王一",
    "P2": "张贰",
    "P3": "李三",
    "P4": "赵四",
    "P5": "钱五",
    "P6": "孙六",
    "P7": "周七",
    "D1": "吴八",
    "D2": "郑九",
}


def rows(part: str, insurance_name_p2: str = "张二") -> list[dict[str, Any]]:
    if part == "population":
        return [
            {
                "id_number": P[k],
                "name": n,
                "gender": "男",
                "birth_date": "1995-01-01",
                "address": "兰山区沂蒙路1号",
                "division": "371302",
            }
            for k, n in NAMES.items()
        ]
    if part == "vehicles":
        return [
            {"plate": "鲁Q10001", "owner_id": P["P1"], "status": "正常"},
            {"plate": "鲁Q10002", "owner_id": P["P1"], "status": "正常"},
            {"plate": "鲁Q60001", "owner_id": P["P6"], "status": "正常"},
            {"plate": "鲁Q60002", "owner_id": P["P6"], "status": "正常"},
            {"plate": "鲁Q60003", "owner_id": P["P6"], "status": "正常"},
            {"plate": "鲁Q70001", "owner_id": P["P7"], "status": "注销"},
        ]
    if part == "property":
        return [
            {"unit_no": "U2", "owner_id": P["P2"], "use": "住宅"},
            {"unit_no": "U3a", "owner_id": P["P3"], "use": "住宅"},
            {"unit_no": "U3b", "owner_id": P["P3"], "use": "住宅"},
        ]
    if part == "legal_entities":
        base = {
            "legal_rep": "某人",
            "legal_rep_id": P["D2"],
            "status": "存续",
            "established": "2020-05-01",
            "registered_capital": 100,
        }
        out = [{**base, "uscc": E[k], "name": f"临沂{k}商贸有限公司"} for k in E]
        out[4]["status"] = "注销"
        out[5]["established"] = "2026-03-01"
        out.append(
            {
                **base,
                "uscc": credit(99),
                "name": "临沂赵四木业有限公司",
                "legal_rep": "赵四",
                "legal_rep_id": P["P4"],
            }
        )
        return out
    if part == "insurance":
        return [
            {
                "id_number": P["P5"],
                "insurance_type": PENSION,
                "name": "钱五",
                "employer_uscc": credit(99),
                "status": "参保缴费",
                "last_paid": "202610",
                "contribution_base": 6000,
            },
            {
                "id_number": P["P2"],
                "insurance_type": PENSION,
                "name": insurance_name_p2,
                "employer_uscc": E["E3"],
                "status": "参保缴费",
                "last_paid": "202610",
                "contribution_base": 3000,
            },
        ]
    if part == "tax":
        return [
            {
                "declaration_no": "T1",
                "uscc": E["E2"],
                "taxpayer": "临沂E2商贸有限公司",
                "period_end": "2026-09-30",
            },
            {
                "declaration_no": "T2",
                "uscc": E["E1"],
                "taxpayer": "临沂E1商贸有限公司",
                "period_end": "2024-12-31",
            },
        ]
    if part == "dibao":
        st = {
            "P1": "在保",
            "P2": "在保",
            "P3": "在保",
            "P4": "在保",
            "P5": "在保",
            "P6": "停保",
            "P7": "在保",
        }
        return [
            {"id_number": P[k], "name": NAMES[k], "status": s, "since": "2024-01-01", "monthly_amount": 800}
            for k, s in st.items()
        ]
    if part == "cremations":
        return [
            {
                "id_number": P["D1"],
                "name": "吴八",
                "cremated_on": "2026-08-15",
                "funeral_home": "临沂市殡仪馆",
            },
            {
                "id_number": P["D2"],
                "name": "郑九",
                "cremated_on": "2026-09-20",
                "funeral_home": "临沂市殡仪馆",
            },
        ]
    if part == "pensions":
        out = [
            {"id_number": P["D1"], "month": m, "amount": 2100}
            for m in ("202607", "202608", "202609", "202610")
        ]
        out += [{"id_number": P["D2"], "month": m, "amount": 1900} for m in ("202608", "202609")]
        return out
    if part == "electricity":
        return [
            {"uscc": E["E4"], "month": "202609", "kwh": 1200},
            {"uscc": E["E1"], "month": "202409", "kwh": 50},
        ]
    if part == "entity_people":
        return [
            {"uscc": credit(99), "person_id": P["P4"], "role": "法定代表人", "status": "存续"},
            {"uscc": E["E5"], "person_id": P["P2"], "role": "股东", "status": "注销"},
            {"uscc": E["E2"], "person_id": P["P6"], "role": "法定代表人", "status": "存续"},
        ]
    if part == "permits":
        return [
            {
                "permit_no": f"X{k}",
                "project_code": k,
                "project_name": f"项目{k}",
                "uscc": E["E2"],
                "issued_on": d,
                "planned_investment": 1000,
            }
            for k, d in (
                ("PJ1", "2026-01-10"),
                ("PJ2", "2026-02-01"),
                ("PJ3", "2026-10-01"),
                ("PJ4", "2025-12-01"),
            )
        ]
    if part == "investment":
        return [
            {"project_code": "PJ2", "period": "202605", "completed_investment": 500},
            {"project_code": "PJ4", "period": "202603", "completed_investment": 0},
        ]
    raise KeyError(part)


OWN = {
    "population": ("gaj", POPULATION),
    "vehicles": ("gaj", VEHICLES),
    "property": ("zrzyj", PROPERTY),
    "legal_entities": ("scjgj", ENTITIES),
    "insurance": ("rsj", INSURANCE),
    "tax": ("swj", TAX),
}
# consumer department -> part -> fields granted (all in clear)
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
        "population": [f["name"] for f in POPULATION["fields"]],
        "insurance": ["id_number", "insurance_type", "name", "status"],
        "dibao": ["id_number", "name", "status"],
        "legal_entities": [f["name"] for f in ENTITIES["fields"]],
        "entity_people": ["uscc", "person_id", "role", "status"],
    },
}


@dataclass
class World:
    db: Database
    tmp: Path
    stewards: dict[str, Principal] = field(default_factory=dict)
    codes: dict[str, str] = field(default_factory=dict)
    bureau: Principal | None = None

    def load(self, part: str, data: list[dict[str, Any]]) -> None:
        path = self.tmp / f"{part}-{len(list(self.tmp.iterdir()))}.csv"
        with path.open("w", encoding="utf-8", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(data[0]))
            w.writeheader()
            w.writerows(data)
        provider = self.provider(part)
        catalog.load(
            db=self.db, actor=self.stewards[provider], code=self.codes[part], path=path, filename=path.name
        )

    def provider(self, part: str) -> str:
        if part in OWN:
            return OWN[part][0]
        return resource_in(part).provider


def build_world(
    city: Any, db: Database, tmp: Path, grants: dict[str, dict[str, list[str]]] | None = None
) -> World:
    clock.set_now(NOW)
    w = World(db=db, tmp=tmp)
    with db.transaction() as s:
        for code, name in DEPTS.items():
            identity.add_department(
                session=s,
                actor=identity.SYSTEM,
                department=DepartmentIn(code=code, name=name, kind="bureau", region_code="371300"),
            )
        for code in [*DEPTS, "gaj", "swj", "dsjj"]:
            identity.add_user(
                session=s,
                actor=identity.SYSTEM,
                user=UserIn(
                    username=f"steward-{code}",
                    display_name=f"{code}数据专员",
                    password=PASSWORD,
                    roles=["data_steward"],
                    department_code=code,
                    region_code="371300",
                ),
            )
            w.stewards[code] = identity.principal_for(session=s, username=f"steward-{code}")
        w.bureau = service.bureau_principal(session=s)
        from cityos.catalog.schemas import ResourceIn

        for part, (provider, schema) in OWN.items():
            w.codes[part] = catalog.create_resource(
                session=s,
                actor=w.stewards[provider],
                data=ResourceIn(
                    class_code="101001",
                    name=part,
                    provider=provider,
                    share_type="conditional",
                    legal_basis="《政务信息资源共享管理暂行办法》",
                    share_condition="履职需要",
                    table_schema=schema,
                ),
            ).code
        for part in SCHEMAS:
            w.codes[part] = catalog.create_resource(
                session=s, actor=w.stewards[resource_in(part).provider], data=resource_in(part)
            ).code
        for part, code in w.codes.items():
            service.bind(session=s, actor=identity.SYSTEM, name=part, code=code)
    tmp.mkdir(parents=True, exist_ok=True)
    for part in w.codes:
        w.load(part, rows(part))
    for consumer, parts in (grants if grants is not None else GRANTS).items():
        for part, fields in parts.items():
            give(w, consumer, part, fields)
    return w


def give(w: World, consumer: str, part: str, fields: list[str]) -> None:
    with w.db.transaction() as s:
        actor = w.stewards[consumer] if consumer != "dsjj" else w.stewards["dsjj"]
        req = catalog.request_access(
            session=s,
            actor=actor,
            code=w.codes[part],
            data=AccessRequestIn(purpose="数据交叉比对", legal_basis="《社会救助暂行办法》", fields=fields),
        )
        catalog.decide_request(
            session=s,
            actor=w.stewards[w.provider(part)],
            request_id=req.id,
            decision=DecisionIn(approve=True, reason="同意", clear_fields=fields),
        )
