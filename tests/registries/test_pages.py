"""The registries' pages and API through the app, on both databases: the record browser shows each
field's source and as-of date and masks what the share rules mask; a steward answers a discrepancy
from the inbox; a check is dry-run (nothing created) and run from the API; a 核查任务 is confirmed
from the task list."""

from __future__ import annotations

import pytest

from cityos.catalog import service as catalog
from cityos.catalog.schemas import AccessRequestIn, DecisionIn
from cityos.registries import service
from tests.registries.conftest import login
from tests.registries.world import P

pytestmark = pytest.mark.xdist_group("registries")


def test_record_browser_shows_sources_and_masks(installed, world, db, client):
    with db.transaction() as s:
        service.build(session=s, actor=world.bureau, code="population")
        # 民政 may read names from the police, masked; IDs in clear
        req = catalog.request_access(
            session=s,
            actor=world.stewards["mzj"],
            code=world.codes["population"],
            data=AccessRequestIn(
                purpose="低保核对", legal_basis="《社会救助暂行办法》", fields=["id_number", "name"]
            ),
        )
        catalog.decide_request(
            session=s,
            actor=world.stewards["gaj"],
            request_id=req.id,
            decision=DecisionIn(approve=True, reason="同意", clear_fields=["id_number"]),
        )
    login(client, "steward-dsjj")
    html = client.get(f"/registries?registry=population&key={P['P2']}").text
    assert "张贰" in html and "临沂市公安局" in html and "本部门未获该资源的共享授权" in html
    client.post("/logout", data={"csrf_token": login(client, "steward-dsjj")})
    login(client, "steward-mzj")
    rec = client.get(f"/api/v1/registries/population/records/{P['P2']}").json()
    by = {f["name"]: f for f in rec["fields"]}
    assert by["name"]["value"] == "张*" and by["name"]["resource"] == world.codes["population"]
    assert by["name"]["as_of"].startswith("2026-12-02") and by["name"]["version"] == 1
    assert (by["address"]["shown"] is False and "value" not in by["address"]) or by["address"][
        "value"
    ] is None
    assert by["assistance"]["value"] == "在保"  # 民政's own resource


def test_inbox_answer_and_task_confirmation(installed, world, db, client):
    with db.transaction() as s:
        service.build(session=s, actor=world.bureau, code="population")
    token = login(client, "steward-rsj")
    (d,) = client.get("/api/v1/discrepancies").json()
    assert "张二" in client.get("/registries/discrepancies").text
    r = client.post(
        f"/registries/discrepancies/{d['id']}/answer",
        data={"csrf_token": token, "answer": "corrected"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert client.get("/api/v1/discrepancies?state=corrected").json()[0]["id"] == d["id"]
    client.post("/logout", data={"csrf_token": token})
    token = login(client, "steward-mzj")
    h = {"X-CSRF-Token": token}
    dry = client.post("/api/v1/crosschecks/DIBAO_ASSETS/run?sample=3", headers=h).json()
    assert dry["run_id"] is None and dry["tasks_created"] == 0
    out = client.post("/api/v1/crosschecks/DIBAO_ASSETS/run", headers=h).json()
    assert out["hits"] == 4 and out["tasks_created"] == 4
    assert (
        client.post("/api/v1/crosschecks/ZOMBIE_ENTERPRISE/run", headers=h).status_code == 403
    )  # 市场监管's
    tasks = client.get("/api/v1/crosscheck-tasks").json()
    first = tasks[0]
    assert "名下车辆" in client.get("/registries/tasks").text
    r = client.post(
        f"/registries/tasks/{first['id']}/decision",
        data={"csrf_token": token, "outcome": "confirmed"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    states = {t["id"]: t["state"] for t in client.get("/api/v1/crosscheck-tasks?state=confirmed").json()}
    assert states == {first["id"]: "confirmed"}
    for page in ("/registries", "/registries/checks?edit=DIBAO_ASSETS", "/registries/tasks?state=confirmed"):
        assert client.get(page).status_code == 200, page
