"""Routes with their own authentication: Open311 GeoReport v2 (api_key on POST, public reads) and
the public case page by number (personal data hidden)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from cityos.cases import service
from cityos.cases.open311 import router as open311_router
from cityos.web.templating import render

router = APIRouter(include_in_schema=False)
router.include_router(open311_router)


@router.get("/p/cases/{number}")
def public_case(request: Request, number: str) -> Response:
    """Anyone with the case number follows its progress: no names, no phone, no exact position."""
    with request.app.state.db.reader() as session:
        case, timeline, chain = service.public_view(session=session, number=number)
    return render(request, "cases/public.html", {"case": case, "timeline": timeline, "chain": chain})
