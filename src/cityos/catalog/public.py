"""The open-data portal (公共数据开放), without login: search and filters, resource pages with the
public fields, a preview, downloads and an API how-to; registration and requests for conditionally
open resources. Mounted with the CKAN Action API (ckan/) and the DCAT-AP catalog (dcat.py).

Every download is recorded (service.record_public_download) in its own unit of work before the
file streams; what the public may read is decided in one place, `portal.download_access`.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse
from sqlalchemy.orm import Session

from cityos.catalog import ckan, dcat, labels, portal, reader, service
from cityos.catalog.schemas import FORMAT_CLASSES, UPDATE_CYCLES, ResourceOut, slug
from cityos.core.errors import CityOSError, Invalid, NotFound
from cityos.identity import service as identity
from cityos.identity.schemas import Principal, UserIn
from cityos.web.deps import SESSION_COOKIE, current_principal, get_database, get_session
from cityos.web.forms import attempt
from cityos.web.templating import NavItem, render

router = APIRouter(include_in_schema=False)
router.include_router(ckan.router)
router.include_router(dcat.router)
# the portal's entry in the top bar, shown to anonymous visitors too
NAV = [NavItem("Open data", "/open/", public=True, order=35)]
S = Depends(get_session, scope="function")
P = Depends(current_principal)
PER_PAGE = 20
MAX_PAGE = 1_000_000  # twenty million resources: far more than any catalog
EXPORT_TYPES = {fmt: media for fmt, (_label, media) in ckan.FORMATS.items()}


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _safe_next(value: str | None) -> str:
    return value if value and value.startswith("/") and not value.startswith("//") else "/open/"


def _public_use(session: Session) -> dict[str, dict[str, int]]:
    """Downloads and API calls by the public, per resource code (one query for a whole page)."""
    out: dict[str, dict[str, int]] = {}
    for u in service.usage(session=session):
        if u.consumer_code != "public":
            continue
        d = out.setdefault(u.resource_code, {"downloads": 0, "api_calls": 0})
        d["downloads"] += u.downloads
        d["api_calls"] += u.calls - u.downloads
    return out


@router.get("/open/")
def index(
    request: Request,
    q: str = "",
    department: str = "",
    topic: str = "",
    format_class: str = "",
    page: int = 1,
    session: Session = S,
    p: Principal = P,
) -> Response:
    page = max(page, 1)
    if page > MAX_PAGE:  # the offset would overflow the database's integers: a bad address, not a 500
        raise CityOSError(
            "{field} must be a whole number from {lo} to {hi}",
            code="bad_integer",
            field="page",
            params={"field": "page", "lo": 1, "hi": MAX_PAGE},
        )
    try:
        items, total = service.list_resources(
            session=session,
            q=q.strip() or None,
            department=department or None,
            topic=topic or None,
            format_class=format_class or None,
            open_only=True,
            sort="-updated",
            limit=PER_PAGE,
            offset=(page - 1) * PER_PAGE,
        )
    except NotFound:  # an unknown department in the address: nothing matches
        items, total = [], 0
    facets = service.facets(session=session, open_only=True)
    names = {d.code: d.name for d in identity.departments(session=session)}
    return render(
        request,
        "open/index.html",
        {
            "items": items,
            "total": total,
            "page": page,
            "per": PER_PAGE,
            "filters": {"q": q, "department": department, "topic": topic, "format_class": format_class},
            "departments": sorted(
                ((c, names.get(c, c), n) for c, n in facets["department"].items()), key=lambda t: t[1]
            ),
            "topics": sorted(facets["topic"].items()),
            "formats": [(k, FORMAT_CLASSES[k], n) for k, n in facets["format_class"].items()],
            "format_classes": FORMAT_CLASSES,
            "use": _public_use(session),
            "slug": slug,
        },
        principal=p,
    )


def _resource_context(
    request: Request, session: Session, p: Principal, r: ResourceOut, *, error: str | None = None
) -> dict[str, Any]:
    fields = portal.public_fields(r)
    rows: list[dict[str, Any]] = []
    downloads = False
    try:
        acc = portal.download_access(session=session, actor=p, code=r.code)
        path, _v = service.version_path(session=session, code=r.code)
        rows, _ = reader.page(
            path, service.version_schema(session=session, code=r.code), acc, filters=[], limit=10
        )
        downloads = True
    except CityOSError:
        pass  # no data yet, no public field, or a conditional resource not granted to this visitor
    base = _base(request)
    name = slug(r.code)
    rid = ckan.resource_id(r.code, "csv")
    return {
        "r": r,
        "name": name,
        "fields": fields,
        "rows": rows,
        "downloads": downloads,
        "formats": ckan.FORMATS,
        "use": portal.public_use(session=session, code=r.code),
        "mine": portal.my_requests(session=session, actor=p, code=r.code),
        "error": error,
        "base": base,
        "api": {
            "package_show": f"{base}/api/3/action/package_show?id={name}",
            "datastore_search": f"{base}/api/3/action/datastore_search?resource_id={rid}&limit=5",
            "resource_id": rid,
            "first_field": fields[0].name if fields else "",
        },
        "open_api": r.open_type == "open",
        "cycles": UPDATE_CYCLES,
        "format_classes": FORMAT_CLASSES,
        "next": quote(f"/open/r/{name}"),
        "requested": request.query_params.get("requested") == "1",
        **labels.HELPERS,
    }


@router.get("/open/r/{code}")
def resource_page(request: Request, code: str, session: Session = S, p: Principal = P) -> Response:
    r = portal.visible_resource(session=session, code=code)
    return render(request, "open/resource.html", _resource_context(request, session, p, r), principal=p)


@router.get("/open/r/{code}/download.{fmt}")
def download(request: Request, code: str, fmt: str, session: Session = S, p: Principal = P) -> Response:
    """The public fields of the current version, streamed; counted before the stream starts."""
    if fmt not in EXPORT_TYPES:
        raise NotFound("Page not found", code="not_found")
    acc = portal.download_access(session=session, actor=p, code=code)
    path, v = service.version_path(session=session, code=code)
    schema = service.version_schema(session=session, code=code)
    n = reader.count(path, schema, [])
    with get_database(request).transaction() as w:
        service.record_public_download(session=w, code=acc.resource_code, kind="download", rows=n)
    name = f"{slug(acc.resource_code)}-v{v.number}.{fmt}"
    return StreamingResponse(
        reader.export(path, schema, acc, fmt, filters=[]),
        media_type=EXPORT_TYPES[fmt] + ("; charset=utf-8" if fmt == "csv" else ""),
        headers={"Content-Disposition": f'attachment; filename="{name}"', "X-Row-Count": str(n)},
    )


@router.post("/open/r/{code}/request")
def request_access(
    request: Request, code: str, purpose: str = Form(""), session: Session = S, p: Principal = P
) -> Response:
    r = portal.visible_resource(session=session, code=code)
    if not p.is_authenticated:
        return RedirectResponse(f"/login?next={quote('/open/r/' + slug(r.code))}", status_code=303)
    done, error, status = attempt(
        session, lambda: portal.request_open_access(session=session, actor=p, code=r.code, purpose=purpose)
    )
    if done is None:
        ctx = _resource_context(request, session, p, r, error=error)
        return render(request, "open/resource.html", ctx, status_code=status, principal=p)
    return RedirectResponse(f"/open/r/{slug(r.code)}?requested=1", status_code=303)


@router.get("/open/register")
def register_form(request: Request, next: str = "/open/", p: Principal = P) -> Response:
    if p.is_authenticated:
        return RedirectResponse(_safe_next(next), status_code=303)
    return render(
        request, "open/register.html", {"next": _safe_next(next), "error": None, "form": {}}, principal=p
    )


@router.post("/open/register")
def register(
    request: Request,
    username: str = Form(""),
    display_name: str = Form(""),
    password: str = Form(""),
    password2: str = Form(""),
    phone: str = Form(""),
    next: str = Form("/open/"),
    session: Session = S,
    p: Principal = P,
) -> Response:
    """A visitor registers as a citizen (no department, no region) and is logged in at once."""
    form = {"username": username, "display_name": display_name, "phone": phone}

    def go() -> Any:
        if password != password2:
            raise Invalid("The two passwords differ", field="password2", code="password_mismatch")
        try:
            data = UserIn(
                username=username.strip(),
                display_name=display_name.strip(),
                password=password,
                roles=["citizen"],
                phone=phone.strip() or None,
            )
        except ValueError:
            raise Invalid(
                "User name: 2 to 60 letters, digits or . _ @ -; a name; a password of at least 8 characters",
                code="bad_registration",
            ) from None
        ip = request.client.host if request.client else None
        return identity.register_citizen(session=session, user=data, ip=ip)

    user, error, status = attempt(session, go)
    if user is None:
        ctx = {"next": _safe_next(next), "error": error, "form": form}
        return render(request, "open/register.html", ctx, status_code=status, principal=p)
    ip = request.client.host if request.client else None
    token, _csrf = identity.start_session(
        session=session, user_id=user.id, hours=request.app.state.settings.session_hours, ip=ip
    )
    resp = RedirectResponse(_safe_next(next), status_code=303)
    resp.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=request.app.state.settings.secure_cookies,
        path="/",
    )
    return resp
