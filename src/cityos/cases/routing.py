"""Where cases go: the taxonomy (小类 with their departments and limits), dispatch rules (owner or
territory), and the intake channels' automatic filing and dispatch."""

from __future__ import annotations

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from cityos.cases import taxonomy
from cityos.cases.models import CaseCategory, ChannelSetting, DispatchRule
from cityos.cases.queries import _category
from cityos.cases.schemas import (
    CHANNELS,
)
from cityos.core import audit
from cityos.core.errors import Invalid
from cityos.identity import service as identity
from cityos.identity.permissions import authorize
from cityos.identity.schemas import DepartmentOut, Principal


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
            "filing_condition": f"{m.name}：位置明确、问题属实、属于处置范围",
            "closing_condition": f"{m.name}：问题已处置、现场核查通过",
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


def dispatch_choices(
    *, session: Session, category_code: str, region_code: str
) -> list[tuple[str, list[DepartmentOut]]]:
    """The departments a dispatcher picks from for a case, grouped, each group in order:
    - `suggested`: what `route` picks first, then the other departments of the dispatch rules that
      match this category and region, then the category's default department;
    - `region`: departments serving the case's region (its district's first, then the city's),
      those that take this 大类 somewhere (a rule or a category default) first;
    - `other`: every other department, so a case can still go anywhere.
    The 12345 centre itself is no department to dispatch to."""
    from cityos.identity.schemas import division_prefix, within

    cat = _category(session, category_code)
    rules = [
        r
        for r in session.scalars(select(DispatchRule).order_by(DispatchRule.id))
        if category_code.startswith(r.category_prefix)
        and (not r.region_prefix or within(region_code, r.region_prefix))
    ]
    first = route(session=session, category_code=category_code, region_code=region_code)
    specific = sorted(rules, key=lambda r: (-len(r.category_prefix), -len(r.region_prefix), r.id))
    suggested = list(dict.fromkeys([first, *(r.department_code for r in specific), cat.department_code]))
    major = category_code[:3]
    takes_major = set(
        session.scalars(select(CaseCategory.department_code).where(CaseCategory.code.startswith(major)))
    )
    takes_major |= set(
        session.scalars(
            select(DispatchRule.department_code).where(DispatchRule.category_prefix.startswith(major))
        )
    )
    depts = [d for d in identity.departments(session=session) if d.kind != "hotline" and d.active]
    by_code = {d.code: d for d in depts}
    groups: dict[str, list[DepartmentOut]] = {"suggested": [], "region": [], "other": []}
    groups["suggested"] = [by_code[c] for c in suggested if c in by_code]
    taken = {d.code for d in groups["suggested"]}

    def covers(d: DepartmentOut) -> int:
        """How closely the department's regions hold the case's region (0: not at all)."""
        held = [len(division_prefix(s)) for s in d.serves or [d.region_code] if within(region_code, s)]
        return max(held, default=0)

    for d in depts:
        if d.code not in taken:
            groups["region" if covers(d) else "other"].append(d)
    groups["region"].sort(key=lambda d: (-covers(d), d.code not in takes_major, d.name))
    groups["other"].sort(key=lambda d: (d.code not in takes_major, d.region_code, d.name))
    return [(k, v) for k, v in groups.items() if v]


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
