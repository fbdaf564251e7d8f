"""领导驾驶舱 use cases: the metrics in force, their stored values and indicators, lineage,
rankings, the screens' data, the definitions page's save, and recompute-now.

Every read here is of stored numbers (cockpit_values, cockpit_snapshots): the screens never run
a source's query on page load. Functions are keyword-only, take the caller's session, never commit.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from cityos.catalog.schemas import slug
from cityos.cockpit import alerts as _alerts
from cityos.cockpit import definitions as defs
from cityos.cockpit import indicators, store
from cityos.cockpit import permissions as _permissions  # noqa: F401  (grants cockpit.*)
from cityos.cockpit.compute import city_code
from cityos.cockpit.definitions import MetricDef
from cityos.cockpit.models import Definition
from cityos.core import audit, calendar, clock
from cityos.core.errors import Forbidden, Invalid, NotFound
from cityos.identity import service as identity
from cityos.identity.permissions import authorize
from cityos.identity.schemas import Principal

PERIOD = r"^\d{4}-(0[1-9]|1[0-2])$"
STALE_AFTER = 3  # a value not recomputed within this many refresh intervals is stale


def _def(session: Session, code: str) -> MetricDef:
    for d in store.definitions(session):
        if d.code == code:
            return d
    raise NotFound("No metric {code}", code="metric_not_found", params={"code": code})


def freshness(d: MetricDef, st: dict[str, Any] | None, now: datetime) -> dict[str, Any]:
    """Status, staleness and age (seconds) of a metric's source, from its last computation."""
    if st is None:
        return {"status": "pending", "stale": True, "age_s": None, "computed_at": None}
    computed: datetime = st["computed_at"]
    src = datetime.fromisoformat(st["source_at"]) if st.get("source_at") else computed
    late = computed < now - timedelta(seconds=STALE_AFTER * d.m.refresh)
    return {
        "status": st["status"],
        "stale": bool(st.get("stale")) or late,
        "age_s": max(0, int((now - src).total_seconds())),
        "computed_at": computed,
        "detail": st.get("detail") or {},
        "version": st.get("version"),
        "ref": st.get("ref"),
    }


def metrics(*, session: Session, actor: Principal, theme: str | None = None) -> list[dict[str, Any]]:
    authorize(actor, "cockpit.view")
    now = clock.now()
    sts = store.statuses(session)
    owners = {x.code: x.name for x in identity.departments(session=session)}
    out = []
    for d in store.definitions(session):
        if theme and d.theme != theme:
            continue
        f = freshness(d, sts.get(d.code), now)
        out.append(
            {
                "code": d.code,
                "name": d.m.name,
                "unit": d.m.unit,
                "theme": d.theme,
                "period": d.m.period,
                "additive": d.m.additive,
                "owner": d.m.owner,
                "owner_name": owners.get(d.m.owner, d.m.owner),
                "aggregation": d.m.aggregation,
                "direction": d.m.direction,
                "refresh_s": d.m.refresh,
                "dimensions": list(d.m.dimensions),
                "source": {"kind": d.m.source.kind, "ref": d.m.source.resource or d.m.source.query},
                "status": f["status"],
                "stale": f["stale"],
                "age_s": f["age_s"],
                "refusal": f.get("detail", {}).get("code") if f["status"] == "refused" else None,
            }
        )
    return out


def _workdays(session: Session) -> Any:
    cal = calendar.get_calendar(session)
    return cal.workdays_between


def indicator_rows(
    session: Session,
    d: MetricDef,
    region: str,
    periods: list[str],
    values: dict[str, float | None] | None = None,
) -> list[indicators.Row]:
    """The indicators of one metric and region (`values`: its stored series, when already read)."""
    if values is None:
        values = {p: v.value for p, v in store.series(session, d.code, region).items()}
    years = {int(p[:4]) for p in periods}
    annual = d.m.target.annual if region_is_city(session, region) else None
    targets = {
        y: indicators.target_of(
            values, y, growth_pct=d.m.target.growth_pct, annual=annual, period_kind=d.m.period
        )
        for y in years
    }
    return indicators.rows(
        values,
        periods,
        additive=d.m.additive,
        period_kind=d.m.period,
        targets=targets,
        schedule_mode=d.m.schedule,
        workdays=_workdays(session) if d.m.schedule == "workdays" else None,
    )


def region_is_city(session: Session, region: str) -> bool:
    return region == city_code(session)


def _refused(d: MetricDef, f: dict[str, Any]) -> Forbidden:
    det = f.get("detail") or {}
    return Forbidden(
        "The source of {metric} refused the cockpit's read; it is not shown as 0",
        code="source_refused",
        params={"metric": d.m.name},
        details={"metric": d.code, "refusal": det.get("code", "")},
    )


def latest_period(session: Session, code: str) -> str | None:
    rows = store.latest(session, code)
    return max((v.period for v in rows), default=None)


def values(
    *,
    session: Session,
    actor: Principal,
    code: str,
    region: str | None = None,
    start: str | None = None,
    end: str | None = None,
) -> list[dict[str, Any]]:
    """The API's rows: {period, region, value, ytd, yoy_pct, ytd_yoy_pct, mom_pct, target_pct,
    schedule_pct, stale, source}; null where the inputs do not exist."""
    authorize(actor, "cockpit.view")
    d = _def(session, code)
    region = region or city_code(session)
    now = clock.now()
    f = freshness(d, store.status(session, code), now)
    if f["status"] == "refused":
        raise _refused(d, f)
    stored = store.series(session, code, region)
    last = end or (max(stored) if stored else clock.local(now).strftime("%Y-%m"))
    first = start or indicators.shift(last, -11)
    if first > last:
        raise Invalid("from must not be after to", code="bad_range", field="from")
    out = []
    for row in indicator_rows(session, d, region, indicators.months_between(first, last)):
        v = stored.get(row.period)
        out.append(
            {
                **row.as_dict(),
                "region": region,
                "stale": f["stale"],
                "source": _source(d, v, f),
            }
        )
    return out


def _source(d: MetricDef, v: Any, f: dict[str, Any]) -> dict[str, Any] | None:
    if v is None:
        return None
    return {
        "kind": v.source_kind,
        "ref": v.source_ref,
        "version": v.source_version,
        "computed_at": v.computed_at.isoformat(),
        "source_at": v.source_at.isoformat() if v.source_at else None,
    }


def lineage(*, session: Session, actor: Principal, code: str, region: str, period: str) -> dict[str, Any]:
    """Where one stored value came from and the link down to its rows. The link is the data API
    (catalog resource) or the case list (cases' queries): what the viewer gets there is what the
    share rules and cases' visibility give *them* — a leader sees counts, not masked persons."""
    authorize(actor, "cockpit.view")
    d = _def(session, code)
    v = store.series(session, code, region).get(period)
    if v is None:
        raise NotFound(
            "No value of {code} for {region} {period}",
            code="value_not_found",
            params={"code": code, "region": region, "period": period},
        )
    src = d.m.source
    if v.source_kind == "catalog":
        flt = {**src.filter, src.period: period}
        if region != city_code(session):
            flt[src.region] = region
        q = "&".join(f"{k}={val}" for k, val in flt.items())
        rows = f"/api/v1/data/{slug(v.source_ref)}?{q}"
        page = f"/catalog/resources/{slug(v.source_ref)}"
    else:
        rows = page = _query_page(v.source_ref, region)
    return {
        "metric": code,
        "region": region,
        "period": period,
        "value": v.value,
        "source_kind": v.source_kind,
        "source_ref": v.source_ref,
        "source_version": v.source_version,
        "source_at": v.source_at,
        "computed_at": v.computed_at,
        "detail": v.detail,
        "rows_url": rows,
        "page_url": page,
    }


def _query_page(query: str, region: str) -> str:
    """The page of the module a query source reads, where the viewer sees the rows its own rules give
    them: the cases of the region, the devices or the alarms, the services' work list, the catalog."""
    module = query.split(".", 1)[0]
    if module == "cases":
        return f"/cases?region={region}"
    if query == "sensing.alarms":
        return "/sensing/alarms"
    return {"sensing": "/sensing", "services": "/services", "catalog": "/catalog"}.get(module, "/cockpit")


def ranking(
    *, session: Session, actor: Principal, code: str, period: str | None = None
) -> list[dict[str, Any]]:
    """Districts ranked by 累计同比 (else 同比) at the period (default: the latest stored)."""
    authorize(actor, "cockpit.view")
    d = _def(session, code)
    by_region = store.by_region(session, code)  # one read for every district
    period = period or max((p for per in by_region.values() for p in per), default=None)
    city = city_code(session)
    if period is None:
        return []
    names = store.places(session)["districts"]
    out = []
    for region in sorted(r for r in by_region if r != city and r.startswith(city[:4])):
        rows = indicator_rows(session, d, region, [period], by_region[region])
        if not rows:
            continue
        r = rows[0]
        key = r.ytd_yoy_pct if r.ytd_yoy_pct is not None else r.yoy_pct
        out.append({"region": region, "name": names.get(region, region), **r.as_dict(), "growth": key})
    out.sort(key=lambda x: (x["growth"] is None, -(x["growth"] or 0)))
    for i, x in enumerate(out, 1):
        x["rank"] = i if x["growth"] is not None else None
    return out


def open_alerts(*, session: Session, actor: Principal) -> list[dict[str, Any]]:
    authorize(actor, "cockpit.view")
    names = {d.code: d.m.name for d in store.definitions(session)}
    here = store.places(session)
    regions = {**here["districts"], here["city"]: here["city_name"]}
    return [
        {
            "id": a.id,
            "metric": a.metric,
            "name": names.get(a.metric, a.metric),
            "region": a.region,
            "region_name": regions.get(a.region, a.region),
            "rule": a.rule,
            "period": a.period,
            "value": a.value,
            "limit": a.limit,
            "raised_at": a.raised_at,
        }
        for a in _alerts.open_alerts(session)
    ]


# ---------------------------------------------------------------------------- definitions
def definition_text(*, session: Session, actor: Principal, theme: str) -> str:
    authorize(actor, "cockpit.admin")
    if theme not in defs.THEMES:
        raise NotFound("No theme {theme}", code="theme_not_found", params={"theme": theme})
    return store.overrides(session).get(theme) or defs.packaged(theme)


def save_definitions(*, session: Session, actor: Principal, theme: str, text: str) -> int:
    """Validate and store one theme's YAML (all or nothing); returns its metric count."""
    authorize(actor, "cockpit.admin")
    if theme not in defs.THEMES:
        raise NotFound("No theme {theme}", code="theme_not_found", params={"theme": theme})
    parsed = defs.parse(text, theme=theme)
    others = {d.code for d in store.definitions(session) if d.theme != theme}
    for i, m in enumerate(parsed.metrics):
        if m.code in others:
            key = f"metrics[{i}].code"
            raise Invalid(
                "Bad metric definition at {key}: {reason}",
                code="bad_definition",
                field=key,
                params={"key": key, "reason": f"{m.code} is defined in another theme"},
            )
    known = {x.code for x in identity.departments(session=session)}
    for i, m in enumerate(parsed.metrics):
        if m.owner not in known:
            key = f"metrics[{i}].owner"
            raise Invalid(
                "Bad metric definition at {key}: {reason}",
                code="bad_definition",
                field=key,
                params={"key": key, "reason": f"unknown department {m.owner}"},
            )
    row = session.get(Definition, theme)
    now = clock.now()
    if row is None:
        session.add(Definition(theme=theme, body=text, updated_at=now, updated_by=actor.actor))
    else:
        row.body, row.updated_at, row.updated_by = text, now, actor.actor
    session.flush()
    audit.record(
        session,
        actor=actor.actor,
        action="cockpit.definitions.save",
        subject_type="cockpit_theme",
        subject_id=theme,
        payload={"metrics": [m.code for m in parsed.metrics]},
    )
    return len(parsed.metrics)
