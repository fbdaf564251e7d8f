"""数据异议 from the portal, on both databases: a signed-in citizen sees their own record (and their
enterprise's, as its legal representative) with each field's source and as-of date, objects to a
field with a reason; the objection lands in the source department's inbox, its answer shows on the
citizen's page. A citizen never sees another person's record, whichever way they ask."""

from __future__ import annotations

from typing import Any

import pytest

from cityos.identity import service as identity
from cityos.identity.schemas import UserIn
from cityos.registries import service
from cityos.services import service as services
from tests.factories import PASSWORD
from tests.registries.conftest import login
from tests.registries.world import E, P

pytestmark = pytest.mark.xdist_group("registries")


def _citizen(db: Any, username: str, name: str, id_number: str) -> None:
    with db.transaction() as s:
        identity.add_user(
            session=s,
            actor=identity.SYSTEM,
            user=UserIn(username=username, display_name=name, password=PASSWORD, roles=["citizen"]),
        )
        p = identity.principal_for(session=s, username=username)
        services.set_real_name(session=s, actor=p, name=name, id_number=id_number)


def _built(world: Any, db: Any) -> None:
    with db.transaction() as s:
        service.build(session=s, actor=world.bureau, code="population")
        v = service.build(session=s, actor=world.bureau, code="legal_entities")
        assert "legal_rep_id" in v.provenance, v.absent


def test_own_record_objection_answer(installed, world, db, client):
    _built(world, db)
    _citizen(db, "zhang2", "张贰", P["P2"])
    token = login(client, "zhang2")
    mine = client.get("/api/v1/my-registry-data").json()
    assert mine == {"population": [P["P2"]], "legal_entities": []}
    html = client.get("/registries/mine").text
    assert "张贰" in html and "临沂市公安局" in html and "2026-12-02" in html
    rec = client.get(f"/api/v1/my-registry-data/population/{P['P2']}").json()
    by = {f["name"]: f for f in rec["fields"]}
    assert by["name"]["value"] == "张贰" and by["name"]["authority"] == "gaj"
    assert by["name"]["resource"] == world.codes["population"] and by["name"]["as_of"].startswith(
        "2026-12-02"
    )
    assert by["cremated_on"]["shown"] is False  # absent from this version: said, not invented
    assert (by["division"]["value"], by["division"]["value_name"]) == (
        "371302",
        "兰山区",
    )  # a name, not a code
    assert "兰山区（371302）" in html

    # objecting: a reason is required, the field must be one of the record's
    h = {"X-CSRF-Token": token}
    body = {"registry": "population", "key": P["P2"], "field": "address", "reason": ""}
    r = client.post("/api/v1/my-registry-data-objections", json=body, headers=h)
    assert r.status_code == 422 and r.json()["error"]["code"] == "reason_required"
    r = client.post(
        "/api/v1/my-registry-data-objections", json=body | {"field": "x", "reason": "错"}, headers=h
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "unknown_field"
    r = client.post(
        "/registries/mine/objections",
        data={
            "csrf_token": token,
            "registry": "population",
            "key": P["P2"],
            "field": "address",
            "reason": "已迁居",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    again = client.post("/api/v1/my-registry-data-objections", json=body | {"reason": "再提一次"}, headers=h)
    assert again.status_code == 422 and again.json()["error"]["code"] == "objection_pending"
    # a field whose source column is named otherwise (最低生活保障: 民政's `status`) is held the same way
    first = client.post(
        "/api/v1/my-registry-data-objections",
        json=body | {"field": "assistance", "reason": "已停保"},
        headers=h,
    )
    assert first.status_code in (200, 201), first.text
    again = client.post(
        "/api/v1/my-registry-data-objections",
        json=body | {"field": "assistance", "reason": "再提"},
        headers=h,
    )
    assert again.status_code == 422 and again.json()["error"]["code"] == "objection_pending"
    objs = client.get("/api/v1/my-registry-data-objections").json()
    assert sorted(o["evidence"]["registry_field"] for o in objs) == ["address", "assistance"]
    mine_obj = next(o for o in objs if o["evidence"]["registry_field"] == "address")
    assert mine_obj["origin"] == "objection" and mine_obj["state"] == "open"
    assert mine_obj["holder_code"] == world.codes["population"] and mine_obj["evidence"]["reason"] == "已迁居"
    client.post("/logout", data={"csrf_token": token})

    # the source department (the police) has it in its inbox with the reason; 人社 does not; the
    # 最低生活保障 one went to 民政 under its own column
    token = login(client, "steward-rsj")
    assert mine_obj["id"] not in [d["id"] for d in client.get("/api/v1/discrepancies").json()]
    client.post("/logout", data={"csrf_token": token})
    dibao = next(o for o in objs if o["evidence"]["registry_field"] == "assistance")
    assert dibao["holder_code"] == world.codes["dibao"] and dibao["field"] == "status"
    token = login(client, "steward-gaj")
    assert "已迁居" in client.get("/registries/discrepancies").text
    r = client.post(
        f"/registries/discrepancies/{mine_obj['id']}/answer",
        data={"csrf_token": token, "answer": "disputed", "reason": "户籍地址以户口登记为准，请先办理迁移"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    client.post("/logout", data={"csrf_token": token})

    # the citizen sees the answer
    login(client, "zhang2")
    html = client.get("/registries/mine").text
    assert "户籍地址以户口登记为准" in html
    states = {
        o["evidence"]["registry_field"]: o["state"]
        for o in client.get("/api/v1/my-registry-data-objections").json()
    }
    assert states == {"address": "disputed", "assistance": "open"}  # 民政 has not answered its one yet


def test_a_citizen_never_sees_another_persons_record(installed, world, db, client):
    _built(world, db)
    _citizen(db, "zhang2", "张贰", P["P2"])
    _citizen(db, "rep6", "法人六", P["P6"])
    with db.transaction() as s:
        p2 = identity.principal_for(session=s, username="zhang2")
        service.object_to(
            session=s, actor=p2, code="population", key=P["P2"], field="name", reason="名字错了"
        )
    token = login(client, "rep6")
    # their own: the person, and the enterprise they represent
    assert client.get("/api/v1/my-registry-data").json() == {
        "population": [P["P6"]],
        "legal_entities": [E["E2"]],
    }
    rec = client.get(f"/api/v1/my-registry-data/legal_entities/{E['E2']}").json()
    assert {f["name"] for f in rec["fields"]} >= {"name", "registered_capital"}
    assert "legal_rep_id" not in {f["name"] for f in rec["fields"]}
    # someone else's, every way in: the same 404 whether the key exists or not, no names leak
    for key in (P["P2"], P["P1"], "110101199001011234"):
        r = client.get(f"/api/v1/my-registry-data/population/{key}")
        assert r.status_code == 404 and r.json()["error"]["code"] == "record_not_found", key
    r = client.get(f"/api/v1/my-registry-data/legal_entities/{E['E1']}")
    assert r.status_code == 404
    html = client.get(f"/registries/mine?key={P['P2']}").text
    assert "张贰" not in html and "没有与您相关的这条记录" in html
    assert client.get(f"/api/v1/registries/population/records/{P['P2']}").status_code == 403
    assert client.get(f"/registries?registry=population&key={P['P2']}").status_code == 403
    r = client.post(
        "/api/v1/my-registry-data-objections",
        json={"registry": "population", "key": P["P2"], "field": "name", "reason": "试试"},
        headers={"X-CSRF-Token": token},
    )
    assert r.status_code == 404
    # nor another person's objections
    assert client.get("/api/v1/my-registry-data-objections").json() == []
    assert client.get("/api/v1/discrepancies").status_code == 403
    # objecting for the enterprise goes to its authority (市场监管)
    r = client.post(
        "/api/v1/my-registry-data-objections",
        json={
            "registry": "legal_entities",
            "key": E["E2"],
            "field": "registered_capital",
            "reason": "已增资",
        },
        headers={"X-CSRF-Token": token},
    )
    assert r.status_code == 201, r.text
    assert r.json()["holder_code"] == world.codes["legal_entities"]


def test_without_real_name_nothing_is_shown(installed, world, db, client):
    _built(world, db)
    with db.transaction() as s:
        identity.add_user(
            session=s,
            actor=identity.SYSTEM,
            user=UserIn(username="anon9", display_name="未实名", password=PASSWORD, roles=["citizen"]),
        )
    login(client, "anon9")
    r = client.get("/api/v1/my-registry-data")
    assert r.status_code == 422 and r.json()["error"]["code"] == "real_name_required"
    assert "请先完成实名认证" in client.get("/registries/mine").text
