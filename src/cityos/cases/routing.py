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
from cityos.identity.schemas import Principal


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
