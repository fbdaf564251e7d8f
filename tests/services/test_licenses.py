"""E-licenses: GB/T 36904 identifiers against published worked examples, the signed QR payload
round trip through a real QR image (segno writes it, zxing-cpp reads it back), tampering,
revocation, expiry, unknown issuers and key rotation — on both databases."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta

import pytest
import segno
import zxingcpp
from PIL import Image
from sqlalchemy import select

from cityos.core import clock, files
from cityos.core.audit import AuditRecord
from cityos.core.errors import Forbidden, Invalid
from cityos.services import credential, identifiers, service
from cityos.services.schemas import ApplyIn, DecisionIn, ReturnIn

from .helpers import world

# Identifiers as published by issuing systems (住房和城乡建设部 kinds 11100000000013338W0xx), each
# with the check character its issuer computed.
WORKED = [
    "1.2.156.3005.2.11100000000013338W087.11370800MB28559184.37080001202411010001.001.3",
    "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.002.S",
    "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.U",
    "1.2.156.3005.2.11100000MB03271699022.340100.000000016.001.9",
    "1.2.156.3005.2.11100000000013338W009.11330105002500287C.2025052201.002.0",
]


@pytest.mark.parametrize("text", WORKED)
def test_check_character_matches_worked_examples(text: str) -> None:
    parts = text.split(".")
    assert identifiers.check_character(*parts[5:9]) == parts[9]
    assert str(identifiers.parse(text)) == text


def test_a_wrong_check_character_or_form_is_refused() -> None:
    good = WORKED[0]
    for bad in (good[:-1] + "4", good.replace(".001.", ".01."), "1.2.156.3005.1.X.Y.Z.001.0", good.lower()):
        with pytest.raises(Invalid):
            identifiers.parse(bad)


def _qr_roundtrip(payload: str) -> str:
    buf = io.BytesIO()
    segno.make(payload, error="m").save(buf, kind="png", scale=4, border=4)
    buf.seek(0)
    found = zxingcpp.read_barcodes(Image.open(buf))
    assert len(found) == 1
    return found[0].text


def test_payload_round_trip_through_a_qr_image_and_offline_verification() -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key, other = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    now = datetime(2026, 12, 2, 2, tzinfo=UTC)
    fields = {"id": WORKED[0], "name": "居住证", "holder": "王小明", "holder_code": "371302********1234"}
    payload = credential.sign(
        key=key, kid="k1", issuer="11370800MB28559184", public=fields, iat=now, exp=date(2027, 12, 1)
    )
    assert payload.startswith("CL1:") and len(payload) < 600
    trusted = credential.TrustedKey("k1", "11370800MB28559184", "公安局", key.public_key())
    v = credential.Verifier([trusted])
    scanned = _qr_roundtrip(payload)
    assert scanned == payload
    ok = v.verify(scanned, now)
    assert ok.status == "valid" and ok.fields["holder"] == "王小明"
    # tampered: the same claims re-signed by a key nobody trusts under the same kid
    forged = credential.sign(
        key=other,
        kid="k1",
        issuer="11370800MB28559184",
        public=fields | {"holder": "李四"},
        iat=now,
        exp=None,
    )
    assert v.verify(forged, now).status == "bad_signature"
    # a flipped character anywhere makes it malformed or badly signed, never valid
    for i in (10, len(payload) // 2, len(payload) - 3):
        flipped = payload[:i] + ("A" if payload[i] != "A" else "B") + payload[i + 1 :]
        assert v.verify(flipped, now).status in ("malformed", "bad_signature", "unknown_issuer")
    assert v.verify(payload, datetime(2027, 12, 2, tzinfo=UTC)).status == "expired"
    assert credential.Verifier([], []).verify(payload, now).status == "unknown_issuer"
    assert credential.Verifier([trusted], [WORKED[0]]).verify(payload, now).status == "revoked"
    assert v.verify("HC1:xyz", now).status == "malformed"


def _licensed(db, w) -> str:  # type: ignore[no-untyped-def]
    with db.transaction() as s:
        a = service.submit(
            session=s,
            actor=w["citizen"],
            data=ApplyIn(item_code="GA-001", form={"address": "兰山区金雀山路1号"}, uploads={}),
        )
    sha = files.store(b"form")
    with db.transaction() as s:
        mats = {m.name: m.material_id for m in a.materials}
        # the form was missing: returned once, supplemented, accepted, approved
        service.return_once(
            session=s, actor=w["staff"], number=a.number, data=ReturnIn(missing=["居住登记表"])
        )
    with db.transaction() as s:
        service.supplement(session=s, actor=w["citizen"], number=a.number, uploads={mats["居住登记表"]: sha})
        service.accept(session=s, actor=w["staff"], number=a.number)
    with db.transaction() as s:
        done = service.decide(
            session=s, actor=w["staff"], number=a.number, data=DecisionIn(decision="approve")
        )
    assert done.state == "issued" and done.license_identifier
    return done.license_identifier


def test_issued_license_verifies_then_revoked_and_rotation_keeps_old_ones(db, city) -> None:  # type: ignore[no-untyped-def]
    clock.set_now(datetime(2026, 12, 2, 2, tzinfo=UTC))
    w = world(db, city)
    ident = _licensed(db, w)
    identifiers.parse(ident)
    with db.reader() as s:
        mine = service.wallet(session=s, actor=w["citizen"])
        assert [m.identifier for m in mine] == [ident]
        payload = mine[0].payload
        assert service.verify(session=s, payload=_qr_roundtrip(payload)).status == "valid"
        doc = service.trust_list(session=s)
    offline = credential.Verifier.from_document(doc)
    assert offline.verify(payload, clock.now()).status == "valid"
    # rotate gaj's key: the old license still verifies, online and offline
    with db.transaction() as s:
        new = service.rotate_key(session=s, actor=w["admin"], department_code="gaj")
    with db.reader() as s:
        assert service.verify(session=s, payload=payload).status == "valid"
        doc2 = service.trust_list(session=s)
    assert {k["kid"] for k in doc2["keys"]} >= {mine[0].kid, new.kid}
    assert credential.Verifier.from_document(doc2).verify(payload, clock.now()).status == "valid"
    # a second license is signed with the new key
    ident2 = _licensed(db, w)
    with db.reader() as s:
        second = next(x for x in service.wallet(session=s, actor=w["citizen"]) if x.identifier == ident2)
    assert second.kid == new.kid != mine[0].kid
    # revoked: refused online at once, offline once the trust list says so
    with pytest.raises(Forbidden), db.transaction() as s:
        service.revoke(session=s, actor=w["other"], identifier=ident, reason="吊销")  # cgj: not the issuer
    with db.transaction() as s:
        service.revoke(session=s, actor=w["staff"], identifier=ident, reason="持证人申请注销")
    with db.reader() as s:
        assert service.verify(session=s, payload=payload).status == "revoked"
        assert ident in service.trust_list(session=s)["revoked"]
    # other departments look up only with a reason, and the reason is audited
    with pytest.raises(Invalid), db.transaction() as s:
        service.lookup(session=s, actor=w["other"], identifier=ident2, reason="")
    with db.transaction() as s:
        got = service.lookup(session=s, actor=w["other"], identifier=ident2, reason="城管执法核验经营资格")
        assert "*" in got.holder_code
    with db.reader() as s:
        rec = s.scalars(select(AuditRecord).where(AuditRecord.action == "services.license.lookup")).one()
        assert rec.subject_id == ident2 and "城管执法核验经营资格" in str(rec.payload)
    clock.set_now(clock.now() + timedelta(days=3 * 366))
    with db.reader() as s:
        assert service.verify(session=s, payload=second.payload).status == "expired"


def test_the_fast_base45_decoder_agrees_with_the_reference_package() -> None:
    import os

    import base45

    for n in range(0, 200):
        data = os.urandom(n)
        assert credential.b45decode(base45.b45encode(data).decode()) == data
    for bad in ("GGW", "a", "ZZZ", "AB:C"):
        with pytest.raises(ValueError):
            credential.b45decode(bad)
