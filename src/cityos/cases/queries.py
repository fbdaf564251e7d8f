"""The read side of cases: DTOs, one case, its timeline, lists (scope in SQL, keyset pages),
duplicate candidates, the reporter's own cases, the public view, and the taxonomy's categories."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, union_all
from sqlalchemy.orm import Session

from cityos.cases import flows
from cityos.cases.deadlines import _light
from cityos.cases.models import Case, CaseCategory, CaseEvent
from cityos.cases.policy import code_prefix, public_notes, public_projection, visible
from cityos.cases.schemas import (
    ID_MAX,
    CaseList,
    CaseNotice,
    CaseOut,
    CategoryOut,
    PublicCase,
    PublicNote,
    TimelineEntry,
)
from cityos.core import calendar, clock
from cityos.core.errors import Invalid, NotFound, Unauthorized
from cityos.geo import service as geo
from cityos.identity import service as identity
from cityos.identity.permissions import authorize
from cityos.identity.schemas import Principal, division_prefix


def categories(*, session: Session, active_only: bool = True) -> list[CategoryOut]:
    q = select(CaseCategory).order_by(CaseCategory.code)
    if active_only:
        q = q.where(CaseCategory.active.is_(True))
    return [CategoryOut.model_validate(c) for c in session.scalars(q)]


def common_categories(*, session: Session, limit: int = 8, days: int = 365) -> list[str]:
    """The 小类 reported most in the last `days` days, most first: the report form offers them
    before the full list of 82."""
    since = clock.now() - timedelta(days=days)
    n = func.count(Case.id)
    rows = session.execute(
        select(Case.category_code, n)
        .join(CaseCategory, CaseCategory.code == Case.category_code)
        .where(Case.reported_at >= since, CaseCategory.active.is_(True))
        .group_by(Case.category_code)
        .order_by(n.desc(), Case.category_code)
        .limit(limit)
    )
    return [code for code, _n in rows]


def category_exists(*, session: Session, code: str) -> bool:
    """Is `code` an active 小类 (one primary-key read, kept in the session for the report)."""
    c = session.get(CaseCategory, code)
    # the identity map holds objects weakly: without a reference the report would read it again
    session.info.setdefault("cases.categories", {})[code] = c
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


def visible_case(session: Session, actor: Principal, case_id: int) -> Case:
    """The case, if `actor` may see it (policy.visible); otherwise not found, as if it did not
    exist — nothing about a case outside one's scope is said."""
    if not actor.is_authenticated:
        raise Unauthorized("Please log in first", code="login_required")
    if not 0 < case_id <= ID_MAX:  # no such id can exist; SQL would overflow
        raise NotFound("Case not found", params={"id": case_id})
    case = session.scalar(select(Case).where(Case.id == case_id, visible(actor)))
    if case is None:
        raise NotFound("Case not found", params={"id": case_id})
    return case


def get_case(*, session: Session, actor: Principal, case_id: int) -> CaseOut:
    return _out(session, visible_case(session, actor, case_id))


def timeline(*, session: Session, actor: Principal, case_id: int) -> list[TimelineEntry]:
    visible_case(session, actor, case_id)
    rows = session.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id))
    return [TimelineEntry.model_validate(r) for r in rows]


# ---------------------------------------------------------------- lists (scope applied in SQL)
COUNT_CAP = 10_000  # lists count up to this many cases, then say "at least"
_code_prefix = code_prefix  # the list tests check the SQL of the prefix ranges


def encode_cursor(case: CaseOut) -> str:
    """The keyset cursor after `case` in the list's order (newest first): reported_at in
    microseconds since the epoch, and the id."""
    at = case.reported_at
    micros = (at - _EPOCH) // timedelta(microseconds=1)
    return f"{micros}.{case.id}"


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        micros, case_id = cursor.split(".")
        last_id = int(case_id)
        if not 0 <= last_id <= ID_MAX:
            raise ValueError(case_id)
        return _EPOCH + timedelta(microseconds=int(micros)), last_id
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
    number: str | None = None,
    keyword: str | None = None,
    phone: str | None = None,
    before: datetime | None = None,
    limit: int = 50,
    offset: int = 0,
    after: str | None = None,
    count_cap: int | None = COUNT_CAP,
) -> CaseList:
    """Cases the actor may see, newest first (reported_at, then id). Forbidden rows never load:
    policy.visible is part of the query.

    Pages: `after` (the previous page's `next_after`) continues by keyset, which costs the same on
    every page; `offset` still works. The total is counted up to `count_cap` cases (None: exact,
    0: not counted — `total` is then the page's length and not exact)."""
    authorize(actor, "cases.read")

    def where(ranges: bool) -> list[Any]:
        """The list's filters; `ranges` adds the index ranges of the region prefixes."""
        conds: list[Any] = [visible(actor, ranges=ranges)]
        if state:
            conds.append(Case.state == state)
        if states:
            conds.append(Case.state.in_(states))
        if category_code:
            conds.append(Case.category_code == category_code)
        if channel:
            conds.append(Case.channel == channel)
        if region:
            conds.append(code_prefix(Case.region_code, division_prefix(region), ranges))
        if department_id is not None:
            conds.append(Case.department_id == department_id)
        if since:
            conds.append(Case.reported_at >= since)
        if until:
            conds.append(Case.reported_at <= until)
        if numbers:
            conds.append(Case.number.in_(numbers))
        conds.extend(_search(number, keyword, phone, before))
        return conds

    cursor = _after(after)
    if after:
        offset = 0
    wanted = (state,) if state else tuple(dict.fromkeys(states or ()))
    rows = _page(session, where, cursor, wanted, limit, offset)
    more = len(rows) > limit
    items = _outs(session, rows[:limit])
    if not after and not more and (items or offset == 0):
        total, exact = offset + len(items), True  # the list ends on this page: nothing to count
    elif count_cap == 0:
        total, exact = len(items), False
    else:
        total, exact = _count(session, where(True), count_cap)
    return CaseList(
        items=items,
        total=int(total),
        total_exact=exact,
        next_after=encode_cursor(items[-1]) if more and items else None,
    )


_NEWEST = (Case.reported_at.desc(), Case.id.desc())


def _search(number: str | None, keyword: str | None, phone: str | None, before: datetime | None) -> list[Any]:
    """The search fields of a list (cases.filters): a part of the number, a keyword in the
    description or address, the caller's phone (its digits, however they were typed), reported
    before a time. Who may search by phone is decided in filters.list_arguments."""
    conds: list[Any] = []
    if number:
        conds.append(Case.number.icontains(number, autoescape=True))
    if keyword:
        conds.append(
            or_(
                Case.description.icontains(keyword, autoescape=True),
                Case.address.icontains(keyword, autoescape=True),
            )
        )
    if phone:
        digits = "".join(ch for ch in phone if ch.isdigit()) or phone
        conds.append(Case.reporter_phone.contains(digits, autoescape=True))
    if before:
        conds.append(Case.reported_at < before)
    return conds


def _after(after: str | None) -> list[Any]:
    """The keyset condition after a cursor; the redundant reported_at <= at lets every backend
    range-scan the index."""
    if not after:
        return []
    at, last_id = decode_cursor(after)
    return [
        Case.reported_at <= at,
        or_(Case.reported_at < at, and_(Case.reported_at == at, Case.id < last_id)),
    ]


def _page(
    session: Session,
    where: Callable[[bool], list[Any]],
    cursor: list[Any],
    wanted: tuple[str, ...],
    limit: int,
    offset: int,
) -> list[Case]:
    """One page plus one case (to know whether there is a next page), newest first."""
    if not wanted:
        page = select(Case).where(*where(True), *cursor).order_by(*_NEWEST)
        return list(session.scalars(page.limit(limit + 1).offset(offset)))
    # One index range (state, reported_at) per state, merged: neither backend walks an IN list
    # in index order, and sorting every case of a queue costs far more than its first page.
    # SQLite plans without statistics and would take a region range for selective and sort,
    # so its branches filter the region without the range.
    conds = where(session.get_bind().dialect.name != "sqlite") + cursor
    branches = [
        select(Case.id, Case.reported_at)
        .where(*conds, Case.state == st)
        .order_by(*_NEWEST)
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
    return list(session.scalars(select(Case).where(Case.id.in_(ids)).order_by(*_NEWEST)))


def _count(session: Session, conds: list[Any], cap: int | None) -> tuple[int, bool]:
    """(total, exact): the cases matching, counted up to `cap` (None: all)."""
    counted = select(Case.id).where(*conds)
    if cap is not None:
        counted = counted.limit(cap + 1)
    total = session.scalar(select(func.count()).select_from(counted.subquery())) or 0
    if cap is not None and total > cap:
        return cap, False
    return int(total), True


def find_by_number(*, session: Session, actor: Principal, number: str) -> CaseOut:
    row = session.scalar(select(Case).where(Case.number == number, visible(actor)))
    if row is None:
        raise NotFound("Case not found", params={"id": number})
    return _out(session, row)


def public_updates(
    *, session: Session, since: datetime, until: datetime, limit: int = 1000
) -> list[tuple[str, PublicNote]]:
    """Timeline entries in a time window as the public sees them (the Open311 update feed):
    (case number, entry) with internal notes blanked by policy.public_notes."""
    rows = session.execute(
        select(CaseEvent, Case.number)
        .join(Case, Case.id == CaseEvent.case_id)
        .where(CaseEvent.at >= since, CaseEvent.at <= until)
        .order_by(CaseEvent.id)
        .limit(limit)
    ).all()
    notes = public_notes(TimelineEntry.model_validate(ev) for ev, _n in rows)
    return [(number, note) for (_ev, number), note in zip(rows, notes, strict=True)]


def duplicate_candidates(*, session: Session, actor: Principal, case_id: int) -> list[tuple[CaseOut, float]]:
    """Earlier open cases of the same or a related 小类 (same 大类 of the same class) within the
    category's duplicate radius and time window: the dispatcher's merge suggestions, same 小类 first,
    then nearest."""
    from datetime import timedelta

    case = visible_case(session, actor, case_id)
    if case.lon is None or case.lat is None:
        return []
    cat = _category(session, case.category_code)
    deg = cat.duplicate_radius_m / 90_000.0  # a generous box; the exact test is the haversine below
    rows = session.scalars(
        select(Case).where(
            visible(actor),
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


def _public(session: Session, rows: list[Case], chains: bool = False) -> list[PublicCase]:
    """Cases as policy.public_projection, for a page of cases: timelines and department names read
    once for the page."""
    if not rows:
        return []
    ids = [c.id for c in rows]
    timelines: dict[int, list[TimelineEntry]] = {i: [] for i in ids}
    for ev in session.scalars(select(CaseEvent).where(CaseEvent.case_id.in_(ids)).order_by(CaseEvent.id)):
        timelines[ev.case_id].append(TimelineEntry.model_validate(ev))
    depts = identity.department_names(session=session, ids={c.department_id for c in rows if c.department_id})
    out = []
    for case, dto in zip(rows, _outs(session, rows), strict=True):
        chain = (
            [
                r.name
                for r in identity.region_chain(session=session, code=case.region_code)
                if r.level in ("city", "district", "street")
            ]
            if chains
            else []
        )
        agency = depts.get(case.department_id) if case.department_id else None
        out.append(public_projection(dto, timelines[case.id], agency=agency, region_chain=chain))
    return out


def public_case(*, session: Session, number: str) -> PublicCase:
    """What anyone with the case number may see (policy.public_projection), with the region chain
    down to the street."""
    row = session.scalar(select(Case).where(Case.number == number))
    if row is None:
        raise NotFound("Case not found", params={"id": number})
    return _public(session, [row], chains=True)[0]


def public_cases(
    *,
    session: Session,
    numbers: list[str] | None = None,
    category_code: str | None = None,
    states: tuple[str, ...] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 1000,
    offset: int = 0,
) -> list[PublicCase]:
    """Cases as the public sees them, newest first (Open311's GET requests). Anyone may read these:
    each is policy.public_projection, nothing more."""
    conds: list[Any] = []
    if numbers:
        conds.append(Case.number.in_(numbers))
    if category_code:
        conds.append(Case.category_code == category_code)
    if states:
        conds.append(Case.state.in_(states))
    if since:
        conds.append(Case.reported_at >= since)
    if until:
        conds.append(Case.reported_at <= until)
    rows = session.scalars(
        select(Case)
        .where(*conds)
        .order_by(Case.reported_at.desc(), Case.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return _public(session, list(rows))


def reporter_of(*, session: Session, case_id: int) -> int | None:
    row = session.get(Case, case_id)
    return row.reporter_user_id if row else None


# ---------------------------------------------------------------- the home page's work counts
NEAR_HOURS = 24  # a handling case whose deadline falls within this many hours is "due soon"


def _work(now: datetime) -> dict[str, list[Any]]:
    """Each count of the home page as its conditions on Case: one definition for the count and for
    the next case of that queue, so the two never disagree."""
    day_ago, soon = now - timedelta(hours=24), now + timedelta(hours=NEAR_HOURS)
    open_ = Case.state.in_(flows.OPEN_STATES)
    return {
        "to_file": [Case.state == "reported"],
        "to_dispatch": [Case.state == "filed"],
        "returned": [Case.state == "filed", Case.return_count > 0],
        "red": [open_, Case.deadline.is_not(None), Case.deadline < now],
        "to_accept": [Case.state == "dispatched"],
        "due_soon": [Case.state == "handling", Case.deadline.is_not(None), Case.deadline <= soon],
        "rework": [Case.state == "handling", Case.rework_count > 0],
        "handling": [Case.state == "handling"],
        "to_verify": [Case.state == "handled"],
        "open": [open_],
        "new_today": [Case.reported_at >= day_ago],
        "closed_today": [Case.state == "closed", Case.closed_at >= day_ago],
        "closed": [Case.state == "closed"],
        "closed_on_time": [Case.state == "closed", Case.closed_on_time.is_(True)],
    }


QUEUES = ("to_file", "to_dispatch", "returned", "red", "to_accept", "due_soon", "rework", "to_verify")


def work_counts(*, session: Session, actor: Principal, now: datetime | None = None) -> dict[str, int]:
    """What the actor has to do and what changed since yesterday, as counts of the cases
    policy.visible lets them see (one query): the home page's 待办. Red: an open case past its
    stage deadline (the deadline is the stage's limit on the working calendar, so past it is the
    red light)."""
    authorize(actor, "cases.read")
    work = _work(now or clock.now())
    row = session.execute(
        select(*(func.count(Case.id).filter(and_(*conds)).label(key) for key, conds in work.items())).where(
            visible(actor)
        )
    ).one()
    return {k: int(v or 0) for k, v in row._mapping.items()}


def next_in_queue(
    *, session: Session, actor: Principal, queue: str, now: datetime | None = None
) -> int | None:
    """The id of the case to take up next in one of the home page's queues (QUEUES) among those the
    actor may see: the nearest deadline first, then the oldest report."""
    authorize(actor, "cases.read")
    if queue not in QUEUES:
        raise Invalid("Unknown queue", field="queue", code="unknown_queue")
    conds = _work(now or clock.now())[queue]
    return session.scalar(
        select(Case.id)
        .where(visible(actor), *conds)
        .order_by(Case.deadline.is_(None), Case.deadline, Case.reported_at, Case.id)
        .limit(1)
    )


def overdue_by_district(*, session: Session, actor: Principal, now: datetime | None = None) -> dict[str, int]:
    """Open cases past their stage deadline per district (the region code's first six digits),
    among the cases the actor may see: the leader's summary."""
    authorize(actor, "cases.read")
    now = now or clock.now()
    district = func.substr(Case.region_code, 1, 6)
    rows = session.execute(
        select(district, func.count(Case.id))
        .where(visible(actor), Case.state.in_(flows.OPEN_STATES), Case.deadline < now)
        .group_by(district)
        .order_by(func.count(Case.id).desc())
    ).all()
    return {str(code): int(count) for code, count in rows}


def notice_of(*, session: Session, case_id: int) -> CaseNotice | None:
    """What the notification handlers need to know of a case to address a message: no actor (the
    recipients are decided by permissions and scope by the caller), so nothing here reaches a page."""
    case = session.get(Case, case_id)
    if case is None:
        return None
    return CaseNotice(
        id=case.id,
        number=case.number,
        state=case.state,
        is_open=case.state in flows.OPEN_STATES,
        category_name=_category_names(session, {case.category_code}).get(case.category_code, ""),
        region_code=case.region_code,
        department_id=case.department_id,
        deadline=case.deadline,
        reporter_user_id=case.reporter_user_id,
        reporter_name=case.reporter_name,
        reporter_phone=case.reporter_phone,
    )


# ------------------------------------------------------------------- the cockpit's figures
HEAT_POINTS = 3000  # open cases' positions the cockpit's heat layer gets at most


def figures(*, session: Session, actor: Principal, now: datetime | None = None) -> dict[str, Any]:
    """Aggregates of the cases the actor may see (policy.visible) for the cockpit's
    城市管理 screen, grouped by the deepest region code so the caller can add them up to any
    level (city → district → street → community/grid) without another query:

    open            {region_code: {"green"|"yellow"|"red"|"none": n}} (the traffic light as on
                    the case: working hours used of the stage on the working calendar)
    grids           {grid_code: open n};  categories {category name: open n}
    intake_hours    [n per hour, the last 24 hours, oldest first];  intake {region: n} this month
    closed / on_time {region: n} closed this month and closed on time
    satisfaction    {region: [sum, n]} of the 回访 answers this month;  hotline {region: n}
    points          up to HEAT_POINTS [lon, lat] of open cases
    Counts only: no case's person or text leaves here."""
    authorize(actor, "cases.read")
    now = now or clock.now()
    cal = calendar.get_calendar(session)
    local = now.astimezone(cal.tz)
    month_start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)
    out: dict[str, Any] = {"open": {}, "grids": {}, "categories": {}, "points": []}
    cats: dict[str, int] = {}
    rows = session.scalars(select(Case).where(visible(actor), Case.state.in_(flows.OPEN_STATES)))
    for case in rows:
        light = _light(case, now, cal) or "none"
        per = out["open"].setdefault(case.region_code, {})
        per[light] = per.get(light, 0) + 1
        if case.grid_code:
            out["grids"][case.grid_code] = out["grids"].get(case.grid_code, 0) + 1
        cats[case.category_code] = cats.get(case.category_code, 0) + 1
        if case.lon is not None and case.lat is not None and len(out["points"]) < HEAT_POINTS:
            out["points"].append([round(case.lon, 5), round(case.lat, 5)])
    names = _category_names(session, set(cats))
    out["categories"] = {names.get(c, c): n for c, n in sorted(cats.items(), key=lambda kv: -kv[1])}
    hours = [0] * 24
    start = now - timedelta(hours=24)
    for (at,) in session.execute(select(Case.reported_at).where(visible(actor), Case.reported_at >= start)):
        at = at if at.tzinfo else at.replace(tzinfo=UTC)
        i = int((at - start).total_seconds() // 3600)
        if 0 <= i < 24:
            hours[i] += 1
    out["intake_hours"] = hours
    month = [visible(actor), Case.reported_at >= month_start]
    by_region = func.count(Case.id)
    out["intake"] = {
        r: int(n)
        for r, n in session.execute(
            select(Case.region_code, by_region).where(*month).group_by(Case.region_code)
        )
    }
    out["hotline"] = {
        r: int(n)
        for r, n in session.execute(
            select(Case.region_code, by_region)
            .where(*month, Case.channel == "hotline")
            .group_by(Case.region_code)
        )
    }
    closed = [visible(actor), Case.state == "closed", Case.closed_at >= month_start]
    out["closed"], out["on_time"], out["satisfaction"] = {}, {}, {}
    for r, n, on_time, s_sum, s_n in session.execute(
        select(
            Case.region_code,
            func.count(Case.id),
            func.count(Case.id).filter(Case.closed_on_time.is_(True)),
            func.sum(Case.satisfaction),
            func.count(Case.satisfaction),
        )
        .where(*closed)
        .group_by(Case.region_code)
    ):
        out["closed"][r] = int(n)
        out["on_time"][r] = int(on_time or 0)
        if s_n:
            out["satisfaction"][r] = [float(s_sum or 0), int(s_n)]
    return out
