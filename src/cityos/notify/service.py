"""The message centre: post messages to people, list a person's messages, count and mark them read.

A message is only ever its recipient's: every read and every mark is limited to the actor's own
rows (that is this module's one visibility rule, `policy.visible`). Functions are keyword-only
and never commit; the event handlers (handlers.py) post, the pages and the API read.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from cityos.core import clock, i18n
from cityos.core.errors import NotFound
from cityos.identity import service as identity
from cityos.identity.permissions import CITYWIDE_ROLES, ROLE_PERMISSIONS, authorize
from cityos.identity.schemas import Principal, within
from cityos.notify import permissions as _permissions  # noqa: F401  (grants notify.* to roles)
from cityos.notify.models import Notification
from cityos.notify.policy import visible
from cityos.notify.schemas import NotificationList, NotificationOut

ID_MAX = 2**63 - 1
TRANSLATED_PARAMS = frozenset({"level"})


def post(
    *,
    session: Session,
    user_ids: Iterable[int],
    kind: str,
    title: str,
    body: str = "",
    params: dict[str, Any] | None = None,
    link: str | None = None,
    dedupe_key: str,
) -> int:
    """Put a message in each user's message centre, once per (user, dedupe_key): a redelivered
    event adds nothing. `title` and `body` are English msgids with {placeholders} filled from
    `params` in the reader's language. Returns the messages added."""
    wanted = sorted(set(user_ids))
    if not wanted:
        return 0
    have = set(
        session.scalars(
            select(Notification.user_id).where(
                Notification.user_id.in_(wanted), Notification.dedupe_key == dedupe_key
            )
        )
    )
    now = clock.now()
    added = 0
    for uid in wanted:
        if uid in have:
            continue
        session.add(
            Notification(
                user_id=uid,
                kind=kind,
                title=title,
                body=body,
                params=dict(params or {}),
                link=link,
                dedupe_key=dedupe_key[:200],
                created_at=now,
            )
        )
        added += 1
    session.flush()
    return added


def render_text(msgid: str, params: dict[str, Any]) -> str:
    """A stored msgid in the current locale with its placeholders filled."""
    if not msgid:
        return ""
    text = i18n.gettext(msgid)
    # parameters that are themselves msgids (an escalation level) are shown translated too
    shown = {k: i18n.gettext(f"{k}:{v}") if k in TRANSLATED_PARAMS else v for k, v in params.items()}
    try:
        return text.format(**shown)
    except (KeyError, IndexError, ValueError):
        return text


def _out(n: Notification) -> NotificationOut:
    return NotificationOut(
        id=n.id,
        kind=n.kind,
        title=render_text(n.title, n.params or {}),
        body=render_text(n.body, n.params or {}),
        link=n.link,
        created_at=n.created_at,
        read_at=n.read_at,
    )


def unread_count(*, session: Session, actor: Principal) -> int:
    if not actor.is_authenticated:
        return 0
    q = select(func.count(Notification.id)).where(visible(actor), Notification.read_at.is_(None))
    return int(session.scalar(q) or 0)


def inbox(
    *, session: Session, actor: Principal, unread_only: bool = False, limit: int = 50, offset: int = 0
) -> NotificationList:
    """The actor's messages, newest first, and how many are unread."""
    authorize(actor, "notify.read")
    q = select(Notification).where(visible(actor))
    if unread_only:
        q = q.where(Notification.read_at.is_(None))
    rows = session.scalars(q.order_by(Notification.id.desc()).limit(limit).offset(offset))
    return NotificationList(items=[_out(n) for n in rows], unread=unread_count(session=session, actor=actor))


def mark_read(*, session: Session, actor: Principal, notification_id: int) -> NotificationOut:
    """Mark one of the actor's messages read; another person's message is not found (404)."""
    authorize(actor, "notify.read")
    n = None
    if 0 < notification_id <= ID_MAX:
        n = session.scalar(select(Notification).where(Notification.id == notification_id, visible(actor)))
    if n is None:
        raise NotFound("Message not found", code="message_not_found", params={"id": notification_id})
    if n.read_at is None:
        n.read_at = clock.now()
        session.flush()
    return _out(n)


def mark_all_read(*, session: Session, actor: Principal) -> int:
    authorize(actor, "notify.read")
    result = session.execute(
        update(Notification)
        .where(visible(actor), Notification.read_at.is_(None))
        .values(read_at=clock.now())
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def people_with(
    *,
    session: Session,
    permission: str,
    department_id: int | None = None,
    region_code: str | None = None,
) -> list[int]:
    """Active users whose roles grant `permission`, in `department_id` if given, whose region scope
    covers `region_code` if given (the whole city for city-wide roles): a message's recipients are
    chosen by what people may do, never by a role's name."""
    roles = {r for r, perms in ROLE_PERMISSIONS.items() if permission in perms}
    if not roles:
        return []
    out: set[int] = set()
    people = [
        u
        for role in sorted(roles)
        for u in identity.users(session=session, role=role, department_id=department_id, limit=10_000)
    ]
    for u in people:
        if not u.active:
            continue
        citywide = bool(set(u.roles) & CITYWIDE_ROLES)
        if (
            region_code is not None
            and not citywide
            and not (u.region_code and within(region_code, u.region_code))
        ):
            continue
        out.add(u.id)
    return sorted(out)
