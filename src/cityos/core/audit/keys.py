"""The Ed25519 key that signs tree heads, and the public keys that verify them.

The signing key lives outside the database on purpose: whoever can only write the database cannot
sign a head. By default it is `CITYOS_HOME/audit/signing-key.pem` (PKCS#8, file mode 0600),
generated on first use; an operator may give another file with CITYOS_AUDIT_KEY. Every public key
ever used is kept in `CITYOS_HOME/audit/keys/<key id>.pub`, so heads signed before a rotation
still verify. The key id is the SHA-256 of the public key's DER SubjectPublicKeyInfo (as a
Certificate Transparency log id). Verification trusts only the files in that directory (plus any
directory the operator names), never keys found in the database.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from cityos.core.settings import Settings, get_settings

HEAD_CONTEXT = b"CityOS audit tree head v1\n"


def audit_dir(settings: Settings | None = None) -> Path:
    return (settings or get_settings()).home / "audit"


def key_path(settings: Settings | None = None) -> Path:
    s = settings or get_settings()
    return Path(s.audit_key) if s.audit_key else audit_dir(s) / "signing-key.pem"


def public_dir(settings: Settings | None = None) -> Path:
    return audit_dir(settings) / "keys"


def key_id_of(public: Ed25519PublicKey) -> str:
    der = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()


def head_message(*, head_id: int, tree_size: int, root_hash: str, timestamp_ms: int, key_id: str) -> bytes:
    return HEAD_CONTEXT + f"{head_id}\n{tree_size}\n{root_hash}\n{timestamp_ms}\n{key_id}\n".encode()


@dataclass(frozen=True)
class Signer:
    private: Ed25519PrivateKey
    key_id: str

    def sign(self, message: bytes) -> str:
        return self.private.sign(message).hex()


def _write_private(path: Path, key: Ed25519PrivateKey, *, replace: bool) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    tmp = path.with_name(path.name + ".new") if replace else path
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    if replace:
        os.replace(tmp, path)


def _keep_public(public: Ed25519PublicKey, settings: Settings | None) -> str:
    kid = key_id_of(public)
    d = public_dir(settings)
    d.mkdir(parents=True, exist_ok=True)
    p = d / f"{kid}.pub"
    if not p.exists():
        pem = public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        tmp = p.with_name(p.name + f".{os.getpid()}")
        tmp.write_bytes(pem)
        os.replace(tmp, p)
    return kid


_cache: dict[tuple[str, int], Signer] = {}


def signer(settings: Settings | None = None) -> Signer:
    """The current signing key, generated on first use (several processes may race: O_EXCL)."""
    path = key_path(settings)
    if not path.exists():
        with contextlib.suppress(FileExistsError):
            _write_private(path, Ed25519PrivateKey.generate(), replace=False)
    stamp = (str(path), path.stat().st_mtime_ns)
    if stamp not in _cache:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{path} is not an Ed25519 private key")
        _cache.clear()
        _cache[stamp] = Signer(key, _keep_public(key.public_key(), settings))
    return _cache[stamp]


def rotate(settings: Settings | None = None) -> tuple[str | None, str]:
    """A new signing key replaces the current one; the old public key stays trusted."""
    path = key_path(settings)
    old = signer(settings).key_id if path.exists() else None
    new = Ed25519PrivateKey.generate()
    _write_private(path, new, replace=True)
    _cache.clear()
    return old, _keep_public(new.public_key(), settings)


def trusted_keys(
    settings: Settings | None = None, extra_dirs: list[Path] | None = None
) -> dict[str, Ed25519PublicKey]:
    out: dict[str, Ed25519PublicKey] = {}
    for d in [public_dir(settings), *(extra_dirs or [])]:
        if not d.is_dir():
            continue
        for p in sorted(d.glob("*.pub")):
            key = serialization.load_pem_public_key(p.read_bytes())
            if isinstance(key, Ed25519PublicKey):
                out[key_id_of(key)] = key
    return out


def check_signature(public: Ed25519PublicKey, message: bytes, signature_hex: str) -> bool:
    try:
        public.verify(bytes.fromhex(signature_hex), message)
        return True
    except (InvalidSignature, ValueError):
        return False
