"""The cockpit's sources in the loops that landed after it, on both databases, through those
modules' own services: 一网通办's figures this month on the 民生服务 screen (a rate with nothing
to divide by is no value, never 0), and 城市感知's devices and open alarms on the map, counted per
district and grid, down to the device itself — positions only for those who see every device,
and a stale snapshot shown stale with its age, its numbers kept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cityos import registry
from cityos.cockpit import compute, screens, service
from cityos.core import clock, events, files
from cityos.identity import service as identity
from cityos.identity.schemas import Principal
from cityos.sensing import service as sensing
from cityos.sensing.schemas import DeviceIn, RuleIn
from cityos.services import service as services
from cityos.services.schemas import ApplyIn, DecisionIn, RatingIn, ReturnIn
from tests.services.helpers import world

NOW = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)  # Wednesday 10:00 in Shanghai
LON, LAT = 118.3515, 35.0515  # inside 金雀山社区第1网格
G1, STREET, DISTRICT = "37130200100101", "371302001", "371302"
SVC = ["svc_applications", "svc_on_time", "svc_satisfaction", "svc_certificate_free"]
DEVICES = ["device_count", "device_online", "device_alarms"]
SCADA = Principal(kind="token", id=1, username="scada", scopes=frozenset({"sensing"}))


def _tiles(db, actor, theme: str, region: str | None = None) -> dict:  # type: ignore[no-untyped-def,type-arg]
    with db.reader() as s:
        d = screens.screen(session=s, actor=actor, theme=theme, region=region)
    return {**d, "by_code": {t["code"]: t for t in d["tiles"]}}


def test_services_figures_this_month(db, city) -> None:  # type: ignore[no-untyped-def]
    clock.set_now(NOW)
    w = world(db, city)
    leader = city.as_role("leader")
    compute.refresh(db, force=True, codes=SVC)
    t = _tiles(db, leader, "livelihood")["by_code"]
    assert t["svc_applications"]["value"] == 0  # a count: none this month is 0
    for code in ("svc_on_time", "svc_satisfaction", "svc_certificate_free"):  # a rate of nothing
        assert t[code]["status"] == "ok" and t[code]["value"] is None, code

    with db.transaction() as s:
        first = services.submit(session=s, actor=w["citizen"], data=ApplyIn(item_code="GA-001"))
        mats = {m.name: m.material_id for m in first.materials}
        services.submit(session=s, actor=w["citizen"], data=ApplyIn(item_code="GA-001"))
    with db.transaction() as s:
        services.return_once(
            session=s, actor=w["staff"], number=first.number, data=ReturnIn(missing=["居住登记表"])
        )
        services.supplement(
            session=s,
            actor=w["citizen"],
            number=first.number,
            uploads={mats["居住登记表"]: files.store(b"f")},
        )
        services.accept(session=s, actor=w["staff"], number=first.number)
        services.decide(session=s, actor=w["staff"], number=first.number, data=DecisionIn(decision="approve"))
        services.rate(session=s, actor=w["citizen"], number=first.number, data=RatingIn(level=5))
    compute.refresh(db, force=True, codes=SVC)
    t = _tiles(db, leader, "livelihood")["by_code"]
    assert t["svc_applications"]["value"] == 2
    assert t["svc_on_time"]["value"] == 100.0  # decided the same day, due in 5 working days
    assert t["svc_satisfaction"]["value"] == 100.0
    assert t["svc_certificate_free"]["value"] == 0.0  # one material handed in, none from data
    with db.reader() as s:
        lin = service.lineage(session=s, actor=leader, code="svc_on_time", region="371300", period="2026-12")
        apps = service.values(
            session=s, actor=leader, code="svc_applications", start="2026-01", end="2026-12"
        )
        rate = service.values(session=s, actor=leader, code="svc_on_time", start="2026-11", end="2026-12")
    assert [r["value"] for r in apps][-2:] == [0, 2] and len(apps) == 12  # a year of months, by month
    assert [r["value"] for r in rate] == [None, 100.0]  # November: nothing decided, no rate
    assert (lin["source_kind"], lin["source_ref"], lin["rows_url"]) == (
        "query",
        "services.on_time_rate",
        "/services",
    )


def test_devices_and_alarms_down_to_the_device(db, city) -> None:  # type: ignore[no-untyped-def]
    clock.set_now(NOW)
    before = events.knows_all_subscribers()
    registry.load_handlers()  # the rules run on ingest, as in the app and the worker
    try:
        with db.transaction() as s:
            for dev in ("dr-1", "dr-2"):
                sensing.register_device(
                    session=s,
                    actor=identity.SYSTEM,
                    device=DeviceIn(
                        id=dev,
                        type="FloodMonitoring",
                        name=f"积水监测点{dev}",
                        lon=LON,
                        lat=LAT,
                        department_code="cgj",
                    ),
                )
            sensing.save_rule(
                session=s,
                actor=identity.SYSTEM,
                rule=RuleIn(name="积水", device_type="FloodMonitoring", attr="currentLevel", high=0.5),
            )
        with db.transaction() as s:
            sensing.ingest_http(
                session=s,
                actor=SCADA,
                items=[{"device_id": "dr-1", "currentLevel": 0.9, "observedAt": NOW.isoformat()}],
            )
        compute.refresh(db, force=True, codes=DEVICES)
    finally:
        events.all_subscribers_loaded(before)
    leader, dispatcher = city.as_role("leader"), city.as_role("dispatcher")

    d = _tiles(db, leader, "city")
    assert (d["sensing"]["devices"], d["sensing"]["online"], d["sensing"]["alarms"]) == (2, 1, 1)
    (alarmed,) = [p for p in d["sensing"]["points"] if p[6]]
    assert alarmed[2] == "dr-1" and alarmed[5] == "major" and alarmed[:2] == [LON, LAT]
    t = d["by_code"]
    assert (t["device_count"]["value"], t["device_online"]["value"], t["device_alarms"]["value"]) == (
        2,
        50.0,
        1,
    )
    assert _tiles(db, leader, "city", DISTRICT)["by_code"]["device_count"]["value"] == 2
    with db.reader() as s:
        lin = service.lineage(
            session=s, actor=leader, code="device_alarms", region=DISTRICT, period="2026-12"
        )
    assert (lin["value"], lin["source_ref"], lin["rows_url"]) == (1, "sensing.alarms", "/sensing/alarms")
    # a region-scoped viewer gets the counts, not the devices' names and positions
    other = _tiles(db, dispatcher, "city")["sensing"]
    assert other["devices"] == 2 and other["points"] == []

    with db.reader() as s:
        top = screens.drill(session=s, actor=leader, region="371300")
        street = screens.drill(session=s, actor=leader, region=STREET)
        grid = screens.drill(session=s, actor=leader, region=G1)
        hidden = screens.drill(session=s, actor=dispatcher, region=G1)
    row = {c["code"]: c for c in top["children"]}[DISTRICT]
    assert (row["devices"], row["alarms"]) == (2, 1)
    assert {c["code"]: c["devices"] for c in street["children"]}[G1] == 2
    assert [x["id"] for x in grid["devices"]] == ["dr-1", "dr-2"]  # the alarmed one first
    assert hidden["devices"] == []

    # ten minutes without the worker: stale, with its age, and the numbers kept — never 0
    clock.set_now(NOW + timedelta(minutes=10))
    later = _tiles(db, leader, "city")["sensing"]
    assert later["stale"] is True and later["age_s"] == 600 and later["devices"] == 2
