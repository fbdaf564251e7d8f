"""Identity use cases. Keyword-only verbs; they never commit (the unit of work does).

Passwords are hashed with argon2. Login attempts are counted per user name in the database (so
every app process sees them); after MAX_FAILURES within FAILURE_WINDOW further attempts are
refused whether the name exists or not, and an unknown name costs the same argon2 work as a wrong
password, so the two cannot be told apart. The count is taken with one UPDATE … RETURNING on the
name's counter row before the password is checked: the row stays locked until the attempt commits,
so parallel attempts queue on it instead of all reading the same count (PostgreSQL); SQLite's
BEGIN IMMEDIATE serialises them anyway. A success resets the count.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import cast

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Table, case, delete, func, insert, literal, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from cityos.core import audit, clock
from cityos.core.db import UTCDateTime
from cityos.core.errors import Conflict, Invalid, NotFound, TooManyRequests, Unauthorized
from cityos.identity.models import (
    ApiToken,
    Department,
    LoginAttempt,
    LoginCounter,
    LoginSession,
    Region,
    User,
    UserRole,
)
from cityos.identity.permissions import authorize
from cityos.identity.schemas import (
    CODE_LENGTH,
    LEVELS,
    ROLES,
    DepartmentIn,
    DepartmentOut,
    NewToken,
    Principal,
    RegionIn,
    RegionOut,
    TokenOut,
    UserIn,
    UserOut,
    division_prefix,
)


def password_hasher(cost: str) -> PasswordHasher:
    """argon2id at argon2-cffi's defaults (RFC 9106's second recommended option: t=3 passes,
    m=64 MiB, p=4 lanes) unless `cost` ("t=…,m=…,p=…", m in KiB; CITYOS_ARGON2) sets another one.
    A hash carries its own parameters, so hashes made at one cost still verify at another and are
    rehashed at the configured cost on the next successful login."""
    if not cost.strip():
        return PasswordHasher()
    try:
        params = {k.strip(): int(v) for k, v in (part.split("=", 1) for part in cost.split(","))}
    except ValueError as e:
        raise ValueError(f"CITYOS_ARGON2 must look like 't=3,m=65536,p=4', not {cost!r}") from e
    unknown = set(params) - {"t", "m", "p"}
    t, m, p = params.get("t", 3), params.get("m", 65536), params.get("p", 4)
    if unknown or t < 1 or p < 1 or m < 8 * p:
        raise ValueError(f"CITYOS_ARGON2 {cost!r}: keys t, m, p only, t ≥ 1, p ≥ 1, m ≥ 8·p KiB")
    return PasswordHasher(time_cost=t, memory_cost=m, parallelism=p)


_hasher = password_hasher(os.environ.get("CITYOS_ARGON2", ""))
_DUMMY_HASH = _hasher.hash("cityos-dummy-password")
MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=15)
TOKEN_PREFIX = "cos_"
SYSTEM = Principal(kind="user", id=0, username="system", roles=frozenset({"admin"}))


def _sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


# ---------------------------------------------------------------- regions
def add_region(*, session: Session, actor: Principal, region: RegionIn) -> RegionOut:
    authorize(actor, "admin.regions")
    if region.level not in LEVELS:
        raise Invalid("Unknown region level", field="level", code="bad_level")
    if len(region.code) != CODE_LENGTH[region.level]:
        raise Invalid("Division code length does not match the level", field="code", code="bad_code")
    if region.level == "city":
        if region.parent_code:
            raise Invalid("A city has no parent region", field="parent_code", code="bad_parent")
    else:
        parent = session.get(Region, region.parent_code or "")
        if parent is None:
            raise Invalid("Unknown parent region code", field="parent_code", code="unknown_parent")
        if LEVELS.index(parent.level) != LEVELS.index(region.level) - 1:
            raise Invalid("The parent region is not one level up", field="parent_code", code="bad_parent")
        if parent.level != "city" and not region.code.startswith(parent.code):
            raise Invalid("Code does not extend the parent's code", field="code", code="bad_code")
        if parent.level == "city" and region.code[:4] != parent.code[:4]:
            raise Invalid("Code does not extend the parent's code", field="code", code="bad_code")
    if session.get(Region, region.code) is not None:
        raise Conflict("Region code already exists", field="code", code="duplicate_code")
    row = Region(**region.model_dump())
    session.add(row)
    session.flush()
    return RegionOut.model_validate(row)


def add_regions_bulk(*, session: Session, regions: list[RegionIn]) -> int:
    """Trusted bulk insert for importers and the demo generator (validated by callers' schemas)."""
    if regions:
        session.execute(insert(Region), [r.model_dump() for r in regions])
    return len(regions)


def rename_region(*, session: Session, code: str, name: str) -> None:
    """Trusted rename for importers (the caller checked permission and recorded the audit entry)."""
    row = session.get(Region, code)
    if row is None:
        raise NotFound("Region not found", params={"code": code})
    row.name = name


def get_region(*, session: Session, code: str) -> RegionOut:
    row = session.get(Region, code)
    if row is None:
        raise NotFound("Region not found", params={"code": code})
    return RegionOut.model_validate(row)


def region_chain(*, session: Session, code: str) -> list[RegionOut]:
    """The region and its ancestors, city first."""
    chain: list[RegionOut] = []
    current = session.get(Region, code)
    while current is not None:
        chain.append(RegionOut.model_validate(current))
        current = session.get(Region, current.parent_code) if current.parent_code else None
    return list(reversed(chain))


def children(*, session: Session, code: str | None) -> list[RegionOut]:
    q = select(Region).order_by(Region.code)
    q = q.where(Region.parent_code == code) if code else q.where(Region.parent_code.is_(None))
    return [RegionOut.model_validate(r) for r in session.scalars(q)]


def regions(*, session: Session, level: str | None = None, under: str | None = None) -> list[RegionOut]:
    q = select(Region).order_by(Region.code)
    if level:
        q = q.where(Region.level == level)
    if under:
        q = q.where(Region.code.startswith(division_prefix(under)))
    return [RegionOut.model_validate(r) for r in session.scalars(q)]


def city(*, session: Session) -> RegionOut | None:
    row = session.scalars(select(Region).where(Region.level == "city").order_by(Region.code)).first()
    return RegionOut.model_validate(row) if row else None


# ---------------------------------------------------------------- departments
def _dept_out(d: Department) -> DepartmentOut:
    return DepartmentOut(
        id=d.id,
        code=d.code,
        name=d.name,
        kind=d.kind,
        region_code=d.region_code,
        active=d.active,
        serves=[r.code for r in d.serves],
    )


def add_department(*, session: Session, actor: Principal, department: DepartmentIn) -> DepartmentOut:
    authorize(actor, "admin.departments")
    if session.scalar(select(Department).where(Department.code == department.code)) is not None:
        raise Conflict("Department code already exists", field="code", code="duplicate_code")
    if session.get(Region, department.region_code) is None:
        raise Invalid("Unknown region code", field="region_code", code="unknown_region")
    serves = []
    for code in department.serves or [department.region_code]:
        r = session.get(Region, code)
        if r is None:
            raise Invalid("Unknown region code", field="serves", code="unknown_region")
        serves.append(r)
    row = Department(
        code=department.code,
        name=department.name,
        kind=department.kind,
        region_code=department.region_code,
        serves=serves,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor.actor,
        action="department.create",
        subject_type="department",
        subject_id=row.code,
        payload={"name": row.name, "kind": row.kind},
    )
    return _dept_out(row)


def departments(*, session: Session, kind: str | None = None) -> list[DepartmentOut]:
    q = select(Department).order_by(Department.code)
    if kind:
        q = q.where(Department.kind == kind)
    return [_dept_out(d) for d in session.scalars(q)]


def department_names(*, session: Session, ids: Iterable[int]) -> dict[int, str]:
    """Names of the departments `ids` in one query (a page of cases names its agencies)."""
    wanted = set(ids)
    if not wanted:
        return {}
    rows = session.execute(select(Department.id, Department.name).where(Department.id.in_(wanted)))
    return {dept_id: name for dept_id, name in rows}


def get_department(*, session: Session, code: str | None = None, id: int | None = None) -> DepartmentOut:
    row = (
        session.get(Department, id)
        if id is not None
        else session.scalar(select(Department).where(Department.code == code))
    )
    if row is None:
        raise NotFound("Department not found", params={"code": code or id})
    return _dept_out(row)


# ---------------------------------------------------------------- users
def _user_out(u: User, dept: Department | None) -> UserOut:
    return UserOut(
        id=u.id,
        username=u.username,
        display_name=u.display_name,
        roles=sorted(r.role for r in u.roles),
        department_id=u.department_id,
        department_code=dept.code if dept else None,
        department_name=dept.name if dept else None,
        region_code=u.region_code,
        phone=u.phone,
        active=u.active,
        created_at=u.created_at,
    )


def _new_user(
    session: Session,
    u: UserIn,
    *,
    where: str,
    taken: set[str],
    depts: dict[str, Department],
    regions: set[str] | None,
    hashes: dict[str, str],
) -> User:
    """Validate one user and build its row (add_user and add_users_bulk share this)."""
    bad = [r for r in u.roles if r not in ROLES]
    if bad:
        raise Invalid("Unknown role", field=f"{where}roles", code="unknown_role", details=bad)
    if u.username.lower() in taken:
        raise Conflict("User name already taken", field=f"{where}username", code="duplicate_username")
    taken.add(u.username.lower())
    if u.department_code and u.department_code not in depts:
        raise Invalid("Unknown department code", field=f"{where}department_code", code="unknown_department")
    if u.region_code and not (
        u.region_code in regions if regions is not None else session.get(Region, u.region_code)
    ):
        raise Invalid("Unknown region code", field=f"{where}region_code", code="unknown_region")
    if u.password not in hashes:
        hashes[u.password] = _hasher.hash(u.password)
    dept = depts.get(u.department_code or "")
    return User(
        username=u.username,
        display_name=u.display_name,
        password_hash=hashes[u.password],
        department_id=dept.id if dept else None,
        region_code=u.region_code,
        phone=u.phone,
        active=True,
        created_at=clock.now(),
        roles=[UserRole(role=r) for r in sorted(set(u.roles))],
    )


def add_user(*, session: Session, actor: Principal, user: UserIn) -> UserOut:
    authorize(actor, "admin.users")
    taken = {
        n.lower()
        for n in session.scalars(
            select(User.username).where(func.lower(User.username) == user.username.lower())
        )
    }
    depts = {
        d.code: d for d in session.scalars(select(Department).where(Department.code == user.department_code))
    }
    row = _new_user(session, user, where="", taken=taken, depts=depts, regions=None, hashes={})
    dept = depts.get(user.department_code or "")
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor.actor,
        action="user.create",
        subject_type="user",
        subject_id=row.username,
        payload={
            "roles": sorted(set(user.roles)),
            "department": user.department_code,
            "region": user.region_code,
        },
    )
    return _user_out(row, dept)


def add_users_bulk(*, session: Session, actor: Principal, users: list[UserIn]) -> list[Principal]:
    """Many users at once (importers, the demo city): each distinct password is hashed once.
    Validated like add_user; one audit record for the batch."""
    authorize(actor, "admin.users")
    depts = {d.code: d for d in session.scalars(select(Department))}
    taken = {u.lower() for u in session.scalars(select(User.username))}
    regions = set(session.scalars(select(Region.code)))
    hashes: dict[str, str] = {}
    rows = [
        _new_user(session, u, where=f"users[{i}].", taken=taken, depts=depts, regions=regions, hashes=hashes)
        for i, u in enumerate(users, start=1)
    ]
    session.add_all(rows)
    session.flush()
    audit.record(
        session,
        actor=actor.actor,
        action="user.create_bulk",
        subject_type="user",
        subject_id=len(rows),
        payload={"usernames": [r.username for r in rows][:2000]},
    )
    return [_principal(session, r) for r in rows]


def set_roles(*, session: Session, actor: Principal, username: str, roles: list[str]) -> UserOut:
    authorize(actor, "admin.users")
    row = session.scalar(select(User).where(User.username == username))
    if row is None:
        raise NotFound("User not found")
    bad = [r for r in roles if r not in ROLES]
    if bad or not roles:
        raise Invalid("Unknown role", field="roles", code="unknown_role", details=bad)
    before = sorted(r.role for r in row.roles)
    row.roles = [UserRole(role=r) for r in sorted(set(roles))]
    session.flush()
    audit.record(
        session,
        actor=actor.actor,
        action="user.roles",
        subject_type="user",
        subject_id=username,
        payload={"before": before, "after": sorted(set(roles))},
    )
    return _user_out(row, session.get(Department, row.department_id) if row.department_id else None)


def set_active(*, session: Session, actor: Principal, username: str, active: bool) -> None:
    authorize(actor, "admin.users")
    row = session.scalar(select(User).where(User.username == username))
    if row is None:
        raise NotFound("User not found")
    row.active = active
    if not active:
        session.execute(delete(LoginSession).where(LoginSession.user_id == row.id))
    audit.record(
        session,
        actor=actor.actor,
        action="user.activate" if active else "user.deactivate",
        subject_type="user",
        subject_id=username,
    )


def users(
    *,
    session: Session,
    role: str | None = None,
    department_id: int | None = None,
    region_prefix: str | None = None,
    limit: int = 500,
    offset: int = 0,
) -> list[UserOut]:
    q = select(User).order_by(User.id)
    if role:
        q = q.where(User.id.in_(select(UserRole.user_id).where(UserRole.role == role)))
    if department_id is not None:
        q = q.where(User.department_id == department_id)
    if region_prefix:
        q = q.where(User.region_code.startswith(division_prefix(region_prefix)))
    rows = session.scalars(q.limit(limit).offset(offset)).all()
    depts = {d.id: d for d in session.scalars(select(Department))}
    return [_user_out(u, depts.get(u.department_id or -1)) for u in rows]


def people(*, session: Session, usernames: Iterable[str]) -> dict[str, tuple[str, tuple[str, ...]]]:
    """Display name and roles by username, in one query, for pages that show who did what (a
    timeline names its actors `user:<username>`); usernames not found are left out."""
    wanted = sorted({u for u in usernames if u})
    if not wanted:
        return {}
    rows = session.execute(
        select(User.username, User.display_name, UserRole.role)
        .outerjoin(UserRole, UserRole.user_id == User.id)
        .where(User.username.in_(wanted))
        .order_by(User.username, UserRole.role)
    ).all()
    out: dict[str, tuple[str, tuple[str, ...]]] = {}
    for username, name, role in rows:
        shown, roles = out.get(username, (name or username, ()))
        out[username] = (shown, roles + ((role,) if role else ()))
    return out


def get_user(*, session: Session, username: str | None = None, id: int | None = None) -> UserOut:
    row = (
        session.get(User, id)
        if id is not None
        else session.scalar(select(User).where(User.username == username))
    )
    if row is None:
        raise NotFound("User not found")
    return _user_out(row, session.get(Department, row.department_id) if row.department_id else None)


def _principal(session: Session, u: User, csrf: str | None = None) -> Principal:
    dept = session.get(Department, u.department_id) if u.department_id else None
    return Principal(
        kind="user",
        id=u.id,
        username=u.username,
        display_name=u.display_name,
        roles=frozenset(r.role for r in u.roles),
        department_id=u.department_id,
        department_code=dept.code if dept else None,
        department_name=dept.name if dept else None,
        region_code=u.region_code,
        csrf_token=csrf,
        locale=u.locale,
    )


def principal_for(*, session: Session, username: str) -> Principal:
    """The principal of a user, for jobs and tests acting on someone's behalf."""
    row = session.scalar(select(User).where(User.username == username))
    if row is None:
        raise NotFound("User not found")
    return _principal(session, row)


# ---------------------------------------------------------------- self-registration
REGISTRATIONS_PER_HOUR = 5


def register_citizen(*, session: Session, user: UserIn, ip: str | None) -> UserOut:
    """A member of the public registers (the open-data portal): role citizen only, no department or
    region, and at most REGISTRATIONS_PER_HOUR accounts per network address per hour."""
    if list(user.roles) != ["citizen"] or user.department_code or user.region_code:
        raise Invalid(
            "Self-registration creates citizen accounts only", field="roles", code="bad_registration"
        )
    now = clock.now()
    key = f"register:{ip or 'unknown'}"[:60]
    if not _count_attempt(session, key=key, limit=REGISTRATIONS_PER_HOUR, window=timedelta(hours=1)):
        raise TooManyRequests(
            "Too many registrations from this address; try again later", code="rate_limited"
        )
    session.add(LoginAttempt(username=key, ip=ip, at=now, success=True))
    return add_user(session=session, actor=SYSTEM, user=user)


# ---------------------------------------------------------------- login
_COUNTERS = cast(Table, LoginCounter.__table__)  # Core statements: no ORM bookkeeping for a counter


def _count_attempt(session: Session, *, key: str, limit: int, window: timedelta) -> bool:
    """Count one attempt for `key`; False when `limit` were already counted in the window.
    Count and check are one statement on a locked row, so parallel attempts cannot overtake it."""
    now = clock.now()
    insert_ = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(
        insert_(_COUNTERS)
        .values(key=key, count=0, window_start=now)
        .on_conflict_do_nothing(index_elements=["key"])
    )
    stale = LoginCounter.window_start <= now - window
    count = session.scalar(
        update(_COUNTERS)
        .where(LoginCounter.key == key)
        .values(
            count=case((stale, 1), else_=LoginCounter.count + 1),
            window_start=case((stale, literal(now, UTCDateTime())), else_=LoginCounter.window_start),
        )
        .returning(LoginCounter.count)
    )
    return (count or 0) <= limit


def authenticate(*, session: Session, username: str, password: str, ip: str | None = None) -> Principal:
    now = clock.now()
    name = username.strip().lower()[:60]
    if not _count_attempt(session, key=name, limit=MAX_FAILURES, window=FAILURE_WINDOW):
        raise TooManyRequests("Too many failed logins; try again later", code="rate_limited")
    row = session.scalar(select(User).where(func.lower(User.username) == name))
    ok = False
    try:
        ok = _hasher.verify(row.password_hash if row and row.password_hash else _DUMMY_HASH, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        ok = False
    ok = ok and row is not None and row.active
    session.add(LoginAttempt(username=name, ip=ip, at=now, success=ok))
    if not ok or row is None:
        audit.record(
            session,
            actor=f"user:{name}",
            action="login.failed",
            subject_type="user",
            subject_id=name,
            payload={"ip": ip},
        )
        raise Unauthorized("Wrong user name or password", code="invalid_credentials")
    session.execute(update(_COUNTERS).where(LoginCounter.key == name).values(count=0))
    if _hasher.check_needs_rehash(row.password_hash or ""):
        row.password_hash = _hasher.hash(password)
    audit.record(
        session,
        actor=f"user:{row.username}",
        action="login",
        subject_type="user",
        subject_id=row.username,
        payload={"ip": ip},
    )
    return _principal(session, row)


def start_session(
    *, session: Session, user_id: int, hours: int = 12, ip: str | None = None
) -> tuple[str, str]:
    """Returns (session token for the cookie, CSRF token). Only the token's hash is stored."""
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(24)
    now = clock.now()
    session.add(
        LoginSession(
            token_hash=_sha(token),
            user_id=user_id,
            csrf_token=csrf,
            created_at=now,
            expires_at=now + timedelta(hours=hours),
            ip=ip,
        )
    )
    session.flush()
    return token, csrf


def principal_from_session(*, session: Session, token: str) -> Principal | None:
    row = session.get(LoginSession, _sha(token))
    if row is None or row.expires_at <= clock.now():
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        return None
    return _principal(session, user, csrf=row.csrf_token)


def end_session(*, session: Session, token: str) -> None:
    row = session.get(LoginSession, _sha(token))
    if row is not None:
        user = session.get(User, row.user_id)
        session.delete(row)
        audit.record(
            session,
            actor=f"user:{user.username if user else row.user_id}",
            action="logout",
            subject_type="user",
            subject_id=user.username if user else "",
        )


def change_password(*, session: Session, actor: Principal, old: str, new: str) -> None:
    row = session.get(User, actor.id)
    if row is None:
        raise NotFound("User not found")
    try:
        _hasher.verify(row.password_hash or _DUMMY_HASH, old)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        raise Invalid("The current password is wrong", field="old", code="wrong_password") from None
    if len(new) < 8:
        raise Invalid("A password needs at least 8 characters", field="new", code="weak_password")
    row.password_hash = _hasher.hash(new)
    audit.record(
        session, actor=actor.actor, action="user.password", subject_type="user", subject_id=row.username
    )


# ---------------------------------------------------------------- API tokens
def _token_out(t: ApiToken, dept_code: str | None) -> TokenOut:
    return TokenOut(
        id=t.id,
        client=t.client,
        prefix=t.prefix,
        scopes=list(t.scopes),
        department_code=dept_code,
        created_at=t.created_at,
        expires_at=t.expires_at,
        revoked_at=t.revoked_at,
        last_used_at=t.last_used_at,
        created_by=t.created_by,
    )


def create_token(
    *,
    session: Session,
    actor: Principal,
    client: str,
    scopes: list[str],
    department_code: str | None = None,
    days: int | None = 365,
) -> NewToken:
    authorize(actor, "admin.tokens")
    if not client.strip():
        raise Invalid("A client name is required", field="client", code="client_required")
    if not scopes:
        raise Invalid("At least one scope is required", field="scope", code="scope_required")
    bad = [s for s in scopes if not s.replace("_", "").replace(".", "").replace(":", "").isalnum()]
    if bad:
        raise Invalid("Malformed scope", field="scope", code="bad_scope", details=bad)
    dept = None
    if department_code:
        dept = session.scalar(select(Department).where(Department.code == department_code))
        if dept is None:
            raise Invalid("Unknown department code", field="department", code="unknown_department")
    prefix = secrets.token_hex(4)
    secret = secrets.token_urlsafe(32)
    token = f"{TOKEN_PREFIX}{prefix}_{secret}"
    now = clock.now()
    row = ApiToken(
        client=client.strip(),
        prefix=prefix,
        token_hash=_sha(token),
        scopes=sorted(set(scopes)),
        department_id=dept.id if dept else None,
        created_at=now,
        expires_at=now + timedelta(days=days) if days else None,
        created_by=actor.username,
        meta={},
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor.actor,
        action="token.create",
        subject_type="token",
        subject_id=prefix,
        payload={"client": row.client, "scopes": row.scopes, "department": department_code},
    )
    return NewToken(token=token, info=_token_out(row, department_code))


def verify_token(*, session: Session, token: str, record_use: bool = True) -> Principal | None:
    if not token.startswith(TOKEN_PREFIX) or token.count("_") < 2:
        return None
    prefix = token[len(TOKEN_PREFIX) :].split("_", 1)[0]
    row = session.scalar(select(ApiToken).where(ApiToken.prefix == prefix))
    now = clock.now()
    if row is None or not secrets.compare_digest(row.token_hash, _sha(token)):
        return None
    if row.revoked_at is not None or (row.expires_at is not None and row.expires_at <= now):
        return None
    if record_use:
        _record_use(session, row, now)
    dept = session.get(Department, row.department_id) if row.department_id else None
    return Principal(
        kind="token",
        id=row.id,
        username=row.client,
        display_name=row.client,
        scopes=frozenset(row.scopes),
        department_id=row.department_id,
        department_code=dept.code if dept else None,
        department_name=dept.name if dept else None,
        region_code=dept.region_code if dept else None,
    )


def token_use_due(*, session: Session, token: str) -> bool:
    row = session.scalar(
        select(ApiToken).where(ApiToken.prefix == token[len(TOKEN_PREFIX) :].split("_", 1)[0])
    )
    return row is not None and (
        row.last_used_at is None or clock.now() - row.last_used_at > timedelta(minutes=1)
    )


def record_token_use(*, session: Session, token: str) -> None:
    """For read-only requests: record the token's use in a separate, short unit of work."""
    row = session.scalar(
        select(ApiToken).where(ApiToken.prefix == token[len(TOKEN_PREFIX) :].split("_", 1)[0])
    )
    if row is not None:
        _record_use(session, row, clock.now())


def _record_use(session: Session, row: ApiToken, now: datetime) -> None:
    # Coarse on purpose: a busy client writes (and joins the audit chain) once a minute, not on
    # every call; modules audit their own data calls in full.
    if row.last_used_at is None or now - row.last_used_at > timedelta(minutes=1):
        row.last_used_at = now
        audit.record(
            session,
            actor=f"token:{row.client}",
            action="token.use",
            subject_type="token",
            subject_id=row.prefix,
            payload={"scopes": list(row.scopes)},
        )


def revoke_token(*, session: Session, actor: Principal, prefix: str) -> TokenOut:
    authorize(actor, "admin.tokens")
    row = session.scalar(select(ApiToken).where(ApiToken.prefix == prefix))
    if row is None:
        raise NotFound("Token not found")
    if row.revoked_at is None:
        row.revoked_at = clock.now()
        audit.record(
            session,
            actor=actor.actor,
            action="token.revoke",
            subject_type="token",
            subject_id=prefix,
            payload={"client": row.client},
        )
    dept = session.get(Department, row.department_id) if row.department_id else None
    return _token_out(row, dept.code if dept else None)


def tokens(*, session: Session) -> list[TokenOut]:
    depts = {d.id: d.code for d in session.scalars(select(Department))}
    return [
        _token_out(t, depts.get(t.department_id or -1))
        for t in session.scalars(select(ApiToken).order_by(ApiToken.id.desc()))
    ]


def token_used(*, session: Session, principal: Principal, action: str, subject: str) -> None:
    """Token use is part of the audit trail; modules call this (or record their own richer row)."""
    audit.record(
        session, actor=principal.actor, action=f"token.use:{action}", subject_type="token", subject_id=subject
    )
