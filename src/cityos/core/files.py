"""Content-addressed file store under CITYOS_HOME/files: a file's name is the SHA-256 of its bytes
(`files/ab/ab12…`), so the same bytes are stored once however often they are uploaded, and a stored
file never changes.

Writes are atomic (a temporary file in the same directory, fsync, then rename), so a reader never
sees half a file and two processes storing the same bytes at once both end with one whole file.
A file is written before the transaction that refers to it commits; a rolled-back upload can
leave an unreferenced file behind, which is harmless (the name is its content) and may be swept.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

from cityos.core.settings import get_settings

_SHA = re.compile(r"[0-9a-f]{64}")


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def path_of(sha256: str, root: Path | None = None) -> Path:
    """Where the bytes with this SHA-256 live. Refuses anything but a hex digest (no path tricks)."""
    if not _SHA.fullmatch(sha256):
        raise ValueError("not a SHA-256 hex digest")
    base = root or get_settings().filestore
    return base / sha256[:2] / sha256


def store(data: bytes, root: Path | None = None) -> str:
    """Store the bytes (once) and return their SHA-256."""
    sha = digest(data)
    target = path_of(sha, root)
    if target.exists():
        return sha
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return sha


def exists(sha256: str, root: Path | None = None) -> bool:
    return path_of(sha256, root).is_file()


def read(sha256: str, root: Path | None = None) -> bytes:
    return path_of(sha256, root).read_bytes()
