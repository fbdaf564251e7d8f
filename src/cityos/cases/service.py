"""一网统管 use cases: the taxonomy, reporting, and every transition of the closed loop.

Each transition is checked against the table in flows.py (state, role, reason), against the
actor's region and department scope, and against the version the caller saw (optimistic
concurrency: two people acting on the same case at once — the second gets Conflict/409, never a
silent lost update). It then sets the next stage's deadline on the working calendar, appends the
timeline entry and the audit record, and publishes a domain event — in the caller's transaction.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, insert, or_, select, union_all
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from cityos.cases import flows, taxonomy
from cityos.cases import permissions as _permissions  # noqa: F401  (grants cases.* to roles)
from cityos.cases.models import Case, CaseCategory, CaseEvent, ChannelSetting, DispatchRule
from cityos.cases.schemas import (
    CHANNELS,
    URGENCIES,
    CaseList,
    CaseOut,
    CategoryOut,
    ReportIn,
    TimelineEntry,
)
from cityos.core import audit, calendar, clock, events
from cityos.core.errors import Conflict, Forbidden, Invalid, NotFound
from cityos.geo import service as geo
from cityos.identity import service as identity
from cityos.identity.permissions import authorize, department_in_scope, region_in_scope
from cityos.identity.schemas import Principal

YELLOW_AT = 0.8  # share of the stage's time used at which a case turns yellow
AUTO_MERGE_CHANNELS = ("sensor", "camera")  # trusted machine channels: duplicates merge by themselves
LEVELS = ("grid", "street", "district", "city")  # 微循环 → 小循环 → 大循环 → city


# ---------------------------------------------------------------- taxonomy
def load_default_taxonomy(*, session: Session, actor: Principal) -> int:
    """Seed the default taxonomy (CJ/T 214 practice) into an empty city."""
    authorize(actor, "cases.taxonomy")
    existing = set(session.scalars(select(CaseCategory.code)))
    rows = [
        {
            "code": m.code,
            "case_class": taxonomy.case_class(m.code),
            "major_name": taxonomy.major_name(m.code),
            "name": m.name,
            "filing_condition": f"{m.name}:位置明确、问题属实、属于处置范围",
            "closing_condition": f"{m.name}:问题已处置、现场核查通过",
            "file_hours": 1.0,
            "dispatch_hours": 1.0,
            "handle_hours_urgent": m.urgent_h,
            "handle_hours_normal": m.normal_h,
            "verify_hours": 4.0,
            "department_code": m.department,
            "duplicate_radius_m": m.radius_m,
            "duplicate_window_h": m.window_h,
            "active": True,
        }
        for m in taxonomy.DEFAULT
        if m.code not in existing
    ]
    if rows:
        session.execute(insert(CaseCategory), rows)
        audit.record(
            session,
            actor=actor.actor,
            action="cases.taxonomy.load",
            subject_type="taxonomy",
            subject_id=len(rows),
            payload={"codes": [r["code"] for r in rows]},
        )
    return len(rows)


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


# ---------------------------------------------------------------- reading
def _light(case: Case, now: datetime, cal: calendar.WorkingCalendar) -> str | None:
    if case.state not in flows.OPEN_STATES or case.deadline is None or not case.stage_hours:
        return None
    used = cal.working_hours_between(case.stage_started_at, now) / case.stage_hours
    return "green" if used <= YELLOW_AT else ("yellow" if used <= 1.0 else "red")


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


# ---------------------------------------------------------------- reporting
def report_case(*, session: Session, actor: Principal, report: ReportIn) -> CaseOut:
    """A report enters the loop from any channel (citizen, hotline, grid worker, inspector, API, and
    sensing/cameras later). A report with coordinates is placed in its grid and region chain; one
    with only an address is placed by the operator's region code."""
    authorize(actor, "cases.report")
    if report.channel not in CHANNELS:
        raise Invalid("Unknown channel", field="channel", code="unknown_channel")
    if report.urgency not in URGENCIES:
        raise Invalid("Urgency must be normal or urgent", field="urgency", code="bad_urgency")
    cat = _category(session, report.category_code)
    if not report.description.strip():
        raise Invalid("A description is required", field="description", code="description_required")
    lon = lat = None
    grid_code = None
    if report.lon is not None and report.lat is not None:
        loc = geo.locate(session=session, lon=report.lon, lat=report.lat, crs=report.crs)
        if loc is None:
            raise Invalid("The location is outside the city's grids", field="lon/lat", code="outside_city")
        lon, lat, grid_code, region = loc.lon, loc.lat, loc.grid_code, loc.grid_code
    elif report.region_code and report.address.strip():
        region = identity.get_region(session=session, code=report.region_code).code
    else:
        raise Invalid(
            "A location is required: coordinates, or a region and an address",
            field="location",
            code="location_required",
        )
    now = clock.now()
    hours = cat.file_hours
    case = Case(
        number="pending",
        category_code=cat.code,
        channel=report.channel,
        state="reported",
        urgency=report.urgency,
        description=report.description.strip(),
        address=report.address.strip(),
        lon=lon,
        lat=lat,
        grid_code=grid_code,
        region_code=region,
        department_id=None,
        reporter_user_id=actor.id if actor.kind == "user" else None,
        reporter_name=report.reporter_name.strip(),
        reporter_phone=report.reporter_phone.strip(),
        reported_at=now,
        stage_started_at=now,
        stage_hours=hours,
        deadline=calendar.get_calendar(session).add_working_hours(now, hours),
    )
    session.add(case)
    session.flush()
    case.number = f"{clock.local(now).strftime('%Y%m%d')}{case.id:08d}"
    _timeline(session, case, actor, "report", None, "reported", "", {"channel": report.channel})
    session.flush()
    events.publish(session, "cases.CaseReported", {"case_id": case.id, "number": case.number})
    setting = session.get(ChannelSetting, report.channel)  # read before the audit lock is taken
    audit.record(  # the last write: the audit chain's lock is held only until the commit
        session,
        actor=actor.actor,
        action="case.report",
        subject_type="case",
        subject_id=case.number,
        payload={"category": cat.code, "channel": report.channel, "region": region},
    )
    if setting is not None and (setting.auto_file or setting.auto_dispatch):
        out = transition(session=session, actor=_SYSTEM, case_id=case.id, action="file")
        if setting.auto_dispatch:
            out = transition(session=session, actor=_SYSTEM, case_id=case.id, action="dispatch")
        return out
    if report.channel in AUTO_MERGE_CHANNELS:
        dupes = duplicate_candidates(session=session, actor=_SYSTEM, case_id=case.id)
        if dupes:
            return transition(
                session=session,
                actor=_SYSTEM,
                case_id=case.id,
                action="merge",
                into_case_id=dupes[0][0].id,
                reason="auto",
            )
    return _out(session, case)


def _timeline(
    session: Session,
    case: Case,
    actor: Principal,
    action: str,
    src: str | None,
    dst: str,
    note: str,
    data: dict[str, Any],
) -> None:
    session.add(
        CaseEvent(
            case_id=case.id,
            at=clock.now(),
            actor=actor.actor,
            action=action,
            from_state=src,
            to_state=dst,
            note=note,
            data=data,
        )
    )


# ---------------------------------------------------------------- the loop
def _stage(session: Session, case: Case, state: str, cat: CaseCategory) -> None:
    """Start the stage the case enters: its clock and its deadline on the working calendar.
    dispatched and handling share the handling limit; closed, rejected and suspended have none
    (suspension stops the clock; resuming starts the stage's full limit again)."""
    now = clock.now()
    handle = cat.handle_hours_urgent if case.urgency == "urgent" else cat.handle_hours_normal
    hours: float | None = {
        "reported": cat.file_hours,
        "filed": cat.dispatch_hours,
        "dispatched": handle,
        "handling": handle,
        "handled": cat.verify_hours,
    }.get(state)
    case.stage_started_at = now
    case.stage_hours = hours
    case.deadline = calendar.get_calendar(session).add_working_hours(now, hours) if hours else None


def transition(
    *,
    session: Session,
    actor: Principal,
    case_id: int,
    action: str,
    reason: str = "",
    expected_version: int | None = None,
    department_code: str | None = None,
    hours: float | None = None,
    into_case_id: int | None = None,
) -> CaseOut:
    """Take one step of the loop. `expected_version` is the version the caller saw (pages and APIs
    send it); `department_code` for dispatch (default: the category's department); `hours` for an
    extension."""
    authorize(actor, "cases.act")
    t = flows.TRANSITIONS.get(action)
    if t is None:
        raise Invalid("Unknown action", field="action", code="unknown_action")
    case = session.get(Case, case_id)
    if case is None:
        raise NotFound("Case not found", params={"id": case_id})
    if expected_version is not None and expected_version != case.version:
        raise Conflict("The case was changed by someone else; reload it", code="stale_case")
    if case.state not in t.sources:
        raise Conflict(
            "This step is not possible in the case's current state",
            code="bad_state",
            params={"state": case.state},
        )
    if not (t.roles & actor.roles):
        raise Forbidden("Your role cannot take this step", code="role_not_allowed")
    if t.roles & actor.roles <= {"handler"}:
        if not department_in_scope(actor, case.department_id):
            raise Forbidden("This belongs to another department", code="out_of_department")
    elif not region_in_scope(actor, case.region_code):
        raise Forbidden("This region is outside your scope", code="out_of_region")
    if t.reason_required and not reason.strip():
        raise Invalid("A reason is required for this step", field="reason", code="reason_required")
    cat = _category(session, case.category_code)
    src = case.state
    dst = t.target
    data: dict[str, Any] = {}
    now = clock.now()
    if action == "dispatch":
        dept = identity.get_department(
            session=session,
            code=department_code
            or route(session=session, category_code=case.category_code, region_code=case.region_code),
        )
        case.department_id = dept.id
        data["department"] = dept.code
    elif action == "return":
        case.return_count += 1
        data["department_id"] = case.department_id
        case.department_id = None
    elif action == "report_back":
        case.closed_on_time = case.deadline is None or now <= case.deadline
    elif action == "rework":
        case.rework_count += 1
    elif action == "verify":
        case.closed_at = now
    elif action == "extend":
        if not hours or hours <= 0 or hours > 24 * 30:
            raise Invalid("Extension hours must be between 0 and 720", field="hours", code="bad_hours")
        case.deadline = calendar.get_calendar(session).add_working_hours(case.deadline or now, hours)
        case.stage_hours = (case.stage_hours or 0) + hours
        data["hours"] = hours
    elif action == "suspend":
        case.suspended_from = src
    elif action == "resume":
        dst = case.suspended_from or "filed"
        case.suspended_from = None
    elif action == "reopen":
        case.closed_at = None
        case.closed_on_time = None
    elif action == "merge":
        target = session.get(Case, into_case_id) if into_case_id else None
        if target is None or target.id == case.id or target.state not in flows.OPEN_STATES:
            raise Invalid("Merge into an open, different case", field="into_case_id", code="bad_merge_target")
        case.duplicate_of = target.id
        data["into"] = target.number
        _timeline(
            session,
            target,
            actor,
            "merged_in",
            target.state,
            target.state,
            case.number,
            {"case": case.number, "reporter": case.reporter_name, "channel": case.channel},
        )
    elif action == "unmerge":
        target = session.get(Case, case.duplicate_of) if case.duplicate_of else None
        if target is not None:
            _timeline(
                session,
                target,
                actor,
                "unmerged",
                target.state,
                target.state,
                case.number,
                {"case": case.number},
            )
        data["from"] = target.number if target else None
        case.duplicate_of = None
    assert dst is not None
    case.state = dst
    if action not in ("extend", "accept"):  # accepting keeps the handling clock that started at dispatch
        _stage(session, case, dst, cat)
    _timeline(session, case, actor, action, src, dst, reason.strip(), data)
    try:
        session.flush()
    except StaleDataError:
        raise Conflict("The case was changed by someone else; reload it", code="stale_case") from None
    if dst in ("closed", "rejected", "merged"):
        name = {"closed": "cases.CaseClosed", "rejected": "cases.CaseRejected", "merged": "cases.CaseMerged"}[
            dst
        ]
        events.publish(session, name, {"case_id": case.id, "number": case.number})
    audit.record(  # the last write: the audit chain's lock is held only until the commit
        session,
        actor=actor.actor,
        action=f"case.{action}",
        subject_type="case",
        subject_id=case.number,
        payload={"from": src, "to": dst, "reason": reason.strip(), **data},
    )
    return _out(session, case)


def actions(*, session: Session, actor: Principal, case_id: int) -> list[flows.Transition]:
    """The steps this viewer may take now (the case page shows only these buttons)."""
    case = session.get(Case, case_id)
    if case is None:
        raise NotFound("Case not found", params={"id": case_id})
    return flows.actions_for(case.state, actor.roles)


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


# ---------------------------------------------------------------- duplicates
_SYSTEM = Principal(
    kind="user", id=0, username="system", display_name="系统", roles=frozenset({"admin", "dispatcher"})
)


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


# ---------------------------------------------------------------- the worker: reminders and escalation
def check_deadlines(*, session: Session, now: datetime | None = None) -> dict[str, int]:
    """Remind when a stage has used 80 % of its time, and escalate an overdue case one level up
    (grid → street → district → city) for each further stage limit it overruns. Both go to the
    timeline; escalations also to the audit trail and as cases.CaseEscalated."""
    now = now or clock.now()
    cal = calendar.get_calendar(session)
    reminded = escalated = 0
    rows = session.scalars(
        select(Case).where(Case.state.in_(flows.OPEN_STATES), Case.deadline.is_not(None))
    ).all()
    for case in rows:
        if not case.stage_hours or case.deadline is None:
            continue
        used = cal.working_hours_between(case.stage_started_at, now)
        if used >= YELLOW_AT * case.stage_hours and (
            case.reminded_at is None or case.reminded_at < case.stage_started_at
        ):
            case.reminded_at = now
            _timeline(
                session,
                case,
                _SYSTEM,
                "remind",
                case.state,
                case.state,
                "",
                {"used": round(used, 2), "limit": case.stage_hours},
            )
            reminded += 1
        if now > case.deadline:
            over = cal.working_hours_between(case.deadline, now)
            due = min(3, 1 + int(over // max(case.stage_hours, 0.5)))
            if due > case.escalation_level:
                case.escalation_level = due
                _timeline(
                    session,
                    case,
                    _SYSTEM,
                    "escalate",
                    case.state,
                    case.state,
                    "",
                    {"level": LEVELS[due], "overdue_hours": round(over, 2)},
                )
                audit.record(
                    session,
                    actor=_SYSTEM.actor,
                    action="case.escalate",
                    subject_type="case",
                    subject_id=case.number,
                    payload={"level": LEVELS[due]},
                )
                events.publish(session, "cases.CaseEscalated", {"case_id": case.id, "level": LEVELS[due]})
                escalated += 1
    session.flush()
    return {"reminded": reminded, "escalated": escalated}


def my_reports(*, session: Session, actor: Principal, limit: int = 100) -> list[CaseOut]:
    """The cases a person reported (citizens see their own cases' progress)."""
    if actor.kind != "user" or actor.id is None:
        return []
    rows = session.scalars(
        select(Case).where(Case.reporter_user_id == actor.id).order_by(Case.reported_at.desc()).limit(limit)
    ).all()
    return _outs(session, rows)


# ---------------------------------------------------------------- routing
def route(*, session: Session, category_code: str, region_code: str) -> str:
    """The department a case goes to. 部件 (components): the owner of the object first, then the
    territory; 事件 (events): the territory first, then the owner; the most specific rule (longest
    category prefix, then longest region prefix) wins; otherwise the category's default department."""
    from cityos.identity.schemas import within

    cat = _category(session, category_code)
    rules = [
        r
        for r in session.scalars(select(DispatchRule))
        if category_code.startswith(r.category_prefix)
        and (not r.region_prefix or within(region_code, r.region_prefix))
    ]
    order = ("owner", "territory") if cat.case_class == "component" else ("territory", "owner")
    for basis in order:
        matching = [r for r in rules if r.basis == basis]
        if matching:
            best = max(matching, key=lambda r: (len(r.category_prefix), len(r.region_prefix), -r.id))
            return best.department_code
    return cat.department_code


def add_dispatch_rule(
    *,
    session: Session,
    actor: Principal,
    category_prefix: str,
    region_prefix: str,
    basis: str,
    department_code: str,
) -> int:
    authorize(actor, "cases.taxonomy")
    if basis not in ("owner", "territory"):
        raise Invalid("basis must be owner or territory", field="basis", code="bad_basis")
    identity.get_department(session=session, code=department_code)
    if region_prefix:
        identity.get_region(session=session, code=region_prefix)
    row = DispatchRule(
        category_prefix=category_prefix,
        region_prefix=region_prefix,
        basis=basis,
        department_code=department_code,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor.actor,
        action="cases.rule.add",
        subject_type="dispatch_rule",
        subject_id=row.id,
        payload={
            "category": category_prefix,
            "region": region_prefix,
            "basis": basis,
            "department": department_code,
        },
    )
    return row.id


def set_channel(
    *, session: Session, actor: Principal, channel: str, auto_file: bool, auto_dispatch: bool
) -> None:
    """Switch automatic filing and dispatch on or off for an intake channel."""
    authorize(actor, "cases.taxonomy")
    if channel not in CHANNELS:
        raise Invalid("Unknown channel", field="channel", code="unknown_channel")
    row = session.get(ChannelSetting, channel) or ChannelSetting(channel=channel)
    row.auto_file, row.auto_dispatch = auto_file or auto_dispatch, auto_dispatch
    session.add(row)
    audit.record(
        session,
        actor=actor.actor,
        action="cases.channel",
        subject_type="channel",
        subject_id=channel,
        payload={"auto_file": row.auto_file, "auto_dispatch": auto_dispatch},
    )


# ---------------------------------------------------------------- 回访: the reporter's satisfaction
def rate_case(*, session: Session, actor: Principal, case_id: int, score: int, note: str = "") -> CaseOut:
    """After closing, the reporter rates the handling (1–5), or a hotline operator records the answer
    of the callback. Once per case; a rating of 2 or less reopens nothing but is flagged in evaluation."""
    case = session.get(Case, case_id)
    if case is None:
        raise NotFound("Case not found", params={"id": case_id})
    is_reporter = actor.kind == "user" and actor.id is not None and actor.id == case.reporter_user_id
    if not is_reporter:
        authorize(actor, "cases.act")
        if not actor.roles & {"dispatcher", "admin"}:
            raise Forbidden("Only the reporter or the hotline records the rating", code="not_reporter")
    if case.state != "closed":
        raise Conflict("Only a closed case can be rated", code="not_closed")
    if case.satisfaction is not None:
        raise Conflict("This case has been rated already", code="already_rated")
    if not 1 <= score <= 5:
        raise Invalid("The rating is 1 to 5", field="score", code="bad_score")
    case.satisfaction = score
    _timeline(session, case, actor, "rate", case.state, case.state, note.strip()[:500], {"score": score})
    session.flush()
    audit.record(
        session,
        actor=actor.actor,
        action="case.rate",
        subject_type="case",
        subject_id=case.number,
        payload={"score": score},
    )
    return _out(session, case)


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
