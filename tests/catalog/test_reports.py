"""Validation reports follow the share rules: the provider's stewards see sample values in clear,
a department that may not read the data sees none of them, one that reads a field masked sees it
masked; and sample values are cut so a huge cell never becomes a huge report."""

from __future__ import annotations

import re
from pathlib import Path

from cityos.catalog import service
from cityos.catalog.masking import mask_value

from .helpers import login, population, population_rows, steward, token, write_csv


def _bad_file(tmp_path: Path, name: str) -> tuple[Path, str, str]:
    """Ten good rows and two bad ones: a resident ID with a wrong check character, and a name of
    5,000 characters (maxLength 20)."""
    rows = population_rows(12, seed=3)
    good_id = rows[0][0]
    bad_id = good_id[:-1] + ("0" if good_id[-1] != "0" else "1")
    rows[0][0] = bad_id
    rows[1][1] = "张" * 5000
    return write_csv(tmp_path / name, rows), bad_id, rows[1][0]


def _samples(body: list[dict]) -> list[dict]:  # type: ignore[type-arg]
    return [s for v in body for s in v["report"]["samples"]]


def test_report_samples_follow_the_share_rules_in_the_api_and_on_the_page(
    db, city, client, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    provider = steward(db, "gaj", "gaj-steward")
    steward(db, "cgj", "cgj-steward")
    with db.transaction() as s:
        cond = population(s, provider, share_type="conditional")
        uncond = population(s, provider, share_type="unconditional")
    loaded = {}
    for code in (cond, uncond):
        path, bad_id, _ = _bad_file(tmp_path, code.replace("/", "-") + ".csv")
        v = service.load(db=db, actor=provider, code=code, path=path, filename=path.name)
        assert v.state == "accepted" and v.quarantined_rows == 2, v.report
        loaded[code] = bad_id
    owner, consumer = token(db, city, "gaj", "catalog"), token(db, city, "cgj", "data")

    # the provider: in clear, the long name cut to 200 characters and an ellipsis
    for code in (cond, uncond):
        res = client.get(f"/api/v1/catalog/resources/{code.replace('/', '-')}/versions", headers=owner)
        assert res.status_code == 200, res.text
        by_field = {s["field"]: s for s in _samples(res.json())}
        assert by_field["id_number"]["value"] == loaded[code]
        assert by_field["name"]["value"] == "张" * 200 + "…"

    # a department without a grant for the conditional resource sees no sample value at all
    slug = cond.replace("/", "-")
    res = client.get(f"/api/v1/catalog/resources/{slug}/versions", headers=consumer)
    assert res.status_code == 200, res.text
    assert loaded[cond] not in res.text and "张张张" not in res.text
    assert _samples(res.json()) and all(s["value"] is None for s in _samples(res.json()))
    one = client.get(f"/api/v1/catalog/resources/{slug}/versions/{res.json()[0]['id']}", headers=consumer)
    assert one.status_code == 200 and loaded[cond] not in one.text

    # unconditional: the consumer reads id_number and name masked, so the samples are masked
    slug = uncond.replace("/", "-")
    res = client.get(f"/api/v1/catalog/resources/{slug}/versions", headers=consumer)
    by_field = {s["field"]: s for s in _samples(res.json())}
    assert loaded[uncond] not in res.text
    assert by_field["id_number"]["value"] == mask_value("id", loaded[uncond])
    assert by_field["name"]["value"] == "张" + "*" * 200  # masked after the cut

    # the version page: the same rule
    with db.reader() as s:
        vid = service.versions(session=s, actor=provider, code=cond)[0].id
    login(client, "cgj-steward")
    page = client.get(f"/catalog/r/{cond.replace('/', '-')}/versions/{vid}")
    assert page.status_code == 200 and loaded[cond] not in page.text and "张张张" not in page.text
    assert "公民身份号码" in page.text  # fields named by their Chinese titles
    login(client, "gaj-steward")
    page = client.get(f"/catalog/r/{cond.replace('/', '-')}/versions/{vid}")
    assert page.status_code == 200 and loaded[cond] in page.text
    assert len(re.findall("张", page.text)) < 400  # the 5,000-character cell is cut on the page too
