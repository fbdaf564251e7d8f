"""The demo city's 数据共享交换: departments publish real-looking resources through the services,
with planted errors in quarantine, one stale resource, answered and pending requests and use."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest
from stdnum.cn import ric, uscc

from cityos.catalog import service
from cityos.core import clock

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


# the module-scoped demo city is built once: every test of the module on one worker
pytestmark = pytest.mark.xdist_group("demo-catalog")


@pytest.fixture(scope="module")
def demo(demo_template: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The small demo city (a private copy); what the tests look at is read under the demo's clock."""
    with demo_template.copy(tmp_path_factory.mktemp("catalog-demo") / "home") as (_config, ctx):
        try:
            info = ctx.extra["catalog"]
            bureau = ctx.user("data_bureau")
            with clock.frozen(ctx.now), ctx.db.reader() as s:
                resources, _ = service.list_resources(session=s, limit=1000)
                out = {
                    "info": info,
                    "resources": resources,
                    "versions": {
                        r.code: service.versions(session=s, actor=bureau, code=r.code) for r in resources
                    },
                    "stale": [r.code for r in service.stale_resources(session=s)],
                    "requests": service.requests(session=s, actor=bureau, box="all"),
                    "usage": service.usage(session=s),
                    "population": service.version_path(session=s, code=info["codes"]["population"])[0],
                    "tax": service.version_path(session=s, code=info["codes"]["tax"])[0],
                    "notes": list(ctx.notes),
                }
            yield out
        finally:
            clock.set_now(None)


def _column(path: Path, name: str) -> list[str]:
    with duckdb.connect() as con:
        return [r[0] for r in con.execute(f"SELECT {name} FROM read_parquet(?)", [str(path)]).fetchall()]


def test_departments_publish_resources_of_every_share_and_open_type(demo: dict[str, Any]) -> None:
    resources = demo["resources"]
    assert len(resources) >= 7
    assert len({r.provider_code for r in resources}) >= 5
    assert {"unconditional", "conditional", "none"} <= {r.share_type for r in resources}
    assert any(r.open_type == "open" for r in resources)
    assert all(r.current_version is not None and r.row_count for r in resources)
    assert {r.class_code[0] for r in resources} == {"1", "2", "3"}  # 基础, 主题 and 部门
    population = next(r for r in resources if r.code == demo["info"]["codes"]["population"])
    assert population.share_type == "conditional" and population.open_type == "closed"
    assert {f.name for f in population.fields if f.sensitivity == "sensitive"} >= {
        "id_number",
        "name",
        "mobile",
    }
    assert all(r.summary and r.fields for r in resources)
    assert all(r.legal_basis for r in resources if r.share_type != "unconditional")


def test_one_monthly_resource_is_stale(demo: dict[str, Any]) -> None:
    assert demo["stale"] == [demo["info"]["codes"]["insurance"]]


def test_planted_errors_land_in_quarantine(demo: dict[str, Any]) -> None:
    codes = demo["info"]["codes"]
    population = demo["versions"][codes["population"]]
    assert [v.number for v in population] == [2, 1]  # sent twice
    # three bad check digits, 31 February, a duplicate key, a short mobile; the rest is clean
    assert population[0].state == "accepted" and population[0].quarantined_rows == 6
    assert population[1].quarantined_rows == 0
    assert demo["versions"][codes["tax"]][0].quarantined_rows == 3  # a credit code, two dates
    others = [
        v for c, vs in demo["versions"].items() if c not in (codes["population"], codes["tax"]) for v in vs
    ]
    assert others and all(v.quarantined_rows == 0 for v in others)
    xlsx = [v for vs in demo["versions"].values() for v in vs if v.source_format == "xlsx"]
    gbk = [v for vs in demo["versions"].values() for v in vs if v.source_encoding == "GBK"]
    assert xlsx and gbk


def test_resident_ids_and_credit_codes_pass_their_checks_except_the_planted_ones(
    demo: dict[str, Any],
) -> None:
    planted = demo["info"]["planted"]
    ids = _column(demo["population"], "id_number")
    assert len(ids) == 1995  # 2,000 people, one sent twice, five rows kept out
    assert len(planted["population_ids"]) == 3
    assert {i for i in ids if not ric.is_valid(i)} <= set(planted["population_ids"])
    codes = _column(demo["tax"], "uscc")
    assert {c for c in codes if not uscc.is_valid(c)} <= set(planted["tax_uscc"])


def test_requests_are_answered_pending_and_escalated(demo: dict[str, Any]) -> None:
    reqs = demo["requests"]
    states = [r.state for r in reqs]
    assert states.count("approved") >= 3 and "refused" in states
    pending = [r for r in reqs if r.state == "pending"]
    assert sorted(r.consumer_code for r in pending) == ["jtj", "jyj", "zwfw"]  # zwfw: 税务局's to answer
    assert [r.consumer_code for r in pending if r.escalated_at is not None] == ["jtj"]
    assert any(r.clear_fields for r in reqs if r.state == "approved")


def test_data_api_use_is_recorded_with_refusals(demo: dict[str, Any]) -> None:
    usage = demo["usage"]
    assert sum(u.calls for u in usage) >= 40
    assert sum(u.refused for u in usage) >= 3
    assert sum(u.rows for u in usage) > 0
    assert any("steward-gaj" in line for line in demo["notes"])
