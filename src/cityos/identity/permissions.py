"""The one permission check: role (or token scope) + department scope + region scope.

Every route declares what it needs with `Require("perm")`; services call `authorize()` for the
object-level part (is this case in your region? is this resource your department's?).
Feature modules add their permissions to ROLE_PERMISSIONS from their own permissions.py with
`grant()`, so this table stays the single source the admin pages and docs read.
"""

from __future__ import annotations

from collections import defaultdict

from cityos.core.errors import Forbidden, Unauthorized
from cityos.identity.schemas import ROLES, Principal, within

# Roles whose region scope is the whole city whatever region they are attached to.
CITYWIDE_ROLES = frozenset({"admin", "data_bureau", "leader"})
# Roles that act across departments.
CROSS_DEPARTMENT_ROLES = frozenset({"admin", "data_bureau"})

ROLE_PERMISSIONS: dict[str, set[str]] = defaultdict(set)
ROLE_PERMISSIONS.update(
    {
        "admin": {
            "admin.regions",
            "admin.departments",
            "admin.users",
            "admin.tokens",
            "admin.calendar",
            "audit.read",
            "geo.view",
            "geo.import",
        },
        "data_bureau": {"admin.departments", "audit.read", "geo.view", "admin.tokens"},
        "data_steward": {"geo.view"},
        "dispatcher": {"geo.view"},
        "inspector": {"geo.view"},
        "grid_worker": {"geo.view"},
        "handler": {"geo.view"},
        "leader": {"geo.view", "audit.read"},
        "citizen": set(),
    }
)
# What an API token scope allows (scopes are coarse; the department on the token narrows them).
SCOPE_PERMISSIONS: dict[str, set[str]] = defaultdict(set)
SCOPE_PERMISSIONS.update({"geo": {"geo.view"}, "admin": {"admin.regions", "admin.departments"}})


def grant(role: str, *perms: str) -> None:
    if role not in ROLES:
        raise ValueError(f"unknown role {role}")
    ROLE_PERMISSIONS[role].update(perms)


def grant_scope(scope: str, *perms: str) -> None:
    SCOPE_PERMISSIONS[scope].update(perms)


def permissions_of(p: Principal) -> set[str]:
    if p.kind == "token":
        out: set[str] = set()
        for s in p.scopes:
            out |= SCOPE_PERMISSIONS.get(s, set())
        return out
    out = set()
    for r in p.roles:
        out |= ROLE_PERMISSIONS.get(r, set())
    return out


def has(p: Principal, perm: str) -> bool:
    return perm in permissions_of(p)


def region_in_scope(p: Principal, region_code: str | None) -> bool:
    """Division codes nest by prefix: 371302 ⊃ 371302001 ⊃ 371302001001 ⊃ 37130200100101."""
    if region_code is None:
        return True
    if p.kind == "user" and p.roles & CITYWIDE_ROLES:
        return True
    if not p.region_code:
        return p.kind == "token" or bool(p.roles & CITYWIDE_ROLES)
    return within(region_code, p.region_code)


def department_in_scope(p: Principal, department_id: int | None) -> bool:
    if department_id is None:
        return True
    if p.kind == "user" and p.roles & CROSS_DEPARTMENT_ROLES:
        return True
    return p.department_id == department_id


def authorize(
    p: Principal, perm: str, *, region_code: str | None = None, department_id: int | None = None
) -> Principal:
    """Raise unless `p` holds `perm` and the object lies in p's region and department scope."""
    if not p.is_authenticated:
        raise Unauthorized("Please log in first", code="login_required")
    if not has(p, perm):
        raise Forbidden("You do not have permission for this action", params={"perm": perm})
    if not region_in_scope(p, region_code):
        raise Forbidden("This region is outside your scope", code="out_of_region")
    if not department_in_scope(p, department_id):
        raise Forbidden("This belongs to another department", code="out_of_department")
    return p
