"""Placing a case filed with an address only: the dispatcher reads the address and moves the case
down the region tree (city → district → street → community → grid), one level or several at a
time. The case then shows in that region's lists and scopes (a street's dispatcher, the grid's
worker), and its dispatch suggestion follows the dispatch rules of the new region.

Only before dispatch (reported, filed): a case already with a department is returned first. Each
move is a timeline entry (`place`, with the region before and after and the department the rules
now suggest) and an audit record, under the case's version (409 stale_case when someone acted
meanwhile).
"""

from __future__ import annotations

from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from cityos.cases.queries import _out, visible_case
from cityos.cases.record import _timeline
from cityos.cases.routing import route
from cityos.cases.schemas import CaseOut
from cityos.core import audit
from cityos.core.errors import Conflict, Forbidden, Invalid, NotFound
from cityos.geo import service as geo
from cityos.identity import service as identity
from cityos.identity.permissions import authorize, region_in_scope
from cityos.identity.schemas import Principal, within

PLACE_STATES = ("reported", "filed")


def region_choices(*, session: Session, actor: Principal, case_id: int) -> list[tuple[str, str]]:
    """(code, name) of the regions one level below the case's region that the actor may move it
    to: the streets of a district, the communities of a street, the grids of a community (and of a
    street or district that has no finer regions recorded). [] when it is in a grid already or
    may not be moved."""
    authorize(actor, "cases.dispatch")
    case = visible_case(session, actor, case_id)
    if case.grid_code or case.state not in PLACE_STATES:
        return []
    kids = [(r.code, r.name) for r in identity.children(session=session, code=case.region_code)]
    if not kids:
        codes = sorted(geo.grid_polygons(session=session, under=case.region_code))
        names = geo.grid_names(session=session, codes=codes)
        kids = [(c, names[c]) for c in codes]
    return [(c, n) for c, n in kids if region_in_scope(actor, c)]


def _name(session: Session, code: str) -> str | None:
    """A region's name, or a grid's; None when neither exists."""
    try:
        return identity.get_region(session=session, code=code).name
    except NotFound:
        if code not in geo.grid_polygons(session=session, under=code):
            return None
        return geo.grid_names(session=session, codes=[code])[code]


def place_case(
    *,
    session: Session,
    actor: Principal,
    case_id: int,
    region_code: str,
    expected_version: int | None = None,
) -> CaseOut:
    """Move a case filed with an address only to a finer region inside its current one (a grid
    sets its grid too). Refused: a region outside the case's (422 not_finer), unknown (422
    unknown_region), outside the actor's scope (403), after dispatch (409 bad_state)."""
    authorize(actor, "cases.dispatch")
    case = visible_case(session, actor, case_id)
    if expected_version is not None and expected_version != case.version:
        raise Conflict("The case was changed by someone else; reload it", code="stale_case")
    if case.state not in PLACE_STATES:
        raise Conflict(
            "A case is placed before it is dispatched", code="bad_state", params={"state": case.state}
        )
    code = region_code.strip()
    if case.grid_code or code == case.region_code or not within(code, case.region_code):
        raise Invalid(
            "Choose a region inside the case's current region", field="region_code", code="not_finer"
        )
    name = _name(session, code) if code.isdigit() and len(code) <= 14 else None
    if name is None:
        raise Invalid("Unknown region", field="region_code", code="unknown_region")
    if not region_in_scope(actor, code):
        raise Forbidden("This region is outside your scope", code="out_of_region")
    before = case.region_code
    case.region_code = code
    if code in geo.grid_polygons(session=session, under=code):
        case.grid_code = code
    suggested = route(session=session, category_code=case.category_code, region_code=code)
    data = {
        "from_region": before,
        "to_region": code,
        "region_name": name,
        "suggested": suggested,
        "suggested_name": identity.get_department(session=session, code=suggested).name,
    }
    _timeline(session, case, actor, "place", case.state, case.state, "", data)
    try:
        session.flush()
    except StaleDataError:
        raise Conflict("The case was changed by someone else; reload it", code="stale_case") from None
    audit.record(
        session,
        actor=actor.actor,
        action="case.place",
        subject_type="case",
        subject_id=case.number,
        payload=data,
    )
    return _out(session, case)
