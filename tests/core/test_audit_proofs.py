"""Inclusion and consistency proofs served by the log, checked with the verification algorithms of
RFC 9162 §2.1.3.2 and §2.1.4.2 as written here from the RFC's text (not with the log's code)."""

from __future__ import annotations

import hashlib

import pytest

from cityos.core import audit
from cityos.core.audit import proofs
from cityos.core.audit.tree import heads

SIZES = (1, 2, 3, 5, 8, 16, 17, 31, 33, 40)


def _h(b: bytes) -> bytes:
    return hashlib.sha256(b).digest()


def verify_inclusion(leaf_index: int, tree_size: int, leaf: bytes, path: list[bytes], root: bytes) -> bool:
    """RFC 9162 §2.1.3.2."""
    if leaf_index >= tree_size:
        return False
    fn, sn = leaf_index, tree_size - 1
    r = _h(b"\x00" + leaf)
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = _h(b"\x01" + p + r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = _h(b"\x01" + r + p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(
    first: int, second: int, first_hash: bytes, second_hash: bytes, path: list[bytes]
) -> bool:
    """RFC 9162 §2.1.4.2 (first < second)."""
    if not path:
        return False
    if first & (first - 1) == 0:
        path = [first_hash, *path]
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = _h(b"\x01" + c + fr)
            sr = _h(b"\x01" + c + sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = _h(b"\x01" + sr + c)
        fn >>= 1
        sn >>= 1
    return fr == first_hash and sr == second_hash and sn == 0


@pytest.fixture
def grown(db):
    """A log of 40 entries with a signed head at each of SIZES."""
    n = 0
    for size in SIZES:
        with db.transaction() as s:
            for i in range(n, size):
                audit.record(
                    s, actor=f"token:dept{i % 3}", action="data.call", subject_id=i, payload={"i": i}
                )
        n = size
        audit.sequence(db, force_head=True)
    with db.reader() as s:
        assert [h.tree_size for h in heads(s)] == list(SIZES)
    return db


def test_inclusion_proofs_verify_for_every_entry_and_head(grown):
    with grown.reader() as s:
        hs = heads(s)
        seqs = [r[0] for r in s.execute(audit.AuditRecord.__table__.select().order_by("leaf_index")).all()]
        checked = 0
        for h in hs:
            for i in range(h.tree_size):
                p = proofs.inclusion(s, seq=seqs[i], tree_size=h.tree_size)
                path = [bytes.fromhex(x) for x in p["inclusion_path"]]
                root = bytes.fromhex(h.root_hash)
                assert verify_inclusion(i, h.tree_size, p["entry"].encode(), path, root), (i, h.tree_size)
                # a proof for one entry does not prove another, nor another root
                assert not verify_inclusion(i, h.tree_size, p["entry"].encode() + b" ", path, root)
                if h.tree_size > 1:
                    other = (i + 1) % h.tree_size
                    assert not verify_inclusion(other, h.tree_size, p["entry"].encode(), path, root)
                checked += 1
    assert checked == sum(SIZES)


def test_consistency_proofs_verify_between_every_pair_of_heads(grown):
    with grown.reader() as s:
        hs = heads(s)
        for a in hs:
            for b in hs:
                if a.tree_size > b.tree_size:
                    continue
                p = proofs.consistency(s, first=a.tree_size, second=b.tree_size)
                path = [bytes.fromhex(x) for x in p["consistency_path"]]
                ra, rb = bytes.fromhex(a.root_hash), bytes.fromhex(b.root_hash)
                if a.tree_size == b.tree_size:
                    assert path == [] and ra == rb
                    continue
                assert verify_consistency(a.tree_size, b.tree_size, ra, rb, path), (a.tree_size, b.tree_size)
                assert not verify_consistency(a.tree_size, b.tree_size, rb, ra, path)


def test_consistency_proof_exposes_a_rewritten_prefix(grown):
    """Rewrite leaf 3's stored hash (and the nodes above it): a proof from the old head of 5 no longer
    reaches the root that the old head of 40 signed."""
    from sqlalchemy import text

    with grown.transaction() as s:
        s.execute(text("UPDATE audit_log SET leaf_hash = :h WHERE leaf_index = 3"), {"h": "ab" * 32})
    with grown.reader() as s:
        h5, h40 = (next(h for h in heads(s) if h.tree_size == n) for n in (5, 40))
        p = proofs.consistency(s, first=5, second=40)
        path = [bytes.fromhex(x) for x in p["consistency_path"]]
    assert not verify_consistency(5, 40, bytes.fromhex(h5.root_hash), bytes.fromhex(h40.root_hash), path)


def test_proof_routes_need_the_permission_and_show_only_ones_own_entries(grown, city, client):
    from cityos.identity import service

    with grown.reader() as s:
        seq = s.execute(
            audit.AuditRecord.__table__.select().where(audit.AuditRecord.actor == "token:dept1")
        ).first()
    assert client.get(f"/api/v1/audit/proofs/inclusion?seq={seq.seq}").status_code == 401
    city.login(client, "admin")
    r = client.get(f"/api/v1/audit/proofs/inclusion?seq={seq.seq}&tree_size=40")
    assert r.status_code == 200, r.text
    body = r.json()
    path = [bytes.fromhex(x) for x in body["inclusion_path"]]
    assert verify_inclusion(
        body["leaf_index"], 40, body["entry"].encode(), path, bytes.fromhex(body["tree_head"]["root_hash"])
    )
    r = client.get("/api/v1/audit/proofs/consistency?first=17&second=40")
    assert r.status_code == 200 and r.json()["first_head"]["tree_size"] == 17
    assert (
        client.get("/api/v1/audit/proofs/consistency?first=18&second=40").json()["error"]["code"]
        == "audit_no_head"
    )
    assert client.get("/api/v1/audit/tree-head").json()["tree_size"] == 40
    client.cookies.clear()
    # a department's token with the audit scope: its own entries only
    with grown.transaction() as s:
        tok = service.create_token(session=s, actor=city.as_role("admin"), client="dept1", scopes=["audit"])
    hdr = {"Authorization": f"Bearer {tok.token}"}
    with grown.reader() as s:
        other = s.execute(
            audit.AuditRecord.__table__.select().where(audit.AuditRecord.actor == "token:dept0")
        ).first()
    r = client.get(f"/api/v1/audit/proofs/inclusion?seq={other.seq}", headers=hdr)
    assert r.status_code == 403 and r.json()["error"]["code"] == "audit_not_yours"
    with grown.transaction() as s:
        mine = audit.record(s, actor="token:dept1", action="data.call")
        s.flush()
        my_seq = mine.seq
    audit.sequence(grown, force_head=True)
    r = client.get(f"/api/v1/audit/proofs/inclusion?seq={my_seq}", headers=hdr)
    assert r.status_code == 200, r.text
    body = r.json()
    path = [bytes.fromhex(x) for x in body["inclusion_path"]]
    root = bytes.fromhex(body["tree_head"]["root_hash"])
    assert verify_inclusion(body["leaf_index"], body["tree_size"], body["entry"].encode(), path, root)
