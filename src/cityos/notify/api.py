"""The message centre's JSON routes: /api/v1/notifications."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query
from fastapi import Path as PathParam
from pydantic import BaseModel
from sqlalchemy.orm import Session

from cityos.identity.schemas import Principal
from cityos.notify import service
from cityos.notify.schemas import NotificationList, NotificationOut
from cityos.web.deps import Require, get_session

router = APIRouter(prefix="/api/v1/notifications", tags=["notifications"])


class UnreadOut(BaseModel):
    unread: int


class MarkedOut(BaseModel):
    marked: int


@router.get("", response_model=NotificationList)
def list_notifications(
    unread_only: bool = False,
    limit: int = Query(50, ge=1, le=200),
    offset: int = Query(0, ge=0, le=1_000_000),
    session: Session = Depends(get_session, scope="function"),
    p: Principal = Depends(Require("notify.read")),
) -> NotificationList:
    """The caller's own messages, newest first, with the unread count."""
    return service.inbox(session=session, actor=p, unread_only=unread_only, limit=limit, offset=offset)


@router.get("/unread", response_model=UnreadOut)
def unread(
    session: Session = Depends(get_session, scope="function"),
    p: Principal = Depends(Require("notify.read")),
) -> UnreadOut:
    return UnreadOut(unread=service.unread_count(session=session, actor=p))


@router.post("/{notification_id}/read", response_model=NotificationOut)
def mark_read(
    notification_id: int = PathParam(ge=1, le=service.ID_MAX),
    session: Session = Depends(get_session, scope="function"),
    p: Principal = Depends(Require("notify.read")),
) -> NotificationOut:
    """Mark one of the caller's messages read (another person's message: 404)."""
    return service.mark_read(session=session, actor=p, notification_id=notification_id)


@router.post("/read-all", response_model=MarkedOut)
def mark_all_read(
    session: Session = Depends(get_session, scope="function"),
    p: Principal = Depends(Require("notify.read")),
) -> MarkedOut:
    return MarkedOut(marked=service.mark_all_read(session=session, actor=p))
