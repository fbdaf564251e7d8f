"""经济运行简报: the monthly economic report, written from stored values only (so the same month
gives the same document), in the standard phrasing of a statistics bureau's brief:

  "1—10月，全市规上工业增加值同比增长6.5%，高于全省0.3个百分点，累计1308.97亿元，完成年度目标的79.4%，
   落后序时进度4.0个百分点。" (the province's figures: the metric's `province` source, stored under
   the province's division code)

`data(session, month)` gathers the figures (city rows, district rankings, refused and stale
sources named as such — never printed as 0); render.py turns them into PDF or DOCX.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from cityos.cockpit import indicators, store
from cityos.cockpit.compute import city_code
from cityos.cockpit.definitions import MetricDef
from cityos.cockpit.service import freshness, indicator_rows, ranking
from cityos.cockpit.sources import province_code
from cityos.core import clock
from cityos.core.errors import Invalid
from cityos.identity import service as identity
from cityos.identity.schemas import Principal

QUARTERS = {3: "一季度", 6: "上半年", 9: "前三季度", 12: "全年"}
CN_MONTH = "{y}年{m}月"


def span(period: str, kind: str = "month") -> str:
    """The period a cumulative figure covers, as a brief writes it: 1月, 1—10月, 前三季度."""
    m = int(period[5:7])
    if kind == "quarter":
        return QUARTERS[m]
    return "1月" if m == 1 else f"1—{m}月"


def change(p: float | None) -> str:
    if p is None:
        return "上年同期无可比数据"
    if round(p, 1) == 0:
        return "与上年同期持平"
    return f"同比增长{p:.1f}%" if p > 0 else f"同比下降{abs(p):.1f}%"


def num(v: float | None) -> str:
    if v is None:
        return "—"
    return f"{v:.0f}" if abs(v) >= 10000 or float(v).is_integer() else f"{v:.2f}"


def growth_of(row: indicators.Row) -> float | None:
    """The growth a brief quotes: 累计同比 for a cumulative figure, else 同比."""
    return row.ytd_yoy_pct if row.ytd is not None else row.yoy_pct


def versus_province(growth: float | None, province: float | None) -> str:
    """ "高于全省0.3个百分点": the difference of the two growth rates as printed (one decimal)."""
    if growth is None or province is None:
        return ""
    gap = round(round(growth, 1) - round(province, 1), 1)
    if gap == 0:
        return "，与全省持平"
    return f"，{'高于' if gap > 0 else '低于'}全省{abs(gap):.1f}个百分点"


def sentence(
    name: str,
    unit: str,
    row: indicators.Row,
    kind: str,
    *,
    city: str = "全市",
    province: indicators.Row | None = None,
) -> str:
    """One indicator's sentence in the summary (`province`: the province's row of the same
    period, for 高于/低于全省…个百分点)."""
    growth = growth_of(row)
    total = row.ytd if row.ytd is not None else row.value
    vs = versus_province(growth, growth_of(province) if province is not None else None)
    out = f"{span(row.period, kind)}，{city}{name}{change(growth)}{vs}，累计{num(total)}{unit}"
    if row.target_pct is not None and row.schedule_pct is not None:
        gap = row.target_pct - row.schedule_pct
        ahead = "快于" if gap >= 0 else "落后"
        out += f"，完成年度目标的{row.target_pct:.1f}%，{ahead}序时进度{abs(gap):.1f}个百分点"
    return out + "。"


@dataclass
class Indicator:
    code: str
    name: str
    unit: str
    kind: str
    period: str
    status: str  # ok | refused | pending | nodata
    stale: bool = False
    city: indicators.Row | None = None
    province: indicators.Row | None = None
    districts: list[dict[str, Any]] = field(default_factory=list)
    trend: list[indicators.Row] = field(default_factory=list)
    refusal: str = ""
    sentence: str = ""


@dataclass
class Report:
    month: str
    city_name: str
    title: str
    generated_at: str
    indicators: list[Indicator]
    summary: str
    notes: list[str]


def _indicator(
    session: Session, actor: Principal, d: MetricDef, month: str, city: str, city_name: str
) -> Indicator:
    kind = d.m.period
    period = month if kind == "month" else indicators.shift(month, -(int(month[5:7]) % 3))
    f = freshness(d, store.status(session, d.code), clock.now())
    ind = Indicator(d.code, d.m.name, d.m.unit, kind, period, f["status"], stale=f["stale"])
    if f["status"] == "refused":
        det = f.get("detail") or {}
        ind.refusal = (det.get("message") or {}).get("zh-CN", "") or det.get("code", "")
        return ind
    if f["status"] != "ok":
        return ind
    rows = indicator_rows(session, d, city, indicators.months_between(f"{period[:4]}-01", period))
    if not rows or rows[-1].value is None:
        ind.status = "nodata"
        return ind
    ind.city = rows[-1]
    ind.trend = rows
    ind.districts = ranking(session=session, actor=actor, code=d.code, period=period)
    if d.m.province is not None:
        prov = indicator_rows(session, d, province_code(city), [period])
        ind.province = prov[-1] if prov and prov[-1].value is not None else None
    ind.sentence = sentence(d.m.name, d.m.unit, rows[-1], kind, city="全市", province=ind.province)
    return ind


def data(*, session: Session, actor: Principal, month: str) -> Report:
    if len(month) != 7 or month[4] != "-" or not month[:4].isdigit() or not 1 <= int(month[5:7] or 0) <= 12:
        raise Invalid("The month must be YYYY-MM", code="bad_month", field="month")
    city = city_code(session)
    c = identity.city(session=session)
    city_name = c.name if c else city
    defs = [d for d in store.definitions(session) if d.theme == "economy"]
    inds = [_indicator(session, actor, d, month, city, city_name) for d in defs]
    ok = [i for i in inds if i.status == "ok"]
    if not ok:
        raise Invalid(
            "No stored figures for {month}", code="no_figures", field="month", params={"month": month}
        )
    y, m = int(month[:4]), int(month[5:7])
    notes = []
    for i in inds:
        if i.status == "refused":
            notes.append(f"{i.name}：数据源未向驾驶舱授权（{i.refusal}），未纳入本简报。")
        elif i.status != "ok":
            notes.append(f"{i.name}：{CN_MONTH.format(y=y, m=m)}暂无数据。")
        elif i.stale:
            notes.append(f"{i.name}：数据源已超过更新周期未更新，数据可能滞后。")
    summary = "".join(i.sentence for i in ok)
    return Report(
        month=month,
        city_name=city_name,
        title=f"{city_name}经济运行简报",
        generated_at=clock.local(clock.now()).strftime("%Y年%m月%d日"),
        indicators=inds,
        summary=summary,
        notes=notes,
    )
