"""The video network over HTTP: the snapshot endpoint (camera token or the `sensing` scope; bad
images → 4xx with a code), the camera API, and the camera page with its grant form."""

from __future__ import annotations

from cityos.identity import service as identity
from cityos.sensing.devices import device_password
from tests.sensing import images
from tests.sensing.test_video import cameras  # noqa: F401  (fixture)


def test_snapshot_endpoint_and_camera_api(cameras, db, client):  # type: ignore[no-untyped-def]  # noqa: F811
    with db.transaction() as s:
        gaj = identity.create_token(
            session=s,
            actor=identity.SYSTEM,
            client="video-platform",
            scopes=["sensing"],
            department_code="gaj",
        ).token
        cgj = identity.create_token(
            session=s, actor=identity.SYSTEM, client="cgj-app", scopes=["sensing"], department_code="cgj"
        ).token
    url = "/api/v1/sensing/cameras/cam-1/snapshots"
    png = ("s.png", images.crowd(4), "image/png")
    r = client.post(url, files={"file": png}, headers={"X-Device-Token": device_password("cam-1", 1)})
    assert r.status_code == 201, r.text
    [event] = r.json()
    assert event["count"] == 4 and event["case_number"] and event["rule_name"] == "禁区人员聚集"
    bad = client.post(
        url,
        files={"file": ("x.png", b"\x89PNG\r\n\x1a\nbroken", "image/png")},
        headers={"Authorization": f"Bearer {gaj}"},
    )
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "bad_image"
    assert set(bad.json()["error"]["message"]) == {"zh-CN", "en"}
    gif = client.post(
        url, files={"file": ("x.gif", b"GIF89a....", "image/gif")}, headers={"Authorization": f"Bearer {gaj}"}
    )
    assert gif.status_code == 422 and gif.json()["error"]["code"] == "unsupported_type"
    wrong = client.post(url, files={"file": png}, headers={"X-Device-Token": "nope"})
    assert wrong.status_code == 401
    anon = client.post(url, files={"file": png})
    assert anon.status_code == 401
    hidden = client.post(url, files={"file": png}, headers={"Authorization": f"Bearer {cgj}"})
    assert hidden.status_code == 404  # 城管局 has not been granted the camera
    assert client.get("/api/v1/sensing/cameras", headers={"Authorization": f"Bearer {cgj}"}).json() == []
    mine = client.get("/api/v1/sensing/cameras", headers={"Authorization": f"Bearer {gaj}"}).json()
    assert [c["id"] for c in mine] == ["cam-1", "cam-2"] and mine[0]["stream_url"] == "rtsp://10.1.2.3/cam-1"
    g = client.post(
        "/api/v1/sensing/cameras/cam-1/grants",
        json={"department_code": "cgj", "purpose": "市容"},
        headers={"Authorization": f"Bearer {gaj}"},
    )
    assert g.status_code == 200 and g.json()["grants"][0]["department_code"] == "cgj"
    seen = client.get("/api/v1/sensing/cameras/cam-1/events", headers={"Authorization": f"Bearer {cgj}"})
    assert [e["count"] for e in seen.json()] == [4]
    snap = client.get(
        f"/api/v1/sensing/video-events/{event['id']}/snapshot", headers={"Authorization": f"Bearer {cgj}"}
    )
    assert snap.status_code == 200 and snap.headers["content-type"] == "image/png"
    assert snap.content == images.crowd(4)
    gone = client.delete(
        "/api/v1/sensing/cameras/cam-1/grants/cgj", headers={"Authorization": f"Bearer {gaj}"}
    )
    assert gone.status_code == 200 and gone.json()["grants"] == []
    again = client.get(
        f"/api/v1/sensing/video-events/{event['id']}/snapshot", headers={"Authorization": f"Bearer {cgj}"}
    )
    assert again.status_code == 404


def test_camera_page_grants_and_upload(cameras, db, client):  # type: ignore[no-untyped-def]  # noqa: F811
    city, _rule = cameras
    city.login(client, "dispatcher")
    page = client.get("/sensing/cameras")
    assert page.status_code == 200 and "人民广场cam-1" not in page.text and "摄像机" in page.text
    client.cookies.clear()
    city.login(client, "admin")
    csrf = city.csrf(client)
    page = client.get("/sensing/cameras")
    assert (
        "人民广场cam-1" in page.text
        and "禁区人员聚集" in page.text
        and 'data-testid="grant-form"' in page.text
    )
    r = client.post(
        "/sensing/cameras/cam-1/grants",
        data={"csrf_token": csrf, "department": "cgj", "purpose": "市容巡查"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    bad = client.post(
        "/sensing/cameras/cam-1/grants", data={"csrf_token": csrf, "department": "cgj", "purpose": ""}
    )
    assert bad.status_code == 422
    up = client.post(
        "/sensing/cameras/cam-1/snapshots",
        data={"csrf_token": csrf},
        files={"file": ("s.jpg", images.faces(2), "image/jpeg")},
        follow_redirects=False,
    )
    assert up.status_code == 303
    bad_up = client.post(
        "/sensing/cameras/cam-1/snapshots",
        data={"csrf_token": csrf},
        files={"file": ("s.jpg", b"\xff\xd8\xff nothing", "image/jpeg")},
    )
    assert bad_up.status_code == 422
    rule = client.post(
        "/sensing/video-rules",
        data={
            "csrf_token": csrf,
            "name": "车牌",
            "target": "cam-2",
            "detector": "plate",
            "min_count": "1",
            "window_min": "5",
        },
        follow_redirects=False,
    )
    assert rule.status_code == 303
    bad_rule = client.post(
        "/sensing/video-rules",
        data={
            "csrf_token": csrf,
            "name": "x",
            "target": "zone:a",
            "detector": "cars",
            "min_count": "1",
            "window_min": "5",
        },
    )
    assert bad_rule.status_code == 422
    client.cookies.clear()
    city.login(client, "dispatcher")
    page = client.get("/sensing/cameras")
    assert "人民广场cam-1" in page.text and "人民广场cam-2" not in page.text and "市容巡查" in page.text
    assert 'data-testid="grant-form"' not in page.text
