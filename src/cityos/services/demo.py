"""The demo city's 一网通办, made through the services with the clock moved, so every row, audit
record and signature is real: license kinds and the 事项清单 (materials from uploads, e-licenses
and the population base through data sharing), the hall's window staff and the departments' back
offices, applications in every state over the last two weeks, licenses in the citizens' wallets,
ratings with one 差评 under rectification, today's queue, and an OpenID Connect client.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from cityos.catalog import service as catalog
from cityos.core import clock, files
from cityos.demo.context import DemoContext
from cityos.identity import service as identity
from cityos.identity.schemas import Principal, UserIn
from cityos.services import oidc, service
from cityos.services.schemas import ApplyIn, DecisionIn, ItemIn, KindIn, MaterialIn, RatingIn, ReturnIn

STAFF_PASSWORD = "demo-services-2026"
KINDS = [
    ("residence_permit", "居住证", "11100000000013338W011", "gaj", "11371300004302100X", 3),
    ("food_business", "食品经营许可证", "11100000MB0327169F001", "scjgj", "11371300MB2855918A", 5),
    ("flexible_employment", "灵活就业登记证明", "11100000000013127F002", "rsj", "113713000043024577", None),
]


def _items(pop: str | None) -> list[ItemIn]:
    ident = (
        [
            MaterialIn(
                name="户籍信息",
                source="resource",
                resource_code=pop,
                resource_fields=["id_number", "name", "division"],
            )
        ]
        if pop
        else []
    )
    return [
        ItemIn(
            code="370100-GA-001",
            name="居住证办理",
            department_code="gaj",
            kind="行政确认",
            time_limit_days=5,
            legal_basis="《居住证暂行条例》",
            conditions="在居住地居住半年以上，有合法稳定就业、住所或连续就读",
            license_kind="residence_permit",
            materials=[
                *ident,
                MaterialIn(name="居住登记表", source="upload"),
                MaterialIn(name="近期证件照", source="upload", required=False),
            ],
        ),
        ItemIn(
            code="370100-SC-001",
            name="食品经营许可（新办）",
            department_code="scjgj",
            time_limit_days=10,
            legal_basis="《中华人民共和国食品安全法》第三十五条",
            conditions="有与经营的食品品种、数量相适应的经营场所",
            license_kind="food_business",
            regulator_code="scjgj",
            rectify_days=15,
            materials=[
                *ident,
                MaterialIn(name="居住证", source="license", license_kind="residence_permit"),
                MaterialIn(name="经营场所使用证明", source="upload"),
                MaterialIn(name="食品安全管理制度", source="upload"),
            ],
        ),
        ItemIn(
            code="370100-RS-001",
            name="灵活就业人员登记",
            department_code="rsj",
            kind="公共服务",
            time_limit_days=3,
            license_kind="flexible_employment",
            materials=[*ident, MaterialIn(name="就业情况说明", source="upload")],
        ),
        ItemIn(
            code="370100-RS-002",
            name="失业登记",
            department_code="rsj",
            kind="公共服务",
            time_limit_days=5,
            materials=[*ident, MaterialIn(name="解除劳动合同证明", source="upload")],
        ),
        ItemIn(
            code="370100-ZW-001",
            name="个体工商户设立登记",
            department_code="zwfw",
            time_limit_days=1,
            online=False,
            materials=[*ident, MaterialIn(name="个体工商户登记申请书", source="upload")],
        ),
    ]


def _user(ctx: DemoContext, s: Any, username: str, name: str, role: str, dept: str | None) -> Principal:
    identity.add_user(
        session=s,
        actor=ctx.system,
        user=UserIn(
            username=username,
            display_name=name,
            password=STAFF_PASSWORD,
            roles=[role],
            department_code=dept,
            region_code=ctx.city_code if dept else None,
        ),
    )
    ctx.passwords[username] = STAFF_PASSWORD
    return identity.principal_for(session=s, username=username)


def populate(ctx: DemoContext) -> None:
    try:
        _populate(ctx)
    finally:
        clock.set_now(None)


def _populate(ctx: DemoContext) -> None:
    pop = ctx.extra.get("catalog", {}).get("codes", {}).get("population")
    clock.set_now(ctx.now - timedelta(days=15))
    with ctx.db.transaction() as s:
        for code, name, type_code, dept, issuer, years in KINDS:
            service.add_kind(
                session=s,
                actor=ctx.system,
                kind=KindIn(
                    code=code,
                    name=name,
                    type_code=type_code,
                    department_code=dept,
                    issuer_code=issuer,
                    validity_years=years,
                ),
            )
        for item in _items(pop):
            service.save_item(session=s, actor=ctx.system, data=item)
        staff = {
            "window": _user(ctx, s, "window", "刘晓燕（综合窗口）", "handler", "zwfw"),
            "gaj": _user(ctx, s, "gaj-review", "孙建国（公安审批）", "handler", "gaj"),
            "scjgj": _user(ctx, s, "scjgj-review", "周丽（市场监管审批）", "handler", "scjgj"),
            "rsj": _user(ctx, s, "rsj-review", "吴强（人社审批）", "handler", "rsj"),
        }
        hall = identity.get_department(session=s, code="zwfw")
        reader = Principal(
            kind="token",
            username="services:demo",
            scopes=frozenset({"data"}),
            department_id=hall.id,
            department_code=hall.code,
        )
        people = _people(s, reader, pop)
        citizens = [ctx.users["citizen"][0]] if ctx.users.get("citizen") else []
        for i, (_idn, name) in enumerate(people[1:6]):
            citizens.append(_user(ctx, s, f"resident{i + 1}", name, "citizen", None))
        for p, (idn, name) in zip(citizens, people, strict=False):
            service.set_real_name(session=s, actor=p, name=name, id_number=idn)
        oidc.add_client(
            session=s,
            actor=ctx.system,
            name="住房公积金网上服务大厅",
            redirect_uris=["https://gjj.example.gov.cn/oidc/callback"],
        )
    _applications(ctx, staff, citizens)
    ctx.notes.append(
        f"一网通办 window staff: window, gaj-review, scjgj-review, rsj-review (password {STAFF_PASSWORD})"
    )


def _people(s: Any, reader: Principal, pop: str | None) -> list[tuple[str, str]]:
    if pop:
        try:
            snap = catalog.snapshot(
                session=s,
                actor=reader,
                code=pop,
                fields=["id_number", "name"],
                purpose="一网通办演示：为演示办事人建立实名信息",
            )
            rows = snap.table.slice(0, 6).to_pylist()
            if len(rows) == 6:
                return [(r["id_number"], r["name"]) for r in rows]
        except Exception:  # a demo without the catalog's population base still gets its people
            pass
    from stdnum.cn import ric

    names = ["王小明", "李红", "张伟", "赵敏", "陈刚", "杨洋"]
    bodies = [f"37130219{88 + i}0{i + 1}0{i + 1}{123 + i}" for i in range(6)]
    return [(b + ric.calc_check_digit(b + "0"), n) for b, n in zip(bodies, names, strict=True)]


def _step(ctx: DemoContext, days_ago: float) -> None:
    clock.set_now(ctx.now - timedelta(days=days_ago))


def _applications(ctx: DemoContext, staff: dict[str, Principal], citizens: list[Principal]) -> None:
    """Each citizen's story; together they cover every state."""
    form = files.store("居住登记表（演示）".encode())
    plan = [  # (item, citizen index, final state, rating)
        ("370100-GA-001", 0, "issued", 5),
        ("370100-GA-001", 1, "issued", 4),
        ("370100-GA-001", 2, "issued", None),
        ("370100-SC-001", 0, "issued", 2),
        ("370100-RS-001", 3, "issued", 5),
        ("370100-RS-002", 4, "rejected", 1),
        ("370100-RS-002", 1, "accepted", None),
        ("370100-GA-001", 3, "submitted", None),
        ("370100-RS-001", 2, "returned", None),
        ("370100-RS-001", 5 % len(citizens), "sent_back", None),
        ("370100-GA-001", 4, "approved_window", None),
    ]
    reviewer = {
        "370100-GA-001": staff["gaj"],
        "370100-SC-001": staff["scjgj"],
        "370100-RS-001": staff["rsj"],
        "370100-RS-002": staff["rsj"],
    }
    for n, (code, ci, final, rating) in enumerate(plan):
        p = citizens[ci % len(citizens)]
        day = 14 - n
        _step(ctx, day)
        with ctx.db.transaction() as s:
            item = service.get_item(session=s, code=code)
            uploads = {m.id: form for m in item.materials if m.source == "upload" and m.required}
            if final == "returned":
                uploads = {}
            if final == "approved_window":  # at the window, on the applicant's behalf
                rn = service.real_name(session=s, user_id=p.id or 0)
                a = service.submit_at_window(
                    session=s,
                    actor=staff["window"],
                    data=ApplyIn(
                        item_code=code,
                        applicant_name=rn.name if rn else "",
                        applicant_code=rn.id_number if rn else "",
                        consent=True,
                        uploads=uploads,
                        form={"address": "兰山区金雀山路"},
                    ),
                )
            else:
                a = service.submit(
                    session=s,
                    actor=p,
                    data=ApplyIn(
                        item_code=code,
                        consent=True,
                        uploads=uploads,
                        form={"address": "兰山区金雀山路", "phone": "13800000000"},
                    ),
                )
        if final == "submitted":
            continue
        _step(ctx, day - 0.1)
        with ctx.db.transaction() as s:
            missing = [m.name for m in a.materials if m.status == "missing"]
            if final == "returned" or missing:
                service.return_once(
                    session=s,
                    actor=staff["window"],
                    number=a.number,
                    data=ReturnIn(missing=missing or ["就业情况说明"], reason="请一次性补齐"),
                )
                if final == "returned":
                    continue
        if missing:
            with ctx.db.transaction() as s:
                ids = {m.material_id: form for m in a.materials if m.status == "missing"}
                service.supplement(session=s, actor=p, number=a.number, uploads=ids)
        with ctx.db.transaction() as s:
            service.accept(session=s, actor=staff["window"], number=a.number)
        if final == "accepted":
            continue
        _step(ctx, day - 1)
        rev = reviewer.get(code, staff["gaj"])
        with ctx.db.transaction() as s:
            if final == "sent_back":
                service.decide(
                    session=s,
                    actor=rev,
                    number=a.number,
                    data=DecisionIn(decision="send_back", reason="登记表签字不清晰，请窗口核实"),
                )
                continue
            decision = "reject" if final == "rejected" else "approve"
            service.decide(
                session=s,
                actor=rev,
                number=a.number,
                data=DecisionIn(
                    decision=decision,
                    reason="不符合失业登记条件：仍在缴纳职工社保" if decision == "reject" else "",
                ),
            )
        if rating is not None:
            _step(ctx, day - 1.5)
            with ctx.db.transaction() as s:
                r = service.rate(
                    session=s,
                    actor=p,
                    number=a.number,
                    data=RatingIn(
                        level=rating,
                        aspects=["办事效率"] if rating <= 2 else ["服务态度", "一次办好"],
                        comment="排队时间长，审核慢" if rating <= 2 else "材料自动调取，很方便",
                    ),
                )
            if r.rectification and final == "issued":
                with ctx.db.transaction() as s:
                    service.respond(
                        session=s,
                        actor=rev,
                        rect_id=r.rectification.id,
                        response="已增加审核人员，压缩审核时限",
                    )
    clock.set_now(ctx.now - timedelta(hours=2))
    with ctx.db.transaction() as s:
        for wt in ("A", "A", "B", "A", "C"):
            service.take(session=s, window_type=wt)
    clock.set_now(ctx.now - timedelta(hours=1))
    with ctx.db.transaction() as s:
        service.call_next(session=s, actor=staff["window"], window_type="A", window="3")
