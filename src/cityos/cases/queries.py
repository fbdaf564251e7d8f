"""The read side of cases: DTOs, one case, its timeline, lists (scope in SQL, keyset pages),
duplicate candidates, the reporter's own cases, the public view, and the taxonomy's categories."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, union_all
from sqlalchemy.orm import Session

from cityos.cases import flows
from cityos.cases.deadlines import _light
from cityos.cases.models import Case, CaseCategory, CaseEvent
from cityos.cases.schemas import (
    CaseList,
    CaseOut,
    CategoryOut,
    TimelineEntry,
)
from cityos.core import calendar, clock
from cityos.core.errors import Forbidden, Invalid, NotFound
from cityos.geo import service as geo
from cityos.identity import service as identity
from cityos.identity.permissions import authorize, department_in_scope, region_in_scope
from cityos.identity.schemas import Principal


def categories(*, session: Session, active_only: bool = True) -> list[CategoryOut]:
    q = select(CaseCategory).order_by(CaseCategory.code)
    if active_only:
        q = q.where(CaseCategory.active.is_(True))
    return [CategoryOut.model_validate(c) for c in session.scalars(q)]


def category_exists(*, session: Session, code: str) -> bool:
    """Is `code` an active 小类 (one primary-key read, kept in the session for the report)."""
    c = session.get(CaseCategory, code)
    return c is not None and c.active


def _category(session: Session, code: str) -> CaseCategory:
    c = session.get(CaseCategory, code)
    if c is None or not c.active:
        raise Invalid(
            "Unknown case category", field="category_code", code="unknown_category", params={"code": code}
        )
    return c


def _category_names(session: Session, codes: set[str]) -> dict[str, str]:
    """Category names for a page of cases in one query (categories already loaded cost none)."""
    names: dict[str, str] = {}
    missing = set()
    for code in codes:
        cat = session.identity_map.get(session.identity_key(CaseCategory, code))
        if isinstance(cat, CaseCategory):
            names[code] = cat.name
        else:
            missing.add(code)
    if missing:
        for code, name in session.execute(
            select(CaseCategory.code, CaseCategory.name).where(CaseCategory.code.in_(missing))
        ):
            names[code] = name
    return names


def _outs(session: Session, cases: list[Case] | tuple[Case, ...] | Any) -> list[CaseOut]:
    """Cases as DTOs: the category names in one query, one clock reading and one calendar for the
    whole page's traffic lights."""
    cases = list(cases)
    if not cases:
        return []
    names = _category_names(session, {c.category_code for c in cases})
    now, cal = clock.now(), calendar.get_calendar(session)
    return [_dto(c, names.get(c.category_code, ""), now, cal) for c in cases]


def _out(session: Session, case: Case) -> CaseOut:
    return _outs(session, [case])[0]


def _dto(case: Case, category_name: str, now: datetime, cal: calendar.WorkingCalendar) -> CaseOut:
    return CaseOut(
        id=case.id,
        number=case.number,
        category_code=case.category_code,
        category_name=category_name,
        channel=case.channel,
        state=case.state,
        urgency=case.urgency,
        description=case.description,
        address=case.address,
        lon=case.lon,
        lat=case.lat,
        grid_code=case.grid_code,
        region_code=case.region_code,
        department_id=case.department_id,
        reported_at=case.reported_at,
        stage_started_at=case.stage_started_at,
        deadline=case.deadline,
        closed_at=case.closed_at,
        closed_on_time=case.closed_on_time,
        escalation_level=case.escalation_level,
        rework_count=case.rework_count,
        return_count=case.return_count,
        version=case.version,
        satisfaction=case.satisfaction,
        light=_light(case, now, cal),
    )


def get_case(*, session: Session, actor: Principal, case_id: int) -> CaseOut:
    case = session.get(Case, case_id)
    if case is None:
        raise NotFound("Case not found", params={"id": case_id})
    _check_view(actor, case)
    return _out(session, case)


def timeline(*, session: Session, actor: Principal, case_id: int) -> list[TimelineEntry]:
    case = session.get(Case, case_id)
    if case is None:
        raise NotFound("Case not found", params={"id": case_id})
    _check_view(actor, case)
    rows = session.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id))
    return [TimelineEntry.model_validate(r) for r in rows]


def _check_view(actor: Principal, case: Case) -> None:
    if actor.kind == "user" and actor.id is not None and case.reporter_user_id == actor.id:
        return  # reporters always see their own cases
    authorize(actor, "cases.view")
    if "handler" in actor.roles and not actor.roles & {
        "dispatcher",
        "inspector",
        "grid_worker",
        "leader",
        "admin",
    }:
        if not department_in_scope(actor, case.department_id):
            raise Forbidden("This belongs to another department", code="out_of_department")
        return
    if not region_in_scope(actor, case.region_code):
        raise Forbidden("This region is outside your scope", code="out_of_region")


# ---------------------------------------------------------------- lists (scope applied in SQL)
COUNT_CAP = 10_000  # lists count up to this many cases, then say "at least"
_DIGITS = frozenset("0123456789")


def _code_prefix(column: Any, prefix: str, ranges: bool = True) -> Any:
    """`column` starts with the division-code prefix, as an index range: LIKE 'p%' uses no index on
    SQLite (case-insensitive LIKE) nor on PostgreSQL outside the C collation. Codes are digits, and
    digit strings sort the same in every collation, so p <= code < p' (p with its last non-9 digit
    raised) holds the codes starting with p; the LIKE stays as the exact test."""
    like = column.startswith(prefix, autoescape=True)
    if not ranges or not prefix or not set(prefix) <= _DIGITS:
        return like
    head = prefix.rstrip("9")
    if not head:
        return and_(column >= prefix, like)
    upper = head[:-1] + str(int(head[-1]) + 1)
    return and_(column >= prefix, column < upper, like)


def encode_cursor(case: CaseOut) -> str:
    """The keyset cursor after `case` in the list's order (newest first): reported_at in
    microseconds since the epoch, and the id."""
    at = case.reported_at
    micros = (at - _EPOCH) // timedelta(microseconds=1)
    return f"{micros}.{case.id}"


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        micros, case_id = cursor.split(".")
        return _EPOCH + timedelta(microseconds=int(micros)), int(case_id)
    except (ValueError, OverflowError):
        raise Invalid("Not a cursor of this list", field="after", code="bad_cursor") from None


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def list_cases(
    *,
    session: Session,
    actor: Principal,
    state: str | None = None,
    states: tuple[str, ...] | None = None,
    category_code: str | None = None,
    channel: str | None = None,
    region: str | None = None,
    department_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    numbers: list[str] | None = None,
    limit: int = 50,
    offset: int = 0,
    after: str | None = None,
    count_cap: int | None = COUNT_CAP,
) -> CaseList:
    """Cases the actor may see, newest first (reported_at, then id). Forbidden rows never load: the
    region and department scope are part of the query.

    Pages: `after` (the previous page's `next_after`) continues by keyset, which costs the same on
    every page; `offset` still works. The total is counted up to `count_cap` cases (None: exact,
    0: not counted — `total` is then the page's length and not exact)."""
    from cityos.identity.permissions import CITYWIDE_ROLES
    from cityos.identity.schemas import division_prefix

    authorize(actor, "cases.view")

    def where(ranges: bool) -> list[Any]:
        """The list's filters; `ranges` adds the index ranges of the region prefixes."""
        conds: list[Any] = []
        if actor.kind == "user" and not actor.roles & CITYWIDE_ROLES:
            if actor.roles <= {"handler"} and actor.department_id is not None:
                conds.append(Case.department_id == actor.department_id)
            elif actor.region_code:
                conds.append(_code_prefix(Case.region_code, division_prefix(actor.region_code), ranges))
        elif actor.kind == "token" and actor.region_code:
            conds.append(
                or_(
                    _code_prefix(Case.region_code, division_prefix(actor.region_code), ranges),
                    Case.department_id == actor.department_id,
                )
            )
        if state:
            conds.append(Case.state == state)
        if states:
            conds.append(Case.state.in_(states))
        if category_code:
            conds.append(Case.category_code == category_code)
        if channel:
            conds.append(Case.channel == channel)
        if region:
            conds.append(_code_prefix(Case.region_code, division_prefix(region), ranges))
        if department_id is not None:
            conds.append(Case.department_id == department_id)
        if since:
            conds.append(Case.reported_at >= since)
        if until:
            conds.append(Case.reported_at <= until)
        if numbers:
            conds.append(Case.number.in_(numbers))
        return conds

    cursor: list[Any] = []
    if after:
        at, last_id = decode_cursor(after)
        # the redundant reported_at <= at lets every backend range-scan the index
        cursor = [
            Case.reported_at <= at,
            or_(Case.reported_at < at, and_(Case.reported_at == at, Case.id < last_id)),
        ]
        offset = 0
    newest = (Case.reported_at.desc(), Case.id.desc())
    wanted = (state,) if state else tuple(dict.fromkeys(states or ()))
    if wanted:
        # One index range (state, reported_at) per state, merged: neither backend walks an IN list
        # in index order, and sorting every case of a queue costs far more than its first page.
        # SQLite plans without statistics and would take a region range for selective and sort,
        # so its branches filter the region without the range.
        conds = where(ranges=session.get_bind().dialect.name != "sqlite") + cursor
        branches = [
            select(Case.id, Case.reported_at)
            .where(*conds, Case.state == st)
            .order_by(*newest)
            .limit(limit + 1 + offset)
            .subquery()
            for st in wanted
        ]
        merged = union_all(*(select(b.c.id, b.c.reported_at) for b in branches)).subquery()
        ids = (
            select(merged.c.id)
            .order_by(merged.c.reported_at.desc(), merged.c.id.desc())
            .limit(limit + 1)
            .offset(offset)
        )
        rows = session.scalars(select(Case).where(Case.id.in_(ids)).order_by(*newest)).all()
    else:
        page = select(Case).where(*where(ranges=True), *cursor).order_by(*newest)
        rows = session.scalars(page.limit(limit + 1).offset(offset)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    items = _outs(session, rows)
    if not after and not more and (items or offset == 0):
        total, exact = offset + len(items), True  # the list ends on this page: nothing to count
    elif count_cap == 0:
        total, exact = len(items), False
    else:
        counted = select(Case.id).where(*where(ranges=True))
        if count_cap is not None:
            counted = counted.limit(count_cap + 1)
        total = session.scalar(select(func.count()).select_from(counted.subquery())) or 0
        exact = count_cap is None or total <= count_cap
        total = min(total, count_cap) if count_cap is not None else total
    return CaseList(
        items=items,
        total=int(total),
        total_exact=exact,
        next_after=encode_cursor(items[-1]) if more and items else None,
    )


def find_by_number(*, session: Session, actor: Principal, number: str) -> CaseOut:
    row = session.scalar(select(Case).where(Case.number == number))
    if row is None:
        raise NotFound("Case not found", params={"id": number})
    _check_view(actor, row)
    return _out(session, row)


def updates_since(
    *, session: Session, actor: Principal, since: datetime, until: datetime, limit: int = 1000
) -> list[tuple[TimelineEntry, str, int]]:
    """Timeline entries in a time window (for the Open311 update feed): (entry, case number, entry id)."""
    authorize(actor, "cases.view")
    rows = session.execute(
        select(CaseEvent, Case.number)
        .join(Case, Case.id == CaseEvent.case_id)
        .where(CaseEvent.at >= since, CaseEvent.at <= until)
        .order_by(CaseEvent.id)
        .limit(limit)
    ).all()
    return [(TimelineEntry.model_validate(ev), number, ev.id) for ev, number in rows]


def last_notes(*, session: Session, case_ids: list[int]) -> dict[int, tuple[str, datetime | None]]:
    """Each case's latest timeline note and time, for a page of cases in one query."""
    if not case_ids:
        return {}
    latest = select(func.max(CaseEvent.id)).where(CaseEvent.case_id.in_(case_ids)).group_by(CaseEvent.case_id)
    rows = session.execute(
        select(CaseEvent.case_id, CaseEvent.note, CaseEvent.at).where(CaseEvent.id.in_(latest))
    )
    return {case_id: (note, at) for case_id, note, at in rows}


def last_note(*, session: Session, case_id: int) -> tuple[str, datetime | None]:
    ev = session.scalars(
        select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id.desc()).limit(1)
    ).first()
    return (ev.note, ev.at) if ev else ("", None)


def duplicate_candidates(*, session: Session, actor: Principal, case_id: int) -> list[tuple[CaseOut, float]]:
    """Earlier open cases of the same or a related 小类 (same 大类 of the same class) within the
    category's duplicate radius and time window: the dispatcher's merge suggestions, same 小类 first,
    then nearest."""
    from datetime import timedelta

    case = session.get(Case, case_id)
    if case is None:
        raise NotFound("Case not found", params={"id": case_id})
    _check_view(actor, case)
    if case.lon is None or case.lat is None:
        return []
    cat = _category(session, case.category_code)
    deg = cat.duplicate_radius_m / 90_000.0  # a generous box; the exact test is the haversine below
    rows = session.scalars(
        select(Case).where(
            Case.id != case.id,
            Case.category_code.startswith(case.category_code[:3]),
            Case.state.in_(flows.OPEN_STATES),
            Case.duplicate_of.is_(None),
            Case.reported_at >= case.reported_at - timedelta(hours=cat.duplicate_window_h),
            Case.reported_at <= case.reported_at,
            Case.lon.between(case.lon - deg * 1.3, case.lon + deg * 1.3),
            Case.lat.between(case.lat - deg, case.lat + deg),
        )
    ).all()
    out = []
    for other in rows:
        d = geo.distance_m(case.lon, case.lat, other.lon or 0.0, other.lat or 0.0)
        if d <= cat.duplicate_radius_m:
            out.append((_out(session, other), round(d, 1)))
    return sorted(out, key=lambda x: (x[0].category_code != case.category_code, x[1], x[0].id))


def my_reports(*, session: Session, actor: Principal, limit: int = 100) -> list[CaseOut]:
    """The cases a person reported (citizens see their own cases' progress)."""
    if actor.kind != "user" or actor.id is None:
        return []
    rows = session.scalars(
        select(Case).where(Case.reporter_user_id == actor.id).order_by(Case.reported_at.desc()).limit(limit)
    ).all()
    return _outs(session, rows)


def public_view(*, session: Session, number: str) -> tuple[CaseOut, list[TimelineEntry], list[str]]:
    """What anyone with the case number may see: no reporter, no contact, no people's names, no exact
    coordinates; the region chain down to the street."""
    row = session.scalar(select(Case).where(Case.number == number))
    if row is None:
        raise NotFound("Case not found", params={"id": number})
    out = _out(session, row).model_copy(update={"lon": None, "lat": None, "grid_code": None})
    events_ = [
        TimelineEntry.model_validate(e).model_copy(
            update={
                "actor": "",
                "data": {},
                "note": e.note if e.action in ("report_back", "reject", "suspend") else "",
            }
        )
        for e in session.scalars(select(CaseEvent).where(CaseEvent.case_id == row.id).order_by(CaseEvent.id))
    ]
    chain = [
        r.name
        for r in identity.region_chain(session=session, code=row.region_code)
        if r.level in ("city", "district", "street")
    ]
    return out, events_, chain


def reporter_of(*, session: Session, case_id: int) -> int | None:
    row = session.get(Case, case_id)
    return row.reporter_user_id if row else None
