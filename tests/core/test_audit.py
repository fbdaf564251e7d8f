"""The audit log: entries sequenced into an RFC 9162 Merkle tree under signed heads, and every kind
of tampering with the database caught by verify and named (what, and where)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys

import pytest
from sqlalchemy import text

from cityos.core import audit
from cityos.core.audit import keys, proofs
from cityos.core.audit.entries import entry_leaf_hash
from cityos.core.audit.merkle import Frontier
from cityos.core.audit.tree import LOG, heads, local_head_path


def write(db, n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        with db.transaction() as s:
            audit.record(
                s, actor="user:a", action="thing.do", subject_type="thing", subject_id=i, payload={"i": i}
            )


def build(db) -> None:
    """30 entries under heads at sizes 10, 20 and 30."""
    for k in range(3):
        write(db, 10, 10 * k)
        audit.sequence(db, force_head=True)


def check(db, **kw) -> audit.VerifyResult:
    with db.reader() as s:
        return audit.verify(s, **kw)


def sql(db, stmt: str, **params) -> None:
    with db.transaction() as s:
        s.execute(text(stmt), params)


def found(res: audit.VerifyResult, kind: str) -> list[audit.Finding]:
    return [f for f in res.findings if f.kind == kind]


def mth(leaves: list[bytes]) -> bytes:
    """MTH of RFC 9162 §2.1.1, written from the text."""
    n = len(leaves)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = 1
    while k * 2 < n:
        k *= 2
    return hashlib.sha256(b"\x01" + mth(leaves[:k]) + mth(leaves[k:])).digest()


def test_entries_become_leaves_in_order_under_signed_heads(db):
    build(db)
    res = check(db, require_signed=True)
    assert res.ok, res.findings
    assert (res.checked, res.tree_size, res.signed_size, res.heads_checked) == (30, 30, 30, 3)
    with db.reader() as s:
        rows = s.execute(text("SELECT seq, leaf_index, payload FROM audit_log ORDER BY leaf_index")).all()
        hs = heads(s)
        entries = [proofs.inclusion(s, seq=r.seq)["entry"].encode() for r in rows]
    assert [r.leaf_index for r in rows] == list(range(30))
    assert [r.seq for r in rows] == sorted(r.seq for r in rows)
    # the leaves are the canonical entries; the signed roots are the RFC's MTH over them
    assert json.loads(entries[4])[1:3] == [4, rows[4].seq]  # its index and its id are in it
    assert [h.tree_size for h in hs] == [10, 20, 30]
    assert [h.root_hash for h in hs] == [mth(entries[:n]).hex() for n in (10, 20, 30)]


def test_the_key_is_generated_once_private_and_named_by_its_hash(db, settings):
    write(db, 1)
    audit.sequence(db, force_head=True)
    path = keys.key_path()
    assert path.exists() and (os.stat(path).st_mode & 0o777) == 0o600
    signer = keys.signer()
    with db.reader() as s:
        (head,) = heads(s)
    assert head.key_id == signer.key_id == keys.key_id_of(signer.private.public_key())
    assert (keys.public_dir() / f"{signer.key_id}.pub").exists()


def test_tail_deletion_is_named(db):
    build(db)
    sql(db, "DELETE FROM audit_log WHERE leaf_index >= 27")
    res = check(db)
    (f,) = found(res, "deleted_tail")
    assert f.index == 27 and "27..29" in f.message
    # and the sequencer refuses to extend (and sign over) the shortened log
    write(db, 1)
    with pytest.raises(audit.LogTampered):
        audit.sequence(db, force_head=True)


def test_middle_deletion_is_named(db):
    build(db)
    sql(db, "DELETE FROM audit_log WHERE leaf_index = 12")
    (f,) = found(check(db), "missing_entry")
    assert f.index == 12


def test_edited_entry_is_named_by_index(db):
    build(db)
    sql(db, "UPDATE audit_log SET actor = 'user:mallory' WHERE leaf_index = 14")
    res = check(db)
    assert [(f.kind, f.index) for f in res.findings] == [("edited_entry", 14)]


def test_edited_payload_is_named_by_index(db):
    build(db)
    with db.transaction() as s:
        s.execute(
            text("UPDATE audit_log SET payload = :p WHERE leaf_index = 3"),
            {"p": json.dumps({"i": 99})},
        )
    res = check(db)
    assert [(f.kind, f.index) for f in res.findings] == [("edited_entry", 3)]
    assert "payload" in res.findings[0].message


def test_reordering_is_named(db):
    build(db)
    sql(db, "UPDATE audit_log SET leaf_index = -1 WHERE leaf_index = 21")
    sql(db, "UPDATE audit_log SET leaf_index = 21 WHERE leaf_index = 25")
    sql(db, "UPDATE audit_log SET leaf_index = 25 WHERE leaf_index = -1")
    res = check(db)
    moved = found(res, "reordered")
    assert {f.index for f in moved} == {21, 25}
    assert not found(res, "edited_entry")


def _rebuild_nodes(db) -> str:
    """What someone with the database but not the key can do: recompute every stored hash."""
    with db.transaction() as s:
        s.execute(text("DELETE FROM audit_tree_nodes"))
        f = Frontier()
        for r in s.execute(LOG.select().order_by(LOG.c.leaf_index)).all():
            h = entry_leaf_hash(r.leaf_index, r)
            s.execute(text("UPDATE audit_log SET leaf_hash = :h WHERE seq = :s"), {"h": h.hex(), "s": r.seq})
            for level, idx, nh in f.append(h):
                if level >= 4:
                    s.execute(
                        text("INSERT INTO audit_tree_nodes (level, idx, hash) VALUES (:l, :i, :h)"),
                        {"l": level, "i": idx, "h": nh.hex()},
                    )
        return f.root().hex()


def test_recomputation_without_the_key_is_caught(db):
    build(db)
    sql(db, "UPDATE audit_log SET actor = 'user:mallory' WHERE leaf_index = 15")
    _rebuild_nodes(db)
    res = check(db)
    (f,) = found(res, "rewritten")
    assert f.index == 10 and "10..19" in f.message  # between the heads of size 10 and 20
    assert not found(res, "edited_entry")  # every leaf hash agrees with its entry now


def test_recomputation_with_heads_resigned_by_another_key_is_caught(db):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    build(db)
    sql(db, "UPDATE audit_log SET subject_id = 'x' WHERE leaf_index = 2")
    root = _rebuild_nodes(db)
    mallory = Ed25519PrivateKey.generate()
    kid = keys.key_id_of(mallory.public_key())
    msg = keys.head_message(head_id=1, tree_size=30, root_hash=root, timestamp_ms=1, key_id=kid)
    sql(db, "DELETE FROM audit_tree_heads")
    sql(
        db,
        "INSERT INTO audit_tree_heads (id, tree_size, root_hash, timestamp_ms, key_id, signature) "
        "VALUES (1, 30, :r, 1, :k, :s)",
        r=root,
        k=kid,
        s=mallory.sign(msg).hex(),
    )
    res = check(db)
    assert {"unknown_key", "head_missing", "rewritten"} == res.kinds()
    # the head this host signed last (kept beside the key) still holds the true root of 30
    assert all("this host" in f.message for f in found(res, "rewritten") + found(res, "head_missing"))


def test_forged_and_deleted_heads_are_named(db):
    build(db)
    with db.reader() as s:
        first = heads(s)[0]
    sql(db, "UPDATE audit_tree_heads SET root_hash = :r WHERE id = 2", r=first.root_hash)
    res = check(db)
    assert [(f.kind, "#2" in f.message) for f in res.findings] == [("forged_head", True)]
    sql(db, "DELETE FROM audit_tree_heads WHERE id = 2")
    res = check(db)
    assert [f.kind for f in res.findings] == ["head_missing"]


def test_key_rotation_keeps_old_heads_verifiable(db, settings):
    write(db, 5)
    audit.sequence(db, force_head=True)
    old, new = keys.rotate()
    write(db, 5, 5)
    audit.sequence(db, force_head=True)
    with db.reader() as s:
        hs = heads(s)
    assert [h.key_id for h in hs] == [old, new] and old != new
    assert check(db, require_signed=True).ok
    # the old public key is what keeps head 1 verifiable
    (keys.public_dir() / f"{old}.pub").unlink()
    res = check(db)
    assert [f.kind for f in res.findings] == ["unknown_key"] and "#1" in res.findings[0].message


def test_a_witness_catches_what_the_database_alone_would_not(db, settings):
    build(db)
    with db.reader() as s:
        kept = heads(s)
    # someone with the database drops the last entries and the heads that signed them; this host's
    # own copy of its last head is assumed lost too (say, another host signed)
    local_head_path(settings.home).unlink()
    sql(db, "DELETE FROM audit_log WHERE leaf_index >= 20")
    sql(db, "DELETE FROM audit_tree_heads WHERE id = 3")
    assert check(db).ok  # the database alone now tells a consistent, shorter story
    res = check(db, witness=kept, witness_name="heads.jsonl")
    assert {"head_missing", "deleted_tail"} == res.kinds()
    assert found(res, "deleted_tail")[0].index == 20


def test_waiting_entries_are_reported_until_sequenced(db):
    write(db, 3)
    res = check(db)
    assert res.ok and res.unsequenced == 3 and res.tree_size == 0
    assert audit.sequence(db) == 3
    res = check(db, require_signed=True)
    assert res.ok and res.tree_size == 3 and res.unsequenced == 0


def test_cli_verify_heads_and_witness(tmp_path):
    """The real commands on a real file database: intact -> 0; tampered -> 1 naming the entry;
    heads exported for a witness catch a rewrite the database alone hides."""
    env = {k: v for k, v in os.environ.items() if k not in ("CITYOS_DATABASE_URL", "CITYOS_AUDIT_KEY")}
    env["CITYOS_HOME"] = str(tmp_path)

    def run(*a: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "cityos", *a], env=env, capture_output=True, text=True)

    assert run("init").returncode == 0
    r = run("token", "create", "--client", "t", "--scope", "geo")
    assert r.returncode == 0, r.stderr
    r = run("audit", "verify")
    assert r.returncode == 0 and "intact: 1 entries" in r.stdout, r.stdout + r.stderr
    heads_out = run("audit", "heads", "--since", "2000-01-01")
    assert heads_out.returncode == 0 and len(heads_out.stdout.splitlines()) == 1
    (tmp_path / "witness.jsonl").write_text(heads_out.stdout)
    import sqlite3

    con = sqlite3.connect(tmp_path / "cityos.db")
    con.execute("UPDATE audit_log SET action='token.revoke' WHERE leaf_index=0")
    con.commit()
    r = run("audit", "verify")
    assert r.returncode == 1 and "edited_entry at index 0" in r.stderr
    con.execute("DELETE FROM audit_log")
    con.execute("DELETE FROM audit_tree_heads")
    con.execute("DELETE FROM audit_tree_nodes")
    con.commit()
    con.close()
    (tmp_path / "audit" / "latest-head.json").unlink()
    assert run("audit", "verify", "--no-wait").returncode == 0  # an empty log, as far as the database knows
    r = run("audit", "verify", "--no-wait", "--witness", str(tmp_path / "witness.jsonl"))
    assert r.returncode == 1 and "head_missing" in r.stderr and "deleted_tail" in r.stderr


def test_the_worker_job_sequences(db):
    from cityos.core import jobs

    write(db, 3)
    (job,) = [j for j in jobs.CORE_JOBS if j.name == "audit.sequence"]
    assert jobs.run_once(db, job) == 3
    assert check(db).tree_size == 3


def test_an_app_process_sequences_without_a_worker(tmp_path):
    """The app's entry point starts a sequencer thread unless CITYOS_AUDIT_SEQUENCER=worker."""
    env = {k: v for k, v in os.environ.items() if k not in ("CITYOS_DATABASE_URL", "CITYOS_AUDIT_KEY")}
    env["CITYOS_HOME"] = str(tmp_path)
    cli = [sys.executable, "-m", "cityos"]
    assert subprocess.run([*cli, "init"], env=env, capture_output=True).returncode == 0
    assert (
        subprocess.run([*cli, "token", "create", "--client", "t", "--scope", "geo"], env=env).returncode == 0
    )
    probe = (
        "import time\n"
        "import cityos.web.main as m\n"
        "from cityos.core import audit\n"
        "deadline = time.monotonic() + 3\n"
        "while audit.pending(m.app.state.db) and time.monotonic() < deadline:\n"
        "    time.sleep(0.1)\n"
        "print(audit.pending(m.app.state.db))\n"
    )
    off = subprocess.run(
        [sys.executable, "-c", probe],
        env={**env, "CITYOS_AUDIT_SEQUENCER": "worker"},
        capture_output=True,
        text=True,
    )
    assert off.stdout.strip() == "1", off.stderr
    on = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True)
    assert on.stdout.strip() == "0", on.stderr


def test_an_altered_subtree_hash_is_named(db):
    """Stored subtree hashes are what proofs are built from: one that is not the recomputed hash is
    named with the leaves it covers."""
    build(db)
    sql(db, "UPDATE audit_tree_nodes SET hash = :h WHERE level = 4 AND idx = 0", h="cd" * 32)
    res = check(db)
    assert [(f.kind, f.index) for f in res.findings] == [("node_altered", 0)]
    assert "0..15" in res.findings[0].message
