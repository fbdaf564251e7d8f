"""The demo city's synthetic people and enterprises, from which every catalog demo resource is cut.

Resident IDs carry the division code of their holder's birth (the 3728xx codes of 临沂地区 before
Linyi became a prefecture-level city in 1994) and pass the check character; credit codes carry
valid organisation-code and USCC check characters; files are written the way departments send them.
Deterministic for the demo seed. Used by `catalog.demo` only.
"""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import openpyxl
from stdnum.cn import ric, uscc

from cityos.core import clock
from cityos.demo.context import DemoContext

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

# An ID keeps the division code of its holder's first registration: before 1994 临沂 was a
# prefecture (临沂地区, 3728xx); its three districts were the county-level 临沂市 (372801, 1983-1994),
# before that 临沂县 (372821). Such residents are real: a check that compares the code with the birth
# year (as python-stdnum does) refuses them, CityOS must not (catalog.formats).
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


def address_in(w: World, division: str, name: str) -> str:
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
        address = address_in(w, division, dnames[division])
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
        if any(c.isascii() for c in prefix):
            continue  # Faker's zh_CN prefixes include “MBP软件” and “数字100”: no local firm is named so
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
                address=address_in(w, division, dnames[division]),
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
