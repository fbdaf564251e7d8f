"""Reports entering the loop from every channel, placed in their grid and region, auto-filed or
auto-merged as the channel's settings say."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from cityos.cases.loop import transition
from cityos.cases.models import Case, ChannelSetting
from cityos.cases.queries import _category, _out, _outs, duplicate_candidates
from cityos.cases.record import _SYSTEM, _timeline
from cityos.cases.schemas import (
    CHANNELS,
    URGENCIES,
    CaseOut,
    ReportIn,
)
from cityos.core import audit, calendar, clock, events
from cityos.core.errors import CityOSError, Invalid
from cityos.geo import service as geo
from cityos.identity import service as identity
from cityos.identity.permissions import authorize
from cityos.identity.schemas import Principal

AUTO_MERGE_CHANNELS = ("sensor", "camera")  # trusted machine channels: duplicates merge by themselves


def _place(session: Session, report: ReportIn) -> tuple[float | None, float | None, str | None, str]:
    """(lon, lat, grid, region) of a report: coordinates are placed in their grid (WGS84 whatever
    the report's CRS); without them an address is needed, placed in the region given or else in
    the city as a whole (the city centre dispatches it by the address)."""
    if report.lon is not None and report.lat is not None:
        loc = geo.locate(session=session, lon=report.lon, lat=report.lat, crs=report.crs)
        if loc is None:
            raise Invalid("The location is outside the city's grids", field="lon/lat", code="outside_city")
        return loc.lon, loc.lat, loc.grid_code, loc.grid_code
    if report.region_code and report.address.strip():
        return None, None, None, identity.get_region(session=session, code=report.region_code).code
    city = identity.city(session=session) if report.address.strip() else None
    if city is not None:  # an address alone (a citizen need not know the district): the whole
        return None, None, None, city.code  # city's, which the city centre's dispatchers see
    raise Invalid(
        "A location is required: coordinates, or a region and an address",
        field="location",
        code="location_required",
    )


@dataclass
class _Draft:
    """A checked and placed report, not yet written."""

    actor: Principal
    case: Case
    category: str
    channel: str
    region: str


def _draft(session: Session, actor: Principal, report: ReportIn, permission: str) -> _Draft:
    """Every check and the placing of one report; writes nothing (a refused report leaves no trace)."""
    authorize(actor, permission)  # cases.open311 for Open311's POST: that token may do nothing else
    if report.channel not in CHANNELS:
        raise Invalid("Unknown channel", field="channel", code="unknown_channel")
    if report.urgency not in URGENCIES:
        raise Invalid("Urgency must be normal or urgent", field="urgency", code="bad_urgency")
    cat = _category(session, report.category_code)
    if not report.description.strip():
        raise Invalid("A description is required", field="description", code="description_required")
    lon, lat, grid_code, region = _place(session, report)
    now = clock.now()
    hours = cat.file_hours
    case = Case(
        number=f"~{secrets.token_hex(12)}",  # unique until its number is derived from its id (_enter)
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
    return _Draft(actor=actor, case=case, category=cat.code, channel=report.channel, region=region)


def _number(case: Case) -> str:
    """案卷编号: the local date of the report and the case's id (unique, and in order of arrival)."""
    return f"{clock.local(case.reported_at).strftime('%Y%m%d')}{case.id:08d}"


def _take_ids(session: Session, n: int) -> list[int] | None:
    """`n` case ids taken from PostgreSQL's sequence in one statement; None on SQLite, where the
    INSERT gives the ids (then the numbers are written by an UPDATE in the same unit of work)."""
    if session.get_bind().dialect.name != "postgresql":
        return None
    return list(
        session.scalars(
            text("SELECT nextval(pg_get_serial_sequence('cases', 'id')) FROM generate_series(1, :n)"),
            {"n": n},
        )
    )


def _enter(session: Session, drafts: Sequence[_Draft]) -> None:
    """Write the drafts' cases, each with its number, timeline entry, CaseReported event and audit
    entry, whatever the number of drafts in the same statements: on PostgreSQL the ids from the
    sequence, then one multi-row INSERT per table (8 statements for a batch of 10 Open311 reports,
    with the key and the category read, where one report alone took 10)."""
    ids = _take_ids(session, len(drafts))
    taken: Sequence[int | None] = ids or [None] * len(drafts)
    for d, case_id in zip(drafts, taken, strict=True):
        if case_id is not None:  # the id, and so the number, before the INSERT: no UPDATE after it
            d.case.id = case_id
            d.case.number = _number(d.case)
        session.add(d.case)
    session.flush()
    for d in drafts:
        if ids is None:
            d.case.number = _number(d.case)
        _timeline(session, d.case, d.actor, "report", None, "reported", "", {"channel": d.channel})
    events.publish_many(
        session, [("cases.CaseReported", {"case_id": d.case.id, "number": d.case.number}) for d in drafts]
    )
    for d in drafts:
        audit.record(
            session,
            actor=d.actor.actor,
            action="case.report",
            subject_type="case",
            subject_id=d.case.number,
            payload={"category": d.category, "channel": d.channel, "region": d.region},
        )


def _follow_up(session: Session, d: _Draft, setting: ChannelSetting | None) -> CaseOut | None:
    """What the channel's settings do next with a written report (file, dispatch, or merge a
    machine channel's duplicate); None when nothing."""
    case_id = d.case.id
    if setting is not None and (setting.auto_file or setting.auto_dispatch):
        out = transition(session=session, actor=_SYSTEM, case_id=case_id, action="file")
        if setting.auto_dispatch:
            out = transition(session=session, actor=_SYSTEM, case_id=case_id, action="dispatch")
        return out
    if d.channel in AUTO_MERGE_CHANNELS:
        dupes = duplicate_candidates(session=session, actor=_SYSTEM, case_id=case_id)
        if dupes:
            return transition(
                session=session,
                actor=_SYSTEM,
                case_id=case_id,
                action="merge",
                into_case_id=dupes[0][0].id,
                reason="auto",
            )
    return None


def report_case(
    *, session: Session, actor: Principal, report: ReportIn, permission: str = "cases.report"
) -> CaseOut:
    """A report enters the loop from any channel (citizen, hotline, grid worker, inspector, API, and
    sensing/cameras later). A report with coordinates is placed in its grid and region chain; one
    with only an address is placed by the operator's region code."""
    d = _draft(session, actor, report, permission)
    _enter(session, [d])
    return _follow_up(session, d, session.get(ChannelSetting, d.channel)) or _out(session, d.case)


def report_cases(
    *, session: Session, reports: Sequence[tuple[Principal, ReportIn, str]]
) -> list[CaseOut | CityOSError]:
    """Many reports (actor, report, permission) in the caller's one unit of work, each answered as
    `report_case` would: its case, or the error that refused it. A refused report writes nothing
    and does not stop the others; the written ones cost two flushes together (the Open311 intake's
    group commit, cases/open311.py)."""
    drafts: list[_Draft] = []
    answers: list[CityOSError | _Draft] = []
    for actor, report, permission in reports:
        try:
            d = _draft(session, actor, report, permission)
        except CityOSError as e:
            answers.append(e)
            continue
        drafts.append(d)
        answers.append(d)
    if drafts:
        _enter(session, drafts)
    settings = {ch: session.get(ChannelSetting, ch) for ch in {d.channel for d in drafts}}
    followed = {id(d): _follow_up(session, d, settings[d.channel]) for d in drafts}
    plain = [d.case for d in drafts if followed[id(d)] is None]
    outs = dict(zip((c.id for c in plain), _outs(session, plain), strict=True))
    return [a if isinstance(a, CityOSError) else (followed[id(a)] or outs[a.case.id]) for a in answers]
