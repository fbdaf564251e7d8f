"""Data for catalog tests: resident IDs and credit codes that pass their check digits (computed
with python-stdnum, the reference), and a population resource built through the real services."""

from __future__ import annotations

import random
from pathlib import Path

from stdnum.cn import ric, uscc

from cityos.catalog import service
from cityos.catalog.schemas import ResourceIn
from cityos.identity.schemas import Principal

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


def resident_id(rng: random.Random, division: str = "371302", birth: str | None = None) -> str:
    birth = birth or f"{rng.randint(1994, 2012)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
    body = f"{division}{birth}{rng.randint(0, 999):03d}"
    # stdnum checks the division existed in the birth year: 371302 (兰山区) dates from 1994
    return body + ric.calc_check_digit(body + "0")  # stdnum wants a placeholder check character


def credit_code(rng: random.Random) -> str:
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    body = "91" + "371302" + "".join(rng.choice(alphabet) for _ in range(9))
    return body + uscc.calc_check_digit(body)


def population_rows(n: int, seed: int = 7) -> list[list[str]]:
    rng = random.Random(seed)
    rows = []
    seen = set()
    while len(rows) < n:
        idn = resident_id(rng)
        if idn in seen:
            continue
        seen.add(idn)
        birth = idn[6:14]
        rows.append(
            [
                idn,
                rng.choice(["张伟", "王芳", "李娜", "刘洋", "陈静"]),
                rng.choice(["男", "女"]),
                f"{birth[:4]}-{birth[4:6]}-{birth[6:]}",
                f"13{rng.randint(100000000, 999999999)}",
                "371302",
                str(rng.randint(1, 6)),
            ]
        )
    return rows


HEADER = ["id_number", "name", "gender", "birth_date", "mobile", "division", "household_size"]


def write_csv(
    path: Path,
    rows: list[list[str]],
    *,
    header: list[str] = HEADER,
    encoding: str = "utf-8",
    delimiter: str = ",",
) -> Path:
    lines = [delimiter.join(header)] + [delimiter.join(r) for r in rows]
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return path


def population(
    session,
    actor: Principal,
    *,
    share_type: str = "conditional",
    open_type: str = "closed",  # type: ignore[no-untyped-def]
    provider: str = "gaj",
    policy: str = "quarantine",
) -> str:
    r = service.create_resource(
        session=session,
        actor=actor,
        data=ResourceIn(
            class_code="101001",
            name="人口基础信息",
            provider=provider,
            summary="户籍人口基础信息",
            share_type=share_type,
            share_condition="用于政务服务身份核验" if share_type == "conditional" else "",
            legal_basis="《中华人民共和国居民身份证法》" if share_type != "unconditional" else "",
            open_type=open_type,
            update_cycle="monthly",
            policy=policy,
            tags=["人口"],
            topics=["社会保障"],
            table_schema=POPULATION_SCHEMA,
        ),
    )
    return r.code
