"""sensing's pages and JSON routes through the app, as a dispatcher and an administrator see them."""

from __future__ import annotations

from datetime import timedelta

from cityos.core import clock
from cityos.identity import service as identity
from cityos.sensing import service
from tests.sensing.conftest import NOW
from tests.sensing.test_service import SENSOR_SYSTEM


def _raise_alarm(db):  # type: ignore[no-untyped-def]
    for m, v in ((0, 0.6), (5, 0.7), (10, 0.9)):
        at = NOW + timedelta(minutes=m)
        clock.set_now(at)
        with db.transaction() as s:
            service.ingest_http(
                session=s,
                actor=SENSOR_SYSTEM,
                items=[{"device_id": "dr-1", "currentLevel": v, "observedAt": at.isoformat()}],
            )
    with db.reader() as s:
        (alarm,) = service.list_alarms(session=s, actor=identity.SYSTEM)
    return alarm


def test_pages_console_rules_and_case_chart(sensed, db, client):  # type: ignore[no-untyped-def]
    city, _ = sensed
    alarm = _raise_alarm(db)
    city.login(client, "dispatcher")
    csrf = city.csrf(client)
    page = client.get("/sensing")
    assert page.status_code == 200 and "解放路积水监测点" in page.text and "城市感知" in page.text
    assert client.get("/sensing/devices/dr-1").status_code == 200
    points = client.get("/api/v1/sensing/map").json()
    assert points == [
        {"id": "dr-1", "name": "解放路积水监测点", "type": "FloodMonitoring", "lon": 118.3515, "lat": 35.0515,
         "online": True, "alarm": "critical"}
    ]  # fmt: skip
    s = client.get("/api/v1/sensing/devices/dr-1/series?attr=currentLevel").json()
    assert [p[1] for p in s["points"]] == [0.6, 0.7, 0.9] and s["resolution"] == "raw"
    console = client.get("/sensing/alarms")
    assert "积水超警戒" in console.text and "紧急" in console.text
    r = client.post(
        f"/sensing/alarms/{alarm.id}/acknowledge", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert r.status_code == 303
    case_page = client.get(f"/cases/{alarm.case_id}")  # loads the fragment below (HTMX)
    assert f'hx-get="/sensing/case-telemetry/{alarm.case_id}"' in case_page.text
    frag = client.get(f"/sensing/case-telemetry/{alarm.case_id}")
    assert 'data-testid="case-chart"' in frag.text and "0.9" in frag.text
    # the dispatcher may not edit rules; the administrator adds one through the editor
    assert client.post("/sensing/rules", data={"csrf_token": csrf, "name": "x"}).status_code == 403
    client.cookies.clear()
    city.login(client, "admin")
    csrf = city.csrf(client)
    r = client.post(
        "/sensing/rules",
        data={
            "csrf_token": csrf,
            "name": "井盖倾斜",
            "device_type": "ManholeCover",
            "attr": "tilt",
            "op": "gt",
            "high": "15",
            "repeat": "2",
            "severity": "major",
            "case_category": "C0103",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    rules = client.get("/sensing/rules")
    assert "井盖倾斜" in rules.text and "连续 2 次读数" in rules.text
    bad = client.post(
        "/sensing/rules",
        data={
            "csrf_token": csrf,
            "name": "y",
            "device_type": "Streetlight",
            "attr": "a",
            "op": "between",
            "high": "1",
        },
    )
    assert bad.status_code == 422 and "界限" in bad.text
    imp = client.post(
        "/sensing/import",
        data={"csrf_token": csrf},
        files={
            "file": (
                "d.csv",
                "设备编号,类型,名称\nsl-1,Streetlight,路灯一\nsl-2,Teapot,坏\n".encode(),
                "text/csv",
            )
        },
    )
    assert imp.status_code == 422 and "未导入任何设备" in imp.text
    api = client.post(
        "/api/v1/sensing/devices/import",
        files={"file": ("d.csv", b"id,type,name\nsl-2,Teapot,x\n", "text/csv")},
        headers={"X-CSRF-Token": csrf},
    )
    assert api.status_code == 422 and api.json()["error"]["details"]["errors"][0]["row"] == 2
