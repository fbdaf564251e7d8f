"""The two consoles of the 一网统管 centre: the 12345 hotline operator who takes calls, and the
dispatcher who watches the open cases on the grid map.

A call enters the loop through `service.report_case` with channel `hotline`, like every other
report; this module adds what only a call has — the caller's checked phone number and how they want
to hear back (回访方式: phone, SMS, none), kept on the report's timeline entry — and the operator's
read side: recent calls, and open cases near the caller's point before the call is filed (the rule
of `service.duplicate_candidates`: same 大类, open, within the category's radius and window).
The map's points come from `service.list_cases`, so the viewer's scope is applied in SQL.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from cityos.cases import flows, service
from cityos.cases.models import Case, CaseEvent
from cityos.cases.policy import visible
from cityos.cases.schemas import CaseOut, ReportIn
from cityos.core import clock
from cityos.core.errors import Invalid
from cityos.geo import service as geo
from cityos.identity.permissions import authorize
from cityos.identity.schemas import Principal

CALLBACKS = ("phone", "sms", "none")  # 回访方式
MOBILE = re.compile(r"^1[3-9]\d{9}$")
LANDLINE = re.compile(r"^0\d{2,3}-?\d{7,8}(-\d{1,6})?$")  # area code, number, optional extension
MAP_LIMIT = 5000  # points drawn at most; the answer says how many more there are


class CallIn(BaseModel):
    """What the operator types while the caller is on the line."""

    caller_name: str = Field("", max_length=60)
    caller_phone: str = Field("", max_length=30)
    callback: str = "phone"
    category_code: str
    urgency: str = "normal"
    description: str = Field(max_length=2000)
    lon: float | None = None
    lat: float | None = None
    address: str = Field("", max_length=200)
    region_code: str | None = None


class RecentCall(BaseModel):
    case: CaseOut
    caller_name: str
    caller_phone: str
    callback: str


class MapPoint(BaseModel):
    id: int
    number: str
    lon: float
    lat: float
    light: str  # green | yellow | red | none (no running deadline, e.g. suspended)
    state: str
    urgency: str
    category_code: str
    category_name: str
    reported_at: datetime


class CaseMap(BaseModel):
    total: int  # open cases matching the filters in the viewer's scope
    without_location: int  # placed by address only: not on the map
    truncated: bool
    counts: dict[str, int]  # per light
    points: list[MapPoint]


def normalize_phone(raw: str) -> str:
    """A mainland mobile (11 digits from 13…19) or a landline with its area code (0539-1234567,
    optional extension). Spaces and a +86 prefix are dropped."""
    v = re.sub(r"[\s()]", "", raw).replace("—", "-").replace("－", "-")
    v = v.translate(str.maketrans("０１２３４５６７８９", "0123456789"))
    if v.startswith("+86"):
        v = v[3:]
    elif v.startswith("0086"):
        v = v[4:]
    v = v.lstrip("-")
    if MOBILE.match(v.replace("-", "")):
        return v.replace("-", "")
    if LANDLINE.match(v):
        return v
    raise Invalid(
        "Enter a mobile number (11 digits) or a landline with its area code",
        field="caller_phone",
        code="bad_phone",
    )


def take_call(*, session: Session, actor: Principal, call: CallIn) -> CaseOut:
    """File a hotline call as a report (channel hotline): at the point picked on the map, or by
    address text and region when the caller cannot say more."""
    authorize(actor, "cases.hotline")
    if call.callback not in CALLBACKS:
        raise Invalid("Choose how the caller wants to hear back", field="callback", code="bad_callback")
    phone = call.caller_phone.strip()
    if phone:
        phone = normalize_phone(phone)
    elif call.callback != "none":
        raise Invalid(
            "A phone number is needed for a callback by phone or SMS",
            field="caller_phone",
            code="phone_required",
        )
    case = service.report_case(
        session=session,
        actor=actor,
        report=ReportIn(
            category_code=call.category_code,
            description=call.description or " ",
            channel="hotline",
            urgency=call.urgency,
            lon=call.lon,
            lat=call.lat,
            address=call.address,
            region_code=call.region_code if call.lon is None or call.lat is None else None,
            reporter_name=call.caller_name,
            reporter_phone=phone,
        ),
    )
    report = session.scalars(
        select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.action == "report").limit(1)
    ).first()
    if report is not None:
        report.data = {**report.data, "callback": call.callback}
        session.flush()
    return case


def recent_calls(*, session: Session, actor: Principal, limit: int = 10) -> list[RecentCall]:
    """The calls this operator filed, newest first."""
    authorize(actor, "cases.hotline")
    rows = session.execute(
        select(Case, CaseEvent.data)
        .join(CaseEvent, (CaseEvent.case_id == Case.id) & (CaseEvent.action == "report"))
        .where(Case.channel == "hotline", Case.reporter_user_id == actor.id)
        .order_by(Case.reported_at.desc(), Case.id.desc())
        .limit(limit)
    ).all()
    return [
        RecentCall(
            case=service.get_case(session=session, actor=actor, case_id=c.id),
            caller_name=c.reporter_name,
            caller_phone=c.reporter_phone,
            callback=str((data or {}).get("callback", "")),
        )
        for c, data in rows
    ]


def nearby_open_cases(
    *, session: Session, actor: Principal, category_code: str, lon: float, lat: float, crs: str = "wgs84"
) -> list[tuple[CaseOut, float]]:
    """Open cases that the call would duplicate if filed now: same or related 小类 (same 大类),
    within the category's duplicate radius and window, in the viewer's scope; same 小类 first,
    then nearest. Empty outside the city or for an unknown category."""
    authorize(actor, "cases.view")
    cat = next((c for c in service.categories(session=session) if c.code == category_code), None)
    loc = geo.locate(session=session, lon=lon, lat=lat, crs=crs)
    if cat is None or loc is None or cat.duplicate_radius_m <= 0:
        return []
    deg = cat.duplicate_radius_m / 90_000.0  # a generous box; the exact test is the distance below
    rows = session.scalars(
        select(Case).where(
            visible(actor),
            Case.category_code.startswith(category_code[:3]),
            Case.state.in_(flows.OPEN_STATES),
            Case.duplicate_of.is_(None),
            Case.reported_at >= clock.now() - timedelta(hours=cat.duplicate_window_h),
            Case.lon.between(loc.lon - deg * 1.3, loc.lon + deg * 1.3),
            Case.lat.between(loc.lat - deg, loc.lat + deg),
        )
    ).all()
    out = []
    for other in rows:
        d = geo.distance_m(loc.lon, loc.lat, other.lon or 0.0, other.lat or 0.0)
        if d <= cat.duplicate_radius_m:
            out.append((service.get_case(session=session, actor=actor, case_id=other.id), round(d, 1)))
    return sorted(out, key=lambda x: (x[0].category_code != category_code, x[1], x[0].id))


def case_map(
    *,
    session: Session,
    actor: Principal,
    states: tuple[str, ...] = flows.OPEN_STATES,
    state: str | None = None,
    category_code: str | None = None,
    channel: str | None = None,
    region: str | None = None,
) -> CaseMap:
    """Open cases as points for the dispatcher's map, with the same filters as the list; only open
    states are ever drawn."""
    wanted = tuple(s for s in states if s in flows.OPEN_STATES) or flows.OPEN_STATES
    if state:
        wanted = (state,) if state in flows.OPEN_STATES else ()
    if not wanted:
        authorize(actor, "cases.view")
        return CaseMap(total=0, without_location=0, truncated=False, counts={}, points=[])
    page = service.list_cases(
        session=session,
        actor=actor,
        states=wanted,
        category_code=category_code,
        channel=channel,
        region=region,
        limit=MAP_LIMIT,
        count_cap=None,  # the map says exactly how many open cases it leaves out
    )
    items, total = page.items, page.total
    points = [
        MapPoint(
            id=c.id,
            number=c.number,
            lon=c.lon,
            lat=c.lat,
            light=c.light or "none",
            state=c.state,
            urgency=c.urgency,
            category_code=c.category_code,
            category_name=c.category_name,
            reported_at=c.reported_at,
        )
        for c in items
        if c.lon is not None and c.lat is not None
    ]
    counts: dict[str, int] = {}
    for p in points:
        counts[p.light] = counts.get(p.light, 0) + 1
    return CaseMap(
        total=total,
        without_location=len(items) - len(points),
        truncated=total > len(items),
        counts=counts,
        points=points,
    )
