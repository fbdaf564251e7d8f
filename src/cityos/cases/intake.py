"""Reports entering the loop from every channel, placed in their grid and region, auto-filed or
auto-merged as the channel's settings say."""

from __future__ import annotations

from sqlalchemy.orm import Session

from cityos.cases.loop import transition
from cityos.cases.models import Case, ChannelSetting
from cityos.cases.queries import _category, _out, duplicate_candidates
from cityos.cases.record import _SYSTEM, _timeline
from cityos.cases.schemas import (
    CHANNELS,
    URGENCIES,
    CaseOut,
    ReportIn,
)
from cityos.core import audit, calendar, clock, events
from cityos.core.errors import Invalid
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


def report_case(
    *, session: Session, actor: Principal, report: ReportIn, permission: str = "cases.report"
) -> CaseOut:
    """A report enters the loop from any channel (citizen, hotline, grid worker, inspector, API, and
    sensing/cameras later). A report with coordinates is placed in its grid and region chain; one
    with only an address is placed by the operator's region code."""
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
