"""The demo catalog's resources (Table Schemas with Chinese titles) and the rows of each, cut from
the synthetic world in `catalog.demo_world`, with the planted errors that land in quarantine.
Used by `catalog.demo` only.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from cityos.catalog.demo_world import (
    BRANDS,
    DISEASES,
    HOSPITALS,
    USCC_ALPHABET,
    VEHICLE_KINDS,
    Person,
    World,
    address_in,
    bad_check_digit,
)


def _f(name: str, title: str, sensitivity: str = "internal", **kw: Any) -> dict[str, Any]:
    return {"name": name, "title": title, "type": "string", "sensitivity": sensitivity, **kw}


def titles(schema: dict[str, Any]) -> list[str]:
    return [f["title"] for f in schema["fields"]]


def names(schema: dict[str, Any]) -> list[str]:
    return [f["name"] for f in schema["fields"]]


# ------------------------------------------------------------------------------------ resources
POPULATION: dict[str, Any] = {
    "fields": [
        _f("id_number", "公民身份号码", "sensitive", format="cn-resident-id", constraints={"required": True}),
        _f("name", "姓名", "sensitive", mask="name", constraints={"required": True, "maxLength": 20}),
        _f("gender", "性别", constraints={"required": True, "enum": ["男", "女"]}),
        _f("ethnicity", "民族"),
        {
            "name": "birth_date",
            "title": "出生日期",
            "type": "date",
            "format": "any",
            "sensitivity": "internal",
        },
        _f("mobile", "联系电话", "sensitive", format="cn-mobile"),
        _f("division", "户籍地行政区划", "public", format="cn-division-code", index=True),
        _f("address", "户籍地址", "sensitive", mask="partial"),
        _f("household_no", "户号", index=True),
        _f(
            "relation",
            "与户主关系",
            constraints={"enum": ["户主", "配偶", "子", "女", "父亲", "母亲", "孙子", "孙女", "其他"]},
        ),
    ],
    "primaryKey": ["id_number"],
}
LEGAL_ENTITIES: dict[str, Any] = {
    "fields": [
        _f("uscc", "统一社会信用代码", "public", format="cn-uscc", constraints={"required": True}),
        _f("name", "企业名称", "public", constraints={"required": True}),
        _f("entity_type", "市场主体类型", "public"),
        _f("legal_rep", "法定代表人", "public"),
        _f("legal_rep_id", "法定代表人证件号码", "sensitive", format="cn-resident-id"),
        {
            "name": "registered_capital",
            "title": "注册资本（万元）",
            "type": "number",
            "sensitivity": "public",
            "constraints": {"minimum": 0},
        },
        {"name": "established", "title": "成立日期", "type": "date", "sensitivity": "public"},
        _f("industry_code", "行业代码", "public", index=True),
        _f("industry", "行业", "public"),
        _f("address", "住所", "public"),
        _f("division", "登记机关行政区划", "public", format="cn-division-code", index=True),
        _f("status", "登记状态", "public", constraints={"enum": ["存续", "在业", "吊销", "注销", "迁出"]}),
        _f("contact_mobile", "联系电话", "sensitive", format="cn-mobile"),
    ],
    "primaryKey": ["uscc"],
}
TAX_TYPES = ["增值税", "企业所得税", "城市维护建设税", "房产税", "城镇土地使用税", "印花税"]
TAX: dict[str, Any] = {
    "fields": [
        _f("declaration_no", "申报序号", constraints={"required": True}),
        _f("uscc", "纳税人识别号", format="cn-uscc", constraints={"required": True}, index=True),
        _f("taxpayer", "纳税人名称"),
        _f("tax_type", "征收项目", constraints={"enum": TAX_TYPES}),
        {"name": "period_start", "title": "税款所属期起", "type": "date", "sensitivity": "internal"},
        {"name": "period_end", "title": "税款所属期止", "type": "date", "sensitivity": "internal"},
        {"name": "declared_on", "title": "申报日期", "type": "date", "sensitivity": "internal"},
        {
            "name": "tax_payable",
            "title": "应纳税额（元）",
            "type": "number",
            "sensitivity": "internal",
            "constraints": {"minimum": 0},
        },
        {
            "name": "tax_paid",
            "title": "实缴税额（元）",
            "type": "number",
            "sensitivity": "internal",
            "constraints": {"minimum": 0},
        },
        _f("authority", "主管税务机关"),
    ],
    "primaryKey": ["declaration_no"],
}
PROPERTY_USES = ["住宅", "商业", "办公", "工业", "车位"]
PROPERTY: dict[str, Any] = {
    "fields": [
        _f(
            "unit_no",
            "不动产单元号",
            constraints={"required": True, "pattern": "[0-9]{12}[A-Z]{2}[0-9]{5}[A-Z][0-9]{8}"},
        ),
        _f("certificate_no", "不动产权证书号"),
        _f("owner", "权利人", "sensitive", mask="name"),
        _f("owner_id", "权利人证件号码", "sensitive", format="cn-resident-id", index=True),
        _f("location", "坐落"),
        _f("use", "用途", constraints={"enum": PROPERTY_USES}),
        {
            "name": "floor_area",
            "title": "建筑面积（平方米）",
            "type": "number",
            "sensitivity": "internal",
            "constraints": {"minimum": 0},
        },
        _f(
            "right_type",
            "权利性质",
            constraints={"enum": ["商品房", "房改房", "经济适用住房", "自建房", "出让"]},
        ),
        {
            "name": "registered_on",
            "title": "登记日期",
            "type": "date",
            "format": "any",
            "sensitivity": "internal",
        },
        {"name": "mortgaged", "title": "是否抵押", "type": "boolean", "sensitivity": "internal"},
        _f("division", "行政区划", "public", format="cn-division-code", index=True),
    ],
    "primaryKey": ["unit_no"],
}
VEHICLES: dict[str, Any] = {
    "fields": [
        _f("plate", "号牌号码", constraints={"required": True}),
        _f("plate_type", "号牌种类", constraints={"enum": sorted({k[0] for k in VEHICLE_KINDS})}),
        _f("vehicle_type", "车辆类型"),
        _f("model", "品牌型号"),
        _f("use_nature", "使用性质"),
        _f("owner", "所有人", "sensitive", mask="name"),
        _f("owner_id", "所有人身份证明号码", "sensitive", mask="id", index=True),
        {"name": "first_registered", "title": "初次登记日期", "type": "date", "sensitivity": "internal"},
        _f(
            "status", "机动车状态", constraints={"enum": ["正常", "抵押", "违法未处理", "逾期未检验", "注销"]}
        ),
        _f("division", "登记地行政区划", "public", format="cn-division-code", index=True),
    ],
    "primaryKey": ["plate", "plate_type"],
}
MU: dict[str, Any] = {
    "fields": [
        _f("uscc", "统一社会信用代码", "public", format="cn-uscc", constraints={"required": True}),
        {
            "name": "year",
            "title": "年度",
            "type": "year",
            "sensitivity": "public",
            "constraints": {"required": True},
        },
        _f("name", "企业名称", "public"),
        _f("industry_code", "行业代码", "public", index=True),
        _f("division", "所属区县", "public", format="cn-division-code", index=True),
        {
            "name": "land_mu",
            "title": "用地面积（亩）",
            "type": "number",
            "sensitivity": "internal",
            "constraints": {"minimum": 0},
        },
        {
            "name": "energy_tce",
            "title": "综合能耗（吨标准煤）",
            "type": "number",
            "sensitivity": "internal",
            "constraints": {"minimum": 0},
        },
        {"name": "tax", "title": "税收（万元）", "type": "number", "sensitivity": "internal"},
        {"name": "revenue", "title": "营业收入（万元）", "type": "number", "sensitivity": "internal"},
        {"name": "employees", "title": "年平均职工人数", "type": "integer", "sensitivity": "internal"},
        _f("grade", "评价等级", "public", constraints={"enum": ["A", "B", "C", "D"]}),
    ],
    "primaryKey": ["uscc", "year"],
}
INSURANCE_TYPES = ["企业职工基本养老保险", "职工基本医疗保险", "失业保险", "工伤保险"]
INSURANCE: dict[str, Any] = {
    "fields": [
        _f("id_number", "公民身份号码", "sensitive", format="cn-resident-id", constraints={"required": True}),
        _f("insurance_type", "险种", constraints={"required": True, "enum": INSURANCE_TYPES}),
        _f("name", "姓名", "sensitive", mask="name"),
        _f("employer_uscc", "参保单位统一社会信用代码", format="cn-uscc", index=True),
        _f("employer", "参保单位名称"),
        _f("status", "参保状态", constraints={"enum": ["参保缴费", "暂停缴费", "终止参保"]}),
        {
            "name": "start_date",
            "title": "参保日期",
            "type": "date",
            "format": "any",
            "sensitivity": "internal",
        },
        {
            "name": "contribution_base",
            "title": "缴费基数（元）",
            "type": "number",
            "sensitivity": "sensitive",
            "mask": "partial",
            "constraints": {"minimum": 0},
        },
        _f("last_paid", "最近缴费年月", constraints={"pattern": "[0-9]{6}"}),
        _f("division", "参保地行政区划", "public", format="cn-division-code", index=True),
    ],
    "primaryKey": ["id_number", "insurance_type"],
}
DISEASE: dict[str, Any] = {
    "fields": [
        _f("report_no", "报告卡编号", constraints={"required": True}),
        _f("disease", "疾病名称", constraints={"enum": [d for d, _w in DISEASES]}),
        {"name": "diagnosed_on", "title": "诊断日期", "type": "date", "sensitivity": "internal"},
        {
            "name": "age",
            "title": "年龄",
            "type": "integer",
            "sensitivity": "internal",
            "constraints": {"minimum": 0, "maximum": 120},
        },
        _f("gender", "性别", constraints={"enum": ["男", "女"]}),
        _f("division", "现住址行政区划", "public", format="cn-division-code", index=True),
        _f("reporting_unit", "报告单位"),
    ],
    "primaryKey": ["report_no"],
}


# ----------------------------------------------------------------------------------------- rows
def population_rows(w: World, people: list[Person]) -> list[list[Any]]:
    # the police system exports dates as the ID writes them: 19850612
    return [
        [
            p.id_number,
            p.name,
            p.gender,
            p.ethnicity,
            f"{p.birth:%Y%m%d}",
            p.mobile,
            p.division,
            p.address,
            p.household,
            p.relation,
        ]
        for p in people
    ]


def plant_population_errors(w: World, rows: list[list[Any]]) -> list[list[Any]]:
    """Three mistyped check digits, an impossible birth date, a person registered twice, a mobile
    with a digit missing: what a real household-registration extract brings."""
    rng = w.rng
    picked = rng.sample(range(len(rows)), 6)
    bad_ids = []
    for i in picked[:3]:
        rows[i][0] = bad_check_digit(rows[i][0])
        bad_ids.append(rows[i][0])
    rows[picked[3]][4] = rows[picked[3]][4][:4] + "0231"  # 31 February
    rows[picked[4]][5] = rows[picked[4]][5][:10] or "1386539021"
    twin = list(rows[picked[5]])
    twin[7] = address_in(w, twin[6], dict(w.districts)[twin[6]])  # registered again at a new address
    rows.insert(picked[5] + rng.randint(5, 50), twin)
    w.planted["population_ids"] = bad_ids
    return rows


def legal_entity_rows(w: World) -> list[list[Any]]:
    return [
        [
            e.uscc,
            e.name,
            e.kind,
            e.rep.name,
            e.rep.id_number,
            e.capital,
            e.established.isoformat(),
            e.industry,
            e.industry_name,
            e.address,
            e.division,
            e.status,
            e.mobile,
        ]
        for e in w.enterprises
    ]


def _quarters(today: date, n: int) -> list[tuple[date, date]]:
    q_end_month = ((today.month - 1) // 3) * 3  # the last quarter that has ended
    year = today.year
    out = []
    for _ in range(n):
        if q_end_month == 0:
            year, q_end_month = year - 1, 12
        start = date(year, q_end_month - 2, 1)
        end = (date(year + (q_end_month == 12), q_end_month % 12 + 1, 1)) - timedelta(days=1)
        out.append((start, end))
        q_end_month -= 3
    return out


def tax_rows(w: World, on: date, names_of: dict[str, str], quarters: int) -> list[list[Any]]:
    rng = w.rng
    rows: list[list[Any]] = []
    seq = 0
    active = [e for e in w.enterprises if e.status in ("存续", "在业")]
    for start, end in reversed(_quarters(on, quarters)):
        declared = end + timedelta(days=rng.randint(3, 15))
        if declared > on:
            continue
        for e in active:
            scale = e.capital * rng.uniform(8, 40)  # quarterly revenue in 元 per 万元 of capital
            kinds = ["增值税", "城市维护建设税"] + (["企业所得税"] if e.kind != "个人独资企业" else [])
            if rng.random() < 0.2:
                kinds.append(rng.choice(("房产税", "城镇土地使用税", "印花税")))
            for k in kinds:
                seq += 1
                rate = {"增值税": 0.03, "城市维护建设税": 0.0021, "企业所得税": 0.012}.get(k, 0.001)
                payable = round(scale * 100 * rate * rng.uniform(0.5, 1.5), 2)
                paid = payable if rng.random() > 0.03 else round(payable * rng.uniform(0.3, 0.9), 2)
                rows.append(
                    [
                        f"1{e.division}{declared:%Y%m}{seq:07d}",
                        e.uscc,
                        e.name,
                        k,
                        start.isoformat(),
                        end.isoformat(),
                        (declared + timedelta(days=rng.randint(-2, 0))).isoformat(),
                        payable,
                        paid,
                        f"国家税务总局临沂市{names_of[e.division]}税务局",
                    ]
                )
    # planted: a mistyped credit code and two dates that do not exist
    picked = rng.sample(range(len(rows)), 3)
    rows[picked[0]][1] = bad_check_digit(rows[picked[0]][1], USCC_ALPHABET)
    rows[picked[1]][6] = rows[picked[1]][6][:5] + "09-31"
    rows[picked[2]][6] = rows[picked[2]][6][:5] + "02-30"
    w.planted["tax_uscc"] = [rows[picked[0]][1]]
    return rows


def property_rows(w: World, n: int) -> list[list[Any]]:
    rng = w.rng
    owners = [p for p in w.people if p.age(w.today) >= 22]
    rows: list[list[Any]] = []
    seen: set[str] = set()
    while len(rows) < n:
        p = rng.choice(owners)
        use = rng.choices(PROPERTY_USES, weights=(70, 10, 5, 5, 10))[0]
        unit = (
            f"{p.division}{rng.randint(1, 12):03d}{rng.randint(1, 20):03d}GB{rng.randint(1, 3000):05d}"
            f"F{rng.randint(1, 40):04d}{rng.randint(1, 30):02d}{rng.randint(1, 4):02d}"
        )
        if unit in seen:
            continue
        seen.add(unit)
        registered = w.today - timedelta(days=rng.randint(20, 5000))
        area = {
            "住宅": (58, 180),
            "商业": (30, 400),
            "办公": (60, 600),
            "工业": (500, 8000),
            "车位": (12, 40),
        }[use]
        rows.append(
            [
                unit,
                f"鲁（{registered.year}）临沂市不动产权第{rng.randint(1, 99999):07d}号",
                p.name,
                p.id_number,
                p.address if use == "住宅" else address_in(w, p.division, dict(w.districts)[p.division]),
                use,
                round(rng.uniform(*area), 2),
                "商品房"
                if use != "工业" and rng.random() < 0.8
                else rng.choice(("房改房", "自建房", "出让")),
                f"{registered.year}/{registered.month}/{registered.day}",  # as the sheet was typed
                "是" if rng.random() < 0.3 else "否",
                p.division,
            ]
        )
    return rows


def vehicle_rows(w: World, n: int) -> list[list[Any]]:
    rng = w.rng
    owners = [p for p in w.people if p.age(w.today) >= 20]
    firms = [e for e in w.enterprises if e.industry.startswith(("G", "F"))] or w.enterprises
    letters = "ABCDEFGHJKLMNPQRSTUVWXYZ"
    kinds = [k[:3] for k in VEHICLE_KINDS]
    kind_w = [k[3] for k in VEHICLE_KINDS]
    rows: list[list[Any]] = []
    seen: set[tuple[str, str]] = set()
    while len(rows) < n:
        plate_type, vtype, nature = rng.choices(kinds, weights=kind_w)[0]
        if plate_type == "小型新能源汽车":
            plate = f"鲁Q{rng.choice('DF')}{rng.randrange(10**5):05d}"
        else:
            plate = f"鲁Q{rng.choice(letters)}{''.join(rng.choice('0123456789' + letters) for _ in range(4))}"
        if plate_type == "挂车":
            plate += "挂"
        if (plate, plate_type) in seen:
            continue
        seen.add((plate, plate_type))
        if nature == "货运" and rng.random() < 0.7:
            firm = rng.choice(firms)
            owner, owner_id, division = firm.name, firm.uscc, firm.division
        else:
            p = rng.choice(owners)
            owner, owner_id, division = p.name, p.id_number, p.division
        brand = rng.choice(BRANDS[6:]) if vtype.startswith(("重型", "轻型")) else rng.choice(BRANDS[:6])
        rows.append(
            [
                plate,
                plate_type,
                vtype,
                brand,
                nature,
                owner,
                owner_id,
                (w.today - timedelta(days=rng.randint(30, 6000))).isoformat(),
                rng.choices(("正常", "抵押", "违法未处理", "逾期未检验", "注销"), weights=(78, 8, 6, 5, 3))[
                    0
                ],
                division,
            ]
        )
    return rows


def mu_rows(w: World) -> list[list[Any]]:
    """亩均效益 survey: industrial enterprises' land, energy, tax and revenue for three years."""
    rng = w.rng
    rows = []
    firms = [e for e in w.enterprises if e.industry.startswith("C") and e.status in ("存续", "在业")]
    firms = [e for e in firms if rng.random() < 0.4]  # the surveyed: 规上 and those on 3 亩 or more
    for e in firms:
        land = round(rng.uniform(8, 260), 1)
        per_mu = rng.lognormvariate(5.2, 0.6)  # 营业收入 per 亩, 万元
        staff = max(8, int(land * rng.uniform(0.6, 3)))
        for year in range(w.today.year - 3, w.today.year):
            revenue = round(land * per_mu * rng.uniform(0.85, 1.2), 1)
            tax = round(revenue * rng.uniform(0.015, 0.06), 1)
            energy = round(revenue * rng.uniform(0.02, 0.35), 1)
            per_mu_tax = tax / land
            grade = "A" if per_mu_tax >= 15 else "B" if per_mu_tax >= 8 else "C" if per_mu_tax >= 3 else "D"
            rows.append(
                [e.uscc, year, e.name, e.industry, e.division, land, energy, tax, revenue, staff, grade]
            )
    return rows


def insurance_rows(w: World, on: date, n: int) -> list[list[Any]]:
    rng = w.rng
    employers = [e for e in w.enterprises if e.status in ("存续", "在业")]
    workers = [p for p in w.people if 18 <= p.age(on) <= 60]
    last = on.replace(day=1) - timedelta(days=1)
    rows = []
    for p in workers[:n]:
        e = rng.choice(employers)
        start = max(date(p.birth.year + 18, p.birth.month, 1), on - timedelta(days=rng.randint(60, 9000)))
        base = round(rng.uniform(4416, 22000), 0)  # 山东 2025 年度缴费基数上下限附近
        status = rng.choices(("参保缴费", "暂停缴费", "终止参保"), weights=(88, 8, 4))[0]
        paid = last if status == "参保缴费" else last - timedelta(days=rng.randint(40, 700))
        for k in INSURANCE_TYPES[: rng.choice((2, 3, 4, 4))]:
            rows.append(
                [
                    p.id_number,
                    k,
                    p.name,
                    e.uscc,
                    e.name,
                    status,
                    f"{start.year}年{start.month:02d}月{start.day:02d}日",
                    base,
                    f"{paid:%Y%m}",
                    e.division,
                ]
            )
    return rows


def disease_rows(w: World, n: int) -> list[list[Any]]:
    rng = w.rng
    diseases, dw = zip(*DISEASES, strict=True)
    rows = []
    for i in range(n):
        d = rng.choices(diseases, weights=dw)[0]
        division = rng.choice(w.districts)[0]
        on = w.today - timedelta(days=rng.randint(1, 360))
        age = rng.randint(1, 9) if d in ("手足口病", "水痘", "猩红热") else rng.randint(3, 88)
        rows.append(
            [
                f"{division}{on:%Y}{i + 1:06d}",
                d,
                on.isoformat(),
                age,
                rng.choice(("男", "女")),
                division,
                rng.choice(HOSPITALS),
            ]
        )
    return rows
