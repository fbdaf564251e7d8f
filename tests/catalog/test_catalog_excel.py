"""The catalog as departments send it: Excel in, Excel out, all or nothing with every bad cell named."""

from __future__ import annotations

import io

import openpyxl
import pytest

from cityos.catalog import excel, service
from cityos.core.errors import Invalid

from .helpers import population


def _book(resources: list[list[object]], fields: list[list[object]]) -> bytes:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    ws = wb.create_sheet("信息资源")
    ws.append([label for _k, label in excel.RESOURCE_COLUMNS])
    for r in resources:
        ws.append(r)
    ws = wb.create_sheet("信息项")
    ws.append([label for _k, label in excel.FIELD_COLUMNS])
    for f in fields:
        ws.append(f)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


RES = [
    "",
    "301003",
    "企业用能",
    "swj",
    "规上企业年度用能",
    "电子表格",
    "有条件共享",
    "用于亩均效益评价",
    "《山东省亩均效益评价办法》",
    "接口、文件下载",
    "不予开放",
    "",
    "每年",
    "2026-01-15",
    "",
    "能耗、亩均",
    "经济运行",
    "隔离错误行",
]
FIELDS = [
    [
        "企业用能",
        "uscc",
        "统一社会信用代码",
        "字符型",
        "cn-uscc",
        "",
        "公开",
        "是",
        "",
        "是",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
    ],
    ["企业用能", "year", "年度", "整数型", "", "", "公开", "是", "是", "是", "", "", 2000, 2100, "", "", ""],
    [
        "企业用能",
        "energy_tce",
        "综合能耗(吨标准煤)",
        "数值型",
        "",
        "",
        "内部",
        "",
        "",
        "",
        "",
        "",
        0,
        "",
        "",
        "",
        "",
    ],
]


def test_import_creates_resources_with_schema_and_export_round_trips(db, city) -> None:  # type: ignore[no-untyped-def]
    admin = city.as_role("data_bureau")
    with db.transaction() as s:
        res = excel.import_catalog(session=s, actor=admin, data=_book([RES], FIELDS))
    assert res == {"created": 1, "updated": 0, "resources": 1}
    with db.reader() as s:
        items, _total = service.list_resources(session=s, q="企业用能")
        r = items[0]
        assert r.code == "301003/000001" and r.share_type == "conditional" and r.update_cycle == "yearly"
        assert (
            r.share_methods == ["api", "download"] and r.topics == ["经济运行"] and r.tags == ["能耗", "亩均"]
        )
        assert [f.name for f in r.fields] == ["uscc", "year", "energy_tce"]
        assert r.primary_key == ["uscc", "year"]
        assert r.fields[1].constraints == {"required": True, "minimum": 2000, "maximum": 2100}
        data = excel.export_catalog(session=s)
    # what was exported imports again as an update of the same resource, unchanged
    with db.transaction() as s:
        again = excel.import_catalog(session=s, actor=admin, data=data)
    assert again == {"created": 0, "updated": 1, "resources": 1}
    with db.reader() as s:
        r2 = service.get_resource(session=s, code="301003/000001")
    assert r2.model_dump(exclude={"updated_at"}) == r.model_dump(exclude={"updated_at"})


def test_every_bad_cell_is_named_and_nothing_is_applied(db, city) -> None:  # type: ignore[no-untyped-def]
    admin = city.as_role("data_bureau")
    with db.transaction() as s:
        population(s, admin)
    bad1 = RES[:]
    bad1[6] = "随便共享"  # share type
    bad2 = RES[:]
    bad2[2] = "不动产登记"
    bad2[8] = ""  # conditional without legal basis
    bad3 = RES[:]
    bad3[2] = "好的资源"
    bad3[1] = "301004"
    bad_fields = [
        *FIELDS,
        ["不存在的资源", "x", "", "字符型", "", "", "公开", "", "", "", "", "", "", "", "", "", ""],
        ["好的资源", "n", "", "布尔", "", "", "公开", "", "", "", "", "", "", "", "", "", ""],
    ]
    with db.transaction() as s, pytest.raises(Invalid) as e:
        excel.import_catalog(session=s, actor=admin, data=_book([bad1, bad3, bad2], bad_fields))
    where = {(d["sheet"], d["row"], d["column"]) for d in e.value.details}
    assert ("信息资源", 2, "共享类型") in where
    assert ("信息项", 5, "信息资源代码或名称") in where
    assert ("信息项", 6, "数据类型") in where
    with db.reader() as s:
        assert service.list_resources(session=s)[1] == 1  # only the population resource made before


def test_service_refusals_inside_an_import_roll_everything_back(db, city) -> None:  # type: ignore[no-untyped-def]
    admin = city.as_role("data_bureau")
    good = RES[:]
    good[2] = "好的资源"
    good[6] = "无条件共享"
    good[8] = ""
    good[7] = ""
    bad = RES[:]
    bad[8] = ""  # conditional without legal basis: refused by the service's own rule
    with db.transaction() as s, pytest.raises(Invalid) as e:
        excel.import_catalog(session=s, actor=admin, data=_book([good, bad], []))
    assert [(d["row"], d["column"]) for d in e.value.details] == [(3, "法律依据")]
    with db.reader() as s:
        assert service.list_resources(session=s)[1] == 0


def test_not_a_workbook(db, city) -> None:  # type: ignore[no-untyped-def]
    with db.transaction() as s, pytest.raises(Invalid) as e:
        excel.import_catalog(session=s, actor=city.as_role("data_bureau"), data=b"name,code\n")
    assert e.value.code == "not_xlsx"
