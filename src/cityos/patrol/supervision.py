"""The supervisor's side of patrol: who patrolled what on a day, which grids nobody covered in a
week, and each worker's figures over a period for the grid workers' evaluation.

Every read goes through policy.visible, narrowed to a region the actor asks for (which must lie in
their region scope: 403 out_of_region otherwise).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, select, true
from sqlalchemy.orm import Session

from cityos.cases import service as cases
from cityos.core import clock
from cityos.core.errors import Invalid
from cityos.geo import service as geo
from cityos.identity.permissions import authorize, has
from cityos.identity.schemas import Principal, division_prefix
from cityos.patrol.models import Attendance, Patrol
from cityos.patrol.policy import region_scope, visible
from cityos.patrol.schemas import GridRef, WorkerDay, WorkerFigures
from cityos.patrol.work import _local_day, _name, today

MAX_PERIOD_DAYS = 366


def _scope(actor: Principal, region: str | None) -> str:
    """The division-code prefix to read: the region asked for (inside the actor's scope), else the
    actor's whole scope ("" = the city)."""
    if region:
        authorize(actor, "patrol.supervise", region_code=region)
        return division_prefix(region)
    authorize(actor, "patrol.supervise")
    prefix = region_scope(actor)
    if prefix is None:  # a supervisor attached to no region sees nobody's patrols but their own
        raise Invalid("Choose a region", field="region", code="region_required")
    return prefix


def _in(table: type[Patrol] | type[Attendance], prefix: str) -> ColumnElement[bool]:
    return table.region_code.startswith(prefix, autoescape=True) if prefix else true()


def worker_day(
    *, session: Session, actor: Principal, day: date | None = None, region: str | None = None
) -> list[WorkerDay]:
    """Who patrolled what on a local day: per worker the patrols started, their distance, the grids
    covered and the check-in/check-out times, by worker name."""
    prefix = _scope(actor, region)
    start, end = _local_day(day or today())
    pats = session.scalars(
        select(Patrol).where(
            visible(actor), _in(Patrol, prefix), Patrol.started_at >= start, Patrol.started_at < end
        )
    ).all()
    atts = session.scalars(
        select(Attendance)
        .where(
            visible(actor, Attendance), _in(Attendance, prefix), Attendance.at >= start, Attendance.at < end
        )
        .order_by(Attendance.at)
    ).all()
    rows: dict[int, dict[str, Any]] = defaultdict(
        lambda: {"patrols": 0, "distance_m": 0.0, "covered": set(), "check_ins": [], "check_outs": []}
    )
    for p in pats:
        r = rows[p.user_id]
        r["patrols"] += 1
        r["distance_m"] += p.distance_m
        r["covered"] |= set(p.covered or [])
    for a in atts:
        rows[a.user_id]["check_ins" if a.kind == "in" else "check_outs"].append(a.at)
    names: dict[int, str] = {}
    out = [
        WorkerDay(
            user_id=uid,
            worker_name=_name(session, uid, names),
            patrols=r["patrols"],
            distance_m=round(r["distance_m"], 1),
            covered=sorted(r["covered"]),
            check_ins=r["check_ins"],
            check_outs=r["check_outs"],
        )
        for uid, r in rows.items()
    ]
    return sorted(out, key=lambda w: (w.worker_name, w.user_id))


def _covered(
    session: Session,
    actor: Principal,
    prefix: str,
    start: datetime,
    end: datetime,
    user_id: int | None = None,
) -> dict[int, set[str]]:
    """Grid codes touched by the visible patrols overlapping [start, end), by worker."""
    q = select(Patrol.user_id, Patrol.covered).where(
        visible(actor),
        _in(Patrol, prefix),
        Patrol.started_at < end,
        and_(Patrol.ended_at.is_(None) | (Patrol.ended_at >= start)),
    )
    out: dict[int, set[str]] = defaultdict(set)
    for uid, covered in session.execute(q):
        out[uid] |= set(covered or [])
    return out


def week_of(day: date) -> tuple[date, date]:
    """Monday and the next Monday of the (ISO) week holding `day`."""
    monday = day - timedelta(days=day.weekday())
    return monday, monday + timedelta(days=7)


def uncovered_grids(
    *, session: Session, actor: Principal, day: date | None = None, region: str | None = None
) -> list[GridRef]:
    """The grids in the region (or the actor's scope) that no patrol touched in the week holding
    `day` (today by default), by code. A grid counts as covered whoever's patrol touched it."""
    prefix = _scope(actor, region)
    _local_day(day or today())  # the date's range is checked before the week is computed
    monday, next_monday = week_of(day or today())
    start, end = _local_day(monday)[0], _local_day(next_monday)[0]
    touched: set[str] = set().union(*_covered(session, actor, prefix, start, end).values())
    grids = sorted(geo.grid_polygons(session=session, under=prefix or None))
    left = [c for c in grids if c not in touched]
    names = geo.grid_names(session=session, codes=left)
    return [GridRef(code=c, name=names[c]) for c in left]


def worker_figures(
    *,
    session: Session,
    actor: Principal,
    start: date,
    end: date,
    region: str | None = None,
    user_ids: list[int] | None = None,
) -> list[WorkerFigures]:
    """Patrol and attendance figures per grid worker over the local days [start, end), for the grid
    workers' evaluation. Read under patrol's visibility: a supervisor gets the workers of their
    region (or of `region` inside it), a worker only themselves. Workers named in `user_ids` are
    reported even with no activity (all zeros), so an evaluation can list everyone it rates.

    Figures: days_checked_in (local days with a check-in), check_ins, patrols started, patrol_hours
    (ended patrols), distance_m, grids_covered (distinct grids touched), own_grids (assigned now)
    and own_grids_covered (of those, touched at least once in the period), reports_on_patrol (cases
    the worker reported while one of their patrols of the period was open)."""
    for d in (start, end):
        _local_day(d)  # each end of the period within 2000–2099 (4xx, never an overflow)
    if end <= start or (end - start).days > MAX_PERIOD_DAYS:
        raise Invalid("The period must be 1 to 366 days", field="end", code="bad_period")
    prefix = _scope(actor, region) if (region or region_scope(actor) is not None) else None
    t0, t1 = _local_day(start)[0], _local_day(end)[0]
    where_p = [visible(actor), Patrol.started_at >= t0, Patrol.started_at < t1]
    where_a = [visible(actor, Attendance), Attendance.kind == "in", Attendance.at >= t0, Attendance.at < t1]
    if prefix:
        where_p.append(_in(Patrol, prefix))
        where_a.append(_in(Attendance, prefix))
    figs: dict[int, dict[str, Any]] = defaultdict(
        lambda: {"days": set(), "check_ins": 0, "patrols": 0, "hours": 0.0, "distance": 0.0, "grids": set()}
    )
    for uid in user_ids or []:
        figs[uid]
    spans: dict[int, list[tuple[datetime, datetime]]] = defaultdict(list)
    for p in session.scalars(select(Patrol).where(*where_p)):
        spans[p.user_id].append((p.started_at, p.ended_at or clock.now()))
        f = figs[p.user_id]
        f["patrols"] += 1
        f["distance"] += p.distance_m
        f["grids"] |= set(p.covered or [])
        if p.ended_at is not None:
            f["hours"] += (p.ended_at - p.started_at).total_seconds() / 3600

    for a in session.scalars(select(Attendance).where(*where_a)):
        f = figs[a.user_id]
        f["check_ins"] += 1
        f["days"].add(clock.local(a.at).date())
    # reports filed on patrol: the worker's own reports made while one of their patrols was open
    # (cases' record of reporter and time, read under cases' visibility for the actor)
    reported = cases.report_times(session=session, actor=actor, user_ids=sorted(spans), start=t0, end=t1)
    names: dict[int, str] = {}
    out = []
    for uid, f in sorted(figs.items()):
        own = set(geo.grid_polygons(session=session, worker_id=uid))
        out.append(
            WorkerFigures(
                user_id=uid,
                worker_name=_name(session, uid, names),
                start=start,
                end=end,
                days_checked_in=len(f["days"]),
                check_ins=f["check_ins"],
                patrols=f["patrols"],
                patrol_hours=round(f["hours"], 2),
                distance_m=round(f["distance"], 1),
                grids_covered=len(f["grids"]),
                own_grids=len(own),
                own_grids_covered=len(own & f["grids"]),
                reports_on_patrol=sum(
                    any(a <= at <= b for a, b in spans[uid]) for at in reported.get(uid, [])
                ),
            )
        )
    return out


def work_counts(*, session: Session, actor: Principal) -> dict[str, int]:
    """What waits for the actor in patrol, for the home page's 待办 (each count is the number of
    rows the linked page lists for the same person):
    - with patrol.work: `not_checked_in` (1 until the first check-in of the local day) and
      `own_grids_uncovered` (own grids the worker's own patrols have not touched this week) — both
      link to /patrol; `open_tasks` and `overdue_tasks` (the tasks sent to them, from
      cases.service.task_counts) — /cases/tasks;
    - with patrol.supervise and a region scope: `uncovered_grids` this week — /patrol/supervise."""
    out: dict[str, int] = {}
    if actor.kind != "user" or not actor.id:
        return out
    monday, next_monday = week_of(today())
    start, end = _local_day(monday)[0], _local_day(next_monday)[0]
    if has(actor, "patrol.work"):
        day0, day1 = _local_day(today())
        checked = session.scalar(
            select(Attendance.id)
            .where(Attendance.user_id == actor.id, Attendance.kind == "in")
            .where(Attendance.at >= day0, Attendance.at < day1)
            .limit(1)
        )
        out["not_checked_in"] = 0 if checked is not None else 1
        own = set(geo.grid_polygons(session=session, worker_id=actor.id))
        # the worker's own patrols (policy.visible gives a worker nothing else)
        mine = _covered(session, actor, "", start, end).get(actor.id, set())
        out["own_grids_uncovered"] = len(own - mine)
        # the tasks sent to them about cases (核实/核查), under cases' own visibility
        out.update(cases.task_counts(session=session, actor=actor))
    if has(actor, "patrol.supervise") and region_scope(actor) is not None:
        out["uncovered_grids"] = len(uncovered_grids(session=session, actor=actor))
    return out
