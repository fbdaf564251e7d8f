"""A `replace` that drops most rows (more than half: the upload page's warning) is not accepted by
the API's default accept=true nor by the CLI without an explicit confirmation: it is staged, on
record, and the caller is told the counts (409 replace_drops_rows, Chinese and English; the CLI's
exit code 5). The API on both databases, the CLI as an operator runs it."""

from __future__ import annotations

from pathlib import Path

import pytest

from cityos.catalog import service
from cityos.core.errors import Conflict

from .helpers import population, population_rows, token, write_csv
from .test_cli import _department, _run


def test_the_api_stages_a_replace_that_drops_most_rows_until_confirmed(
    db, city, client, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    steward = city.as_role("data_bureau")
    with db.transaction() as s:
        code = population(s, steward)
    rows = population_rows(10)
    service.load(db=db, actor=steward, code=code, path=write_csv(tmp_path / "v1.csv", rows))
    slug, h = code.replace("/", "-"), token(db, city, "gaj", "catalog")

    def upload(n: int, **form: str):  # type: ignore[no-untyped-def]
        body = write_csv(tmp_path / f"r{n}.csv", rows[:n]).read_bytes()
        return client.post(
            f"/api/v1/catalog/resources/{slug}/versions",
            data={"mode": "replace", **form},
            files={"file": (f"r{n}.csv", body, "text/csv")},
            headers=h,
        )

    res = upload(3)  # the default accept=true
    assert res.status_code == 409, res.text
    err = res.json()["error"]
    assert err["code"] == "replace_drops_rows"
    held = err["details"]
    assert {k: held[k] for k in ("before", "after", "dropped")} == {"before": 10, "after": 3, "dropped": 7}
    assert (
        "7" in err["message"]["zh-CN"]
        and "10" in err["message"]["zh-CN"]
        and "删除" in err["message"]["zh-CN"]
    )
    assert "removes 7 of the 10 rows" in err["message"]["en"]
    with db.reader() as s:
        assert service.get_resource(session=s, code=code).current_version == 1  # nothing changed
        v = service.get_version(session=s, actor=steward, code=code, version_id=held["version_id"])
    assert v.state == "staged"
    # keeping most rows is accepted at once, as before
    assert upload(6, accept="true").status_code == 201
    assert upload(2, accept="true").status_code == 409  # 6 → 2 drops most again
    # confirmed: accepted
    res = upload(2, accept="true", confirm_drop="true")
    assert res.status_code == 201 and res.json()["state"] == "accepted"
    # or the staged version accepted explicitly once checked
    res = client.post(f"/api/v1/catalog/resources/{slug}/versions/{held['version_id']}/accept", headers=h)
    assert res.status_code == 200 and res.json()["state"] == "accepted"
    # the service says the same to every caller
    with pytest.raises(Conflict) as e:
        service.load(db=db, actor=steward, code=code, path=write_csv(tmp_path / "one.csv", rows[:1]))
    assert e.value.code == "replace_drops_rows" and e.value.details["dropped"] == 2


def test_the_cli_needs_confirm_drop(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    _department(home)
    import json

    from .helpers import POPULATION_SCHEMA

    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps(POPULATION_SCHEMA, ensure_ascii=False), encoding="utf-8")
    rows = population_rows(10)
    first = write_csv(tmp_path / "all.csv", rows)
    r = _run(
        home, "catalog", "load", "101001/000001", str(first), "--schema", str(schema),
        "--create", "--name", "人口基础信息", "--provider", "gaj",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    few = write_csv(tmp_path / "few.csv", rows[:3])
    r = _run(home, "catalog", "load", "101001/000001", str(few))  # no terminal: nobody to ask
    assert r.returncode == 5, r.stdout + r.stderr
    assert "replace_drops_rows" in r.stderr and "7" in r.stderr
    assert "\tv1\t10\t" in _run(home, "catalog", "list").stdout
    r = _run(home, "catalog", "load", "101001/000001", str(few), "--confirm-drop")
    assert r.returncode == 0, r.stderr
    assert "accepted as version 2: 3 rows" in r.stdout
