"""数据共享交换 pages: the catalog browser, the resource page (metadata, schema, versions, quality,
freshness, requests, use), the steward's upload flow (the validation report before anything is
accepted), the request and approval inbox, and the data bureau's overview."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi import Path as PathParam
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from cityos.catalog import infer, labels, reader, service
from cityos.catalog.api import MAX_INT, MAX_UPLOAD, spool
from cityos.catalog.schemas import (
    CLASSES,
    FORMAT_CLASSES,
    OPEN_TYPES,
    REQUEST_STATES,
    SENSITIVITY,
    SHARE_METHODS,
    SHARE_TYPES,
    UPDATE_CYCLES,
    AccessRequestIn,
    DecisionIn,
    ResourceIn,
    slug,
)
from cityos.catalog.tableschema import parse
from cityos.core import i18n
from cityos.core.errors import CityOSError
from cityos.identity import service as identity
from cityos.identity.permissions import authorize, has
from cityos.identity.schemas import Principal
from cityos.web.deps import (
    LoginRedirect,
    RequirePage,
    allow_upload,
    current_principal,
    get_database,
    get_session,
)
from cityos.web.forms import attempt
from cityos.web.templating import NavItem, render

router = APIRouter(prefix="/catalog", include_in_schema=False)
allow_upload(r"/catalog/r/[^/]+/upload", MAX_UPLOAD)  # a data delivery, not a photo
NAV = [
    NavItem("Data catalog", "/catalog", perm="catalog.view", order=30),
    NavItem("Data requests", "/catalog/requests", perm="catalog.request", order=31),
    NavItem("Data overview", "/catalog/overview", perm="catalog.admin", order=32),
]
S = Depends(get_session, scope="function")
VOCAB = {
    "classes": CLASSES,
    "format_classes": FORMAT_CLASSES,
    "share_types": SHARE_TYPES,
    "share_methods": SHARE_METHODS,
    "open_types": OPEN_TYPES,
    "cycles": UPDATE_CYCLES,
    "sensitivity": SENSITIVITY,
    "request_states": REQUEST_STATES,
}


def _ctx(**kw: Any) -> dict[str, Any]:
    return {**VOCAB, **labels.HELPERS, "slug": slug, **kw}


@router.get("")
def browse(
    request: Request,
    q: str = "",
    department: str = "",
    topic: str = "",
    share_type: str = "",
    format_class: str = "",
    stale: bool = False,
    page: int = 1,
    session: Session = S,
    p: Principal = Depends(RequirePage("catalog.view")),
) -> Response:
    per = 30
    items, total = service.list_resources(
        session=session,
        q=q or None,
        department=department or None,
        topic=topic or None,
        share_type=share_type or None,
        format_class=format_class or None,
        stale_only=stale,
        limit=per,
        offset=(max(page, 1) - 1) * per,
    )
    return render(
        request,
        "catalog/browse.html",
        _ctx(
            items=items,
            total=total,
            page=page,
            per=per,
            filters={
                "q": q,
                "department": department,
                "topic": topic,
                "share_type": share_type,
                "format_class": format_class,
                "stale": stale,
            },
            departments=identity.departments(session=session),
            facets=service.facets(session=session),
            can_manage=has(p, "catalog.manage"),
        ),
    )


@router.get("/new")
def new_form(
    request: Request, session: Session = S, p: Principal = Depends(RequirePage("catalog.manage"))
) -> Response:
    return render(
        request,
        "catalog/edit.html",
        _ctx(
            resource=None,
            departments=identity.departments(session=session),
            error=None,
            form={"provider": p.department_code or ""},
        ),
    )


@router.post("/new/infer")
def infer_fields(
    request: Request,
    file: UploadFile = File(...),
    session: Session = S,
    p: Principal = Depends(RequirePage("catalog.manage")),
) -> Response:
    """The new-resource form, its Table Schema prefilled from a sample file (catalog.infer)."""
    import json

    def go() -> tuple[dict[str, Any], int]:
        path = spool(file)  # an empty or oversized file is refused like any bad sample, on the form
        try:
            return infer.infer(path, filename=file.filename or "")
        finally:
            path.unlink(missing_ok=True)

    found, error, status = attempt(session, go)
    form: dict[str, Any] = {"provider": p.department_code or ""}
    fields: list[Any] = []
    n = 0
    if found is not None:
        doc, n = found
        form["table_schema"] = json.dumps(doc, ensure_ascii=False, indent=2)
        fields = list(parse(doc).fields)
    return render(
        request,
        "catalog/edit.html",
        _ctx(
            resource=None,
            departments=identity.departments(session=session),
            error=error,
            form=form,
            inferred=fields,
            sampled=n,
        ),
        status_code=status if found is None else 200,
    )


@router.post("/new")
def create(
    request: Request,
    class_code: str = Form(...),
    name: str = Form(...),
    provider: str = Form(...),
    summary: str = Form(""),
    format_class: str = Form("sheet"),
    share_type: str = Form("unconditional"),
    share_condition: str = Form(""),
    legal_basis: str = Form(""),
    open_type: str = Form("closed"),
    open_condition: str = Form(""),
    update_cycle: str = Form("monthly"),
    tags: str = Form(""),
    topics: str = Form(""),
    table_schema: str = Form(""),
    session: Session = S,
    p: Principal = Depends(RequirePage("catalog.manage")),
) -> Response:
    import json

    form = dict(locals())
    form.pop("session"), form.pop("p"), form.pop("request")

    def go() -> Any:
        doc = json.loads(table_schema) if table_schema.strip() else None
        return service.create_resource(
            session=session,
            actor=p,
            data=ResourceIn(
                class_code=class_code.strip(),
                name=name,
                provider=provider,
                summary=summary,
                format_class=format_class,
                share_type=share_type,
                share_condition=share_condition,
                legal_basis=legal_basis,
                open_type=open_type,
                open_condition=open_condition,
                update_cycle=update_cycle,
                tags=[t for t in tags.replace("，", ",").split(",") if t.strip()],
                topics=[t for t in topics.replace("，", ",").split(",") if t.strip()],
                table_schema=doc,
            ),
        )

    try:
        r, error, status = attempt(session, go)
    except (ValueError, TypeError) as exc:  # bad JSON or a form value pydantic refused
        r, error, status = None, str(exc).splitlines()[0], 422
    if r is None:
        return render(
            request,
            "catalog/edit.html",
            _ctx(resource=None, departments=identity.departments(session=session), error=error, form=form),
            status_code=status,
        )
    return RedirectResponse(f"/catalog/r/{slug(r.code)}", status_code=303)


def _preview(
    session: Session, request: Request, p: Principal, code: str
) -> tuple[list[dict[str, Any]], list[str], str | None]:
    """The first rows as this viewer may see them; the preview is a data call, so it is audited."""
    t0 = time.perf_counter()
    try:
        plan = service.read_plan(session=session, actor=p, code=code)
        acc = plan.access
        rows, _ = reader.page(plan.path, plan.schema, acc, filters=[], limit=10)
    except CityOSError as exc:
        with get_database(request).transaction() as w:
            service.record_call(
                session=w,
                actor=p,
                code=code,
                kind="preview",
                fields=[],
                filters={},
                rows=0,
                latency_ms=(time.perf_counter() - t0) * 1000,
                outcome=exc.code,
            )
        return [], [], exc.text(i18n.current_locale.get())
    with get_database(request).transaction() as w:
        service.record_call(
            session=w,
            actor=p,
            code=code,
            kind="preview",
            fields=acc.fields,
            filters={},
            rows=len(rows),
            latency_ms=(time.perf_counter() - t0) * 1000,
            outcome="ok",
            version=plan.version,
        )
    return rows, [f for f in acc.fields if f not in acc.clear], None


@router.get("/r/{code}")
def resource(
    request: Request, code: str, session: Session = S, p: Principal = Depends(RequirePage("catalog.view"))
) -> Response:
    r = service.get_resource(session=session, code=code)
    versions = service.versions(session=session, actor=p, code=r.code)
    current = next((v for v in versions if v.number == r.current_version), None)
    own = p.department_id == r.provider_department_id
    manage = service.may_manage(actor=p, department_id=r.provider_department_id)
    requests = []
    if own or has(p, "catalog.admin"):
        requests = service.requests(
            session=session,
            actor=p,
            box="all" if has(p, "catalog.admin") and not own else "incoming",
            code=r.code,
        )
    mine = (
        [x for x in service.requests(session=session, actor=p, box="outgoing", code=r.code)]
        if p.department_id
        else []
    )
    rows: list[dict[str, Any]] = []
    masked: list[str] = []
    preview_error = None
    if r.current_version is not None and has(p, "catalog.data"):
        rows, masked, preview_error = _preview(session, request, p, r.code)
    usage = service.usage(session=session, code=r.code)
    return render(
        request,
        "catalog/resource.html",
        _ctx(
            r=r,
            versions=versions,
            current=current,
            manage=manage,
            own=own,
            requests=requests,
            people=_people(session, [a.requested_by for a in requests] + [v.created_by for v in versions]),
            mine=mine,
            rows=rows,
            masked=masked,
            preview_error=preview_error,
            usage=usage,
            can_request=has(p, "catalog.request")
            and not own
            and r.share_type == "conditional"
            and p.department_id is not None,
        ),
    )


@router.get("/r/{code}/upload")
def upload_form(
    request: Request, code: str, session: Session = S, p: Principal = Depends(RequirePage("catalog.manage"))
) -> Response:
    r = service.get_resource(session=session, code=code)
    return render(request, "catalog/upload.html", _ctx(r=r, error=None))


@router.post("/r/{code}/upload")
def upload(
    request: Request,
    code: str,
    file: UploadFile = File(...),
    mode: str = Form("replace"),
    policy: str = Form(""),
) -> Response:
    """Stage the file: validate it and show the report; nothing is readable until accepted. The
    file is validated with no database transaction open (service.load)."""
    with get_database(request).transaction() as s:
        p = current_principal(request, s)
        if not p.is_authenticated:
            raise LoginRedirect(request.url.path)
        r = service.get_resource(session=s, code=code)
    authorize(p, "catalog.manage")
    request.state.principal = p
    path: Path | None = None
    v = None
    try:
        path = spool(file)
        v = service.load(
            db=get_database(request),
            actor=p,
            code=code,
            path=path,
            filename=file.filename or "",
            mode=mode,
            policy=policy or None,
            accept=False,
        )
        error, status = None, 200
    except CityOSError as exc:
        v, error, status = None, exc.text(i18n.current_locale.get()), exc.status
    finally:
        if path is not None:
            path.unlink(missing_ok=True)
    if v is None:
        return render(request, "catalog/upload.html", _ctx(r=r, error=error), status_code=status)
    return RedirectResponse(f"/catalog/r/{slug(r.code)}/versions/{v.id}", status_code=303)


@router.get("/r/{code}/versions/{version_id}")
def version_page(
    request: Request,
    code: str,
    version_id: Annotated[int, PathParam(ge=1, le=MAX_INT)],
    session: Session = S,
    p: Principal = Depends(RequirePage("catalog.view")),
) -> Response:
    r = service.get_resource(session=session, code=code)
    v = service.get_version(session=session, actor=p, code=code, version_id=version_id)
    manage = service.may_manage(actor=p, department_id=r.provider_department_id)
    people = _people(session, [v.created_by])
    return render(request, "catalog/version.html", _ctx(r=r, v=v, manage=manage, people=people))


@router.post("/r/{code}/versions/{version_id}/{action}")
def decide_version(
    request: Request,
    code: str,
    version_id: Annotated[int, PathParam(ge=1, le=MAX_INT)],
    action: str,
    session: Session = S,
    p: Principal = Depends(RequirePage("catalog.manage")),
) -> Response:
    fn = {"accept": service.accept_version, "discard": service.discard_version}.get(action)
    if fn is None:
        return Response(status_code=404)
    fn(session=session, actor=p, code=code, version_id=version_id)
    r = service.get_resource(session=session, code=code)
    return RedirectResponse(f"/catalog/r/{slug(r.code)}", status_code=303)


@router.post("/r/{code}/request")
def request_access(
    request: Request,
    code: str,
    purpose: str = Form(...),
    legal_basis: str = Form(""),
    period_days: int = Form(365),
    fields: list[str] = Form([]),
    session: Session = S,
    p: Principal = Depends(RequirePage("catalog.request")),
) -> Response:
    _res, error, status = attempt(
        session,
        lambda: service.request_access(
            session=session,
            actor=p,
            code=code,
            data=AccessRequestIn(
                purpose=purpose, legal_basis=legal_basis, fields=fields, period_days=period_days
            ),
        ),
    )
    if error:
        return render(
            request, "catalog/message.html", _ctx(error=error, back=f"/catalog/r/{code}"), status_code=status
        )
    return RedirectResponse("/catalog/requests?box=outgoing", status_code=303)


def _people(session: Session, actors: list[str]) -> dict[str, tuple[str, tuple[str, ...]]]:
    """Who asked or loaded (`user:<username>` actors), by name and role (one query), for the `who`
    macro: pages never show `user:` codes."""
    return identity.people(session=session, usernames=(a.removeprefix("user:") for a in actors))


@router.get("/requests")
def inbox(
    request: Request,
    box: str = "incoming",
    session: Session = S,
    p: Principal = Depends(RequirePage("catalog.request")),
) -> Response:
    boxes = ["incoming", "outgoing"] + (["escalated", "all"] if has(p, "catalog.admin") else [])
    if box not in boxes:
        box = "incoming"
    items = service.requests(session=session, actor=p, box=box)
    fields = {}
    for a in items:
        if a.resource_code not in fields:
            fields[a.resource_code] = service.get_resource(session=session, code=a.resource_code).fields
    return render(
        request,
        "catalog/requests.html",
        _ctx(
            items=items,
            box=box,
            boxes=boxes,
            fields=fields,
            can_decide=has(p, "catalog.decide"),
            people=_people(session, [a.requested_by for a in items]),
        ),
    )


@router.post("/requests/{request_id}/decide")
def decide(
    request: Request,
    request_id: int,
    approve: str = Form(...),
    reason: str = Form(""),
    fields: list[str] = Form([]),
    clear_fields: list[str] = Form([]),
    period_days: int = Form(365),
    session: Session = S,
    p: Principal = Depends(RequirePage("catalog.decide")),
) -> Response:
    _res, error, status = attempt(
        session,
        lambda: service.decide_request(
            session=session,
            actor=p,
            request_id=request_id,
            decision=DecisionIn(
                approve=approve == "yes",
                reason=reason,
                fields=fields or None,
                clear_fields=clear_fields,
                period_days=period_days,
            ),
        ),
    )
    if error:
        return render(
            request, "catalog/message.html", _ctx(error=error, back="/catalog/requests"), status_code=status
        )
    return RedirectResponse("/catalog/requests", status_code=303)


@router.get("/overview")
def overview(
    request: Request, session: Session = S, p: Principal = Depends(RequirePage("catalog.admin"))
) -> Response:
    data = service.overview(session=session)
    stale = service.stale_resources(session=session)
    usage = service.usage(session=session)[:15]
    return render(request, "catalog/overview.html", _ctx(o=data, stale=stale, usage=usage))


@router.get("/overview.json")
def overview_json(
    session: Session = S, p: Principal = Depends(RequirePage("catalog.admin"))
) -> dict[str, Any]:
    """The chart data of the overview page (its script reads this; no inline scripts under the CSP)."""
    return service.overview(session=session)
