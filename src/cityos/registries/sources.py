"""The catalog resources the shipped checks need beyond the catalog demo's (低保, 火化, 养老金发放,
企业用电, 施工许可, 固定资产投资): their Table Schemas and catalog entries, created through
`cityos.catalog.service` like any department's resource (the demo and the tests use them)."""

from __future__ import annotations

from typing import Any

from cityos.catalog.schemas import ResourceIn


def _s(
    name: str, title: str, sensitivity: str = "internal", type_: str = "string", **kw: Any
) -> dict[str, Any]:
    return {"name": name, "title": title, "type": type_, "sensitivity": sensitivity, **kw}


ID: dict[str, Any] = {"format": "cn-resident-id", "constraints": {"required": True}}

SCHEMAS: dict[str, dict[str, Any]] = {
    "dibao": {
        "fields": [
            _s("id_number", "公民身份号码", "sensitive", **ID),
            _s("name", "姓名", "sensitive", mask="name"),
            _s("status", "保障状态", constraints={"enum": ["在保", "停保"]}),
            _s("since", "纳入保障日期", type_="date"),
            _s("monthly_amount", "月保障金（元）", type_="number"),
        ],
        "primaryKey": ["id_number"],
    },
    "cremations": {
        "fields": [
            _s("id_number", "公民身份号码", "sensitive", **ID),
            _s("name", "姓名", "sensitive", mask="name"),
            _s("cremated_on", "火化日期", type_="date"),
            _s("funeral_home", "殡仪馆"),
        ],
        "primaryKey": ["id_number"],
    },
    "pensions": {
        "fields": [
            _s("id_number", "公民身份号码", "sensitive", **ID),
            _s("month", "发放年月", constraints={"required": True, "pattern": "[0-9]{6}"}),
            _s("amount", "发放金额（元）", type_="number"),
        ],
        "primaryKey": ["id_number", "month"],
    },
    "electricity": {
        "fields": [
            _s("uscc", "统一社会信用代码", "public", format="cn-uscc", constraints={"required": True}),
            _s("month", "用电年月", constraints={"required": True, "pattern": "[0-9]{6}"}),
            _s("kwh", "用电量（千瓦时）", type_="number"),
        ],
        "primaryKey": ["uscc", "month"],
    },
    "entity_people": {
        "fields": [
            _s("uscc", "统一社会信用代码", "public", format="cn-uscc", constraints={"required": True}),
            _s("person_id", "证件号码", "sensitive", mask="id", constraints={"required": True}),
            _s("role", "职务或出资人类型", constraints={"enum": ["法定代表人", "股东", "个体经营者"]}),
            _s("status", "登记状态", constraints={"enum": ["存续", "在业", "吊销", "注销", "迁出"]}),
        ],
        "primaryKey": ["uscc", "person_id", "role"],
    },
    "permits": {
        "fields": [
            _s("permit_no", "施工许可证编号", constraints={"required": True}),
            _s("project_code", "项目代码", constraints={"required": True}),
            _s("project_name", "项目名称", "public"),
            _s("uscc", "建设单位统一社会信用代码", "public", format="cn-uscc"),
            _s("issued_on", "发证日期", type_="date"),
            _s("planned_investment", "合同价格（万元）", type_="number"),
        ],
        "primaryKey": ["permit_no"],
    },
    "investment": {
        "fields": [
            _s("project_code", "项目代码", constraints={"required": True}),
            _s("period", "统计期", constraints={"required": True, "pattern": "[0-9]{6}"}),
            _s("completed_investment", "本期完成投资（万元）", type_="number"),
        ],
        "primaryKey": ["project_code", "period"],
    },
}

# part -> (provider department, class code, name, summary, legal basis)
ENTRIES: dict[str, tuple[str, str, str, str, str]] = {
    "dibao": (
        "mzj",
        "312001",
        "城乡最低生活保障对象信息",
        "在保和停保的最低生活保障对象的身份、保障状态、纳入日期和月保障金。",
        "《社会救助暂行办法》第九条至第十四条",
    ),
    "cremations": (
        "mzj",
        "312002",
        "遗体火化信息",
        "殡仪馆火化的逝者身份和火化日期，用于死亡信息共享和待遇停发。",
        "《殡葬管理条例》；《国务院办公厅关于加快推进社会保障卡应用的通知》",
    ),
    "pensions": (
        "rsj",
        "309002",
        "基本养老金发放信息",
        "按月发放的企业职工基本养老金的领取人和金额。",
        "《中华人民共和国社会保险法》第十六条",
    ),
    "electricity": (
        "gxj",
        "306001",
        "企业月度用电量",
        "电网企业报送的工业和商业企业按月用电量，用于经济运行监测和亩均效益评价。",
        "《山东省工业企业亩均效益评价办法》",
    ),
    "entity_people": (
        "scjgj",
        "102002",
        "市场主体法定代表人及投资人信息",
        "市场主体的法定代表人、股东和个体经营者的证件号码及其所在主体的登记状态。",
        "《市场主体登记管理条例》第三十五条；《企业信息公示暂行条例》",
    ),
    "permits": (
        "zjj",
        "305001",
        "建筑工程施工许可信息",
        "核发的建筑工程施工许可证及其项目代码、建设单位、发证日期和合同价格。",
        "《建筑工程施工许可管理办法》（住房和城乡建设部令第18号）",
    ),
    "investment": (
        "fgw",
        "313001",
        "固定资产投资项目完成投资",
        "入库的固定资产投资项目按月报送的本期完成投资。",
        "《中华人民共和国统计法》第七条；《固定资产投资统计报表制度》",
    ),
}


def resource_in(part: str) -> ResourceIn:
    provider, class_code, name, summary, basis = ENTRIES[part]
    return ResourceIn(
        class_code=class_code,
        name=name,
        provider=provider,
        summary=summary,
        share_type="conditional",
        share_condition="仅限数据交叉比对和社会救助、待遇核查等法定职责，按最小必要原则申请字段。",
        legal_basis=basis,
        share_methods=["api"],
        update_cycle="monthly",
        table_schema=SCHEMAS[part],
    )
