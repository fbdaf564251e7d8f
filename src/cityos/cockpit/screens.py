"""What each big screen shows, assembled from stored numbers only (cockpit_values and the
worker's snapshots): never a source query on page load.

Every figure carries its freshness: `stale` and `age_s` (seconds since its source's data), and a
metric whose source refused the cockpit's read carries `status: refused` and no number.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from cityos.cockpit import store
from cityos.cockpit.compute import city_code
from cityos.cockpit.definitions import THEMES, MetricDef
from cityos.cockpit.service import freshness, indicator_rows, open_alerts, ranking
from cityos.cockpit.sources import province_code
from cityos.core import clock
from cityos.core.errors import NotFound
from cityos.geo import service as geo
from cityos.identity import service as identity
from cityos.identity.permissions import authorize
from cityos.identity.schemas import Principal
from cityos.sensing import service as sensing

SNAPSHOT_STALE_S = 300  # the case figures are recomputed every minute; five without is stale
SPARK = 12
LEVELS = {6: "district", 9: "street", 12: "community", 14: "grid"}


def _tile(
    session: Session,
    d: MetricDef,
    region: str,
    now: datetime,
    sts: dict[str, Any],
    values: dict[str, float | None],
    province: dict[str, float | None] | None = None,
) -> dict[str, Any]:
    """One metric's tile (`province`: the province's stored series, on the city's own screen)."""
    f = freshness(d, sts.get(d.code), now)
    tile: dict[str, Any] = {
        "code": d.code,
        "name": d.m.name,
        "unit": d.m.unit,
        "status": f["status"],
        "stale": f["stale"],
        "age_s": f["age_s"],
        "refusal": (f.get("detail") or {}).get("message") if f["status"] == "refused" else None,
        "period": None,
        "value": None,
        "spark": [],
    }
    if f["status"] != "ok" or not values:
        return tile
    last = max(values)
    rows = indicator_rows(session, d, region, [last], values)
    cur = rows[-1] if rows else None
    tile.update(cur.as_dict() if cur else {})
    tile["spark"] = [[p, values[p]] for p in sorted(values) if values[p] is not None][-SPARK:]
    growth = None
    if cur is not None:
        growth = cur.ytd_yoy_pct if cur.ytd_yoy_pct is not None else cur.yoy_pct
    tile["growth"] = growth
    tile["province_growth"] = None
    if province and cur is not None:  # the province's growth of the same period, to compare with
        prov = indicator_rows(session, d, province_code(city_code(session)), [cur.period], province)
        if prov and prov[0].value is not None:
            tile["province_growth"] = prov[0].ytd_yoy_pct if cur.ytd_yoy_pct is not None else prov[0].yoy_pct
    t = d.m.thresholds
    warn = []
    if cur is not None and t.yoy_below is not None and growth is not None and growth < t.yoy_below:
        warn.append("yoy")
    if (
        cur is not None
        and t.behind_schedule is not None
        and cur.target_pct is not None
        and cur.schedule_pct is not None
        and cur.schedule_pct - cur.target_pct > t.behind_schedule
    ):
        warn.append("schedule")
    tile["warnings"] = warn
    return tile


def _region_name(session: Session, code: str) -> str:
    try:
        return identity.get_region(session=session, code=code).name
    except NotFound:
        return code


def _grid_or_region_name(session: Session, code: str) -> str:
    if len(code) == 14:
        return geo.grid_names(session=session, codes=[code]).get(code, code)
    return _region_name(session, code)


def _cases(session: Session, now: datetime, region: str, city: str) -> dict[str, Any]:
    got = store.snapshot(session, "cases")
    if got is None:
        return {"status": "pending", "stale": True, "age_s": None}
    fig, at = got
    prefix = "" if region == city else region
    lights = {"green": 0, "yellow": 0, "red": 0, "none": 0}
    districts: dict[str, dict[str, int]] = {}
    for code, per in fig["open"].items():
        if not code.startswith(prefix):
            continue
        for k, n in per.items():
            lights[k] = lights.get(k, 0) + n
        dd = districts.setdefault(code[:6], {"green": 0, "yellow": 0, "red": 0, "none": 0})
        for k, n in per.items():
            dd[k] = dd.get(k, 0) + n
    closed = sum(n for c, n in fig["closed"].items() if c.startswith(prefix))
    on_time = sum(n for c, n in fig["on_time"].items() if c.startswith(prefix))
    hot = sorted(((c, n) for c, n in fig["grids"].items() if c.startswith(prefix)), key=lambda x: -x[1])[:10]
    names = geo.grid_names(session=session, codes=[c for c, _n in hot]) if hot else {}
    dnames = store.places(session)["districts"]
    age = int((now - at).total_seconds())
    return {
        "status": "ok",
        "computed_at": at,
        "age_s": age,
        "stale": age > SNAPSHOT_STALE_S,
        "lights": lights,
        "open": sum(lights.values()),
        "intake_hours": fig["intake_hours"],
        "on_time_rate": round(100 * on_time / closed, 1) if closed else None,
        "closed": closed,
        "categories": list(fig["categories"].items())[:8],
        "hot_spots": [{"code": c, "name": names.get(c, c), "open": n} for c, n in hot],
        "districts": [
            {"code": c, "name": dnames.get(c, c), **v}
            for c, v in sorted(districts.items(), key=lambda kv: kv[0])
        ],
        "points": fig["points"],
        "hotline": {c: n for c, n in fig["hotline"].items() if c.startswith(prefix)},
    }


def sees_all_devices(actor: Principal) -> bool:
    """Device positions and names go to those sensing's one rule shows every device; everyone else
    with the cockpit gets the counts only."""
    return sensing.sees_everything(actor)


def _sensing(session: Session, now: datetime, region: str, city: str, actor: Principal) -> dict[str, Any]:
    """The map's devices and alarms layers under `region`, from the worker's snapshot."""
    got = store.snapshot(session, "sensing")
    if got is None:
        return {"status": "pending", "stale": True, "age_s": None}
    snap, at = got
    prefix = "" if region == city else region
    mine = [d for d in snap["devices"] if d["region"].startswith(prefix)]
    age = int((now - at).total_seconds())
    return {
        "status": "ok",
        "age_s": age,
        "stale": age > SNAPSHOT_STALE_S,
        "devices": len(mine),
        "online": sum(1 for d in mine if d["online"]),
        "alarms": sum(d["alarms"] for d in mine),
        # [lon, lat, id, name, online, worst open alarm's severity, open alarms]
        "points": [
            [d["lon"], d["lat"], d["id"], d["name"], d["online"], d["severity"], d["alarms"]] for d in mine
        ]
        if sees_all_devices(actor)
        else [],
    }


def screen(*, session: Session, actor: Principal, theme: str, region: str | None = None) -> dict[str, Any]:
    """One theme's screen data (`region`: the city by default, or a district)."""
    authorize(actor, "cockpit.view")
    if theme not in THEMES:
        raise NotFound("No theme {theme}", code="theme_not_found", params={"theme": theme})
    now = clock.now()
    city = city_code(session)
    region = region or city
    sts = store.statuses(session)
    defs = [d for d in store.definitions(session) if d.theme == theme]
    stored = store.values_by_metric(session, [d.code for d in defs], region)
    compared = [d.code for d in defs if d.m.province is not None] if region == city else []
    prov = store.values_by_metric(session, compared, province_code(city)) if compared else {}
    out: dict[str, Any] = {
        "theme": theme,
        "title": THEMES[theme],
        "region": region,
        "region_name": _region_name(session, region),
        "city": city,
        "now": now,
        "tiles": [_tile(session, d, region, now, sts, stored[d.code], prov.get(d.code)) for d in defs],
        "alerts": [
            a for a in open_alerts(session=session, actor=actor) if a["metric"] in {d.code for d in defs}
        ][:12],
    }
    if theme == "economy":
        main = next((d for d in defs if d.code == "industry_va"), defs[0] if defs else None)
        if main is not None and sts.get(main.code, {}).get("status") == "ok":
            out["ranking"] = {
                "code": main.code,
                "name": main.m.name,
                "rows": ranking(session=session, actor=actor, code=main.code),
            }
    if theme in ("city", "livelihood"):
        out["cases"] = _cases(session, now, region, city)
    out["sensing"] = _sensing(session, now, region, city, actor)
    if theme == "livelihood":
        cases = out["cases"]
        if cases.get("status") == "ok":
            dn = store.places(session)["districts"]
            per: dict[str, int] = {}
            for c, n in cases["hotline"].items():
                per[c[:6]] = per.get(c[:6], 0) + n
            cases["hotline_districts"] = [
                {"code": c, "name": dn.get(c, c), "n": n} for c, n in sorted(per.items())
            ]
    return out


def drill(*, session: Session, actor: Principal, region: str) -> dict[str, Any]:
    """One level down from `region`, from the stored figures (open cases; placed devices and their
    open alarms): the city's districts, a district's streets, a street's grids — every child,
    those with nothing open too. At a grid the page lists its open cases through cases' own list
    (the viewer's visibility applies there) and, for those who see every device, its devices."""
    authorize(actor, "cockpit.view")
    now = clock.now()
    got = store.snapshot(session, "cases")
    fig, at = got if got is not None else ({"open": {}, "grids": {}}, now)
    sens = store.snapshot(session, "sensing")
    devs: list[dict[str, Any]] = sens[0]["devices"] if sens is not None else []
    city = city_code(session)
    level = "city" if region == city else LEVELS.get(len(region), "grid")
    try:
        chain = identity.region_chain(session=session, code=region[:12]) if region != city else []
    except NotFound:
        chain = []
    chain = [r for r in chain if r.level != "city"]
    prefix = "" if level == "city" else region
    rows: dict[str, dict[str, Any]] = {}

    def row(code: str) -> dict[str, Any]:
        return rows.setdefault(code, {"code": code, "name": code, "open": 0, "devices": 0, "alarms": 0})

    if level in ("city", "district"):
        n, child = (6, "district") if level == "city" else (9, "street")
        for r in identity.regions(session=session, level=child, under=None if level == "city" else region):
            row(r.code)["name"] = r.name
        for code, per in fig["open"].items():
            if code.startswith(prefix) and len(code) >= n:
                row(code[:n])["open"] += sum(per.values())
        for d in devs:
            if d["region"].startswith(prefix) and len(d["region"]) >= n:
                x = row(d["region"][:n])
                x["devices"] += 1
                x["alarms"] += d["alarms"]
    elif level in ("street", "community"):
        for code, k in fig["grids"].items():
            if code.startswith(region):
                row(code)["open"] += k
        for d in devs:
            if d["grid"] and d["grid"].startswith(region):
                x = row(d["grid"])
                x["devices"] += 1
                x["alarms"] += d["alarms"]
        for code, name in (geo.grid_names(session=session, codes=list(rows)) if rows else {}).items():
            rows[code]["name"] = name
    here = [d for d in devs if level == "grid" and d["grid"] == region] if sees_all_devices(actor) else []
    return {
        "region": region,
        "level": level,
        "name": _grid_or_region_name(session, region),
        "chain": [{"code": r.code, "name": r.name} for r in chain],
        "children": [rows[c] for c in sorted(rows)],
        "devices": sorted(here, key=lambda d: (-d["alarms"], d["id"])),
        "computed_at": at,
        "age_s": int((now - at).total_seconds()),
        "stale": (now - at) > timedelta(seconds=SNAPSHOT_STALE_S),
    }
