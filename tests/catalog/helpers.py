"""Data for catalog tests: resident IDs and credit codes that pass their check digits (computed
with python-stdnum, the reference), a population resource built through the real services, and
the people and grants around it: a department's data steward, an API token, a consumer's grant
(`grant`), and the whole "resource with resident IDs and a masked consumer grant" (`masked_grant`)."""

from __future__ import annotations

import random
from pathlib import Path

from stdnum.cn import ric, uscc

from cityos.catalog import service
from cityos.catalog.schemas import AccessRequestIn, DecisionIn, ResourceIn
from cityos.identity import service as identity
from cityos.identity.schemas import Principal, UserIn

from ..factories import PASSWORD

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


def steward(db, dept: str, name: str) -> Principal:  # type: ignore[no-untyped-def]
    """A data steward of department `dept` (username and display name `name`)."""
    with db.transaction() as s:
        identity.add_user(
            session=s,
            actor=identity.SYSTEM,
            user=UserIn(
                username=name,
                display_name=name,
                password=PASSWORD,
                roles=["data_steward"],
                department_code=dept,
                region_code="371300",
            ),
        )
        return identity.principal_for(session=s, username=name)


def login(client, username: str) -> None:  # type: ignore[no-untyped-def]
    """Log `username` in on `client` (a fresh session: the cookies of whoever was in are dropped)."""
    client.cookies.clear()
    r = client.post(
        "/login", data={"username": username, "password": PASSWORD, "next": "/"}, follow_redirects=False
    )
    assert r.status_code == 303, r.text


def token(db, city, department: str, scope: str = "data", client: str | None = None) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """The Authorization header of an API token of `department` with one scope."""
    with db.transaction() as s:
        tok = identity.create_token(
            session=s,
            actor=city.as_role("admin"),
            client=client or f"{department}-{scope}",
            scopes=[scope],
            department_code=department,
        ).token
    return {"Authorization": f"Bearer {tok}"}


def grant(
    db, provider: Principal, consumer: Principal, code: str, asked: list[str] | None = None, **decision
) -> int:  # type: ignore[no-untyped-def]
    """`consumer`'s department asks for `asked` fields of `code` (all when None) for 城管执法 and the
    provider approves (`decision`: DecisionIn's fields, clear_fields…; by default the sensitive
    fields stay masked). Returns the request id."""
    with db.transaction() as s:
        req = service.request_access(
            session=s,
            actor=consumer,
            code=code,
            data=AccessRequestIn(
                purpose="城管执法当事人核验", legal_basis="《城市管理执法办法》", fields=asked or []
            ),
        )
    with db.transaction() as s:
        service.decide_request(
            session=s,
            actor=provider,
            request_id=req.id,
            decision=DecisionIn(approve=True, reason="同意", **decision),
        )
    return req.id


def masked_grant(
    db, tmp_path: Path, rows: list[list[str]], fields: list[str]
) -> tuple[Principal, Principal, str]:  # type: ignore[no-untyped-def]
    """公安局 (gaj) provides a conditionally shared population base holding resident IDs and
    mobiles, loaded with `rows`; 城管局 (cgj) holds a grant of `fields` with the ID and the mobile
    masked. Returns (provider steward, consumer steward, resource code)."""
    provider = steward(db, "gaj", "gaj-steward")
    consumer = steward(db, "cgj", "cgj-steward")
    with db.transaction() as s:
        code = population(s, provider, share_type="conditional", provider="gaj")
    service.load(db=db, actor=provider, code=code, path=write_csv(tmp_path / "pop.csv", rows))
    grant(db, provider, consumer, code, fields)
    return provider, consumer, code
