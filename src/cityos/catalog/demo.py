"""数据共享交换 in the demo city: the departments publish their resources, send their data the way
departments really do (GBK CSV with Chinese headers from the police and tax systems, an Excel sheet
from the 亩均效益 survey, UTF-8 from newer systems), and share it through the real services.

Everything goes through `cityos.catalog.service` with the clock moved, so versions, quality
reports, quarantines, requests, deadlines, escalations and the use statistics are real:

- 8 resources of 7 departments, 基础 (101 人口, 102 法人, 103 自然资源), 主题 (201 亩均效益) and
  部门 (3 + the department's place in the builder's list) — unconditional, conditional and not
  shared; one open, one conditionally open;
- the population is loaded twice; its second file and the tax file carry planted errors (bad check
  digits, impossible dates, a duplicate key, a short mobile), which land in quarantine;
- the social insurance resource is monthly but was last sent three months ago (stale);
- access requests approved (one with a sensitive field in clear), refused, pending, and one
  overdue that is escalated to the data bureau; a few dozen data-API calls, some refused.

The rows are synthetic but consistent: resident IDs carry the division code of their holder's
birth (the 3728xx codes of 临沂地区 before Linyi became a prefecture-level city in 1994) and pass
python-stdnum's check; credit codes carry valid organisation-code and USCC check characters; the
same people and enterprises appear in every resource. Deterministic for the demo seed.
"""

from __future__ import annotations

import csv
import io
import random
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import openpyxl
from stdnum.cn import ric, uscc

from cityos.catalog import reader, service
from cityos.catalog.schemas import AccessRequestIn, DecisionIn, ResourceIn
from cityos.core import clock
from cityos.core.errors import CityOSError
from cityos.demo.context import DemoContext
from cityos.identity import service as identity
from cityos.identity.schemas import Principal, UserIn

SEED = 371300_2
SIZES = {
    "small": {
        "people": 2000,
        "enterprises": 300,
        "tax_quarters": 1,
        "insured": 250,
        "vehicles": 400,
        "properties": 400,
        "disease": 200,
    },
    "city": {
        "people": 120_000,
        "enterprises": 12_000,
        "tax_quarters": 4,
        "insured": 30_000,
        "vehicles": 40_000,
        "properties": 30_000,
        "disease": 3000,
    },
}
STEWARD_PASSWORD = "demo-data-steward-2026"
# departments that publish or ask for data and so need a data steward (the builder's one is 税务局's)
STEWARDS = ["gaj", "scjgj", "zrzyj", "rsj", "gxj", "wjw", "zwfw", "zjj", "mzj", "jtj", "jyj", "cgj"]

# An ID keeps the division code of its holder's first registration: before 1994 临沂 was a
# prefecture (临沂地区, 3728xx); its three districts were the county-level 临沂市 (372801, 1983-1994),
# before that 临沂县 (372821). stdnum checks the code against the birth year, so must we.
OLD_CODES = {
    "371321": "372832",
    "371322": "372822",
    "371323": "372827",
    "371324": "372823",
    "371325": "372831",
    "371326": "372830",
    "371327": "372824",
    "371328": "372829",
    "371329": "372833",
}
ROADS = [
    "沂蒙路",
    "通达路",
    "解放路",
    "金雀山路",
    "银雀山路",
    "北京路",
    "上海路",
    "南京路",
    "工业大道",
    "蒙山大道",
    "临西一路",
    "滨河大道",
    "沂州路",
    "红旗路",
    "启阳路",
    "涑河北街",
    "人民大街",
    "沂河路",
    "兰山路",
    "孝河路",
]
VILLAGE_HEADS = list("王李张刘孙高徐杜朱马前后东西大小")
VILLAGE_TAILS = ["庄", "家庄", "官庄", "埠", "岭", "店", "湖", "屯", "疃", "家沟"]
ETHNICITIES = [
    ("汉族", 980),
    ("回族", 12),
    ("满族", 3),
    ("蒙古族", 2),
    ("壮族", 1),
    ("朝鲜族", 1),
    ("苗族", 1),
]
MOBILE_PREFIXES = [
    *(f"13{d}" for d in range(10)),
    *(f"15{d}" for d in (0, 1, 2, 3, 5, 6, 7, 8, 9)),
    *(f"18{d}" for d in range(10)),
    "166",
    "177",
    "198",
    "199",
]
# (GB/T 4754 行业代码, 名称, 行业用词): 临沂's wood, metal, food and logistics trades
INDUSTRIES = [
    ("C2021", "胶合板制造", "木业"),
    ("C2022", "纤维板制造", "板材"),
    ("C3130", "钢压延加工", "钢铁"),
    ("C3311", "金属结构制造", "钢结构"),
    ("C3484", "机械零部件加工", "机械"),
    ("C1391", "淀粉及淀粉制品制造", "食品"),
    ("C1495", "食品及饲料添加剂制造", "生物科技"),
    ("C2710", "化学药品原料药制造", "制药"),
    ("C3360", "金属表面处理及热处理加工", "金属制品"),
    ("C2641", "涂料制造", "化工"),
    ("F5179", "其他机械设备及电子产品批发", "商贸"),
    ("F5137", "服装批发", "服饰"),
    ("G5430", "道路货物运输", "物流"),
    ("G5960", "通用仓储", "仓储"),
    ("I6510", "软件开发", "信息科技"),
    ("E4790", "其他房屋建筑业", "建设工程"),
    ("H6210", "正餐服务", "餐饮"),
]
ENTITY_TYPES = [
    ("有限责任公司（自然人投资或控股）", 70),
    ("有限责任公司（自然人独资）", 12),
    ("股份有限公司（非上市、自然人投资或控股）", 5),
    ("个人独资企业", 6),
    ("合伙企业", 3),
    ("农民专业合作社", 4),
]
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
HOSPITALS = [
    "临沂市人民医院",
    "临沂市中医医院",
    "临沂市妇女儿童医院",
    "临沂市中心医院",
    "临沂市肿瘤医院",
    "兰山区人民医院",
    "罗庄区人民医院",
    "河东区人民医院",
]
DISEASES = [
    ("流行性感冒", 40),
    ("手足口病", 14),
    ("其他感染性腹泻病", 18),
    ("肺结核", 6),
    ("乙型病毒性肝炎", 8),
    ("梅毒", 5),
    ("猩红热", 3),
    ("水痘", 6),
]
BRANDS = [  # cars first, then the trucks
    "大众牌FV7151BABWG",
    "丰田牌TV7250BXEV",
    "比亚迪牌BYD7005BEV",
    "长城牌CC6460RM0A",
    "五菱牌LZW6445KF",
    "吉利牌MR7153L01",
    "解放牌CA4250P66K24T1E5",
    "东风牌DFH4250A",
    "重汽牌ZZ4257V324HF1",
    "福田牌BJ1045V9JDA",
]
VEHICLE_KINDS = [  # (号牌种类, 车辆类型, 使用性质, weight): a logistics city has many trucks
    ("小型汽车", "小型轿车", "非营运", 46),
    ("小型新能源汽车", "小型轿车", "非营运", 16),
    ("小型汽车", "小型普通客车", "非营运", 12),
    ("大型汽车", "重型半挂牵引车", "货运", 10),
    ("大型汽车", "重型厢式货车", "货运", 5),
    ("小型汽车", "轻型普通货车", "货运", 6),
    ("小型汽车", "小型轿车", "出租客运", 3),
    ("挂车", "重型平板半挂车", "货运", 2),
]


@dataclass
class Person:
    id_number: str
    name: str
    gender: str
    ethnicity: str
    birth: date
    mobile: str
    division: str
    address: str
    household: str
    relation: str

    def age(self, on: date) -> int:
        return on.year - self.birth.year - ((on.month, on.day) < (self.birth.month, self.birth.day))


@dataclass
class Enterprise:
    uscc: str
    name: str
    kind: str
    industry: str
    industry_name: str
    rep: Person
    capital: float
    established: date
    address: str
    division: str
    status: str
    mobile: str


@dataclass
class World:
    """The people and enterprises every resource is cut from."""

    rng: random.Random
    today: date
    districts: list[tuple[str, str]]  # (code, name)
    streets: dict[str, list[str]]
    people: list[Person] = field(default_factory=list)
    enterprises: list[Enterprise] = field(default_factory=list)
    planted: dict[str, list[str]] = field(default_factory=dict)


# ----------------------------------------------------------------------------------- identifiers
def area_code(division: str, year: int) -> str:
    if year >= 1994:
        return division
    if division in OLD_CODES:
        return OLD_CODES[division]
    return "372801" if year >= 1983 else "372821"


def resident_id(division: str, birth: date, serial: int) -> str:
    body = f"{area_code(division, birth.year)}{birth:%Y%m%d}{serial:03d}"
    return body + ric.calc_check_digit(body + "0")  # stdnum's function skips the last character


def org_code(body8: str) -> str:
    """GB 11714 organisation code: eight characters and their check character."""
    weights = (3, 7, 9, 10, 5, 8, 4, 2)
    total = sum(int(c, 36) * w for c, w in zip(body8, weights, strict=True))
    check = 11 - total % 11
    return body8 + ("X" if check == 10 else "0" if check == 11 else str(check))


def credit_code(rng: random.Random, division: str, kind: str, established: date) -> str:
    head = "93" if kind == "农民专业合作社" else "91"
    if established.year >= 2015:  # codes given since the 2015 reform start with MA
        body8 = "MA" + "".join(rng.choice(USCC_ALPHABET[:-6]) for _ in range(6))
    else:
        body8 = "".join(rng.choice("0123456789") for _ in range(8))
    body = head + division + org_code(body8)
    return body + uscc.calc_check_digit(body)


def bad_check_digit(number: str, alphabet: str = "0123456789X") -> str:
    """The same number with a wrong last character: the commonest typing error."""
    wrong = alphabet[(alphabet.index(number[-1]) + 3) % len(alphabet)]
    return number[:-1] + wrong


def mobile(rng: random.Random) -> str:
    return rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"


# ---------------------------------------------------------------------------------------- world
def _gbk_names(names: list[str]) -> list[str]:
    out = []
    for n in names:
        try:
            n.encode("gbk")
        except UnicodeEncodeError:
            continue  # a rare character some GBK systems cannot carry; real ones use GB18030
        out.append(n)
    return sorted(set(out))


def _address(w: World, division: str, name: str) -> str:
    rng = w.rng
    street = rng.choice(w.streets.get(division) or [""])
    if division in ("371302", "371311", "371312"):
        return (
            f"临沂市{name}{street}{rng.choice(ROADS)}{rng.randint(1, 399)}号"
            f"{rng.randint(1, 30)}号楼{rng.randint(1, 4)}单元{rng.randint(1, 28)}0{rng.randint(1, 4)}"
        )
    village = rng.choice(VILLAGE_HEADS) + rng.choice(VILLAGE_TAILS)
    return f"临沂市{name}{street}{village}村{rng.randint(1, 260)}号"


def build_world(ctx: DemoContext, districts: list[tuple[str, str]], streets: dict[str, list[str]]) -> World:
    rng = random.Random(SEED)
    size = SIZES.get(ctx.scale, SIZES["small"])
    pool = max(600, size["people"] // 25)
    male = _gbk_names([ctx.faker.name_male() for _ in range(pool)])
    female = _gbk_names([ctx.faker.name_female() for _ in range(pool)])
    today = clock.local(ctx.now).date()
    w = World(rng=rng, today=today, districts=districts, streets=streets)
    codes = [c for c, _n in districts]
    dnames = dict(districts)
    weights = [5 if c in ("371302", "371311", "371312") else 2 for c in codes]
    ethnic, ethnic_w = zip(*ETHNICITIES, strict=True)
    seen: set[str] = set()
    household = 0

    def person(division: str, age: int, gender: str, relation: str, hh: str, address: str) -> Person:
        while True:
            born = today - timedelta(days=age * 365 + rng.randrange(365))
            gender_digit = rng.choice((1, 3, 5, 7, 9) if gender == "男" else (0, 2, 4, 6, 8))
            idn = resident_id(division, born, rng.randrange(100) * 10 + gender_digit)
            if idn not in seen:
                seen.add(idn)
                break
        return Person(
            id_number=idn,
            name=rng.choice(male if gender == "男" else female),
            gender=gender,
            ethnicity=rng.choices(ethnic, weights=ethnic_w)[0],
            birth=born,
            mobile=mobile(rng) if age >= 16 else "",
            division=division,
            address=address,
            household=hh,
            relation=relation,
        )

    while len(w.people) < size["people"]:
        household += 1
        division = rng.choices(codes, weights=weights)[0]
        hh = f"{division[2:]}{household:07d}"
        address = _address(w, division, dnames[division])
        head_age = rng.randint(22, 88)
        head_gender = rng.choice(("男", "男", "女"))
        members = [person(division, head_age, head_gender, "户主", hh, address)]
        n = rng.choices((1, 2, 3, 4, 5), weights=(14, 30, 28, 19, 9))[0]
        if n >= 2:
            sp_gender = "女" if head_gender == "男" else "男"
            sp_age = max(20, head_age + rng.randint(-4, 4))
            members.append(person(division, sp_age, sp_gender, "配偶", hh, address))
        for _ in range(n - 2):
            age = head_age - rng.randint(23, 36)
            if age < 0:
                break
            g = rng.choice(("男", "女"))
            members.append(person(division, age, g, "子" if g == "男" else "女", hh, address))
        w.people.extend(members)
    del w.people[size["people"] :]

    adults = [p for p in w.people if 25 <= p.age(today) <= 70]
    industrial = [i for i in INDUSTRIES if i[0].startswith("C")]
    taken: set[str] = set()
    kinds, kind_w = zip(*ENTITY_TYPES, strict=True)
    while len(w.enterprises) < size["enterprises"]:
        kind = rng.choices(kinds, weights=kind_w)[0]
        ind = rng.choice(industrial) if rng.random() < 0.45 else rng.choice(INDUSTRIES)
        division = rng.choices(codes, weights=weights)[0]
        prefix = ctx.faker.company_prefix()
        if kind == "农民专业合作社":
            name = f"临沂市{dnames[division]}{prefix}种植专业合作社"
        elif kind == "个人独资企业":
            name = f"{dnames[division]}{prefix}{ind[2]}经营部"
        elif kind.startswith("股份"):
            name = f"山东{prefix}{ind[2]}股份有限公司"
        elif kind == "合伙企业":
            name = f"临沂{prefix}{ind[2]}合伙企业（有限合伙）"
        else:
            name = f"临沂{prefix}{ind[2]}有限公司"
        if name in taken:
            continue
        taken.add(name)
        established = today - timedelta(days=rng.randint(200, 9000))
        w.enterprises.append(
            Enterprise(
                uscc=credit_code(rng, division, kind, established),
                name=name,
                kind=kind,
                industry=ind[0],
                industry_name=ind[1],
                rep=rng.choice(adults),
                capital=round(rng.choice((10, 50, 100, 200, 500, 1000, 3000, 5000)) * rng.uniform(0.8, 1.2)),
                established=established,
                address=_address(w, division, dnames[division]),
                division=division,
                status=rng.choices(("存续", "在业", "吊销", "注销"), weights=(80, 12, 3, 5))[0],
                mobile=mobile(rng),
            )
        )
    return w


# ---------------------------------------------------------------------------------------- files
def write_csv(path: Path, header: Sequence[str], rows: list[list[Any]], encoding: str = "utf-8") -> Path:
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\r\n")  # as Windows exports them
    out.writerow(header)
    out.writerows(rows)
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


def write_xlsx(path: Path, header: Sequence[str], rows: list[list[Any]], sheet: str) -> Path:
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet(sheet)
    ws.append(list(header))
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path


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
    twin[7] = _address(w, twin[6], dict(w.districts)[twin[6]])  # registered again at a new address
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
                p.address if use == "住宅" else _address(w, p.division, dict(w.districts)[p.division]),
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


# ------------------------------------------------------------------------------------- populate
def _stewards(ctx: DemoContext) -> dict[str, Principal]:
    out = {p.department_code: p for p in ctx.users.get("data_steward", []) if p.department_code}
    missing = [c for c in STEWARDS if c not in out and c in ctx.departments]
    if missing:
        with ctx.db.transaction() as s:
            created = identity.add_users_bulk(
                session=s,
                actor=ctx.system,
                users=[
                    UserIn(
                        username=f"steward-{c}",
                        display_name=ctx.faker.name(),
                        password=STEWARD_PASSWORD,
                        roles=["data_steward"],
                        department_code=c,
                        region_code=ctx.city_code,
                    )
                    for c in missing
                ],
            )
        for p in created:
            ctx.users.setdefault("data_steward", []).append(p)
            ctx.passwords[p.username] = STEWARD_PASSWORD
            if p.department_code:
                out[p.department_code] = p
    return out


class Demo:
    """The catalog demo's steps, sharing the stewards, the world and a scratch directory."""

    def __init__(self, ctx: DemoContext, tmp: Path) -> None:
        self.ctx = ctx
        self.tmp = tmp
        self.stewards = _stewards(ctx)
        self.codes: dict[str, str] = {}
        with ctx.db.reader() as s:
            districts = [
                (r.code, r.name) for r in identity.regions(session=s, level="district", under=ctx.city_code)
            ]
            streets = {
                c: [r.name for r in identity.regions(session=s, level="street", under=c)]
                for c, _n in districts
            }
        self.w = build_world(ctx, districts, streets)
        self.size = SIZES.get(ctx.scale, SIZES["small"])

    def at(self, days_ago: float) -> datetime:
        t = self.ctx.now - timedelta(days=days_ago)
        clock.set_now(t)
        return t

    def create(self, key: str, data: ResourceIn, days_ago: float) -> str:
        self.at(days_ago)
        with self.ctx.db.transaction() as s:
            code = service.create_resource(session=s, actor=self.stewards[data.provider], data=data).code
        self.codes[key] = code
        return code

    def load(self, key: str, provider: str, path: Path, days_ago: float, mode: str = "replace") -> None:
        self.at(days_ago)
        service.load(
            db=self.ctx.db,
            actor=self.stewards[provider],
            code=self.codes[key],
            path=path,
            filename=path.name,
            mode=mode,
        )

    def resources(self) -> None:
        w, ctx, size, tmp = self.w, self.ctx, self.size, self.tmp
        start = (ctx.now - ctx.start).days  # the demo year's first day, in days ago
        today = w.today

        # 101 人口基础信息 — 公安局, monthly, conditional, never open; GBK CSV with Chinese headers
        self.create(
            "population",
            ResourceIn(
                class_code="101001",
                name="人口基础信息（户籍人口）",
                provider="gaj",
                summary="临沂市户籍人口的公民身份号码、姓名、性别、民族、出生日期、户籍地址、户号及与户主关系，"
                "来源于公安人口管理信息系统，按月全量更新。",
                share_type="conditional",
                share_condition="仅限政务服务身份核验、社会救助核对、公共服务资格审核等履职需要，按最小必要原则申请字段；"
                "敏感字段默认脱敏，确需明文的须说明法定依据。",
                legal_basis="《中华人民共和国居民身份证法》第十九条、第二十条；《中华人民共和国个人信息保护法》第三十四条；"
                "《政务信息资源共享管理暂行办法》（国发〔2016〕51号）",
                share_methods=["api", "subscription"],
                open_type="closed",
                update_cycle="monthly",
                tags=["人口", "户籍", "身份核验"],
                topics=["社会保障", "公共安全"],
                table_schema=POPULATION,
            ),
            start - 10,
        )
        people = list(w.people)
        newcomers = max(20, len(people) // 50)
        v1 = population_rows(w, people[:-newcomers])
        self.load(
            "population", "gaj", write_csv(tmp / "户籍人口_上月.csv", titles(POPULATION), v1, "gbk"), 34
        )
        v2 = plant_population_errors(w, population_rows(w, people))
        self.load(
            "population",
            "gaj",
            write_csv(tmp / f"户籍人口_{today:%Y%m}.csv", titles(POPULATION), v2, "gbk"),
            3,
        )

        # 102 法人基础信息 — 市场监管局, weekly, unconditional and open (its public fields)
        self.create(
            "legal_entities",
            ResourceIn(
                class_code="102001",
                name="市场主体登记信息",
                provider="scjgj",
                summary="在临沂市登记的企业、个人独资企业、合伙企业和农民专业合作社的统一社会信用代码、名称、类型、"
                "法定代表人、注册资本、成立日期、住所、行业和登记状态。",
                share_methods=["api", "download", "subscription"],
                open_type="open",
                update_cycle="weekly",
                tags=["法人", "企业", "市场主体", "统一社会信用代码"],
                topics=["市场监管", "营商环境", "信用服务"],
                table_schema=LEGAL_ENTITIES,
            ),
            start - 12,
        )
        self.load(
            "legal_entities",
            "scjgj",
            write_csv(tmp / "scjg_market_entities.csv", names(LEGAL_ENTITIES), legal_entity_rows(w)),
            2,
        )

        # 部门信息资源 are 3 + the department's place in the builder's list (大数据局 00, 公安局 01 …)
        # 税务局 (307…), quarterly, conditional; GBK CSV with planted errors
        names_of = dict(w.districts)
        self.create(
            "tax",
            ResourceIn(
                class_code="307001",
                name="企业纳税申报信息",
                provider="swj",
                summary="辖区企业按季度的增值税、企业所得税、城市维护建设税等申报和入库信息，用于亩均效益评价、"
                "惠企政策兑现和信用评价。",
                share_type="conditional",
                share_condition="用于亩均效益评价、惠企政策兑现和企业信用评价，不得用于其他目的；只提供申请单位履职所需字段。",
                legal_basis="《中华人民共和国税收征收管理法》第八条；《中华人民共和国税收征收管理法实施细则》第五条；"
                "《山东省政务信息资源共享管理办法》",
                share_methods=["api"],
                update_cycle="quarterly",
                related_codes=[self.codes["legal_entities"]],
                tags=["税收", "纳税申报", "企业"],
                topics=["财税金融", "营商环境"],
                table_schema=TAX,
            ),
            start - 20,
        )
        self.load(
            "tax",
            "swj",
            write_csv(
                tmp / "纳税申报明细.csv",
                titles(TAX),
                tax_rows(w, today - timedelta(days=20), names_of, size["tax_quarters"]),
                "gbk",
            ),
            20,
        )

        # 103 自然资源和空间地理 — 不动产登记, monthly, conditional
        self.create(
            "property",
            ResourceIn(
                class_code="103002",
                name="不动产登记信息",
                provider="zrzyj",
                summary="房屋等不动产的单元号、权利人、坐落、用途、面积、权利性质、登记日期和抵押状态。",
                share_type="conditional",
                share_condition="用于住房保障资格审核、社会救助家庭经济状况核对、征收补偿等法定职责；查询须留痕。",
                legal_basis="《不动产登记暂行条例》第二十四条、第二十七条；《不动产登记资料查询暂行办法》",
                share_methods=["api"],
                update_cycle="monthly",
                tags=["不动产", "房屋", "产权"],
                topics=["城建住房", "自然资源"],
                table_schema=PROPERTY,
            ),
            start - 15,
        )
        self.load(
            "property",
            "zrzyj",
            write_csv(tmp / "bdcdj_export.csv", titles(PROPERTY), property_rows(w, size["properties"])),
            6,
        )

        # 公安局 (301…) — 机动车登记, monthly, conditional
        self.create(
            "vehicles",
            ResourceIn(
                class_code="301001",
                name="机动车登记信息",
                provider="gaj",
                summary="在临沂市登记的机动车号牌、车辆类型、品牌型号、使用性质、所有人、初次登记日期和状态。",
                share_type="conditional",
                share_condition="用于交通运输管理、道路运输经营许可和公共服务资格核验；所有人信息默认脱敏。",
                legal_basis="《中华人民共和国道路交通安全法》第八条；《机动车登记规定》（公安部令第164号）",
                share_methods=["api"],
                update_cycle="monthly",
                related_codes=[self.codes["population"], self.codes["legal_entities"]],
                tags=["机动车", "车辆", "交通"],
                topics=["交通运输", "公共安全"],
                table_schema=VEHICLES,
            ),
            start - 25,
        )
        self.load(
            "vehicles",
            "gaj",
            write_csv(tmp / "jdc_djxx.csv", names(VEHICLES), vehicle_rows(w, size["vehicles"])),
            9,
        )

        # 201 亩均效益 — 工业和信息化局, yearly, unconditional, open on condition; an Excel sheet
        self.create(
            "mu",
            ResourceIn(
                class_code="201001",
                name="工业企业亩均效益评价数据",
                provider="gxj",
                summary="规模以上工业企业和占地3亩以上规下工业企业的用地面积、综合能耗、税收、营业收入、职工人数"
                "及亩均效益评价等级，按年度汇总。",
                share_methods=["api", "download"],
                open_type="conditional",
                open_condition="面向高校、科研机构和行业协会，签署数据使用协议后开放评价等级以外的指标。",
                update_cycle="yearly",
                related_codes=[self.codes["legal_entities"], self.codes["tax"]],
                tags=["亩均效益", "工业", "能耗", "用地"],
                topics=["经济运行", "资源环境"],
                table_schema=MU,
            ),
            start - 30,
        )
        self.load(
            "mu",
            "gxj",
            write_xlsx(
                tmp / f"{today.year - 1}年度亩均效益评价汇总.xlsx", titles(MU), mu_rows(w), "亩均效益"
            ),
            60,
        )

        # 人社局 (309…) — monthly, but last sent three months ago: stale
        sent = today - timedelta(days=97)
        self.create(
            "insurance",
            ResourceIn(
                class_code="309001",
                name="社会保险参保缴费信息",
                provider="rsj",
                summary="企业职工基本养老、职工基本医疗、失业和工伤保险的参保人、参保单位、参保状态、缴费基数和"
                "最近缴费年月。",
                share_type="conditional",
                share_condition="用于社会救助家庭经济状况核对、人才政策兑现和就业创业补贴审核；缴费基数默认脱敏。",
                legal_basis="《中华人民共和国社会保险法》第七十四条、第八十一条；《社会救助暂行办法》第六十一条",
                share_methods=["api", "subscription"],
                update_cycle="monthly",
                related_codes=[self.codes["population"], self.codes["legal_entities"]],
                tags=["社会保险", "参保", "就业"],
                topics=["社会保障"],
                table_schema=INSURANCE,
            ),
            start - 40,
        )
        self.load(
            "insurance",
            "rsj",
            write_csv(
                tmp / f"cbjf_{sent:%Y%m}.csv",
                names(INSURANCE),
                insurance_rows(w, sent, size["insured"]),
                "utf-8-sig",
            ),
            97,
        )

        # 卫生健康委员会 (310…) — not shared: personal health information
        self.create(
            "disease",
            ResourceIn(
                class_code="310001",
                name="法定传染病报告信息",
                provider="wjw",
                summary="医疗机构网络直报的法定传染病个案（已去除姓名和证件号码）的病种、诊断日期、年龄、性别和现住址区划，"
                "供卫生健康部门疫情监测分析使用。",
                share_type="none",
                legal_basis="《中华人民共和国传染病防治法》第十二条、第三十八条；《中华人民共和国个人信息保护法》第二十八条",
                share_methods=["api"],
                update_cycle="weekly",
                tags=["传染病", "疫情监测"],
                topics=["医疗卫生"],
                table_schema=DISEASE,
            ),
            start - 45,
        )
        self.load(
            "disease",
            "wjw",
            write_csv(tmp / "crbbg.csv", names(DISEASE), disease_rows(w, size["disease"])),
            1,
        )

    def requests(self) -> dict[str, int]:
        st, codes, db = self.stewards, self.codes, self.ctx.db
        ids: dict[str, int] = {}

        def ask(key: str, consumer: str, resource: str, days_ago: float, **kw: Any) -> int:
            self.at(days_ago)
            with db.transaction() as s:
                ids[key] = service.request_access(
                    session=s, actor=st[consumer], code=codes[resource], data=AccessRequestIn(**kw)
                ).id
            return ids[key]

        def decide(key: str, provider: str, days_ago: float, **kw: Any) -> None:
            self.at(days_ago)
            with db.transaction() as s:
                service.decide_request(
                    session=s, actor=st[provider], request_id=ids[key], decision=DecisionIn(**kw)
                )

        ask(
            "zwfw_population",
            "zwfw",
            "population",
            40,
            purpose="一网通办：政务服务事项办理时核验申请人身份，免交身份证复印件",
            legal_basis="《国务院关于加快推进全国一体化在线政务服务平台建设的指导意见》（国发〔2018〕27号）",
            fields=["id_number", "name", "gender", "birth_date", "division"],
            period_days=365,
        )
        decide(
            "zwfw_population",
            "gaj",
            36,
            approve=True,
            # the ID in clear: a lookup by an ID the consumer sees masked is refused (field_masked)
            reason="同意。按身份证号核验办事人，身份证号和姓名明文，其余敏感字段脱敏。",
            clear_fields=["id_number", "name"],
        )
        ask(
            "gxj_tax",
            "gxj",
            "tax",
            70,
            purpose="开展年度工业企业亩均效益评价，核对企业税收实际贡献",
            legal_basis="《山东省人民政府办公厅关于推进工业企业亩均效益评价改革的通知》",
            fields=[
                "declaration_no",
                "uscc",
                "taxpayer",
                "tax_type",
                "period_start",
                "period_end",
                "tax_paid",
            ],
            period_days=730,
        )
        decide("gxj_tax", "swj", 64, approve=True, reason="同意，仅用于亩均效益评价。")
        ask(
            "zjj_property",
            "zjj",
            "property",
            50,
            purpose="公共租赁住房保障资格审核，核查申请家庭名下房产",
            legal_basis="《公共租赁住房管理办法》（住房和城乡建设部令第11号）第七条",
            fields=["unit_no", "owner", "owner_id", "use", "floor_area", "division"],
        )
        decide(
            "zjj_property",
            "zrzyj",
            45,
            approve=True,
            reason="同意，按证件号码精确查询，证件号码明文，权利人姓名脱敏。",
            clear_fields=["owner_id"],
        )
        ask(
            "mzj_insurance",
            "mzj",
            "insurance",
            80,
            purpose="最低生活保障和特困供养家庭经济状况核对",
            legal_basis="《社会救助暂行办法》第十一条、第六十一条",
            fields=["id_number", "insurance_type", "status", "contribution_base", "last_paid"],
        )
        decide(
            "mzj_insurance",
            "rsj",
            76,
            approve=True,
            reason="同意，按身份证号核对，缴费基数不含姓名。",
            fields=["id_number", "insurance_type", "status", "contribution_base", "last_paid"],
            clear_fields=["id_number"],
        )
        ask(
            "cgj_population",
            "cgj",
            "population",
            30,
            purpose="城市管理执法中核实当事人信息",
            legal_basis="《城市管理执法办法》",
            fields=[f["name"] for f in POPULATION["fields"]],
        )
        decide(
            "cgj_population",
            "gaj",
            26,
            approve=False,
            reason="申请字段超出履职所需（联系电话、户籍地址、户号），请按最小必要原则缩小字段后重新申请。",
        )
        # pending: one past its ten working days (escalated below), one just filed
        ask(
            "jtj_vehicles",
            "jtj",
            "vehicles",
            25,
            purpose="道路货物运输经营许可和营运车辆年度审验时核对车辆登记信息",
            legal_basis="《中华人民共和国道路运输条例》第二十四条",
            fields=["plate", "plate_type", "vehicle_type", "use_nature", "owner", "status", "division"],
        )
        ask(
            "jyj_population",
            "jyj",
            "population",
            2,
            purpose="义务教育阶段入学报名时核验适龄儿童户籍",
            legal_basis="《中华人民共和国义务教育法》第十二条",
            fields=["id_number", "name", "birth_date", "division", "household_no", "relation"],
            period_days=180,
        )
        return ids

    def calls(self) -> int:
        """A month of data-API use through the real share rules; refusals are recorded too."""
        rng = random.Random(SEED + 1)
        st, codes, w = self.stewards, self.codes, self.w
        ids = [p.id_number for p in w.people]
        residents = [p.id_number for p in w.people if p.age(w.today) >= 18]
        firms = [e.uscc for e in w.enterprises]
        plan: list[tuple[str, str, str, dict[str, Any]]] = []
        for _ in range(24):  # 一网通办 checks a person before a service is handled
            known = rng.random() < 0.9
            plan.append(
                ("zwfw", "population", "lookup", {"key": rng.choice(ids) if known else "371302199001011234"})
            )
        plan.append(("zwfw", "population", "lookup", {"key": rng.choice(ids), "fields": ["mobile"]}))
        for _ in range(8):
            plan.append(("gxj", "tax", "rows", {"filters": {"uscc": f"eq.{rng.choice(firms)}"}}))
        for _ in range(6):
            plan.append(("zjj", "property", "rows", {"filters": {"owner_id": f"eq.{rng.choice(residents)}"}}))
        for _ in range(6):
            plan.append(
                ("mzj", "insurance", "rows", {"filters": {"id_number": f"eq.{rng.choice(residents)}"}})
            )
        for consumer in ("swj", "rsj", "zwfw", "gxj", "jyj", "zjj"):
            plan.append(
                (consumer, "legal_entities", "rows", {"filters": {"division": f"eq.{w.districts[0][0]}"}})
            )
        plan.append(("jyj", "legal_entities", "export", {}))
        plan.append(("jtj", "vehicles", "rows", {}))  # before its request is answered: refused
        plan.append(("jtj", "vehicles", "rows", {}))
        plan.append(("mzj", "disease", "rows", {}))  # not shared: refused
        n = 0
        with self.ctx.db.transaction() as s:
            for consumer, key, kind, args in plan:
                actor = st.get(consumer)
                if actor is None:
                    continue
                self.at(rng.uniform(0.2, 28))
                code = codes[key]
                rows, outcome, version, fields = 0, "ok", None, args.get("fields") or []
                try:
                    rp = service.read_plan(session=s, actor=actor, code=code, fields=args.get("fields"))
                    acc, schema, path, version = rp.access, rp.schema, rp.path, rp.version
                    fields = acc.fields
                    if kind == "lookup":
                        rows = 1 if reader.lookup(path, schema, acc, [args["key"]]) else 0
                    elif kind == "export":
                        rows = reader.count(path, schema, [])
                    else:
                        flt = reader.parse_filters(args.get("filters", {}), schema, acc)
                        rows = len(reader.page(path, schema, acc, filters=flt, limit=100)[0])
                except CityOSError as exc:
                    outcome = exc.code
                service.record_call(
                    session=s,
                    actor=actor,
                    code=code,
                    kind=kind,
                    fields=fields,
                    filters={"key": args["key"]} if "key" in args else args.get("filters", {}),
                    rows=rows,
                    latency_ms=rng.uniform(4, 60),
                    outcome=outcome,
                    version=version,
                )
                n += 1
        return n


def populate(ctx: DemoContext) -> None:
    task = ctx.progress.add_task("数据共享交换 catalog", total=4) if ctx.progress else None

    def step() -> None:
        if task is not None and ctx.progress:
            ctx.progress.advance(task)

    try:
        with tempfile.TemporaryDirectory(prefix="cityos-catalog-demo-") as tmp:
            demo = Demo(ctx, Path(tmp))
            step()
            demo.resources()
            step()
            requests = demo.requests()
            step()
            calls = demo.calls()
            clock.set_now(ctx.now)
            with ctx.db.transaction() as s:  # what the worker would do this morning
                service.escalate_overdue_requests(session=s)
                service.remind_stale(session=s)
            step()
    finally:
        clock.set_now(None)
    ctx.extra["catalog"] = {
        "codes": dict(demo.codes),
        "requests": requests,
        "calls": calls,
        "planted": {k: list(v) for k, v in demo.w.planted.items()},
    }
    stewards = ", ".join(sorted(p.username for p in demo.stewards.values()))
    ctx.notes.append(f"数据共享交换 data stewards: {stewards} (password {STEWARD_PASSWORD})")
