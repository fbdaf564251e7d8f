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
same people and enterprises appear in every resource. Deterministic for the demo seed. The world
of people and enterprises is in `demo_world.py`, the resources' schemas and rows in `demo_data.py`;
this file takes them through the services.
"""

from __future__ import annotations

import random
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cityos.catalog import reader, service
from cityos.catalog.demo_data import (
    DISEASE,
    INSURANCE,
    LEGAL_ENTITIES,
    MU,
    POPULATION,
    PROPERTY,
    TAX,
    VEHICLES,
    disease_rows,
    insurance_rows,
    legal_entity_rows,
    mu_rows,
    names,
    plant_population_errors,
    population_rows,
    property_rows,
    tax_rows,
    titles,
    vehicle_rows,
)
from cityos.catalog.demo_world import SEED, SIZES, build_world, write_csv, write_xlsx
from cityos.catalog.schemas import AccessRequestIn, DecisionIn, ResourceIn
from cityos.core import clock
from cityos.core.errors import CityOSError
from cityos.demo.context import STEWARD_PASSWORD, DemoContext
from cityos.identity import service as identity
from cityos.identity.schemas import Principal

# departments that publish or ask for data and so need a data steward (the builder's one is 税务局's)
STEWARDS = ["gaj", "scjgj", "zrzyj", "rsj", "gxj", "wjw", "zwfw", "zjj", "mzj", "jtj", "jyj", "cgj"]


# ------------------------------------------------------------------------------------- populate
def _stewards(ctx: DemoContext) -> dict[str, Principal]:
    return ctx.stewards(STEWARDS)


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
        # pending: one past its ten working days (escalated below), two just filed
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
        # the printed steward's (税务局) queue: a request for the tax declarations to answer
        ask(
            "zwfw_tax",
            "zwfw",
            "tax",
            1,
            purpose="惠企政策“免申即享”：按季度核对企业纳税申报和入库情况，自动确定享受政策的企业",
            legal_basis="《国务院办公厅关于加快推进“一件事一次办”打造政务服务升级版的指导意见》",
            fields=["uscc", "taxpayer", "tax_type", "period_start", "period_end", "tax_paid"],
            period_days=365,
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
