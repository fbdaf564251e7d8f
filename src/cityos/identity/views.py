"""Administration pages: the region tree, departments, users, API tokens, the working calendar.
Each form calls one service function inside a savepoint: an error re-renders the page with the
message and nothing is half-applied."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from cityos.core import calendar, i18n
from cityos.identity import service
from cityos.identity.permissions import authorize, has
from cityos.identity.schemas import ROLES, DepartmentIn, Principal, RegionIn, UserIn
from cityos.web.deps import RequirePage, get_session
from cityos.web.forms import attempt
from cityos.web.templating import NavItem, render

router = APIRouter(prefix="/admin", include_in_schema=False)
NAV = [NavItem("Administration", "/admin", perm="admin.departments", order=90)]
PAGES = [
    ("Regions", "/admin/regions", "admin.departments"),
    ("Departments", "/admin/departments", "admin.departments"),
    ("Users", "/admin/users", "admin.users"),
    ("API tokens", "/admin/tokens", "admin.tokens"),
    ("Working calendar", "/admin/calendar", "admin.calendar"),
]


def _page(request: Request, p: Principal, template: str, ctx: dict[str, Any], status: int = 200) -> Response:
    ctx["admin_pages"] = [x for x in PAGES if has(p, x[2])]
    return render(request, template, ctx, status_code=status)


def _attempt(session: Session, fn: Callable[[], Any]) -> tuple[Any, str | None]:
    result, err, _status = attempt(session, fn)
    return result, err


@router.get("")
def admin_home(request: Request, p: Principal = Depends(RequirePage("admin.departments"))) -> Response:
    return _page(request, p, "admin/home.html", {})


# ---------------------------------------------------------------- regions
@router.get("/regions")
def regions_page(
    request: Request,
    session: Session = Depends(get_session, scope="function"),
    p: Principal = Depends(RequirePage("admin.departments")),
) -> Response:
    return _page(
        request,
        p,
        "admin/regions.html",
        {
            "roots": service.children(session=session, code=None),
            "levels": ("district", "street", "community"),
        },
    )


@router.get("/regions/children")
def region_children(
    request: Request,
    code: str,
    session: Session = Depends(get_session, scope="function"),
    p: Principal = Depends(RequirePage("admin.departments")),
) -> Response:
    """HTMX partial: the children of one region, loaded when its node is opened."""
    return render(
        request, "admin/_region_children.html", {"children": service.children(session=session, code=code)}
    )


@router.post("/regions")
def add_region(
    request: Request,
    code: str = Form(""),
    name: str = Form(""),
    level: str = Form(""),
    parent_code: str = Form(""),
    session: Session = Depends(get_session, scope="function"),
    p: Principal = Depends(RequirePage("admin.regions")),
) -> Response:
    def go() -> Any:
        return service.add_region(
            session=session,
            actor=p,
            region=RegionIn.model_construct(
                code=code.strip(),
                name=name.strip(),
                level=level,
                parent_code=parent_code.strip() or None,
                lon=None,
                lat=None,
            ),
        )

    if not code.strip().isdigit() or not name.strip():
        err: str | None = i18n.gettext("Code and name are required; the code has digits only")
    else:
        _r, err = _attempt(session, go)
    if err:
        return _page(
            request,
            p,
            "admin/regions.html",
            {
                "roots": service.children(session=session, code=None),
                "error": err,
                "levels": ("district", "street", "community"),
                "form": {"code": code, "name": name, "level": level, "parent_code": parent_code},
            },
            422,
        )
    return RedirectResponse("/admin/regions?added=" + code.strip(), status_code=303)


# ---------------------------------------------------------------- departments
@router.get("/departments")
def departments_page(
    request: Request,
    session: Session = Depends(get_session, scope="function"),
    p: Principal = Depends(RequirePage("admin.departments")),
) -> Response:
    return _page(
        request,
        p,
        "admin/departments.html",
        {
            "departments": service.departments(session=session),
            "districts": service.regions(session=session, level="district"),
            "city": service.city(session=session),
        },
    )


@router.post("/departments")
def add_department(
    request: Request,
    code: str = Form(""),
    name: str = Form(""),
    kind: str = Form("bureau"),
    region_code: str = Form(""),
    session: Session = Depends(get_session, scope="function"),
    p: Principal = Depends(RequirePage("admin.departments")),
) -> Response:
    def go() -> Any:
        return service.add_department(
            session=session,
            actor=p,
            department=DepartmentIn(code=code.strip(), name=name.strip(), kind=kind, region_code=region_code),
        )

    try:
        DepartmentIn(code=code.strip(), name=name.strip(), kind=kind, region_code=region_code)
        _r, err = _attempt(session, go)
    except ValueError:
        err = i18n.gettext("Code (letters, digits, - _ .) and name are required")
    if err:
        return _page(
            request,
            p,
            "admin/departments.html",
            {
                "departments": service.departments(session=session),
                "error": err,
                "districts": service.regions(session=session, level="district"),
                "city": service.city(session=session),
                "form": {"code": code, "name": name, "kind": kind, "region_code": region_code},
            },
            422,
        )
    return RedirectResponse("/admin/departments", status_code=303)


# ---------------------------------------------------------------- users
@router.get("/users")
def users_page(
    request: Request,
    role: str = "",
    department: str = "",
    region: str = "",
    page: int = 1,
    session: Session = Depends(get_session, scope="function"),
    p: Principal = Depends(RequirePage("admin.users")),
) -> Response:
    dept_id = None
    depts = service.departments(session=session)
    if department:
        dept_id = next((d.id for d in depts if d.code == department), -1)
    per = 50
    rows = service.users(
        session=session,
        role=role or None,
        department_id=dept_id,
        region_prefix=region or None,
        limit=per + 1,
        offset=(max(page, 1) - 1) * per,
    )
    return _page(
        request,
        p,
        "admin/users.html",
        {
            "users": rows[:per],
            "more": len(rows) > per,
            "page": max(page, 1),
            "roles": ROLES,
            "departments": depts,
            "filters": {"role": role, "department": department, "region": region},
        },
    )


@router.post("/users")
def add_user(
    request: Request,
    username: str = Form(""),
    display_name: str = Form(""),
    password: str = Form(""),
    role: str = Form(""),
    department_code: str = Form(""),
    region_code: str = Form(""),
    session: Session = Depends(get_session, scope="function"),
    p: Principal = Depends(RequirePage("admin.users")),
) -> Response:
    err: str | None = None
    try:
        user: UserIn | None = UserIn(
            username=username.strip(),
            display_name=display_name.strip(),
            password=password,
            roles=[role],
            department_code=department_code or None,
            region_code=region_code.strip() or None,
        )
    except ValueError:
        user, err = (
            None,
            i18n.gettext(
                "User name (letters, digits), name, a password of at least 8 characters "
                "and a role are required"
            ),
        )
    if user is not None:
        _r, err = _attempt(session, lambda: service.add_user(session=session, actor=p, user=user))
    if err:
        return _page(
            request,
            p,
            "admin/users.html",
            {
                "users": service.users(session=session, limit=50),
                "more": False,
                "page": 1,
                "roles": ROLES,
                "departments": service.departments(session=session),
                "filters": {},
                "error": err,
                "form": {
                    "username": username,
                    "display_name": display_name,
                    "role": role,
                    "department_code": department_code,
                    "region_code": region_code,
                },
            },
            422,
        )
    return RedirectResponse("/admin/users?added=" + username.strip(), status_code=303)


@router.post("/users/{username}/roles")
def set_roles(
    request: Request,
    username: str,
    roles: list[str] = Form(default=[]),
    session: Session = Depends(get_session, scope="function"),
    p: Principal = Depends(RequirePage("admin.users")),
) -> Response:
    _r, err = _attempt(
        session, lambda: service.set_roles(session=session, actor=p, username=username, roles=roles)
    )
    if err:
        return render(request, "admin/_notice.html", {"error": err}, status_code=422)
    return render(request, "admin/_notice.html", {"notice": i18n.gettext("Roles saved")})


@router.post("/users/{username}/active")
def set_active(
    request: Request,
    username: str,
    active: str = Form("0"),
    session: Session = Depends(get_session, scope="function"),
    p: Principal = Depends(RequirePage("admin.users")),
) -> Response:
    _attempt(
        session, lambda: service.set_active(session=session, actor=p, username=username, active=active == "1")
    )
    return RedirectResponse("/admin/users", status_code=303)


# ---------------------------------------------------------------- tokens
@router.get("/tokens")
def tokens_page(
    request: Request,
    session: Session = Depends(get_session, scope="function"),
    p: Principal = Depends(RequirePage("admin.tokens")),
) -> Response:
    return _page(
        request,
        p,
        "admin/tokens.html",
        {"tokens": service.tokens(session=session), "departments": service.departments(session=session)},
    )


@router.post("/tokens")
def create_token(
    request: Request,
    client: str = Form(""),
    scopes: str = Form(""),
    department_code: str = Form(""),
    days: int = Form(365),
    session: Session = Depends(get_session, scope="function"),
    p: Principal = Depends(RequirePage("admin.tokens")),
) -> Response:
    scope_list = [s for s in scopes.replace(",", " ").split() if s]
    new, err = _attempt(
        session,
        lambda: service.create_token(
            session=session,
            actor=p,
            client=client,
            scopes=scope_list,
            department_code=department_code or None,
            days=days or None,
        ),
    )
    return _page(
        request,
        p,
        "admin/tokens.html",
        {
            "tokens": service.tokens(session=session),
            "departments": service.departments(session=session),
            "new_token": new,
            "error": err,
            "form": {"client": client, "scopes": scopes},
        },
        422 if err else 200,
    )


@router.post("/tokens/{prefix}/revoke")
def revoke_token(
    request: Request,
    prefix: str,
    session: Session = Depends(get_session, scope="function"),
    p: Principal = Depends(RequirePage("admin.tokens")),
) -> Response:
    _attempt(session, lambda: service.revoke_token(session=session, actor=p, prefix=prefix))
    return RedirectResponse("/admin/tokens", status_code=303)


# ---------------------------------------------------------------- working calendar
@router.get("/calendar")
def calendar_page(
    request: Request,
    year: int | None = None,
    session: Session = Depends(get_session, scope="function"),
    p: Principal = Depends(RequirePage("admin.calendar")),
) -> Response:
    y = year or date.today().year + 1
    source, days = calendar.year_overview(session=session, year=y)
    return _page(request, p, "admin/calendar.html", {"year": y, "source": source, "days": days})


@router.post("/calendar")
def enter_calendar(
    request: Request,
    year: int = Form(...),
    schedule: str = Form(""),
    session: Session = Depends(get_session, scope="function"),
    p: Principal = Depends(RequirePage("admin.calendar")),
) -> Response:
    authorize(p, "admin.calendar")

    def go() -> Any:
        return calendar.enter_days(
            session=session, actor_name=p.actor, year=year, days=calendar.parse_schedule(schedule)
        )

    n, err = _attempt(session, go)
    source, days = calendar.year_overview(session=session, year=year)
    return _page(
        request,
        p,
        "admin/calendar.html",
        {
            "year": year,
            "source": source,
            "days": days,
            "error": err,
            "schedule": schedule if err else "",
            "notice": None if err else i18n.gettext("%(n)s days entered") % {"n": n},
        },
        422 if err else 200,
    )
