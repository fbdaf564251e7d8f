"""The signed payload an e-license's QR code carries, verified offline against a trust list.

As the EU Digital COVID Certificate does it: a COSE_Sign1 structure (RFC 9052) over a CBOR map of
claims, compressed with zlib, written in base45 (RFC 9285, the QR alphanumeric alphabet) behind a
context prefix `CL1:`. The signature is EdDSA over Ed25519 (COSE alg -8) with the issuer's key id
(`kid`, COSE header 4) in the protected header. COSE_Sign1 is four CBOR items, built here with
cbor2 and `cryptography` (no COSE library on PyPI is maintained for Ed25519 today).

Claims (CWT keys, RFC 8392): 1 iss (issuer code), 6 iat, 4 exp (when the license ends), and -70000
the license's public fields (GB/T 36903 core metadata; the holder's code masked).
"""

from __future__ import annotations

import base64
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import base45
import cbor2
import numpy as np
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

CONTEXT = "CL1:"
ALG_EDDSA = -8
CLAIM_LICENSE = -70000
MAX_PAYLOAD = 4096  # characters; a license payload is a few hundred


class Malformed(ValueError):
    """Not a payload of ours: wrong prefix, base45, zlib, CBOR or COSE structure."""


_B45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
_B45_TABLE = np.full(256, 255, dtype=np.uint8)
_B45_TABLE[np.frombuffer(_B45.encode(), dtype=np.uint8)] = np.arange(45, dtype=np.uint8)


def b45decode(text: str) -> bytes:
    """RFC 9285 base45 decoding, vectorised (the pure-Python `base45` package's decoder costs more
    than the signature check); the `base45` package encodes and the tests hold the two to agree."""
    raw = np.frombuffer(text.encode("ascii"), dtype=np.uint8)
    vals = _B45_TABLE[raw].astype(np.uint32)
    if (vals == 255).any() or len(vals) % 3 == 1:
        raise ValueError("not base45")
    full = len(vals) // 3 * 3
    tri = vals[:full].reshape(-1, 3)
    n = tri[:, 0] + tri[:, 1] * 45 + tri[:, 2] * 2025
    if (n > 0xFFFF).any():
        raise ValueError("not base45")
    out = np.empty((len(n), 2), dtype=np.uint8)
    out[:, 0], out[:, 1] = n >> 8, n & 0xFF
    data = out.tobytes()
    if full < len(vals):
        m = int(vals[full] + vals[full + 1] * 45)
        if m > 0xFF:
            raise ValueError("not base45")
        data += bytes([m])
    return data


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64u(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sig_structure(protected: bytes, payload: bytes) -> bytes:
    return cbor2.dumps(["Signature1", protected, b"", payload])


def sign(
    *,
    key: Ed25519PrivateKey,
    kid: str,
    issuer: str,
    public: Mapping[str, Any],
    iat: datetime,
    exp: date | None,
) -> str:
    claims: dict[int, Any] = {1: issuer, 6: int(iat.timestamp()), CLAIM_LICENSE: dict(public)}
    if exp is not None:
        claims[4] = int(datetime(exp.year, exp.month, exp.day, 16, tzinfo=UTC).timestamp())  # 24:00 +08
    protected = cbor2.dumps({1: ALG_EDDSA, 4: kid.encode()})
    payload = cbor2.dumps(claims)
    signature = key.sign(_sig_structure(protected, payload))
    cose = cbor2.dumps(cbor2.CBORTag(18, [protected, {}, payload, signature]))
    return CONTEXT + base45.b45encode(zlib.compress(cose, 9)).decode()


@dataclass(frozen=True)
class Decoded:
    kid: str
    claims: dict[int, Any]
    protected: bytes
    payload: bytes
    signature: bytes

    @property
    def public(self) -> dict[str, Any]:
        out = self.claims.get(CLAIM_LICENSE)
        return dict(out) if isinstance(out, dict) else {}


def decode(text: str) -> Decoded:
    text = text.strip()
    if len(text) > MAX_PAYLOAD or not text.startswith(CONTEXT):
        raise Malformed("prefix")
    try:
        raw = zlib.decompress(b45decode(text[len(CONTEXT) :]), bufsize=MAX_PAYLOAD * 4)
        obj = cbor2.loads(raw)
        if isinstance(obj, cbor2.CBORTag):
            if obj.tag != 18:
                raise Malformed("tag")
            obj = obj.value
        protected, _unprotected, payload, signature = obj
        header = cbor2.loads(protected)
        claims = cbor2.loads(payload)
        kid = header[4].decode()
        if header.get(1) != ALG_EDDSA or not isinstance(claims, dict):
            raise Malformed("alg")
    except Malformed:
        raise
    except Exception as exc:  # base45, zlib, CBOR and shape errors alike
        raise Malformed(type(exc).__name__) from None
    return Decoded(kid, claims, protected, payload, signature)


@dataclass(frozen=True)
class TrustedKey:
    kid: str
    issuer_code: str
    issuer_name: str
    key: Ed25519PublicKey
    valid_until: datetime | None = None


@dataclass(frozen=True)
class Verdict:
    status: str  # valid | revoked | expired | bad_signature | unknown_issuer | malformed
    kid: str = ""
    fields: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == "valid"


class Verifier:
    """Offline verification against a trust list (issuers' public keys by kid) and the set of
    revoked identifiers, as a wallet-less checker at a counter holds them."""

    def __init__(self, keys: Iterable[TrustedKey], revoked: Iterable[str] = ()) -> None:
        self.keys = {k.kid: k for k in keys}
        self.revoked = set(revoked)

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> Verifier:
        keys = []
        for k in doc.get("keys", []):
            until = k.get("valid_until")
            keys.append(
                TrustedKey(
                    kid=k["kid"],
                    issuer_code=k["issuer_code"],
                    issuer_name=k.get("issuer_name", ""),
                    key=Ed25519PublicKey.from_public_bytes(unb64u(k["x"])),
                    valid_until=datetime.fromisoformat(until) if until else None,
                )
            )
        return cls(keys, doc.get("revoked", []))

    def verify(self, text: str, now: datetime) -> Verdict:
        try:
            d = decode(text)
        except Malformed:
            return Verdict("malformed")
        return self.check(d, now, self.keys.get(d.kid), d.public.get("id", "") in self.revoked)

    @staticmethod
    def check(d: Decoded, now: datetime, trusted: TrustedKey | None, revoked: bool) -> Verdict:
        if trusted is None or trusted.issuer_code != d.claims.get(1):
            return Verdict("unknown_issuer", d.kid)
        try:
            trusted.key.verify(d.signature, _sig_structure(d.protected, d.payload))
        except InvalidSignature:
            return Verdict("bad_signature", d.kid)
        fields = d.public
        if revoked:
            return Verdict("revoked", d.kid, fields)
        exp = d.claims.get(4)
        if isinstance(exp, int) and now.timestamp() >= exp:
            return Verdict("expired", d.kid, fields)
        if trusted.valid_until is not None and d.claims.get(6, 0) >= trusted.valid_until.timestamp():
            return Verdict("bad_signature", d.kid)  # signed after the key's end of validity
        return Verdict("valid", d.kid, fields)
