"""E-licenses (电子证照): kinds, the issuing departments' keys, issue, revoke, the wallet, the
trust list, verification and other departments' lookup with a stated reason.

Each issuing department signs with its own Ed25519 key. The private key is a PEM file under
CITYOS_HOME/keys/services/<kid>.pem (never in the database); the public half is in
`svc_issuer_keys` and published in the trust list. Rotation retires the current key (it signs
nothing more) and makes a new one; a retired key stays in the trust list, so every license it
signed still verifies.
"""

from __future__ import annotations

import os
import secrets
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from cityos.core import audit, clock
from cityos.core.errors import Conflict, Invalid, NotFound
from cityos.core.settings import get_settings
from cityos.identity import service as identity
from cityos.identity.permissions import authorize
from cityos.identity.schemas import Principal
from cityos.services import credential, identifiers
from cityos.services.models import IssuerKey, License, LicenseKind
from cityos.services.policy import mask_code
from cityos.services.schemas import KindIn, LicenseOut, VerifyOut

CODE_TYPES = {"person": "公民身份号码", "company": "统一社会信用代码"}


# ---------------------------------------------------------------- kinds
def add_kind(*, session: Session, actor: Principal, kind: KindIn) -> LicenseKind:
    authorize(actor, "services.manage")
    dept = identity.get_department(session=session, code=kind.department_code)
    if session.scalar(select(LicenseKind).where(LicenseKind.code == kind.code)):
        raise Conflict("License kind {code} exists", code="kind_exists", params={"code": kind.code})
    row = LicenseKind(
        code=kind.code,
        name=kind.name,
        type_code=kind.type_code,
        department_id=dept.id,
        issuer_code=kind.issuer_code,
        validity_years=kind.validity_years,
        next_serial=1,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor.actor,
        action="services.kind.add",
        subject_type="svc_license_kind",
        subject_id=kind.code,
        payload=kind.model_dump(),
    )
    ensure_key(session=session, department_id=dept.id, issuer_code=kind.issuer_code)
    return row


def kinds(*, session: Session) -> list[LicenseKind]:
    return list(session.scalars(select(LicenseKind).order_by(LicenseKind.code)))


def get_kind(session: Session, code: str) -> LicenseKind:
    k = session.scalar(select(LicenseKind).where(LicenseKind.code == code))
    if k is None:
        raise NotFound("License kind {code} not found", code="kind_not_found", params={"code": code})
    return k


# ---------------------------------------------------------------- keys
def _key_dir() -> Path:
    d = get_settings().home / "keys" / "services"
    d.mkdir(parents=True, exist_ok=True)
    return d


@lru_cache(maxsize=64)
def _private_key(home: str, kid: str) -> Ed25519PrivateKey:
    data = (Path(home) / "keys" / "services" / f"{kid}.pem").read_bytes()
    key = serialization.load_pem_private_key(data, password=None)
    assert isinstance(key, Ed25519PrivateKey)
    return key


def ensure_key(*, session: Session, department_id: int, issuer_code: str) -> IssuerKey:
    """The department's current signing key, made on first use."""
    k = session.scalar(
        select(IssuerKey)
        .where(IssuerKey.department_id == department_id, IssuerKey.retired_at.is_(None))
        .order_by(IssuerKey.created_at.desc())
    )
    return k if k is not None else _new_key(session, department_id, issuer_code)


def _new_key(session: Session, department_id: int, issuer_code: str) -> IssuerKey:
    key = Ed25519PrivateKey.generate()
    kid = f"{issuer_code[-8:]}-{secrets.token_hex(4)}"
    path = _key_dir() / f"{kid}.pem"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    row = IssuerKey(
        kid=kid,
        department_id=department_id,
        issuer_code=issuer_code,
        public_key=credential.b64u(raw),
        created_at=clock.now(),
    )
    session.add(row)
    session.flush()
    return row


def rotate_key(*, session: Session, actor: Principal, department_code: str) -> IssuerKey:
    """Retire the department's current key and make a new one; old licenses still verify."""
    authorize(actor, "services.manage")
    dept = identity.get_department(session=session, code=department_code)
    old = session.scalar(
        select(IssuerKey).where(IssuerKey.department_id == dept.id, IssuerKey.retired_at.is_(None))
    )
    if old is None:
        raise NotFound("{code} has no signing key", code="no_key", params={"code": department_code})
    old.retired_at = clock.now()
    new = _new_key(session, dept.id, old.issuer_code)
    audit.record(
        session,
        actor=actor.actor,
        action="services.key.rotate",
        subject_type="svc_issuer_key",
        subject_id=new.kid,
        payload={"retired": old.kid, "department": department_code},
    )
    return new


def trust_list(*, session: Session) -> dict[str, Any]:
    """The published trust list: every issuer key (current and retired) with its kid and validity,
    as JWKs (OKP / Ed25519), and the identifiers of revoked licenses."""
    names = {d.id: d.name for d in identity.departments(session=session)}
    keys = []
    for k in session.scalars(select(IssuerKey).order_by(IssuerKey.created_at, IssuerKey.kid)):
        keys.append(
            {
                "kid": k.kid,
                "kty": "OKP",
                "crv": "Ed25519",
                "alg": "EdDSA",
                "x": k.public_key,
                "issuer_code": k.issuer_code,
                "issuer_name": names.get(k.department_id, ""),
                "valid_from": k.created_at.isoformat(),
                "signs_until": k.retired_at.isoformat() if k.retired_at else None,
                "valid_until": k.valid_until.isoformat() if k.valid_until else None,
            }
        )
    revoked = list(session.scalars(select(License.identifier).where(License.status == "revoked")))
    return {"updated": clock.now().isoformat(), "keys": keys, "revoked": sorted(revoked)}


# ---------------------------------------------------------------- issue / revoke
def public_fields(lic: License) -> dict[str, Any]:
    """What the QR code and the public verification show: GB/T 36903 core metadata, the holder's
    code masked."""
    return {
        "id": lic.identifier,
        "kind": lic.kind_code,
        "name": lic.name,
        "number": lic.number,
        "holder": lic.holder_name,
        "holder_code": mask_code(lic.holder_code),
        "holder_code_type": lic.holder_code_type,
        "issuer": lic.issuer_name,
        "issuer_code": lic.issuer_code,
        "issued_on": lic.issued_on.isoformat(),
        "valid_from": lic.valid_from.isoformat(),
        "valid_until": lic.valid_until.isoformat() if lic.valid_until else None,
        "jurisdiction": lic.jurisdiction,
    }


def issue(
    *,
    session: Session,
    actor: Principal,
    kind_code: str,
    holder_user_id: int | None,
    holder_name: str,
    holder_code: str,
    holder_kind: str,
    jurisdiction: str,
    fields: dict[str, Any] | None = None,
    application_id: int | None = None,
) -> License:
    """Issue a license of `kind_code`, signed by the kind's department key (the caller checks the
    permission: the back office's approval, or services.manage)."""
    kind = get_kind(session, kind_code)
    dept = identity.get_department(session=session, id=kind.department_id)
    key = ensure_key(session=session, department_id=kind.department_id, issuer_code=kind.issuer_code)
    today = clock.local(clock.now()).date()
    serial = f"{today.year}{kind.next_serial:08d}"
    kind.next_serial += 1
    ident = identifiers.make(kind.type_code, kind.issuer_code, serial)
    until = _years_later(today, kind.validity_years) if kind.validity_years else None
    lic = License(
        identifier=str(ident),
        kind_code=kind.code,
        name=kind.name,
        number=serial,
        holder_user_id=holder_user_id,
        holder_name=holder_name,
        holder_code=holder_code,
        holder_code_type=CODE_TYPES[holder_kind],
        issuer_department_id=dept.id,
        issuer_name=dept.name,
        issuer_code=kind.issuer_code,
        issued_on=today,
        valid_from=today,
        valid_until=until,
        jurisdiction=jurisdiction,
        fields=fields or {},
        kid=key.kid,
        payload="",
        status="valid",
        application_id=application_id,
    )
    lic.payload = credential.sign(
        key=_private_key(str(get_settings().home), key.kid),
        kid=key.kid,
        issuer=kind.issuer_code,
        public=public_fields(lic),
        iat=clock.now(),
        exp=until,
    )
    session.add(lic)
    session.flush()
    audit.record(
        session,
        actor=actor.actor,
        action="services.license.issue",
        subject_type="svc_license",
        subject_id=lic.identifier,
        payload={"kind": kind.code, "kid": key.kid, "application": application_id},
    )
    return lic


def _years_later(d: date, years: int) -> date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 February
        return d.replace(year=d.year + years, day=28)


def revoke(*, session: Session, actor: Principal, identifier: str, reason: str) -> License:
    lic = _get(session, identifier)
    authorize(actor, "services.review", department_id=lic.issuer_department_id)
    if not reason.strip():
        raise Invalid("State the reason", field="reason", code="reason_required")
    if lic.status == "revoked":
        raise Conflict("This license is already revoked", code="already_revoked")
    lic.status, lic.revoked_at, lic.revoke_reason = "revoked", clock.now(), reason
    audit.record(
        session,
        actor=actor.actor,
        action="services.license.revoke",
        subject_type="svc_license",
        subject_id=identifier,
        payload={"reason": reason},
    )
    return lic


def _get(session: Session, identifier: str) -> License:
    lic = session.scalar(select(License).where(License.identifier == identifier))
    if lic is None:
        raise NotFound("License not found", code="license_not_found")
    return lic


def license_out(lic: License, *, clear: bool = False) -> LicenseOut:
    return LicenseOut(
        identifier=lic.identifier,
        kind_code=lic.kind_code,
        name=lic.name,
        number=lic.number,
        holder_name=lic.holder_name,
        holder_code=lic.holder_code if clear else mask_code(lic.holder_code),
        holder_code_type=lic.holder_code_type,
        issuer_name=lic.issuer_name,
        issuer_code=lic.issuer_code,
        issued_on=lic.issued_on,
        valid_from=lic.valid_from,
        valid_until=lic.valid_until,
        jurisdiction=lic.jurisdiction,
        fields=lic.fields or {},
        kid=lic.kid,
        payload=lic.payload,
        status=_status(lic),
        revoked_at=lic.revoked_at,
    )


def _status(lic: License) -> str:
    if lic.status == "revoked":
        return "revoked"
    if lic.valid_until is not None and lic.valid_until < clock.local(clock.now()).date():
        return "expired"
    return "valid"


def wallet(*, session: Session, actor: Principal) -> list[LicenseOut]:
    """The holder's own licenses (by account, and by the real-name code they proved)."""
    if actor.kind != "user" or not actor.id:
        return []
    rows = session.scalars(
        select(License).where(License.holder_user_id == actor.id).order_by(License.id.desc())
    )
    return [license_out(r, clear=True) for r in rows]


def held(session: Session, *, holder_code: str, kind_code: str) -> License | None:
    """The newest valid license of a kind the holder (by code) holds, for a material."""
    rows = session.scalars(
        select(License)
        .where(License.holder_code == holder_code, License.kind_code == kind_code, License.status == "valid")
        .order_by(License.id.desc())
    )
    return next((r for r in rows if _status(r) == "valid"), None)


def lookup(*, session: Session, actor: Principal, identifier: str, reason: str) -> LicenseOut:
    """Another department reads a license: only with services.licenses and a stated reason, and
    every read (found or not) is in the audit trail with that reason."""
    authorize(actor, "services.licenses")
    if len(reason.strip()) < 4:
        raise Invalid("State the reason for the lookup", field="reason", code="reason_required")
    lic = session.scalar(select(License).where(License.identifier == identifier))
    audit.record(
        session,
        actor=actor.actor,
        action="services.license.lookup",
        subject_type="svc_license",
        subject_id=identifier,
        payload={"reason": reason, "department": actor.department_code, "found": lic is not None},
    )
    if lic is None:
        raise NotFound("License not found", code="license_not_found")
    return license_out(lic)


# ---------------------------------------------------------------- verification
def verify(*, session: Session, payload: str) -> VerifyOut:
    """Online verification of a QR payload: signature by a key of the trust list, then the
    license's current status (revoked, expired)."""
    try:
        d = credential.decode(payload)
    except credential.Malformed:
        return VerifyOut(status="malformed")
    ident = str(d.public.get("id", ""))
    # one round trip: the key by kid (public key, issuer, validity) with the license's status, as
    # the profile showed two reads and a commit were most of a verification over HTTP
    status = select(License.status).where(License.identifier == ident).scalar_subquery()
    key = (IssuerKey.kid, IssuerKey.issuer_code, IssuerKey.public_key, IssuerKey.valid_until)
    row = session.execute(select(*key, status).where(IssuerKey.kid == d.kid)).first()
    trusted, lic_status = None, None
    if row is not None:
        trusted = credential.TrustedKey(
            kid=row.kid,
            issuer_code=row.issuer_code,
            issuer_name="",
            key=_public_key(row.public_key),
            valid_until=row.valid_until,
        )
        lic_status = row[4]
    v = credential.Verifier.check(d, clock.now(), trusted, lic_status == "revoked")
    if v.status == "valid" and lic_status is None:
        return VerifyOut(status="unknown_license", kid=v.kid, license=v.fields)
    return VerifyOut(status=v.status, kid=v.kid, license=v.fields)


@lru_cache(maxsize=1024)
def _public_key(x: str) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(credential.unb64u(x))


def expire_key(*, session: Session, actor: Principal, kid: str, at: datetime) -> None:
    """End a key's validity (a compromise): what it signs after `at` no longer verifies."""
    authorize(actor, "services.manage")
    k = session.get(IssuerKey, kid)
    if k is None:
        raise NotFound("Key not found", code="key_not_found")
    k.valid_until = at
    audit.record(
        session,
        actor=actor.actor,
        action="services.key.expire",
        subject_type="svc_issuer_key",
        subject_id=kid,
        payload={"at": at.isoformat()},
    )
