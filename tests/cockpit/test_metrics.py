"""The metric layer over real catalog resources (统计局, 税务局, 供电公司, 市场监管局 publish through
`catalog.service.load`): values stored with their lineage, the share rules applied as the cockpit's
department (a conditional resource without a grant is refused and shown so, never as 0), stale
sources shown stale with their age, the API in JSON and CSV for a `metrics` token."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest

from cityos.catalog import service as catalog
from cityos.cockpit import compute, screens, service, store
from cityos.core import audit, clock
from cityos.identity import service as identity
from tests.cockpit.helpers import LAST, district_rows, publish

pytestmark = pytest.mark.xdist_group("cockpit")
FIELDS = [
    "period",
    "region",
    "value",
    "ytd",
    "yoy_pct",
    "ytd_yoy_pct",
    "mom_pct",
    "target_pct",
    "schedule_pct",
    "stale",
    "source",
]


def _tile(data: dict, code: str) -> dict:  # type: ignore[type-arg]
    return next(t for t in data["tiles"] if t["code"] == code)


def test_values_lineage_refusal_and_api(city, db, client, session) -> None:  # type: ignore[no-untyped-def]
    publish(city, db)
    clock.advance(timedelta(hours=1))
    assert compute.refresh(db, force=True) >= 10
    leader = city.as_role("leader")
    with db.reader() as s:
        rows = service.values(session=s, actor=leader, code="industry_va", start="2026-01", end=LAST)
        # the city's 当月值 is the sum of the districts' rows the provider sent
        sent = sum(float(r[5]) for r in district_rows("industry_va") if r[0] == LAST)  # type: ignore[arg-type]
        assert rows[-1]["period"] == LAST and rows[-1]["value"] == pytest.approx(sent)
        assert rows[-1]["ytd"] == pytest.approx(
            sum(float(r[5]) for r in district_rows("industry_va") if str(r[0]).startswith("2026"))  # type: ignore[arg-type]
        )
        assert rows[0]["mom_pct"] is not None and rows[-1]["schedule_pct"] == 83.33
        # lineage: the value names the resource version it was read from, and a link to its rows
        lin = service.lineage(session=s, actor=leader, code="industry_va", region="371302", period=LAST)
        assert (lin["source_kind"], lin["source_ref"], lin["source_version"]) == (
            "catalog",
            "222001/000001",
            1,
        )
        assert (
            lin["rows_url"]
            == "/api/v1/data/222001-000001?indicator=industry_va&period=2026-10&region_code=371302"
        )
        assert lin["detail"]["basis"] == "unconditional"
        # 一般公共预算收入 is conditional: read under the grant the cockpit's department holds
        assert service.lineage(session=s, actor=leader, code="budget_revenue", region="371300", period=LAST)[
            "detail"
        ]["basis"].startswith("grant:")
        # no grant for 重点用能企业: refused, stored as refused, shown as refused — never a number
        st = store.status(s, "power_key_firms")
        assert st is not None and st["status"] == "refused" and st["detail"]["code"] == "access_not_granted"
        tile = _tile(screens.screen(session=s, actor=leader, theme="economy"), "power_key_firms")
        assert tile["status"] == "refused" and tile["value"] is None and tile["refusal"]["zh-CN"]
        assert service.ranking(session=s, actor=leader, code="industry_va")[0]["rank"] == 1
        # every read is on the catalog's record, refused ones too
        refused = audit.history(s, subject_type="catalog_resource", subject_id="222005/000001")
        assert (
            refused
            and refused[-1].actor == "token:cockpit"
            and refused[-1].payload["outcome"] == "access_not_granted"
        )

    # a new version of the 统计局 file: the values now name version 2
    st_tjj = identity.principal_for(session=session, username="steward-tjj")
    with db.reader() as s:
        path, _v = catalog.version_path(session=s, code="222001/000001")
    import pyarrow.parquet as pq

    tmp = path.parent / "again.csv"
    _as_csv(pq.read_table(path), tmp)
    catalog.load(db=db, actor=st_tjj, code="222001/000001", path=tmp, filename="again.csv")
    compute.refresh(db, force=True, codes=["industry_va"])
    with db.reader() as s:
        lin = service.lineage(session=s, actor=leader, code="industry_va", region="371302", period=LAST)
        assert lin["source_version"] == 2

    # the API: a token with the `metrics` scope reads the same numbers, JSON and CSV
    with db.transaction() as s:
        tok = identity.create_token(
            session=s, actor=city.as_role("admin"), client="DataV大屏", scopes=["metrics"]
        ).token
    h = {"Authorization": f"Bearer {tok}"}
    listed = client.get("/api/v1/metrics", headers=h).json()
    gdp = next(m for m in listed if m["code"] == "gdp")
    assert (gdp["period"], gdp["additive"], gdp["owner"], gdp["theme"]) == ("quarter", True, "tjj", "economy")
    js = client.get(
        f"/api/v1/metrics/industry_va/values?region=371302&from=2025-10&to={LAST}", headers=h
    ).json()
    assert [r["period"] for r in js][:2] == ["2025-10", "2025-11"]
    assert js[0]["yoy_pct"] is None and js[1]["yoy_pct"] is not None  # the figures start in 2024-11
    assert set(js[0]) == set(FIELDS)
    got = client.get(
        f"/api/v1/metrics/industry_va/values?region=371302&from=2025-10&to={LAST}&format=csv", headers=h
    )
    assert got.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(got.content.decode("utf-8-sig"))))
    assert [r["period"] for r in table] == [r["period"] for r in js] and table[-1]["value"] == str(
        js[-1]["value"]
    )
    refused = client.get("/api/v1/metrics/power_key_firms/values", headers=h)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "source_refused"
    assert client.get("/api/v1/metrics/nope/values", headers=h).status_code == 404
    assert client.get("/api/v1/metrics/gdp/values?from=2026-13", headers=h).status_code == 422
    assert client.get("/api/v1/cockpit/screens/economy", headers=h).status_code == 200
    assert client.put("/api/v1/cockpit/definitions/economy", headers=h, content=b"x").status_code == 403
    # the live figures on the platform's one Prometheus endpoint
    exposition = client.get("/metrics").text
    assert 'cityos_cockpit_metric_status{metric="power_key_firms",status="refused"} 1.0' in exposition
    assert 'cityos_cockpit_metric_value{metric="industry_va"}' in exposition
    assert 'cityos_cockpit_devices{state="online"} 0.0' in exposition  # no device placed here
    assert "cityos_cockpit_devices_snapshot_age_seconds" in exposition


def _as_csv(table, path) -> None:  # type: ignore[no-untyped-def]
    rows = table.to_pylist()
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


def test_stale_source_is_shown_stale_with_its_age(city, db) -> None:  # type: ignore[no-untyped-def]
    publish(city, db, grant=())
    compute.refresh(db, force=True)
    leader = city.as_role("leader")
    with db.reader() as s:
        fresh = _tile(screens.screen(session=s, actor=leader, theme="economy"), "industry_va")
        assert fresh["stale"] is False and fresh["value"] is not None
        # without a grant the conditional ones are refused as well (the rule, not the figures)
        assert (
            _tile(screens.screen(session=s, actor=leader, theme="economy"), "budget_revenue")["status"]
            == "refused"
        )
    # 40 days on, no new file from 统计局 (monthly): the catalog calls it stale, and so does the screen
    clock.advance(timedelta(days=40))
    compute.refresh(db, force=True, codes=["industry_va"])
    with db.reader() as s:
        t = _tile(screens.screen(session=s, actor=leader, theme="economy"), "industry_va")
        assert t["stale"] is True and t["value"] == fresh["value"] and t["age_s"] >= 40 * 86400
        # a value the worker has not recomputed for 3 refresh intervals is stale too
        clock.advance(timedelta(hours=4))
        gdp = _tile(screens.screen(session=s, actor=leader, theme="economy"), "gdp")
        assert gdp["stale"] is True and gdp["value"] is not None
