"""数据异议: a person or an enterprise objects to what a base registry holds about them.

Whose record is whose: a citizen's resident ID is the one of their real-name record (the services
module's real-name verification, GB 11643 check digit); the enterprises a citizen speaks for are
those whose legal representative (法人库 field `legal_rep_id`, authority 市场监管) is that ID. No
key is ever taken from the request: a citizen sees their own record and nothing else.

One's own record is shown in clear (the person's right to see the data held about them), each field
with its source resource, the department that is authoritative for it and the as-of time; the look
is on the audit trail. An objection names one field and the reason; it becomes a discrepancy item
(origin `objection`) for the field's source department, which answers it like any other
(corrected, disputed → the data bureau, accepted as a known difference); the person sees the state
and the answer.
"""

from __future__ import annotations

from typing import Any

import pyarrow.parquet as pq
from sqlalchemy import select
from sqlalchemy.orm import Session

from cityos.catalog import service as catalog
from cityos.core import audit
from cityos.core.errors import CityOSError, Invalid, NotFound
from cityos.core.settings import get_settings
from cityos.identity import service as identity
from cityos.identity.permissions import authorize
from cityos.identity.schemas import Principal
from cityos.registries.build import registry_def
from cityos.registries.models import Discrepancy, RegistryVersion
from cityos.registries.work import open_discrepancy, visible_discrepancies
from cityos.services import service as services

REP_FIELD = "legal_rep_id"  # the 法人库 field naming an enterprise's legal representative
MAX_REASON = 500


REGION_FIELDS = ("division",)  # fields holding a division code: shown with the region's name


def _region_name(session: Session, code: Any) -> str | None:
    if not isinstance(code, str) or not code:
        return None
    try:
        return identity.get_region(session=session, code=code).name
    except CityOSError:
        return None  # a code of another year's list: the code alone


def _latest(session: Session, code: str) -> RegistryVersion | None:
    return session.scalar(
        select(RegistryVersion)
        .where(RegistryVersion.registry_code == code)
        .order_by(RegistryVersion.number.desc())
        .limit(1)
    )


def own_id(session: Session, actor: Principal) -> str:
    """The actor's verified resident ID (real name), or 403-style refusal with what to do."""
    rn = services.real_name(session=session, user_id=actor.id) if actor.id else None
    if rn is None or rn.verified_at is None:
        raise Invalid(
            "Verify your real name (resident ID) first",
            code="real_name_required",
            field="id_number",
        )
    return rn.id_number


def own_subjects(*, session: Session, actor: Principal) -> dict[str, list[str]]:
    """The keys the actor may object on: {"population": [own ID], "legal_entities": [USCCs the
    actor is the legal representative of]} (a registry not built yet gives an empty list)."""
    authorize(actor, "registries.object")
    me = own_id(session, actor)
    out: dict[str, list[str]] = {"population": [], "legal_entities": []}
    v = _latest(session, "population")
    if v is not None:
        t = pq.read_table(
            get_settings().datastore / v.path, columns=["id_number"], filters=[("id_number", "=", me)]
        )
        out["population"] = [me] if t.num_rows else []
    v = _latest(session, "legal_entities")
    if v is not None and REP_FIELD in v.provenance:
        t = pq.read_table(get_settings().datastore / v.path, columns=["uscc"], filters=[(REP_FIELD, "=", me)])
        out["legal_entities"] = sorted(t.column("uscc").to_pylist())
    return out


def _check_own(session: Session, actor: Principal, code: str, key: str) -> RegistryVersion:
    registry_def(code)
    if key not in own_subjects(session=session, actor=actor).get(code, []):
        # the same answer whether the key exists or not: nothing is learnt about others' records
        raise NotFound("No record about you with this key", code="record_not_found")
    v = _latest(session, code)
    assert v is not None
    return v


def own_record(*, session: Session, actor: Principal, code: str, key: str) -> dict[str, Any]:
    """The actor's own record (or their enterprise's) in the latest version: every present field in
    clear with its source resource and department, version and as-of time; absent fields say so."""
    authorize(actor, "registries.object")
    reg = registry_def(code)
    v = _check_own(session, actor, code, key)
    row = pq.read_table(get_settings().datastore / v.path, filters=[(reg.key, "=", key)]).to_pylist()[0]
    depts = {d.code: d.name for d in identity.departments(session=session)}
    names: dict[str, str] = {}
    fields = []
    for f in reg.fields:
        if f.name == REP_FIELD:
            continue  # the link to the person, not a fact to show or object to
        prov = v.provenance.get(f.name)
        if prov is None:
            fields.append({"name": f.name, "title": f.title, "shown": False})
            continue
        if prov["resource"] not in names:
            try:
                names[prov["resource"]] = catalog.get_resource(session=session, code=prov["resource"]).name
            except CityOSError:
                names[prov["resource"]] = prov["resource"]
        value = row.get(f.name)
        fields.append(
            {
                "name": f.name,
                "title": f.title,
                "shown": True,
                "value": value.isoformat() if hasattr(value, "isoformat") else value,
                "value_name": _region_name(session, value) if f.name in REGION_FIELDS else None,
                "resource": prov["resource"],
                "resource_name": names[prov["resource"]],
                "authority": prov["authority"],
                "authority_name": depts.get(prov["authority"], prov["authority"]),
                "version": prov["version"],
                "as_of": prov["as_of"],
            }
        )
    audit.record(
        session,
        actor=actor.actor,
        action="registries.own_record.viewed",
        subject_type="registry",
        subject_id=f"{code}@{v.number}",
        payload={"key": key},
    )
    return {"registry": code, "name": reg.name, "key": key, "version": v.number, "fields": fields}


def object_to(
    *, session: Session, actor: Principal, code: str, key: str, field: str, reason: str
) -> Discrepancy:
    """Object to one field of one's own record: a discrepancy for the field's source department."""
    authorize(actor, "registries.object")
    reason = reason.strip()
    if not reason:
        raise Invalid("Give the reason", field="reason", code="reason_required")
    if len(reason) > MAX_REASON:
        raise Invalid("At most 500 characters", field="reason", code="reason_too_long")
    reg = registry_def(code)
    v = _check_own(session, actor, code, key)
    f = next((x for x in reg.fields if x.name == field and x.name != REP_FIELD), None)
    prov = v.provenance.get(field) if f else None
    if f is None or prov is None:
        raise Invalid("Unknown field {field}", field="field", code="unknown_field", params={"field": field})
    resource = catalog.get_resource(session=session, code=prov["resource"])
    # the item is filed under the source's column (最低生活保障 is 民政's `status`), so that is what
    # an objection already being handled is found by
    pending = session.scalar(
        select(Discrepancy.id).where(
            Discrepancy.origin == "objection",
            Discrepancy.holder_code == resource.code,
            Discrepancy.subject_key == key,
            Discrepancy.field == prov["column"],
            Discrepancy.state.in_(("open", "disputed")),
        )
    )
    if pending is not None:
        raise Invalid("An objection on this field is already being handled", code="objection_pending")
    row = pq.read_table(get_settings().datastore / v.path, columns=[field], filters=[(reg.key, "=", key)])
    value = row.column(field)[0].as_py() if row.num_rows else None
    d = open_discrepancy(
        session=session,
        actor=actor,
        origin="objection",
        subject_key=key,
        field=prov["column"],
        holder_code=resource.code,
        holder_department_id=resource.provider_department_id,
        evidence={"registry": code, "version": v.number, "registry_field": field, "reason": reason},
        holder_value=None if value is None else str(value)[:500],
    )
    d.registry_code = code
    return d


def my_objections(*, session: Session, actor: Principal) -> list[Discrepancy]:
    """The objections the actor raised, newest first, with their state and the answer."""
    authorize(actor, "registries.object")
    stmt = (
        select(Discrepancy)
        .where(
            visible_discrepancies(actor),
            Discrepancy.origin == "objection",
            Discrepancy.raised_by == actor.actor,
        )
        .order_by(Discrepancy.opened_at.desc(), Discrepancy.id.desc())
    )
    return list(session.scalars(stmt.limit(200)))
