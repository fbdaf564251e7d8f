"""The notify module's one visibility rule: a message is its recipient's and nobody else's."""

from __future__ import annotations

from sqlalchemy import ColumnElement, false

from cityos.identity.schemas import Principal
from cityos.notify.models import Notification


def visible(actor: Principal) -> ColumnElement[bool]:
    """The messages `actor` may see, as a WHERE clause: their own (a token or a visitor has none)."""
    if actor.kind != "user" or not actor.id:
        return false()
    return Notification.user_id == actor.id
