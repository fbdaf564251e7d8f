"""The demo city's economic figures: two years of monthly values per district, deterministic.

Each district has a size (its share of the city) and a trend; months follow a seasonal shape
(a Spring Festival dip in February, a December push); a few districts grow slowly or shrink so
the rankings and warnings have something to show. GDP is quarterly (the quarter's value in its
last month). Values in 亿元 (用电量 亿千瓦时, 市场主体 户)."""

from __future__ import annotations

import random

from cityos.cockpit.indicators import shift

# indicator: (city's monthly level in year one, yearly growth %, provider key)
INDICATORS: dict[str, tuple[float, float, str]] = {
    "gdp": (1480.0, 5.8, "tjj"),  # per quarter
    "industry_va": (118.0, 6.6, "tjj"),
    "fixed_investment": (210.0, 4.1, "tjj"),
    "retail_sales": (205.0, 6.1, "tjj"),
    "trade": (142.0, 3.2, "tjj"),
    "budget_revenue": (33.0, 4.7, "swj"),
    "power_total": (31.0, 5.0, "gdgs"),
    "power_industry": (19.5, 5.6, "gdgs"),
    "new_entities": (5200.0, 2.5, "scjgj"),
    "power_key_firms": (8.2, 4.0, "gdgs"),
}
NAMES = {
    "gdp": "地区生产总值",
    "industry_va": "规上工业增加值",
    "fixed_investment": "固定资产投资",
    "retail_sales": "社会消费品零售总额",
    "trade": "进出口总额",
    "budget_revenue": "一般公共预算收入",
    "power_total": "全社会用电量",
    "power_industry": "工业用电量",
    "new_entities": "新登记市场主体",
    "power_key_firms": "重点用能企业用电量",
}
SEASON = [0.86, 0.74, 1.02, 0.98, 1.0, 1.04, 0.97, 0.97, 1.03, 1.02, 1.07, 1.30]


def figures(districts: list[tuple[str, str]], last: str, seed: int = 371300) -> list[list[object]]:
    """Rows [period, region_code, region_name, indicator, indicator_name, value] for the 24
    months ending with `last` (YYYY-MM)."""
    rng = random.Random(seed)
    weights = [rng.uniform(0.5, 1.6) for _ in districts]
    total = sum(weights)
    shares = [w / total for w in weights]
    trend = [rng.uniform(-4.0, 5.0) for _ in districts]  # points added to the city's growth
    first = shift(last, -23)
    out: list[list[object]] = []
    for key, (level, growth, _p) in INDICATORS.items():
        for i in range(24):
            period = shift(first, i)
            year_index = (i + int(first[5:7]) - 1) // 12
            m = int(period[5:7])
            if key == "gdp" and m % 3:
                continue
            base = level * (SEASON[m - 1] if key != "gdp" else 1.0 + (m / 3 - 2.5) * 0.08)
            for (code, name), share, extra in zip(districts, shares, trend, strict=True):
                g = (growth + extra) / 100
                v = base * share * (1 + g) ** (year_index + m / 12) * rng.uniform(0.97, 1.03)
                value: object = round(v) if key == "new_entities" else round(v, 2)
                out.append([period, code, name, key, NAMES[key], value])
    return out


# the province's growth differs from the city's by a few tenths of a point; the city is a
# sixteenth of its province
PROVINCE_SHARE = 1 / 16
PROVINCE_GAP = {"gdp": -0.4, "industry_va": 0.3, "fixed_investment": -1.1, "retail_sales": 0.6, "trade": 1.4}


def province_figures(province: str, last: str, seed: int = 370000) -> list[list[object]]:
    """The province's rows [period, province code, 全省, indicator, name, value] for the 24 months
    ending with `last`, for the indicators 统计局 publishes province-wide (PROVINCE_GAP)."""
    rng = random.Random(seed)
    first = shift(last, -23)
    out: list[list[object]] = []
    for key, gap in PROVINCE_GAP.items():
        level, growth, _p = INDICATORS[key]
        for i in range(24):
            period = shift(first, i)
            year_index = (i + int(first[5:7]) - 1) // 12
            m = int(period[5:7])
            if key == "gdp" and m % 3:
                continue
            base = level * (SEASON[m - 1] if key != "gdp" else 1.0 + (m / 3 - 2.5) * 0.08)
            v = base / PROVINCE_SHARE * (1 + (growth + gap) / 100) ** (year_index + m / 12)
            out.append([period, province, "全省", key, NAMES[key], round(v * rng.uniform(0.995, 1.005), 2)])
    return out
