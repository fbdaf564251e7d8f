"""Form handling shared by the pages: run one service call in a savepoint, so a refused call leaves
nothing behind and the page can be shown again with the message in the viewer's language; read
uploaded files no further than the upload limit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import UploadFile
from sqlalchemy.orm import Session

from cityos.core import i18n
from cityos.core.errors import CityOSError
from cityos.core.settings import get_settings


def attempt(session: Session, fn: Callable[[], Any]) -> tuple[Any, str | None, int]:
    """(result, None, 200) on success; (None, translated message, HTTP status) when the service refused."""
    try:
        with session.begin_nested():
            return fn(), None, 200
    except CityOSError as e:
        return None, e.text(i18n.current_locale.get()), e.status


def read_upload(upload: UploadFile, limit: int | None = None) -> bytes:
    """An uploaded file's bytes, at most one byte over the upload limit: the service refuses an
    oversized file by its length without this process reading all of it."""
    cap = (limit if limit is not None else get_settings().max_upload_bytes) + 1
    upload.file.seek(0)
    return upload.file.read(cap)


def chosen_files(uploads: list[UploadFile] | None) -> list[UploadFile]:
    """The files a form really carries: a file input left empty still sends one nameless, empty part."""
    return [u for u in uploads or [] if u.filename or (u.size or 0) > 0]
