"""The base registries (基础库) and the shipped cross-checks (交叉比对), as data.

A registry field names ONE source (a binding name, the column, optionally a row condition or an
aggregate) and the ONE department that is authoritative for it (一数一源). The build refuses a
field whose bound resource is not provided by that department. `copies` are other departments'
resources that hold the same fact: where they differ from the authority, a discrepancy goes to
their holder.

A check's SQL is in the DuckDB dialect over its parts (alias → binding name) and a one-row `params`
view (`as_of`, `since_12m` DATE; `since_ym`, `as_of_ym` 'YYYYMM'); it returns one row per hit with
a `subject_key` column, the other columns (named in Chinese) being the evidence the 核查任务 shows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Copy:
    binding: str
    column: str
    key: str  # the copy's column holding the registry key


@dataclass(frozen=True)
class FieldDef:
    name: str
    title: str
    binding: str
    column: str
    authority: str  # department code (一数一源)
    key: str  # the source's column holding the registry key
    where: str = ""  # DuckDB condition on the source's rows
    agg: str = ""  # DuckDB aggregate over the key's rows (e.g. "count(*)"); default: the one value
    needs: tuple[str, ...] = ()  # further columns the condition or aggregate reads
    copies: tuple[Copy, ...] = ()


@dataclass(frozen=True)
class RegistryDef:
    code: str
    name: str
    key: str
    key_title: str
    key_binding: str  # whose keys make the registry's rows
    key_column: str
    fields: tuple[FieldDef, ...]


POPULATION = RegistryDef(
    code="population",
    name="人口基础库",
    key="id_number",
    key_title="公民身份号码",
    key_binding="population",
    key_column="id_number",
    fields=(
        FieldDef(
            "name",
            "姓名",
            "population",
            "name",
            "gaj",
            "id_number",
            copies=(Copy("insurance", "name", "id_number"), Copy("dibao", "name", "id_number")),
        ),
        FieldDef("gender", "性别", "population", "gender", "gaj", "id_number"),
        FieldDef("birth_date", "出生日期", "population", "birth_date", "gaj", "id_number"),
        FieldDef("address", "户籍地址", "population", "address", "gaj", "id_number"),
        FieldDef("division", "户籍地行政区划", "population", "division", "gaj", "id_number"),
        FieldDef(
            "insured_status",
            "养老保险参保状态",
            "insurance",
            "status",
            "rsj",
            "id_number",
            where="insurance_type = '企业职工基本养老保险'",
            needs=("insurance_type",),
        ),
        FieldDef("assistance", "最低生活保障", "dibao", "status", "mzj", "id_number"),
        FieldDef("cremated_on", "火化日期", "cremations", "cremated_on", "mzj", "id_number"),
    ),
)

LEGAL_ENTITIES = RegistryDef(
    code="legal_entities",
    name="法人基础库",
    key="uscc",
    key_title="统一社会信用代码",
    key_binding="legal_entities",
    key_column="uscc",
    fields=(
        FieldDef(
            "name",
            "企业名称",
            "legal_entities",
            "name",
            "scjgj",
            "uscc",
            copies=(Copy("tax", "taxpayer", "uscc"),),
        ),
        FieldDef("status", "登记状态", "legal_entities", "status", "scjgj", "uscc"),
        FieldDef("legal_rep", "法定代表人", "legal_entities", "legal_rep", "scjgj", "uscc"),
        FieldDef(
            "legal_rep_id",
            "法定代表人证件号码",
            "entity_people",
            "person_id",
            "scjgj",
            "uscc",
            where="role = '法定代表人' AND status IN ('存续', '在业')",
            needs=("role", "status"),
        ),
        FieldDef(
            "registered_capital", "注册资本（万元）", "legal_entities", "registered_capital", "scjgj", "uscc"
        ),
        FieldDef("established", "成立日期", "legal_entities", "established", "scjgj", "uscc"),
        FieldDef(
            "insured_staff",
            "参保职工人数",
            "insurance",
            "id_number",
            "rsj",
            "employer_uscc",
            where="insurance_type = '企业职工基本养老保险' AND status = '参保缴费'",
            agg="count(DISTINCT id_number)",
            needs=("insurance_type", "status"),
        ),
        FieldDef(
            "last_tax_period", "最近纳税所属期", "tax", "period_end", "swj", "uscc", agg="max(period_end)"
        ),
    ),
)

REGISTRIES: dict[str, RegistryDef] = {r.code: r for r in (POPULATION, LEGAL_ENTITIES)}


@dataclass(frozen=True)
class CheckDef:
    code: str
    name: str
    legal_basis: str
    owner: str  # department code
    resources: dict[str, str]  # alias -> binding name
    conditions: dict[str, list[str]]  # alias -> the fields the SQL reads (all held in clear)
    sql: str
    due_days: int = 10
    schedule: str = "monthly"
    subjects: str = "id_number"  # what subject_key holds
    notes: list[str] = field(default_factory=list)
    form: dict[str, Any] | None = None  # the declarative form the SQL was compiled from (forms.py)


DIBAO_ASSETS = CheckDef(
    code="DIBAO_ASSETS",
    name="低保对象家庭经济状况核对（车辆、房产、工商登记、工资性收入）",
    legal_basis="《社会救助暂行办法》第十一条、第六十一条；《最低生活保障审核确认办法》（民发〔2021〕57号）第十九条",
    owner="mzj",
    resources={
        "dibao": "dibao",
        "vehicles": "vehicles",
        "property": "property",
        "entities": "entity_people",
        "insurance": "insurance",
    },
    conditions={
        "dibao": ["id_number", "status"],
        "vehicles": ["owner_id", "status"],
        "property": ["owner_id", "use"],
        "entities": ["uscc", "person_id", "status"],
        "insurance": ["id_number", "status", "contribution_base"],
    },
    sql="""
WITH v AS (SELECT owner_id AS id, count(*) AS n FROM vehicles WHERE status <> '注销' GROUP BY owner_id),
p AS (SELECT owner_id AS id, count(*) AS n FROM property WHERE "use" = '住宅' GROUP BY owner_id),
e AS (SELECT person_id AS id, count(DISTINCT uscc) AS n FROM entities
      WHERE status IN ('存续', '在业') GROUP BY person_id),
w AS (SELECT id_number AS id, max(contribution_base) AS base FROM insurance
      WHERE status = '参保缴费' GROUP BY id_number)
SELECT d.id_number AS subject_key, coalesce(v.n, 0) AS "名下车辆", coalesce(p.n, 0) AS "名下住宅",
       coalesce(e.n, 0) AS "存续市场主体", w.base AS "社保缴费基数"
FROM dibao d
LEFT JOIN v ON v.id = d.id_number
LEFT JOIN p ON p.id = d.id_number
LEFT JOIN e ON e.id = d.id_number
LEFT JOIN w ON w.id = d.id_number
WHERE d.status = '在保'
  AND (coalesce(v.n, 0) >= 1 OR coalesce(p.n, 0) >= 2 OR coalesce(e.n, 0) >= 1 OR w.base > 4000)
""",
)

ZOMBIE = CheckDef(
    code="ZOMBIE_ENTERPRISE",
    name="僵尸企业识别（12个月无纳税、无社保缴费、无用电）",
    legal_basis="《关于推进企业兼并重组和处置僵尸企业的意见》；《市场主体登记管理条例》第三十四条",
    owner="scjgj",
    resources={"entities": "legal_entities", "tax": "tax", "insurance": "insurance", "power": "electricity"},
    conditions={
        "entities": ["uscc", "status", "established"],
        "tax": ["uscc", "period_end"],
        "insurance": ["employer_uscc", "last_paid"],
        "power": ["uscc", "month", "kwh"],
    },
    subjects="uscc",
    sql="""
SELECT e.uscc AS subject_key, e.status AS "登记状态", e.established AS "成立日期"
FROM entities e, params
WHERE e.status IN ('存续', '在业') AND e.established < params.since_12m
  AND NOT EXISTS (SELECT 1 FROM tax t WHERE t.uscc = e.uscc AND t.period_end >= params.since_12m)
  AND NOT EXISTS (SELECT 1 FROM insurance i WHERE i.employer_uscc = e.uscc AND i.last_paid >= params.since_ym)
  AND NOT EXISTS (SELECT 1 FROM power w WHERE w.uscc = e.uscc AND w.month >= params.since_ym AND w.kwh > 0)
""",
)

PERMIT_INVESTMENT = CheckDef(
    code="PERMIT_INVESTMENT",
    name="施工许可项目与固定资产投资入库比对（发改 × 统计）",
    legal_basis="《中华人民共和国统计法》第七条；《企业投资项目核准和备案管理条例》第十七条",
    owner="fgw",
    resources={"permits": "permits", "investment": "investment"},
    conditions={
        "permits": ["project_code", "issued_on", "planned_investment"],
        "investment": ["project_code", "completed_investment"],
    },
    subjects="project_code",
    sql="""
SELECT p.project_code AS subject_key, p.issued_on AS "发证日期", p.planned_investment AS "合同价格",
       coalesce(sum(i.completed_investment), 0) AS "累计完成投资"
FROM permits p CROSS JOIN params
LEFT JOIN investment i ON i.project_code = p.project_code
WHERE p.issued_on < params.since_6m
GROUP BY p.project_code, p.issued_on, p.planned_investment
HAVING coalesce(sum(i.completed_investment), 0) = 0
""",
)

DECEASED_PENSION = CheckDef(
    code="DECEASED_PENSION",
    name="已火化人员继续领取养老金核查",
    legal_basis="《中华人民共和国社会保险法》第八十八条；《社会保险基金行政监督办法》第十三条",
    owner="rsj",
    resources={"pensions": "pensions", "cremations": "cremations"},
    conditions={"pensions": ["id_number", "month", "amount"], "cremations": ["id_number", "cremated_on"]},
    sql="""
SELECT c.id_number AS subject_key, c.cremated_on AS "火化日期", count(*) AS "火化后发放月数",
       sum(p.amount) AS "火化后发放金额"
FROM cremations c
JOIN pensions p ON p.id_number = c.id_number
WHERE p.month > strftime(c.cremated_on, '%Y%m')
GROUP BY c.id_number, c.cremated_on
""",
)

CHECKS: dict[str, CheckDef] = {c.code: c for c in (DIBAO_ASSETS, ZOMBIE, PERMIT_INVESTMENT, DECEASED_PENSION)}
