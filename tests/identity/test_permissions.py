from __future__ import annotations

import pytest

from cityos.core.errors import Forbidden, Unauthorized
from cityos.identity.permissions import authorize, region_in_scope
from cityos.identity.schemas import Principal


def p(**kw):  # type: ignore[no-untyped-def]
    base = {"kind": "user", "id": 1, "username": "u"}
    base.update(kw)
    return Principal(**base)


def test_region_scope_nests_by_division_code():
    gw = p(roles=frozenset({"grid_worker"}), region_code="37130200100101")
    assert region_in_scope(gw, "37130200100101")
    assert not region_in_scope(gw, "37130200100102")
    inspector = p(roles=frozenset({"inspector"}), region_code="371302")
    assert region_in_scope(inspector, "37130200100102")
    assert not region_in_scope(inspector, "371311001001")
    assert region_in_scope(p(roles=frozenset({"leader"}), region_code="371302"), "371311")


def test_authorize_checks_role_department_and_region():
    d = p(roles=frozenset({"dispatcher"}), region_code="371302", department_id=2)
    authorize(d, "geo.view", region_code="371302001", department_id=2)
    with pytest.raises(Forbidden):
        authorize(d, "admin.users")
    with pytest.raises(Forbidden) as e:
        authorize(d, "geo.view", region_code="371311")
    assert e.value.code == "out_of_region"
    with pytest.raises(Forbidden) as e:
        authorize(d, "geo.view", department_id=3)
    assert e.value.code == "out_of_department"
    with pytest.raises(Unauthorized):
        authorize(Principal(kind="anonymous"), "geo.view")


def test_token_permissions_come_from_scopes():
    t = Principal(kind="token", id=1, username="sys", scopes=frozenset({"geo"}))
    authorize(t, "geo.view")
    with pytest.raises(Forbidden):
        authorize(t, "admin.users")


def test_a_city_level_scope_covers_its_districts():
    from cityos.identity.schemas import division_prefix, within

    assert division_prefix("371300") == "3713" and division_prefix("370000") == "37"
    assert division_prefix("371310") == "371310" and division_prefix("371302001") == "371302001"
    assert within("371302001001", "371300") and not within("370102", "371300")
    d = p(roles=frozenset({"dispatcher"}), region_code="371300")
    assert region_in_scope(d, "37130200100101") and not region_in_scope(d, "37010200100101")
