"""The message centre's pages: /messages (list, mark read) and the unread badge the layout loads."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from cityos.identity.schemas import Principal
from cityos.notify import service
from cityos.web.deps import RequirePage, current_principal, get_session
from cityos.web.templating import render

router = APIRouter(prefix="/messages", include_in_schema=False)
S = Depends(get_session, scope="function")


@router.get("")
def messages(
    request: Request,
    unread: bool = False,
    session: Session = S,
    p: Principal = Depends(RequirePage("notify.read")),
) -> Response:
    box = service.inbox(session=session, actor=p, unread_only=unread, limit=100)
    return render(request, "notify/messages.html", {"box": box, "unread_only": unread})


@router.get("/badge")
def badge(session: Session = S, p: Principal = Depends(current_principal)) -> Response:
    """The unread count the layout's 消息 link shows (empty when there is none)."""
    n = service.unread_count(session=session, actor=p)
    style = (
        "background:#c0392b;color:#fff;border-radius:9px;padding:0 .4rem;margin-left:.2rem;font-size:.75rem"
    )
    return HTMLResponse(f'<span class="badge" style="{style}" data-testid="unread">{n}</span>' if n else "")


@router.post("/{notification_id}/read")
def mark_read(
    notification_id: int = PathParam(ge=1, le=service.ID_MAX),
    session: Session = S,
    p: Principal = Depends(RequirePage("notify.read")),
) -> Response:
    n = service.mark_read(session=session, actor=p, notification_id=notification_id)
    # open what the message is about when it has a page, else back to the list
    target = n.link if n.link and n.link.startswith("/") and not n.link.startswith("//") else "/messages"
    return RedirectResponse(target, status_code=303)


@router.post("/read-all")
def mark_all_read(session: Session = S, p: Principal = Depends(RequirePage("notify.read"))) -> Response:
    service.mark_all_read(session=session, actor=p)
    return RedirectResponse("/messages", status_code=303)
