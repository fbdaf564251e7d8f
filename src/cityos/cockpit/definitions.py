"""Metric definitions: one YAML file per theme shipped in metrics/ (城市管理 city, 产业经济 economy,
民生服务 livelihood), which an admin may replace on the definitions page (stored in
cockpit_definitions). Every file is validated the same way; an error names the bad key
(`metrics[2].source.resource`) in the 4xx's `field` and its message, and nothing is applied.

A metric:
  code, name, unit, owner (department code), theme (the file's), period (month | quarter),
  additive (sums to 累计值 and over districts), aggregation (sum | avg | last), dimensions
  (region, period), refresh (seconds), direction (higher | lower is better),
  target (growth_pct over last year's total, and/or annual: {year: city value}),
  schedule (序时进度 by month | days | workdays), thresholds (yoy_below, value_below,
  value_above, behind_schedule (percentage points), hysteresis),
  source: kind catalog (resource code, value/region/period fields, filter on other fields)
          or kind query (a name in sources.QUERY_SOURCES, e.g. cases.intake), and optionally
  province: the province's figures of the same indicator (catalog resource, fields, filter), for
          the report's comparison with the province.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cityos.core.errors import Invalid

THEMES: dict[str, str] = {
    "city": "City management",
    "economy": "Industry and economy",
    "livelihood": "Public services",
}  # msgids: 城市管理, 产业经济, 民生服务
CODE = r"^[a-z][a-z0-9_]{1,63}$"
FIELD = r"^[A-Za-z_][A-Za-z0-9_]{0,63}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Source(_Strict):
    kind: Literal["catalog", "query"]
    resource: str | None = Field(None, pattern=r"^\d{6,8}/\d{6}$")
    query: str | None = Field(None, pattern=r"^[a-z]+\.[a-z_]+$")
    value: str = Field("value", pattern=FIELD)
    region: str = Field("region_code", pattern=FIELD)
    period: str = Field("period", pattern=FIELD)
    filter: dict[str, str] = {}


class Province(_Strict):
    """The province's own figures for the same indicator (a catalog resource, usually 统计局's
    全省 table): stored under the province's division code and compared with in the report's
    standard phrasing (高于/低于全省…个百分点)."""

    resource: str = Field(pattern=r"^\d{6,8}/\d{6}$")
    value: str = Field("value", pattern=FIELD)
    region: str = Field("region_code", pattern=FIELD)
    period: str = Field("period", pattern=FIELD)
    filter: dict[str, str] = {}


class Target(_Strict):
    growth_pct: float | None = Field(None, ge=-100, le=1000)
    annual: dict[int, float] = {}


class Thresholds(_Strict):
    yoy_below: float | None = None  # 同比 (%) under this: warning (0: negative growth)
    value_below: float | None = None
    value_above: float | None = None
    behind_schedule: float | None = Field(None, ge=0)  # 目标完成率 this many points behind 序时进度
    hysteresis: float = Field(1.0, ge=0)  # a raised warning clears only this far past the limit


class Metric(_Strict):
    code: str = Field(pattern=CODE)
    name: str = Field(min_length=1, max_length=60)
    unit: str = Field("", max_length=20)
    owner: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,40}$")
    period: Literal["month", "quarter"] = "month"
    additive: bool = True
    aggregation: Literal["sum", "avg", "last"] = "sum"
    dimensions: list[Literal["region", "period"]] = ["region", "period"]
    refresh: int = Field(3600, ge=10, le=31 * 86400)
    direction: Literal["higher", "lower"] = "higher"
    target: Target = Target()
    schedule: Literal["month", "days", "workdays"] = "month"
    thresholds: Thresholds = Thresholds()
    source: Source
    province: Province | None = None


class ThemeFile(_Strict):
    theme: Literal["city", "economy", "livelihood"]
    name: str = Field(min_length=1, max_length=40)
    metrics: list[Metric]


@dataclass(frozen=True)
class MetricDef:
    """A validated metric with its theme (what the rest of the module uses)."""

    theme: str
    m: Metric

    @property
    def code(self) -> str:
        return self.m.code


def _key(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def packaged(theme: str) -> str:
    return resources.files("cityos.cockpit").joinpath("metrics", f"{theme}.yaml").read_text("utf-8")


def parse(text: str, *, theme: str | None = None) -> ThemeFile:
    """One theme's YAML, validated. Invalid (422) naming the key at fault, never a partial file."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 0
        raise Invalid(
            "The YAML cannot be read (line {line})", code="bad_yaml", field="yaml", params={"line": line}
        ) from None
    if not isinstance(raw, dict):
        raise Invalid(
            "The YAML cannot be read (line {line})", code="bad_yaml", field="yaml", params={"line": 1}
        )
    try:
        f = ThemeFile.model_validate(raw)
    except ValidationError as e:
        err = e.errors()[0]
        key = _key(tuple(err["loc"]))
        raise Invalid(
            "Bad metric definition at {key}: {reason}",
            code="bad_definition",
            field=key,
            params={"key": key, "reason": err["msg"]},
        ) from None
    if theme is not None and f.theme != theme:
        raise Invalid(
            "Bad metric definition at {key}: {reason}",
            code="bad_definition",
            field="theme",
            params={"key": "theme", "reason": f"this file is for {theme}"},
        )
    seen: set[str] = set()
    for i, m in enumerate(f.metrics):
        _check_metric(i, m, seen)
    return f


def _check_metric(i: int, m: Metric, seen: set[str]) -> None:
    from cityos.cockpit.sources import QUERY_SOURCES

    def bad(key: str, reason: str) -> Invalid:
        full = f"metrics[{i}].{key}"
        return Invalid(
            "Bad metric definition at {key}: {reason}",
            code="bad_definition",
            field=full,
            params={"key": full, "reason": reason},
        )

    if m.code in seen:
        raise bad("code", f"{m.code} is defined twice")
    seen.add(m.code)
    if m.source.kind == "catalog" and not m.source.resource:
        raise bad("source.resource", "a catalog source names its resource code")
    if m.source.kind == "query":
        if not m.source.query:
            raise bad("source.query", "a query source names its query")
        if m.source.query not in QUERY_SOURCES:
            raise bad("source.query", f"unknown query; known: {', '.join(sorted(QUERY_SOURCES))}")
    if m.province is not None and m.source.kind != "catalog":
        raise bad("province", "only a catalog metric compares with the province's figures")
    if m.aggregation != "sum" and m.additive:
        raise bad("additive", "only a summed metric adds up to 累计值")


def load_all(overrides: dict[str, str]) -> list[MetricDef]:
    """Every theme's metrics: an admin's stored YAML where there is one, else the packaged file."""
    out: list[MetricDef] = []
    codes: set[str] = set()
    for theme in THEMES:
        f = parse(overrides.get(theme) or packaged(theme), theme=theme)
        for m in f.metrics:
            if m.code in codes:
                continue  # a code taken by an earlier theme: the first wins (the save refuses it)
            codes.add(m.code)
            out.append(MetricDef(theme=theme, m=m))
    return out
