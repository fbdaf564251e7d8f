"""Where metric values come from, read as the cockpit's own account.

kind catalog  a catalog resource's current version read through the share rules
              (`catalog.service.read_plan`: refused when the cockpit's department holds no grant
              for a conditional resource — the refusal is stored as such, never as 0), summed by
              region × period in DuckDB over the version's Parquet file, and recorded as a data
              call in the catalog's use statistics and the audit trail.
kind query    a function of another module's queries/service, named in QUERY_SOURCES, returning
              {(region_code, "YYYY-MM"): value}: cases (its `figures`, as the cockpit's account),
              catalog (its use statistics), services (`monthly_figures`, city-wide counts) and
              sensing (`placed_devices`, read as `operations_principal`: city-wide, like a leader).
              A ratio with nothing to divide by is no value ("no data" on the screen), never 0.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import duckdb
from sqlalchemy.orm import Session

from cityos.cases import service as cases
from cityos.catalog import service as catalog
from cityos.cockpit import permissions as _permissions  # noqa: F401  (grants cockpit.*)
from cityos.cockpit.definitions import Metric, Province, Source
from cityos.cockpit.indicators import shift
from cityos.core import clock
from cityos.core.errors import CityOSError, NotFound
from cityos.identity import service as identity
from cityos.identity.schemas import Principal
from cityos.sensing import service as sensing
from cityos.services import service as services

Points = dict[tuple[str, str], float]


def cockpit_department() -> str:
    return os.environ.get("CITYOS_COCKPIT_DEPARTMENT", "dsjj")


def cockpit_principal(session: Session) -> Principal:
    """The cockpit's own account: its department's share rules apply to every catalog read."""
    code = cockpit_department()
    try:
        d = identity.get_department(session=session, code=code)
        dept_id, dept_name = d.id, d.name
    except NotFound:
        dept_id, dept_name = None, None
    return Principal(
        kind="token",
        username="cockpit",
        display_name="领导驾驶舱",
        scopes=frozenset({"cockpit_source"}),
        department_id=dept_id,
        department_code=code,
        department_name=dept_name,
    )


def operations_principal(session: Session) -> Principal:
    """The cockpit's read of the city's operational figures (devices and their alarms): the same
    account without a department, holding only `cockpit_operations` (sensing.view), so sensing's
    one visibility rule gives it the whole city — what a leader sees on sensing's own pages."""
    return cockpit_principal(session).model_copy(
        update={
            "department_id": None,
            "department_code": None,
            "department_name": None,
            "scopes": frozenset({"cockpit_operations"}),
        }
    )


@dataclass
class Reading:
    status: str  # ok | refused | error
    points: Points = field(default_factory=dict)
    ref: str = ""
    version: int | None = None
    source_at: datetime | None = None
    stale: bool = False
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class QueryContext:
    session: Session
    actor: Principal
    now: datetime
    city: str
    memo: dict[str, Any] = field(default_factory=dict)

    def period(self) -> str:
        return clock.local(self.now).strftime("%Y-%m")


def _refusal(e: CityOSError) -> dict[str, Any]:
    return {"code": e.code, "message": {"zh-CN": e.text("zh_CN"), "en": e.text("en")}}


def province_code(city: str) -> str:
    """The province's division code (its first two digits): 371300 → 370000."""
    return city[:2] + "0000"


def read_catalog(
    session: Session, actor: Principal, m: Metric, city: str, *, src: Source | Province | None = None
) -> Reading:
    """`src`: the metric's source (default) or its province figures (`m.province`), whose rows
    are kept for the province's code only."""
    province = src is not None and isinstance(src, Province)
    src = src or m.source
    code = src.resource or ""
    wanted = list(dict.fromkeys([src.region, src.period, src.value, *src.filter]))
    t0 = time.perf_counter()
    try:
        plan = catalog.read_plan(session=session, actor=actor, code=code, fields=wanted)
    except CityOSError as e:
        catalog.record_call(
            session=session,
            actor=actor,
            code=code,
            kind="aggregate",
            fields=wanted,
            filters=dict(src.filter),
            rows=0,
            latency_ms=(time.perf_counter() - t0) * 1000,
            outcome=e.code,
        )
        status = "refused" if e.code not in ("no_data", "version_not_found", "not_found") else "error"
        return Reading(status=status, ref=code, detail=_refusal(e))
    res = catalog.get_resource(session=session, code=code)
    where = " AND ".join(f'CAST("{k}" AS VARCHAR) = ?' for k in src.filter) or "TRUE"
    sql = (
        f'SELECT CAST("{src.region}" AS VARCHAR), CAST("{src.period}" AS VARCHAR), '
        f'SUM(CAST("{src.value}" AS DOUBLE)), COUNT(*) FROM read_parquet(?) WHERE {where} GROUP BY 1, 2'
    )
    con = duckdb.connect()
    try:
        got = con.execute(sql, [str(plan.path), *src.filter.values()]).fetchall()
    finally:
        con.close()
    points: Points = {}
    rows = 0
    for region, period, value, n in got:
        if region is None or period is None or value is None:
            continue
        if province and region != province_code(city):
            continue
        points[(region, period[:7])] = round(float(value), 6)
        rows += int(n)
    if (
        m.aggregation == "sum" and not province
    ):  # the city: its own rows when the resource has them, else the sum
        periods = {p for _r, p in points}
        for p in periods:
            if (city, p) not in points:
                points[(city, p)] = round(sum(v for (r, q), v in points.items() if q == p and r != city), 6)
    catalog.record_call(
        session=session,
        actor=actor,
        code=code,
        kind="aggregate",
        fields=wanted,
        filters=dict(src.filter),
        rows=rows,
        latency_ms=(time.perf_counter() - t0) * 1000,
        outcome="ok",
        version=plan.version,
    )
    return Reading(
        status="ok",
        points=points,
        ref=code,
        version=plan.version,
        source_at=res.last_loaded_at,
        stale=res.stale,
        detail={"filter": dict(src.filter), "rows": rows, "basis": plan.access.basis},
    )


# ----------------------------------------------------------------------------- query sources
def _case_figures(ctx: QueryContext) -> dict[str, Any]:
    if "cases" not in ctx.memo:
        ctx.memo["cases"] = cases.figures(session=ctx.session, actor=ctx.actor, now=ctx.now)
    return ctx.memo["cases"]


def _by_district(per_region: dict[str, Any], ctx: QueryContext) -> Points:
    """Per-region numbers (any depth) added up to their districts and the city, this month."""
    period = ctx.period()
    out: dict[str, float] = {}
    for region, n in per_region.items():
        for key in (region[:6], ctx.city):
            out[key] = out.get(key, 0.0) + n
    return {(r, period): v for r, v in out.items()}


def _ratio(num: dict[str, float], den: dict[str, float], ctx: QueryContext, scale: float = 100.0) -> Points:
    n, d = _by_district(num, ctx), _by_district(den, ctx)
    return {k: round(scale * n.get(k, 0.0) / v, 2) for k, v in d.items() if v}


def _open(ctx: QueryContext, light: str | None = None) -> Points:
    f = _case_figures(ctx)["open"]
    return _by_district(
        {r: float(sum(v for k, v in per.items() if light is None or k == light)) for r, per in f.items()}, ctx
    )


def _satisfaction(ctx: QueryContext) -> Points:
    s = _case_figures(ctx)["satisfaction"]
    return _ratio({r: v[0] for r, v in s.items()}, {r: v[1] for r, v in s.items()}, ctx, scale=1.0)


def _calls(ctx: QueryContext) -> Points:
    return {(ctx.city, ctx.period()): float(catalog.overview(session=ctx.session)["calls"])}


SERVICE_MONTHS = 12  # the months of 一网通办 figures kept (this one and the eleven before)


def _services(ctx: QueryContext) -> dict[str, dict[str, int]]:
    """{period: counts} of the last SERVICE_MONTHS months from services.monthly_figures: counts
    since each month's start, less those since the next one's (each count is of events at or
    after a moment, so the difference is the month's)."""
    if "services" not in ctx.memo:
        tz = clock.local(ctx.now).tzinfo
        periods = [shift(ctx.period(), -k) for k in range(SERVICE_MONTHS)]
        since = [
            services.monthly_figures(
                session=ctx.session, since=datetime(int(p[:4]), int(p[5:7]), 1, tzinfo=tz).astimezone(UTC)
            )
            for p in periods
        ]
        out: dict[str, dict[str, int]] = {}
        for k, p in enumerate(periods):
            f = {key: n - (since[k - 1][key] if k else 0) for key, n in since[k].items()}
            out[p] = {**f, "materials": f["from_data"] + f["handed_in"]}
        ctx.memo["services"] = out
    return ctx.memo["services"]


def _city_share(num: str, den: str, ctx: QueryContext) -> Points:
    """The city's share in % per month; a month with nothing to divide by has no value."""
    return {(ctx.city, p): round(100 * f[num] / f[den], 2) for p, f in _services(ctx).items() if f[den]}


def devices(ctx: QueryContext) -> list[dict[str, Any]]:
    """The placed devices with their open alarms (sensing.placed_devices), once per computation."""
    if "sensing" not in ctx.memo:
        ctx.memo["sensing"] = sensing.placed_devices(
            session=ctx.session, actor=operations_principal(ctx.session)
        )
    return ctx.memo["sensing"]


def _per_device(ctx: QueryContext, key: str | None) -> dict[str, float]:
    """Per region: the devices (key None), or the sum of a field over them (0 where none)."""
    out: dict[str, float] = {}
    for d in devices(ctx):
        out[d["region"]] = out.get(d["region"], 0.0) + (1.0 if key is None else float(d[key]))
    return out


QUERY_SOURCES: dict[str, Callable[[QueryContext], Points]] = {
    "cases.intake": lambda ctx: _by_district(_case_figures(ctx)["intake"], ctx),
    "cases.open": lambda ctx: _open(ctx),
    "cases.red": lambda ctx: _open(ctx, "red"),
    "cases.on_time_rate": lambda ctx: _ratio(
        _case_figures(ctx)["on_time"], _case_figures(ctx)["closed"], ctx
    ),
    "cases.hotline": lambda ctx: _by_district(_case_figures(ctx)["hotline"], ctx),
    "cases.satisfaction": _satisfaction,
    "catalog.calls": _calls,
    "services.applications": lambda ctx: {
        (ctx.city, p): float(f["submitted"]) for p, f in _services(ctx).items()
    },
    "services.on_time_rate": lambda ctx: _city_share("on_time", "decided", ctx),
    "services.satisfaction": lambda ctx: _city_share("satisfied", "ratings", ctx),
    "services.certificate_free": lambda ctx: _city_share("from_data", "materials", ctx),
    "sensing.devices": lambda ctx: _by_district(_per_device(ctx, None), ctx),
    "sensing.online_rate": lambda ctx: _ratio(_per_device(ctx, "online"), _per_device(ctx, None), ctx),
    "sensing.alarms": lambda ctx: _by_district(_per_device(ctx, "alarms"), ctx),
}


def read_query(ctx: QueryContext, m: Metric) -> Reading:
    name = m.source.query or ""
    try:
        points = QUERY_SOURCES[name](ctx)
    except CityOSError as e:
        return Reading(status="refused", ref=name, detail=_refusal(e))
    return Reading(status="ok", points=points, ref=name, source_at=ctx.now, detail={"query": name})
