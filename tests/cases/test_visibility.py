"""One visibility rule (cases/policy.visible) through the HTTP API: for a matrix of cases and
actors, what the list shows is exactly what the detail, the timeline and the attachments allow —
everything else is 404, as if it did not exist — and a transition on a case one cannot see says
nothing about its state or version.

The cases (built through the real services), and who must see them:

    A  兰山区 grid 37130200100101, reported by citizen1, not dispatched     inspector, grid worker, citizen1
    B  兰山区 grid 37130200200101, dispatched to 兰山区城管局 (ls-cgj)        inspector, handler ls-cgj
    C  罗庄区, dispatched to 市城管局 (cgj)                                   dispatcher 罗庄, handler cgj
    D  罗庄区, reported by citizen2, not dispatched                           dispatcher 罗庄, citizen2
    E  兰山区 grid 37130200100101, dispatched to ls-cgj and returned (no dept) inspector, grid worker

and the city-wide dispatcher and the leader see all five.
"""

from __future__ import annotations

import pytest

from cityos.cases import service
from cityos.cases.schemas import ReportIn
from cityos.identity import service as identity
from cityos.identity.schemas import UserIn
from tests.factories import PASSWORD

GRID_A = (118.3515, 35.0515)  # 37130200100101
GRID_B = (118.3575, 35.0515)  # 37130200200101
GRID_LZ = (118.2815, 34.9915)  # 37131100100101 (罗庄区)
EXTRA_USERS = [  # username, role, department, region
    ("handler_cgj", "handler", "cgj", "371300"),
    ("dispatcher_lz", "dispatcher", "cgj", "371311"),
    ("citizen2", "citizen", None, None),
]
EXPECTED = {
    "dispatcher1": "ABCDE",
    "leader1": "ABCDE",
    "dispatcher_lz": "CD",
    "handler1": "B",  # ls-cgj: only what was dispatched to it, never the city's open queue
    "handler_cgj": "C",
    "inspector1": "ABE",
    "grid_worker1": "AE",
    "citizen1": "A",
    "citizen2": "D",
}


def _report(s, actor, lonlat, category="E0402"):  # type: ignore[no-untyped-def]
    return service.report_case(
        session=s,
        actor=actor,
        report=ReportIn(
            category_code=category, description="占道经营", channel="citizen", lon=lonlat[0], lat=lonlat[1]
        ),
    )


@pytest.fixture
def matrix(city, db):  # type: ignore[no-untyped-def]
    admin, dispatcher = city.as_role("admin"), city.as_role("dispatcher")
    with db.transaction() as s:
        service.load_default_taxonomy(session=s, actor=admin)
        for username, role, dept, region in EXTRA_USERS:
            identity.add_user(
                session=s,
                actor=identity.SYSTEM,
                user=UserIn(
                    username=username,
                    display_name=username,
                    password=PASSWORD,
                    roles=[role],
                    department_code=dept,
                    region_code=region,
                ),
            )
        citizen2 = identity.principal_for(session=s, username="citizen2")
        handler = city.as_role("handler")
        ids = {}
        ids["A"] = _report(s, city.as_role("citizen"), GRID_A).id
        b = _report(s, dispatcher, GRID_B)
        for step in ("file", "dispatch"):
            service.transition(
                session=s, actor=dispatcher, case_id=b.id, action=step, department_code="ls-cgj"
            )
        ids["B"] = b.id
        c = _report(s, dispatcher, GRID_LZ)
        for step in ("file", "dispatch"):
            service.transition(session=s, actor=dispatcher, case_id=c.id, action=step, department_code="cgj")
        ids["C"] = c.id
        ids["D"] = _report(s, citizen2, GRID_LZ, "E0505").id
        e = _report(s, dispatcher, GRID_A, "C0101")
        for step in ("file", "dispatch"):
            service.transition(
                session=s, actor=dispatcher, case_id=e.id, action=step, department_code="ls-cgj"
            )
        service.transition(session=s, actor=handler, case_id=e.id, action="return", reason="不属本部门")
        ids["E"] = e.id
    return ids


def _login(client, username):  # type: ignore[no-untyped-def]
    client.cookies.clear()
    r = client.post(
        "/login", data={"username": username, "password": PASSWORD, "next": "/"}, follow_redirects=False
    )
    assert r.status_code == 303, r.text


def test_list_detail_timeline_and_attachments_agree_for_every_actor(matrix, client):  # type: ignore[no-untyped-def]
    names = {v: k for k, v in matrix.items()}
    for username, expected in EXPECTED.items():
        _login(client, username)
        r = client.get("/api/v1/cases", params={"limit": 500})
        assert r.status_code == 200, (username, r.text)
        listed = "".join(sorted(names[c["id"]] for c in r.json()["items"] if c["id"] in names))
        assert listed == expected, username
        for letter, case_id in matrix.items():
            codes = {
                client.get(f"/api/v1/cases/{case_id}").status_code,
                client.get(f"/api/v1/cases/{case_id}/timeline").status_code,
                client.get(f"/api/v1/cases/{case_id}/attachments").status_code,
            }
            assert codes == ({200} if letter in expected else {404}), (username, letter, codes)


def test_a_citizen_follows_their_own_case_through_the_api(matrix, client):  # type: ignore[no-untyped-def]
    _login(client, "citizen1")
    r = client.get(f"/api/v1/cases/{matrix['A']}")
    assert r.status_code == 200 and r.json()["id"] == matrix["A"]
    assert [e["action"] for e in client.get(f"/api/v1/cases/{matrix['A']}/timeline").json()] == ["report"]


def test_scope_is_checked_before_state_and_version(matrix, client):  # type: ignore[no-untyped-def]
    """Acting on a case one cannot see is 404 whatever the version sent or the state it is in: a
    409 would say that the case exists, its state and its version."""
    csrf = None
    for username, letter, action in (
        ("handler1", "A", "accept"),  # not dispatched: no department's yet
        ("handler_cgj", "B", "accept"),  # another department's
        ("dispatcher_lz", "A", "file"),  # another district
        ("grid_worker1", "C", "verify"),
    ):
        _login(client, username)
        html = client.get("/").text
        csrf = html.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        for version in (None, 999):
            r = client.post(
                f"/api/v1/cases/{matrix[letter]}/transitions",
                json={"action": action, "expected_version": version, "reason": "x"},
                headers={"X-CSRF-Token": csrf},
            )
            assert r.status_code == 404, (username, letter, version, r.text)
            assert r.json()["error"]["code"] == "not_found"
    # and someone who can see it still hears about the state and the version
    _login(client, "dispatcher_lz")
    csrf = client.get("/").text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    r = client.post(
        f"/api/v1/cases/{matrix['D']}/transitions",
        json={"action": "file", "expected_version": 999},
        headers={"X-CSRF-Token": csrf},
    )
    assert r.status_code == 409 and r.json()["error"]["code"] == "stale_case"


def test_the_case_page_follows_the_same_rule(matrix, client):  # type: ignore[no-untyped-def]
    _login(client, "handler1")
    assert client.get(f"/cases/{matrix['B']}").status_code == 200
    assert client.get(f"/cases/{matrix['A']}").status_code == 404
    _login(client, "dispatcher_lz")
    assert client.get(f"/cases/{matrix['C']}").status_code == 200
    assert client.get(f"/cases/{matrix['B']}").status_code == 404


def test_ids_past_the_databases_integers_are_refused_not_a_server_error(matrix, client):  # type: ignore[no-untyped-def]
    _login(client, "dispatcher1")
    huge = 2**63
    for path in (
        f"/api/v1/cases/{huge}",
        f"/api/v1/cases/{huge}/timeline",
        f"/api/v1/cases/{huge}/attachments",
        f"/api/v1/cases/{matrix['A']}/attachments/{huge}/file",
        f"/api/v1/cases?offset={huge}",
        f"/cases/{huge}",
        f"/cases?page={huge}",
        f"/cases/hotline?filed={huge}",
        f"/p/cases/{matrix['A']}/photos/{huge}",
    ):
        r = client.get(path)
        assert 400 <= r.status_code < 500, (path, r.status_code)
    r = client.get("/api/v1/cases", params={"after": f"1.{huge}"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "bad_cursor"
    # past a 32-bit id column (PostgreSQL's INTEGER) is refused too; the largest id that fits is not found
    assert client.get(f"/api/v1/cases/{2**31}").status_code == 422
    assert client.get(f"/api/v1/cases/{2**31 - 1}").status_code == 404
    assert client.get("/api/v1/cases", params={"after": f"1.{2**31}"}).status_code == 422


def test_evaluation_counts_only_the_cases_one_may_see(matrix, client):  # type: ignore[no-untyped-def]
    """The evaluation is a report over cases: the same rule decides which it counts."""
    from datetime import timedelta

    from cityos.core import clock

    today = clock.local(clock.now()).date()
    period = {"start": str(today - timedelta(days=1)), "end": str(today + timedelta(days=1))}
    for username, expected in EXPECTED.items():
        if username.startswith("citizen"):
            continue  # no evaluation page for citizens
        _login(client, username)
        r = client.get("/api/v1/cases/evaluation", params=period)
        assert r.status_code == 200, (username, r.text)
        assert r.json()["counts"]["受理数"] == len(expected), username
