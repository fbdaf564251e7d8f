"""一网通办 pages: the citizen/company portal (/services: guide, apply, my applications, wallet,
rate), the front window's console (/services/window), the back office's inbox
(/services/inbox), supervision and rectification (/services/supervision), statistics
(/services/stats) and the OpenID Connect client registration (/services/admin/clients). The
public guide and verification pages are in public.py."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import segno
from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from cityos.core import files
from cityos.identity.permissions import has
from cityos.identity.schemas import Principal
from cityos.services import oidc, service
from cityos.services.schemas import ASPECTS, LEVELS, ApplyIn, DecisionIn, RatingIn, ReturnIn
from cityos.web.deps import RequirePage, get_session
from cityos.web.forms import attempt, chosen_files, read_upload
from cityos.web.templating import NavItem, render

router = APIRouter(prefix="/services", include_in_schema=False)
S = Depends(get_session, scope="function")
NAV = [
    NavItem("One-stop services", "/services", perm="services.apply", order=40),
    NavItem("Service window", "/services/window", perm="services.window", order=41),
    NavItem("Approval inbox", "/services/inbox", perm="services.review", order=42),
    NavItem("Supervision and rectification", "/services/supervision", perm="services.supervise", order=43),
    NavItem("Service statistics", "/services/stats", perm="services.stats", order=44),
    NavItem("Unified login clients", "/services/admin/clients", perm="oidc.manage", order=45),
]


def qr_svg(payload: str, request: Request) -> str:
    """The QR code of a license: the verification page's URL with the payload (scanned by any
    phone camera) as an inline SVG data URI."""
    url = str(request.base_url).rstrip("/") + "/verify?c=" + quote(payload, safe="")
    return segno.make(url, error="m").svg_data_uri(scale=3)


def _see(number: str) -> RedirectResponse:
    return RedirectResponse(f"/services/applications/{number}", status_code=303)


@router.get("")
def portal(
    request: Request,
    q: str | None = Query(None, max_length=100),
    session: Session = S,
    p: Principal = Depends(RequirePage()),
) -> Response:
    return render(
        request,
        "services/portal.html",
        {
            "items": service.items(session=session, query=q),
            "q": q or "",
            "mine": service.search(session=session, actor=p, mine=True, limit=10),
            "real_name": service.real_name(session=session, user_id=p.id) if p.id else None,
            "can_apply": has(p, "services.apply"),
        },
    )


@router.get("/apply/{code}")
def apply_form(
    code: str, request: Request, session: Session = S, p: Principal = Depends(RequirePage())
) -> Response:
    return _apply_page(request, session, p, code, None)


def _apply_page(
    request: Request, session: Session, p: Principal, code: str, error: str | None, status: int = 200
) -> Response:
    return render(
        request,
        "services/apply.html",
        {
            "item": service.get_item(session=session, code=code),
            "error": error,
            "window": has(p, "services.window") and not has(p, "services.apply"),
            "real_name": service.real_name(session=session, user_id=p.id) if p.id else None,
        },
        status_code=status,
    )


@router.post("/apply/{code}")
async def apply(
    code: str, request: Request, session: Session = S, p: Principal = Depends(RequirePage())
) -> Response:
    form = await request.form()
    try:
        return _apply(code, request, session, p, form)
    finally:
        await form.close()  # the uploads' spooled files


def _apply(code: str, request: Request, session: Session, p: Principal, form: Any) -> Response:
    item = service.get_item(session=session, code=code)
    uploads: dict[int, str] = {}
    for m in item.materials:
        for f in chosen_files(form.getlist(f"file_{m.id}")):
            uploads[m.id] = files.store(read_upload(f))
    data = ApplyIn(
        item_code=code,
        applicant_kind="company" if form.get("applicant_kind") == "company" else "person",
        applicant_name=str(form.get("applicant_name") or "") or None,
        applicant_code=str(form.get("applicant_code") or "").strip() or None,
        form={k[5:]: str(v) for k, v in form.items() if k.startswith("form_")},
        consent=form.get("consent") == "on",
        uploads=uploads,
    )
    window = has(p, "services.window") and not has(p, "services.apply")
    fn = service.submit_at_window if window else service.submit
    out, error, status = attempt(session, lambda: fn(session=session, actor=p, data=data))
    if error:
        return _apply_page(request, session, p, code, error, status)
    return _see(out.number)


@router.get("/applications")
def my_applications(
    request: Request,
    state: str | None = Query(None, max_length=12),
    q: str | None = Query(None, max_length=60),
    session: Session = S,
    p: Principal = Depends(RequirePage()),
) -> Response:
    return render(
        request,
        "services/list.html",
        {
            "title": "My applications" if has(p, "services.apply") else "Applications",
            "rows": service.search(session=session, actor=p, state=state or None, q=q or None, limit=100),
            "state": state or "",
            "q": q or "",
        },
    )


@router.get("/applications/{number}")
def application(
    number: str,
    request: Request,
    session: Session = S,
    p: Principal = Depends(RequirePage()),
    error: str | None = None,
) -> Response:
    return _detail(request, session, p, number, None)


def _detail(
    request: Request, session: Session, p: Principal, number: str, error: str | None, status: int = 200
) -> Response:
    a = service.get_application(session=session, actor=p, number=number)
    mine = service.my_ratings(session=session, actor=p) if p.id == _applicant_id(a, p) else []
    return render(
        request,
        "services/application.html",
        {
            "a": a,
            "error": error,
            "levels": LEVELS,
            "aspects": ASPECTS,
            "rating": next((r for r in mine if r.application_number == a.number), None),
            "is_applicant": _applicant_id(a, p) == p.id and has(p, "services.apply"),
            "can_window": has(p, "services.window"),
            "can_review": has(p, "services.review") and (p.department_id == a.department_id),
        },
        status_code=status,
    )


def _applicant_id(a: Any, p: Principal) -> int | None:
    # the DTO masks the code for others; an unmasked code means the reader is the applicant
    return p.id if "*" not in a.applicant_code else None


@router.post("/applications/{number}/{action}")
async def act(
    number: str, action: str, request: Request, session: Session = S, p: Principal = Depends(RequirePage())
) -> Response:
    form = await request.form()
    try:
        return _act(number, action, request, session, p, form)
    finally:
        await form.close()  # the uploads' spooled files


def _act(number: str, action: str, request: Request, session: Session, p: Principal, form: Any) -> Response:
    reason = str(form.get("reason") or "")

    def run() -> Any:
        if action == "accept":
            return service.accept(session=session, actor=p, number=number)
        if action == "return":
            missing = [str(x) for x in form.getlist("missing")] + [
                s.strip() for s in str(form.get("missing_more") or "").split("、") if s.strip()
            ]
            return service.return_once(
                session=session, actor=p, number=number, data=ReturnIn(missing=missing or [""], reason=reason)
            )
        if action in ("approve", "reject", "send_back"):
            return service.decide(
                session=session, actor=p, number=number, data=DecisionIn(decision=action, reason=reason)
            )
        if action == "issue":
            return service.issue_result(session=session, actor=p, number=number)
        if action == "rate":
            return service.rate(
                session=session,
                actor=p,
                number=number,
                data=RatingIn(
                    level=int(str(form.get("level") or "5")),
                    aspects=[str(x) for x in form.getlist("aspects")],
                    comment=str(form.get("comment") or ""),
                ),
            )
        if action == "supplement":
            a = service.get_application(session=session, actor=p, number=number)
            uploads = {}
            for m in a.materials:
                for f in chosen_files(form.getlist(f"file_{m.material_id}")):
                    uploads[m.material_id] = files.store(read_upload(f))
            return service.supplement(session=session, actor=p, number=number, uploads=uploads)
        if action == "appeal":
            return service.appeal(
                session=session, actor=p, rect_id=int(str(form.get("rect_id") or 0)), reason=reason
            )
        raise service_not_found()

    _, error, status = attempt(session, run)
    if error:
        return _detail(request, session, p, number, error, status)
    return _see(number)


def service_not_found() -> Exception:
    from cityos.core.errors import NotFound

    return NotFound("Page not found", code="not_found")


@router.get("/wallet")
def wallet(request: Request, session: Session = S, p: Principal = Depends(RequirePage())) -> Response:
    rows = service.wallet(session=session, actor=p)
    return render(
        request,
        "services/wallet.html",
        {"rows": rows, "qr": {r.identifier: qr_svg(r.payload, request) for r in rows}},
    )


@router.get("/realname")
def realname_form(
    request: Request, session: Session = S, p: Principal = Depends(RequirePage("services.apply"))
) -> Response:
    return render(
        request,
        "services/realname.html",
        {"rn": service.real_name(session=session, user_id=p.id or 0), "error": None},
    )


@router.post("/realname")
def realname(
    request: Request,
    name: str = Form(""),
    id_number: str = Form(""),
    session: Session = S,
    p: Principal = Depends(RequirePage("services.apply")),
) -> Response:
    _, error, status = attempt(
        session, lambda: service.set_real_name(session=session, actor=p, name=name, id_number=id_number)
    )
    if error:
        return render(request, "services/realname.html", {"rn": None, "error": error}, status_code=status)
    return RedirectResponse("/services", status_code=303)


@router.get("/window")
def window(
    request: Request, session: Session = S, p: Principal = Depends(RequirePage("services.window"))
) -> Response:
    return _window_page(request, session, p)


def _window_page(
    request: Request, session: Session, p: Principal, ticket: Any = None, error: Any = None
) -> Response:
    """The window console: applications to accept (new and sent back) and to issue, the queue."""
    return render(
        request,
        "services/window.html",
        {
            "to_accept": service.search(session=session, actor=p, state="submitted", limit=100)
            + service.search(session=session, actor=p, state="sent_back", limit=100),
            "to_issue": service.search(session=session, actor=p, state="approved", limit=100),
            "items": service.items(session=session),
            "queue": service.figures(session=session),
            "ticket": ticket,
            "error": error,
        },
    )


@router.post("/window/call")
def call(
    request: Request,
    window_type: str = Form("A"),
    window_no: str = Form("1"),
    session: Session = S,
    p: Principal = Depends(RequirePage("services.window")),
) -> Response:
    t, error, _status = attempt(
        session,
        lambda: service.call_next(session=session, actor=p, window_type=window_type, window=window_no),
    )
    return _window_page(request, session, p, t, error)


@router.post("/window/done/{ticket_id}")
def ticket_done(
    request: Request,
    ticket_id: int = PathParam(ge=1, le=2**63 - 1),
    session: Session = S,
    p: Principal = Depends(RequirePage("services.window")),
) -> Response:
    _t, error, _status = attempt(
        session, lambda: service.finish(session=session, actor=p, ticket_id=ticket_id)
    )
    return _window_page(request, session, p, None, error)


@router.get("/inbox")
def inbox(
    request: Request, session: Session = S, p: Principal = Depends(RequirePage("services.review"))
) -> Response:
    return render(
        request,
        "services/list.html",
        {
            "title": "Approval inbox",
            "rows": service.search(session=session, actor=p, state="accepted", limit=200, to_decide=True),
            "state": "accepted",
            "q": "",
        },
    )


@router.get("/supervision")
def supervision(
    request: Request, session: Session = S, p: Principal = Depends(RequirePage("services.supervise"))
) -> Response:
    return _supervision_page(request, session, p)


def _supervision_page(
    request: Request, session: Session, p: Principal, error: str | None = None, status: int = 200
) -> Response:
    """Rectifications (respond, call back, and for the data bureau rule on appeals) and 审管联动 tasks."""
    return render(
        request,
        "services/supervision.html",
        {
            "rects": service.rectifications(session=session, actor=p),
            "tasks": service.supervision_tasks(session=session, actor=p),
            "can_rule": has(p, "services.manage"),
            "error": error,
        },
        status_code=status,
    )


@router.post("/supervision/{kind}/{ident}")
def supervise_act(
    request: Request,
    kind: str,
    ident: int = PathParam(ge=1, le=2**63 - 1),
    text: str = Form(""),
    satisfied: str = Form(""),
    session: Session = S,
    p: Principal = Depends(RequirePage("services.supervise")),
) -> Response:
    def run() -> Any:
        if kind == "respond":
            return service.respond(session=session, actor=p, rect_id=ident, response=text)
        if kind == "callback":
            return service.call_back(
                session=session, actor=p, rect_id=ident, note=text, satisfied=satisfied == "on"
            )
        if kind in ("uphold", "dismiss"):
            return service.rule_appeal(
                session=session, actor=p, rect_id=ident, uphold=kind == "uphold", ruling=text
            )
        if kind == "close":
            return service.close_supervision(session=session, actor=p, task_id=ident, note=text)
        raise service_not_found()

    _, error, status = attempt(session, run)
    if error:
        return _supervision_page(request, session, p, error, status)
    return RedirectResponse("/services/supervision", status_code=303)


@router.get("/stats")
def stats(
    request: Request, session: Session = S, p: Principal = Depends(RequirePage("services.stats"))
) -> Response:
    return render(
        request,
        "services/stats.html",
        {
            "summary": service.public_summary(session=session),
            "queue": service.figures(session=session),
            "counts": service.counts(session=session, actor=p),
        },
    )


@router.get("/admin/clients")
def clients(
    request: Request, session: Session = S, p: Principal = Depends(RequirePage("oidc.manage"))
) -> Response:
    return render(
        request,
        "services/clients.html",
        {"clients": oidc.clients(session=session, actor=p), "new": None, "error": None},
    )


@router.post("/admin/clients")
def add_client(
    request: Request,
    name: str = Form(""),
    redirect_uri: str = Form(""),
    session: Session = S,
    p: Principal = Depends(RequirePage("oidc.manage")),
) -> Response:
    uris = [u.strip() for u in redirect_uri.split() if u.strip()]
    new, error, status = attempt(
        session, lambda: oidc.add_client(session=session, actor=p, name=name, redirect_uris=uris)
    )
    return render(
        request,
        "services/clients.html",
        {"clients": oidc.clients(session=session, actor=p), "new": new, "error": error},
        status_code=status,
    )
