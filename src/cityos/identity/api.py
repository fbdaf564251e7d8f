"""Identity JSON API: who am I, the region tree, departments, users, API tokens."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from cityos.identity import service
from cityos.identity.schemas import (
    DepartmentIn,
    DepartmentOut,
    NewToken,
    Principal,
    RegionIn,
    RegionOut,
    TokenOut,
    UserIn,
    UserOut,
)
from cityos.web.deps import Require, authenticated, get_session

router = APIRouter(prefix="/api/v1/identity", tags=["identity"])
# SQLite stores 64-bit integers; an offset past any real table is refused (422) before it reaches
# the database, where it would overflow into a 500
MAX_OFFSET = 2**31 - 1


class MeOut(BaseModel):
    kind: str
    username: str
    display_name: str
    roles: list[str]
    scopes: list[str]
    department_code: str | None
    region_code: str | None


class TokenIn(BaseModel):
    client: str = Field(min_length=1, max_length=100)
    scopes: list[str] = Field(min_length=1)
    department_code: str | None = None
    days: int | None = Field(365, ge=1, le=3650)


class RolesIn(BaseModel):
    roles: list[str] = Field(min_length=1)


@router.get("/me", response_model=MeOut)
def me(p: Principal = Depends(authenticated)) -> MeOut:
    return MeOut(
        kind=p.kind,
        username=p.username,
        display_name=p.display_name,
        roles=sorted(p.roles),
        scopes=sorted(p.scopes),
        department_code=p.department_code,
        region_code=p.region_code,
    )


@router.get("/regions", response_model=list[RegionOut])
def regions(
    parent: str | None = None,
    session: Session = Depends(get_session, scope="function"),
    _p: Principal = Depends(Require("geo.view")),
) -> list[RegionOut]:
    """Children of `parent` (the city when omitted)."""
    return service.children(session=session, code=parent)


@router.get("/regions/{code}/chain", response_model=list[RegionOut])
def region_chain(
    code: str,
    session: Session = Depends(get_session, scope="function"),
    _p: Principal = Depends(Require("geo.view")),
) -> list[RegionOut]:
    service.get_region(session=session, code=code)
    return service.region_chain(session=session, code=code)


@router.post("/regions", response_model=RegionOut, status_code=201)
def add_region(
    body: RegionIn,
    session: Session = Depends(get_session, scope="function"),
    p: Principal = Depends(Require("admin.regions")),
) -> RegionOut:
    return service.add_region(session=session, actor=p, region=body)


@router.get("/departments", response_model=list[DepartmentOut])
def departments(
    session: Session = Depends(get_session, scope="function"), _p: Principal = Depends(authenticated)
) -> list[DepartmentOut]:
    return service.departments(session=session)


@router.post("/departments", response_model=DepartmentOut, status_code=201)
def add_department(
    body: DepartmentIn,
    session: Session = Depends(get_session, scope="function"),
    p: Principal = Depends(Require("admin.departments")),
) -> DepartmentOut:
    return service.add_department(session=session, actor=p, department=body)


@router.get("/users", response_model=list[UserOut])
def users(
    role: str | None = None,
    department: str | None = None,
    region: str | None = None,
    limit: int = Query(200, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
    session: Session = Depends(get_session, scope="function"),
    _p: Principal = Depends(Require("admin.users")),
) -> list[UserOut]:
    dept_id = service.get_department(session=session, code=department).id if department else None
    return service.users(
        session=session,
        role=role,
        department_id=dept_id,
        region_prefix=region,
        limit=limit,
        offset=offset,
    )


@router.post("/users", response_model=UserOut, status_code=201)
def add_user(
    body: UserIn,
    session: Session = Depends(get_session, scope="function"),
    p: Principal = Depends(Require("admin.users")),
) -> UserOut:
    return service.add_user(session=session, actor=p, user=body)


@router.put("/users/{username}/roles", response_model=UserOut)
def set_roles(
    username: str,
    body: RolesIn,
    session: Session = Depends(get_session, scope="function"),
    p: Principal = Depends(Require("admin.users")),
) -> UserOut:
    return service.set_roles(session=session, actor=p, username=username, roles=body.roles)


@router.get("/tokens", response_model=list[TokenOut])
def tokens(
    session: Session = Depends(get_session, scope="function"),
    _p: Principal = Depends(Require("admin.tokens")),
) -> list[TokenOut]:
    return service.tokens(session=session)


@router.post("/tokens", response_model=NewToken, status_code=201)
def create_token(
    body: TokenIn,
    session: Session = Depends(get_session, scope="function"),
    p: Principal = Depends(Require("admin.tokens")),
) -> NewToken:
    """The token is in the answer once; only its hash is kept."""
    return service.create_token(
        session=session,
        actor=p,
        client=body.client,
        scopes=body.scopes,
        department_code=body.department_code,
        days=body.days,
    )


@router.delete("/tokens/{prefix}", response_model=TokenOut)
def revoke_token(
    prefix: str,
    session: Session = Depends(get_session, scope="function"),
    p: Principal = Depends(Require("admin.tokens")),
) -> TokenOut:
    return service.revoke_token(session=session, actor=p, prefix=prefix)
