"""The sensing services on both databases: registry, import, ingest, rules with a controlled
clock, alarms, the case an alarm opens and the acknowledgement its closing gives."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from cityos.cases import service as cases
from cityos.core import audit, clock
from cityos.core.errors import Invalid, NotFound
from cityos.identity import service as identity
from cityos.identity.schemas import Principal
from cityos.sensing import service
from cityos.sensing.schemas import DeviceIn, RuleIn
from tests.sensing.conftest import G1, LAT, LON, NOW

SENSOR_SYSTEM = Principal(kind="token", id=1, username="scada", scopes=frozenset({"sensing"}))


def post(db: Any, device_id: str, *payloads: dict[str, Any]) -> Any:
    """Post readings as the device sends them: the clock moves to the latest observedAt."""
    for p in payloads:
        if "observedAt" in p:
            when = datetime.fromisoformat(p["observedAt"].replace("Z", "+00:00"))
            clock.set_now(max(clock.now(), when))
    with db.transaction() as s:
        return service.ingest_http(
            session=s, actor=SENSOR_SYSTEM, items=[{"device_id": device_id, **p} for p in payloads]
        )


def at(minutes: float) -> str:
    return (NOW + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")


def close_case(s: Any, case_id: int) -> None:
    """Take the case through the loop as the dispatcher and the handling department would."""
    for action in ("file", "dispatch", "accept", "report_back", "verify"):
        c = cases.get_case(session=s, actor=identity.SYSTEM, case_id=case_id)
        actor = Principal(
            kind="user",
            id=0,
            username="loop",
            roles=frozenset({"admin", "dispatcher", "handler", "inspector"}),
            department_id=c.department_id,
        )
        if c.state != "closed":
            cases.transition(session=s, actor=actor, case_id=case_id, action=action, reason="已处理")


def open_alarms(db: Any) -> list[Any]:
    with db.reader() as s:
        return service.list_alarms(session=s, actor=identity.SYSTEM)


def device_is_placed_in_its_grid_and_has_credentials(sensed, db):  # type: ignore[no-untyped-def]
    city, _rule = sensed
    with db.transaction() as s:
        dev = service.get_device(session=s, actor=identity.SYSTEM, device_id="dr-1")
        assert dev.grid_code == G1 and dev.department_id == city.departments["cgj"]
        assert not dev.online and dev.units == {"currentLevel": "MTR"}
        cred = service.credentials(session=s, actor=identity.SYSTEM, device_id="dr-1")
        again = service.credentials(session=s, actor=identity.SYSTEM, device_id="dr-1")
        assert cred.password == again.password and cred.username == "dr-1"
        assert cred.topic == "cityos/devices/dr-1/telemetry"
        new = service.credentials(session=s, actor=identity.SYSTEM, device_id="dr-1", rotate=True)
        assert new.password != cred.password
    with db.transaction() as s:  # the device's own token posts; the rotated-away one does not
        assert service.ingest_device(
            session=s, token=new.password, device_id="dr-1", payload={"x": 1}
        ).accepted
        with pytest.raises(Exception, match="device token"):
            service.ingest_device(session=s, token=cred.password, device_id="dr-1", payload={"x": 1})


def visibility_follows_region_and_department(sensed, db):  # type: ignore[no-untyped-def]
    city, _ = sensed
    with db.reader() as s:
        assert [d.id for d in service.list_devices(session=s, actor=city.as_role("dispatcher"))] == ["dr-1"]
        assert service.list_devices(session=s, actor=city.as_role("citizen")) == []
        with pytest.raises(NotFound):
            service.get_device(session=s, actor=city.as_role("citizen"), device_id="dr-1")


def import_reports_every_bad_row_and_writes_nothing(sensed, db):  # type: ignore[no-untyped-def]
    csv = (
        "设备编号,类型,名称,经度,纬度,权属部门,安装位置\n"
        "mh-1,ManholeCover,井盖一,118.3515,35.0515,cgj,路口东\n"
        "mh-2,Teapot,井盖二,118.3515,35.0515,cgj,\n"
        "mh-3,ManholeCover,井盖三,10.0,10.0,cgj,\n"
        "bad id!,ManholeCover,井盖四,,,,\n"
        "mh-5,ManholeCover,井盖五,,,nowhere,\n"
    )
    with db.transaction() as s, pytest.raises(Invalid) as e:
        service.import_devices(session=s, actor=identity.SYSTEM, data=csv.encode())
    errors = e.value.details["errors"]
    assert [(x["row"], x["field"]) for x in errors] == [
        (3, "type"),
        (4, "lon/lat"),
        (5, "id"),
        (6, "department"),
    ]
    with db.reader() as s:
        assert [d.id for d in service.list_devices(session=s, actor=identity.SYSTEM)] == ["dr-1"]
    good = csv.splitlines()[0] + "\n" + csv.splitlines()[1] + "\n"
    with db.transaction() as s:
        report = service.import_devices(session=s, actor=identity.SYSTEM, data=good)
        assert (report.created, report.updated) == (1, 0)
        mh = service.get_device(session=s, actor=identity.SYSTEM, device_id="mh-1")
        assert mh.grid_code == G1 and mh.meta == {"安装位置": "路口东"}


def bad_payloads_are_rejected_with_a_reason_and_counted(sensed, db):  # type: ignore[no-untyped-def]
    with db.transaction() as s:
        r = service.ingest_http(
            session=s,
            actor=SENSOR_SYSTEM,
            items=[
                {"device_id": "dr-1", "currentLevel": 0.2, "observedAt": at(0)},
                {"device_id": "dr-1", "currentLevel": "x" * 300},
                {"device_id": "dr-1", "observedAt": "yesterday", "currentLevel": 1},
                {"device_id": "dr-1", "observedAt": at(60 * 24), "currentLevel": 1},
                {"device_id": "dr-1", "bad name": 1},
                {"device_id": "ghost", "currentLevel": 1},
            ],
        )
    assert r.accepted == 1
    assert [x["reason"] for x in r.rejected] == [
        "bad_value",
        "bad_observed_at",
        "future_observed_at",
        "bad_attribute",
        "unknown_device",
    ]
    with db.reader() as s:
        dev = service.get_device(session=s, actor=identity.SYSTEM, device_id="dr-1")
    assert dev.rejected == 4 and "bad_attribute" in (dev.last_rejection or "")
    assert dev.online and dev.last_values["currentLevel"][0] == 0.2


def test_duration_repeat_and_hysteresis_with_a_controlled_clock(sensed, db):  # type: ignore[no-untyped-def]
    """Above 0.5 m for 10 minutes and 3 readings raises one alarm; 0.4 m (between the clear level
    and the trigger) keeps it; below 0.3 m clears it; a redelivered reading changes nothing."""
    post(db, "dr-1", {"currentLevel": 0.6, "observedAt": at(0)})
    post(db, "dr-1", {"currentLevel": 0.7, "observedAt": at(5)})
    assert open_alarms(db) == []  # 5 minutes: too short
    post(db, "dr-1", {"currentLevel": 0.2, "observedAt": at(6)})  # dips: the count starts over
    post(db, "dr-1", {"currentLevel": 0.6, "observedAt": at(7)}, {"currentLevel": 0.8, "observedAt": at(17)})
    assert open_alarms(db) == []  # 10 minutes but only 2 readings
    post(db, "dr-1", {"currentLevel": 0.9, "observedAt": at(18)})
    (alarm,) = open_alarms(db)
    assert (alarm.status, alarm.severity, alarm.value, alarm.count) == ("active", "critical", 0.9, 1)
    post(db, "dr-1", {"currentLevel": 0.4, "observedAt": at(20)})  # hysteresis: still active
    post(db, "dr-1", {"currentLevel": 0.9, "observedAt": at(18)})  # redelivered: nothing changes
    (alarm,) = open_alarms(db)
    assert alarm.status == "active"
    post(db, "dr-1", {"currentLevel": 0.25, "observedAt": at(25)})
    (alarm,) = open_alarms(db)  # cleared, not yet acknowledged: still open in the console
    assert alarm.status == "cleared" and not alarm.acknowledged
    with db.transaction() as s:  # the condition returns: the same alarm is refreshed
        service.save_rule(
            session=s,
            actor=identity.SYSTEM,
            rule=RuleIn(
                name="水位上涨过快", device_id="dr-1", attr="currentLevel", kind="rate", op="gt", high=0.1
            ),
        )
    for m, v in ((30, 0.6), (40, 0.7), (45, 0.75), (50, 0.8), (51, 0.81)):
        post(db, "dr-1", {"currentLevel": v, "observedAt": at(m)})
    alarms = {a.rule_name: a for a in open_alarms(db)}
    assert alarms["积水超警戒"].status == "active" and alarms["积水超警戒"].count == 2
    # 0.25 → 0.6 in 5 minutes is 0.07/min; 0.6 → 0.7 in 10 is 0.01: only the first jump of
    # more than 0.1/min would fire, and none was that steep
    assert "水位上涨过快" not in alarms
    post(db, "dr-1", {"currentLevel": 1.5, "observedAt": at(52)})  # +0.69 in a minute
    assert {a.rule_name for a in open_alarms(db)} == {"积水超警戒", "水位上涨过快"}


def test_no_data_rule_raises_and_the_next_reading_clears(sensed, db):  # type: ignore[no-untyped-def]
    with db.transaction() as s:
        service.save_rule(
            session=s,
            actor=identity.SYSTEM,
            rule=RuleIn(
                name="设备离线", device_type="FloodMonitoring", attr="currentLevel", kind="nodata", minutes=30
            ),
        )
    post(db, "dr-1", {"currentLevel": 0.1})
    clock.advance(timedelta(minutes=29))
    with db.transaction() as s:
        assert service.check_nodata(session=s) == 0
    clock.advance(timedelta(minutes=2))
    with db.transaction() as s:
        assert service.check_nodata(session=s) == 1
        assert service.check_nodata(session=s) == 0  # one alarm, not one per tick
    (alarm,) = open_alarms(db)
    assert alarm.rule_name == "设备离线" and alarm.value is None
    post(db, "dr-1", {"currentLevel": 0.1})
    (alarm,) = open_alarms(db)
    assert alarm.status == "cleared"


def test_alarm_opens_a_case_and_closing_it_acknowledges(sensed, db):  # type: ignore[no-untyped-def]
    city, _ = sensed
    for m, v in ((0, 0.6), (5, 0.7), (10, 0.9)):
        post(db, "dr-1", {"currentLevel": v, "observedAt": at(m)})
    (alarm,) = open_alarms(db)
    assert alarm.case_id is not None and alarm.case_number
    with db.reader() as s:
        case = cases.get_case(session=s, actor=identity.SYSTEM, case_id=alarm.case_id)
        assert (case.category_code, case.channel, case.grid_code) == ("E0505", "sensor", G1)
        hook = service.case_telemetry(session=s, actor=city.as_role("dispatcher"), case_id=alarm.case_id)
        assert hook is not None and [p[1] for p in hook["series"].points] == [0.6, 0.7, 0.9]
        assert service.case_telemetry(session=s, actor=city.as_role("citizen"), case_id=alarm.case_id) is None
    sys = identity.SYSTEM
    with db.transaction() as s:
        close_case(s, alarm.case_id)
    with db.reader() as s:
        assert cases.get_case(session=s, actor=sys, case_id=alarm.case_id).state == "closed"
        a = service.get_alarm(session=s, actor=sys, alarm_id=alarm.id)
        assert a.acknowledged and a.status == "active" and not a.closed
        tl = [e["action"] for e in service.timeline(session=s, actor=sys, alarm_id=alarm.id)]
        assert tl[:2] == ["raise", "case"] and tl[-1] == "acknowledge"
    post(db, "dr-1", {"currentLevel": 0.1, "observedAt": at(20)})
    assert open_alarms(db) == []  # cleared and acknowledged: closed


def test_operator_acknowledges_clears_and_assigns(sensed, db):  # type: ignore[no-untyped-def]
    city, _ = sensed
    for m, v in ((0, 0.6), (5, 0.7), (10, 0.9)):
        post(db, "dr-1", {"currentLevel": v, "observedAt": at(m)})
    (alarm,) = open_alarms(db)
    disp, inspector = city.as_role("dispatcher"), city.as_role("inspector")
    with db.transaction() as s:
        with pytest.raises(Exception, match="permission"):
            service.acknowledge(session=s, actor=inspector, alarm_id=alarm.id)
        service.assign(session=s, actor=disp, alarm_id=alarm.id, user_id=inspector.id)
        service.acknowledge(session=s, actor=disp, alarm_id=alarm.id)
        done = service.clear(session=s, actor=disp, alarm_id=alarm.id)
    assert done.closed and done.assignee_id == inspector.id
    with db.reader() as s:
        actors = {
            (e.actor, e.action) for e in audit.history(s, subject_type="sensing_alarm", subject_id=alarm.id)
        }
    assert (disp.actor, "sensing.alarm.assign") in actors and (disp.actor, "sensing.alarm.clear") in actors


def test_rollups_and_series(sensed, db):  # type: ignore[no-untyped-def]
    for m in range(0, 180, 10):
        post(db, "dr-1", {"currentLevel": m / 100, "observedAt": at(m)})
    with db.transaction() as s:
        n = service.rollup(session=s, since=NOW)
    assert n == 3
    with db.reader() as s:
        hourly = service.series(
            session=s, actor=identity.SYSTEM, device_id="dr-1", attr="currentLevel",
            start=NOW, end=NOW + timedelta(hours=3), resolution="hour",
        )  # fmt: skip
        assert [round(v or 0, 3) for _t, v in hourly.points] == [0.25, 0.85, 1.45]
        daily = service.series(
            session=s, actor=identity.SYSTEM, device_id="dr-1", attr="currentLevel",
            start=NOW - timedelta(days=1), end=NOW + timedelta(days=1), resolution="day",
        )  # fmt: skip
        assert len(daily.points) == 1 and round(daily.points[0][1] or 0, 3) == 0.85
        raw = service.series(
            session=s, actor=identity.SYSTEM, device_id="dr-1", attr="currentLevel",
            start=NOW, end=NOW + timedelta(hours=1),
        )  # fmt: skip
        assert raw.resolution == "raw" and len(raw.points) == 7 and raw.unit == "MTR"
    clock.set_now(NOW + timedelta(days=91))
    with db.transaction() as s:
        assert service.purge(session=s) == 18


def rule_editor_refuses_incomplete_rules(sensed, db):  # type: ignore[no-untyped-def]
    with db.transaction() as s:
        for bad in (
            RuleIn(name="x", device_type="FloodMonitoring", attr="a", op="between", high=1),
            RuleIn(name="x", device_type="Teapot", attr="a", high=1),
            RuleIn(name="x", device_type="FloodMonitoring", attr="a", kind="nodata"),
            RuleIn(name="x", device_type="FloodMonitoring", attr="a", high=1, case_category="Z9999"),
        ):
            with pytest.raises(Invalid):
                service.save_rule(session=s, actor=identity.SYSTEM, rule=bad)


def register_twice_conflicts_and_outside_the_city_is_refused(sensed, db):  # type: ignore[no-untyped-def]
    with db.transaction() as s:
        with pytest.raises(Exception, match="already exists"):
            service.register_device(
                session=s, actor=identity.SYSTEM, device=DeviceIn(id="dr-1", type="FloodMonitoring", name="x")
            )
        with pytest.raises(Invalid):
            service.register_device(
                session=s,
                actor=identity.SYSTEM,
                device=DeviceIn(id="far", type="FloodMonitoring", name="x", lon=LON + 5, lat=LAT),
            )


def test_registry_visibility_credentials_and_the_rule_editor(sensed, db):  # type: ignore[no-untyped-def]
    """One city for the checks that raise no alarm (the fixture's setup dominates their cost)."""
    visibility_follows_region_and_department(sensed, db)
    register_twice_conflicts_and_outside_the_city_is_refused(sensed, db)
    rule_editor_refuses_incomplete_rules(sensed, db)
    device_is_placed_in_its_grid_and_has_credentials(sensed, db)


def test_import_and_bad_payloads(sensed, db):  # type: ignore[no-untyped-def]
    import_reports_every_bad_row_and_writes_nothing(sensed, db)
    bad_payloads_are_rejected_with_a_reason_and_counted(sensed, db)
