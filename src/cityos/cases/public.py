"""Routes with their own authentication: Open311 GeoReport v2 (api_key on POST, public reads) and
the public case page by number (personal data hidden) with the photos' public renditions."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from cityos.cases import attachments, service
from cityos.cases.api import AttachmentId, file_response
from cityos.cases.open311 import router as open311_router
from cityos.web.templating import render

router = APIRouter(include_in_schema=False)
router.include_router(open311_router)


@router.get("/p/cases/{number}")
def public_case(request: Request, number: str) -> Response:
    """Anyone with the case number follows its progress: the case's public projection (as Open311
    answers it: no names, no phone, rounded position, public notes only); photos only as renditions
    without EXIF (no GPS)."""
    with request.app.state.db.reader() as session:
        case = service.public_case(session=session, number=number)
        photos = attachments.public_photos(session=session, number=number)
    return render(request, "cases/public.html", {"case": case, "photos": photos})


@router.get("/p/cases/{number}/photos/{attachment_id}")
def public_photo(request: Request, number: str, attachment_id: AttachmentId) -> Response:
    """One photo of the case with this number, without any metadata; documents, originals and
    photos of rejected reports are not found here."""
    with request.app.state.db.reader() as session:
        att, path = attachments.open_public_photo(session=session, number=number, attachment_id=attachment_id)
    return file_response(att, path, cache="public, max-age=300")
