"""Form handling shared by the pages: run one service call in a savepoint, so a refused call leaves
nothing behind and the page can be shown again with the message in the viewer's language."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from cityos.core import i18n
from cityos.core.errors import CityOSError


def attempt(session: Session, fn: Callable[[], Any]) -> tuple[Any, str | None, int]:
    """(result, None, 200) on success; (None, translated message, HTTP status) when the service refused."""
    try:
        with session.begin_nested():
            return fn(), None, 200
    except CityOSError as e:
        return None, e.text(i18n.current_locale.get()), e.status
