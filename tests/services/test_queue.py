"""The service hall's queue over HTTP with a controlled clock (both databases): tickets numbered per
window type and per local day, how many wait ahead, the window calling the longest-waiting ticket
of its type, the one it served finished, and the day's waiting and service times on the API and on
the window console."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from cityos.core import clock
from tests.factories import PASSWORD

from .helpers import world

Q = "/api/v1/services/queue"
T0 = datetime(2026, 9, 29, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai


def _at(minutes: float) -> None:
    clock.set_now(T0 + timedelta(minutes=minutes))


def _staff(client) -> dict[str, str]:  # type: ignore[no-untyped-def]
    client.cookies.clear()
    r = client.post("/login", data={"username": "window9", "password": PASSWORD, "next": "/"})
    assert r.status_code == 200
    m = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/").text)
    assert m
    return {"X-CSRF-Token": m.group(1)}


def test_tickets_calls_and_times_per_window_type(db, city, client) -> None:  # type: ignore[no-untyped-def]
    world(db, city)
    _at(0)
    a1 = client.post(f"{Q}/A").json()
    _at(1)
    a2 = client.post(f"{Q}/A").json()
    b1 = client.post(f"{Q}/B").json()
    _at(2)
    a3 = client.post(f"{Q}/A").json()
    assert [t["number"] for t in (a1, a2, b1, a3)] == ["A001", "A002", "B001", "A003"]
    assert [t["ahead"] for t in (a1, a2, b1, a3)] == [0, 1, 0, 2]
    bad = client.post(f"{Q}/Z")
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "bad_window_type"

    # anyone may take a ticket; only the window calls
    assert client.post(f"{Q}/A/next", params={"window": "3"}).status_code in (401, 403)
    h = _staff(client)
    _at(5)
    called = client.post(f"{Q}/A/next", params={"window": "3"}, headers=h).json()
    assert (called["number"], called["state"], called["window"]) == ("A001", "called", "3")
    assert client.get(f"{Q}/tickets/{a3['id']}").json()["ahead"] == 1  # A002 is still ahead
    # B is served by its own window: its ticket is not called for A
    _at(6)
    assert client.post(f"{Q}/B/next", params={"window": "7"}, headers=h).json()["number"] == "B001"
    _at(11)  # window 3 calls again: A001 served 6 minutes, A002 waited 10
    assert client.post(f"{Q}/A/next", params={"window": "3"}, headers=h).json()["number"] == "A002"
    assert client.get(f"{Q}/tickets/{a1['id']}").json()["state"] == "done"
    _at(14)
    done = client.post(f"{Q}/tickets/{b1['id']}/done", headers=h)
    assert done.status_code == 200 and done.json()["state"] == "done"
    again = client.post(f"{Q}/tickets/{b1['id']}/done", headers=h)
    assert again.status_code == 409 and again.json()["error"]["code"] == "bad_state"
    assert client.post(f"{Q}/tickets/999999/done", headers=h).json()["error"]["code"] == "ticket_not_found"
    empty = client.post(f"{Q}/B/next", params={"window": "7"}, headers=h)
    assert empty.status_code == 404 and empty.json()["error"]["code"] == "queue_empty"

    figures = {f["code"]: f for f in client.get(Q).json()}
    # A: waits 5 and 10 minutes, one served for 6; A003 waiting.  B: waited 5, served 8
    assert figures["A"] == {
        "code": "A",
        "name": "综合受理",
        "waiting": 1,
        "served": 1,
        "avg_wait_min": 7.5,
        "avg_service_min": 6.0,
    }
    assert (figures["B"]["waiting"], figures["B"]["served"]) == (0, 1)
    assert (figures["B"]["avg_wait_min"], figures["B"]["avg_service_min"]) == (5.0, 8.0)
    assert figures["C"]["served"] == figures["C"]["waiting"] == 0

    # the window console shows the same figures, calls the next and finishes it
    page = client.get("/services/window").text
    row = re.search(r'data-testid="queue-A">(.*?)</tr>', page)
    assert row and [c for c in re.findall(r"<td>([^<]*)</td>", row.group(1))][1:] == ["1", "1", "7.5", "6.0"]
    _at(20)
    page = client.post("/services/window/call", data={"window_type": "A", "window_no": "3"}, headers=h).text
    assert "请 A003 号到 3 号窗口办理" in page
    m = re.search(r'action="/services/window/done/(\d+)"', page)
    assert m and int(m.group(1)) == a3["id"]
    _at(24)
    page = client.post(f"/services/window/done/{a3['id']}", headers=h).text
    row = re.search(r'data-testid="queue-A">(.*?)</tr>', page)
    # A: waits 5, 10, 18 → 11.0; services 6, 9 (A002 ended when A003 was called), 4 → 6.3
    assert row and re.findall(r"<td>([^<]*)</td>", row.group(1))[1:] == ["0", "3", "11.0", "6.3"]

    # the kiosk (no login): a ticket, one's place in line, then the call to a window
    client.cookies.clear()
    _at(30)
    r = client.post("/services/hall/C", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/services/hall?t=")
    page = client.get(r.headers["location"]).text
    assert 'data-testid="ticket-number">C001<' in page and "前面还有 0 人等候" in page
    client.post("/services/hall/C")
    page = client.get("/services/hall").text
    assert re.search(r'data-testid="take-C">C 不动产登记</button>', page) and "2 人等候" in page
    assert client.post("/services/hall/Q").status_code == 422
    h = _staff(client)
    client.post(f"{Q}/C/next", params={"window": "5"}, headers=h)
    client.cookies.clear()
    assert "请到 5 号窗口办理" in client.get(r.headers["location"]).text
    assert client.get("/services/hall?t=0").status_code == 422

    # the next local day starts again at A001
    clock.set_now(T0 + timedelta(days=1))
    assert client.post(f"{Q}/A").json()["number"] == "A001"
    assert {f["code"]: f["served"] for f in client.get(Q).json()}["A"] == 0
