"""Applications (办件): online or at the front window, materials the government holds fetched
with consent through data sharing and never asked again, the window's acceptance (受理) or one
return with the complete list of what is missing (一次性告知), the back office's decision, the
deadline on the working calendar, the result issued, and the supervision task (审管联动).

States: submitted → accepted → approved → issued, with returned (to the applicant, once),
sent_back (to the window) and rejected. Functions are keyword-only verbs that never commit.
"""

from __future__ import annotations

import os
from typing import Any

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.orm import Session
from stdnum.cn import ric, uscc

from cityos.catalog import service as catalog
from cityos.core import audit, clock, events, files
from cityos.core.calendar import get_calendar
from cityos.core.errors import CityOSError, Conflict, Invalid, NotFound
from cityos.identity import service as identity
from cityos.identity.permissions import authorize, has
from cityos.identity.schemas import Principal
from cityos.services import licenses
from cityos.services.items import get_item_row
from cityos.services.models import (
    Application,
    ApplicationMaterial,
    ItemMaterial,
    RealName,
    ServiceItem,
    SupervisionTask,
)
from cityos.services.policy import hall_department, mask_code, reviewable, visible
from cityos.services.schemas import ApplicationOut, ApplyIn, AppMaterialOut, DecisionIn, ReturnIn

SATISFIED = ("uploaded", "shared", "license")
OPEN = ("submitted", "returned", "accepted", "sent_back")


# ---------------------------------------------------------------- helpers
def _history(a: Application, actor: Principal, action: str, note: str = "") -> None:
    a.history = [
        *(a.history or []),
        {
            "at": clock.now().isoformat(),
            "by": actor.actor,
            "name": actor.display_name or actor.username,
            "action": action,
            "note": note,
        },
    ]


def _get(session: Session, actor: Principal, number: str) -> Application:
    a = session.scalar(select(Application).where(Application.number == number, visible(actor)))
    if a is None:
        raise NotFound(
            "Application {number} not found", code="application_not_found", params={"number": number}
        )
    return a


def app_out(
    session: Session,
    a: Application,
    actor: Principal,
    *,
    materials: bool = True,
    item: ServiceItem | None = None,
) -> ApplicationOut:
    item = item if item is not None else session.get(ServiceItem, a.item_id)
    mine = actor.id is not None and a.applicant_user_id == actor.id
    mats = []
    if materials:
        mats = [
            AppMaterialOut(
                material_id=m.material_id,
                name=m.name,
                source=m.source,
                status=m.status,
                reference=m.reference,
                data=m.data or {},
            )
            for m in session.scalars(
                select(ApplicationMaterial)
                .where(ApplicationMaterial.application_id == a.id)
                .order_by(ApplicationMaterial.id)
            )
        ]
    now = clock.now()
    return ApplicationOut(
        id=a.id,
        number=a.number,
        item_code=item.code if item else "",
        item_name=item.name if item else "",
        department_id=a.department_id,
        applicant_kind=a.applicant_kind,
        applicant_name=a.applicant_name,
        applicant_code=a.applicant_code if mine else mask_code(a.applicant_code),
        channel=a.channel,
        state=a.state,
        form=a.form or {},
        missing=list(a.missing or []),
        reason=a.reason,
        history=list(a.history or []),
        created_at=a.created_at,
        submitted_at=a.submitted_at,
        accepted_at=a.accepted_at,
        due_at=a.due_at,
        decided_at=a.decided_at,
        issued_at=a.issued_at,
        license_identifier=a.license_identifier,
        materials=mats,
        overdue=a.state == "accepted" and a.due_at is not None and a.due_at < now,
    )


# ---------------------------------------------------------------- real name
def set_real_name(*, session: Session, actor: Principal, name: str, id_number: str) -> RealName:
    """A person states their resident ID; it counts as verified when its check digit and birth
    date check out (GB 11643) — the `acr` real-name level of the OpenID Connect provider."""
    authorize(actor, "services.apply")
    assert actor.id is not None
    id_number = id_number.strip().upper()
    if not ric.is_valid(id_number):
        raise Invalid("Not a valid resident ID number", field="id_number", code="bad_id_number")
    row = session.get(RealName, actor.id) or RealName(user_id=actor.id)
    row.name, row.id_number, row.verified_at = name.strip() or actor.display_name, id_number, clock.now()
    session.add(row)
    audit.record(
        session,
        actor=actor.actor,
        action="services.realname",
        subject_type="user",
        subject_id=actor.id,
        payload={"id_number": mask_code(id_number)},
    )
    return row


def real_name(*, session: Session, user_id: int) -> RealName | None:
    return session.get(RealName, user_id)


def _applicant(
    session: Session, actor: Principal, data: ApplyIn, channel: str
) -> tuple[int | None, str, str]:
    if data.applicant_kind == "company":
        code = (data.applicant_code or "").strip().upper()
        if not uscc.is_valid(code):
            raise Invalid("Not a valid unified social credit code", field="applicant_code", code="bad_uscc")
        if not (data.applicant_name or "").strip():
            raise Invalid("Name the company", field="applicant_name", code="name_required")
        return (actor.id if channel == "online" else None), data.applicant_name.strip(), code  # type: ignore[union-attr]
    if channel == "online":
        assert actor.id is not None
        rn = session.get(RealName, actor.id)
        if rn is None:
            if not data.applicant_code:
                raise Invalid(
                    "Verify your real name (resident ID) first",
                    field="applicant_code",
                    code="real_name_required",
                )
            rn = set_real_name(
                session=session,
                actor=actor,
                name=data.applicant_name or actor.display_name,
                id_number=data.applicant_code,
            )
        return actor.id, rn.name, rn.id_number
    code = (data.applicant_code or "").strip().upper()
    if not ric.is_valid(code):
        raise Invalid("Not a valid resident ID number", field="applicant_code", code="bad_id_number")
    if not (data.applicant_name or "").strip():
        raise Invalid("Name the applicant", field="applicant_name", code="name_required")
    holder = session.scalar(select(RealName.user_id).where(RealName.id_number == code))
    return holder, data.applicant_name.strip(), code  # type: ignore[union-attr]


# ---------------------------------------------------------------- submit
def submit(*, session: Session, actor: Principal, data: ApplyIn) -> ApplicationOut:
    """File an application online (services.apply) — or at the front window on the applicant's
    behalf (services.window, `channel` window)."""
    return _submit(session, actor, data, "online")


def submit_at_window(*, session: Session, actor: Principal, data: ApplyIn) -> ApplicationOut:
    return _submit(session, actor, data, "window")


def _submit(session: Session, actor: Principal, data: ApplyIn, channel: str) -> ApplicationOut:
    authorize(actor, "services.apply" if channel == "online" else "services.window")
    item = get_item_row(session, data.item_code)
    if channel == "online" and not item.online:
        raise Invalid("This item is handled only at the service hall", code="offline_only")
    user_id, name, code = _applicant(session, actor, data, channel)
    now = clock.now()
    a = Application(
        number=f"tmp-{os.urandom(6).hex()}",
        item_id=item.id,
        department_id=item.department_id,
        applicant_user_id=user_id,
        applicant_kind=data.applicant_kind,
        applicant_name=name,
        applicant_code=code,
        channel=channel,
        created_by=actor.actor,
        state="submitted",
        form=dict(data.form),
        consent=data.consent,
        missing=[],
        returned_count=0,
        reason="",
        history=[],
        created_at=now,
        submitted_at=now,
    )
    session.add(a)
    session.flush()
    a.number = f"{clock.local(now):%Y%m%d}{a.id:08d}"
    _history(a, actor, "submitted")
    _gather(session, actor, a, item, data.uploads)
    audit.record(
        session,
        actor=actor.actor,
        action="services.application.submit",
        subject_type="svc_application",
        subject_id=a.number,
        payload={"item": item.code, "channel": channel, "consent": data.consent},
    )
    events.publish(session, "services.ApplicationSubmitted", {"number": a.number})
    return app_out(session, a, actor)


def _gather(
    session: Session, actor: Principal, a: Application, item: ServiceItem, uploads: dict[int, str]
) -> None:
    """Fill each material: what is already satisfied stays (never asked again); uploads by their
    stored file; e-licenses and base-registry data fetched only with the applicant's consent."""
    have = {
        m.material_id: m
        for m in session.scalars(
            select(ApplicationMaterial).where(ApplicationMaterial.application_id == a.id)
        )
    }
    for m in session.scalars(
        select(ItemMaterial).where(ItemMaterial.item_id == item.id).order_by(ItemMaterial.position)
    ):
        row = have.get(m.id)
        if row is None:
            row = ApplicationMaterial(
                application_id=a.id,
                material_id=m.id,
                name=m.name,
                source=m.source,
                status="missing",
                reference="",
                data={},
                at=clock.now(),
            )
            session.add(row)
        if row.status in SATISFIED:
            continue
        if m.source == "upload":
            sha = uploads.get(m.id)
            if sha:
                if not files.exists(sha):
                    raise Invalid(
                        "The file for {name} was not uploaded",
                        field=f"uploads.{m.id}",
                        code="file_missing",
                        params={"name": m.name},
                    )
                row.status, row.reference, row.at = "uploaded", sha, clock.now()
        elif a.consent and m.source == "license":
            _from_license(session, actor, a, item, m, row)
        elif a.consent and m.source == "resource":
            _from_sharing(session, actor, a, item, m, row)
    session.flush()


def _reason(a: Application, item: ServiceItem, m: ItemMaterial) -> str:
    return f"一网通办：办理“{item.name}”（办件 {a.number}）核验材料“{m.name}”，申请人已授权"


def _from_license(
    session: Session,
    actor: Principal,
    a: Application,
    item: ServiceItem,
    m: ItemMaterial,
    row: ApplicationMaterial,
) -> None:
    lic = licenses.held(session, holder_code=a.applicant_code, kind_code=m.license_kind or "")
    if lic is None:
        return
    reason = _reason(a, item, m)
    row.status, row.reference, row.at = "license", lic.identifier, clock.now()
    row.data = {"name": lic.name, "number": lic.number, "issuer": lic.issuer_name}
    audit.record(
        session,
        actor=actor.actor,
        action="services.material.license",
        subject_type="svc_application",
        subject_id=a.number,
        payload={"material": m.name, "license": lic.identifier, "reason": reason},
    )


def _from_sharing(
    session: Session,
    actor: Principal,
    a: Application,
    item: ServiceItem,
    m: ItemMaterial,
    row: ApplicationMaterial,
) -> None:
    """Read the applicant's record of a base registry through catalog's share rules, as the hall
    department (whose grant it is), with the stated reason in the record of the call."""
    try:
        hall = identity.get_department(session=session, code=hall_department())
    except NotFound:
        hall = identity.get_department(session=session, id=item.department_id)
    consumer = Principal(
        kind="token",
        username=f"services:{hall.code}",
        scopes=frozenset({"data"}),
        department_id=hall.id,
        department_code=hall.code,
        department_name=hall.name,
    )
    reason = _reason(a, item, m)
    try:
        found = catalog.lookup_row(
            session=session,
            actor=consumer,
            code=m.resource_code or "",
            key=a.applicant_code,
            purpose=reason,
            fields=m.resource_fields or None,
        )
    except CityOSError as exc:
        row.data = {"refused": exc.code}
        return
    if found is None:
        row.data = {"not_found": True}
        return
    row.status, row.reference, row.at = "shared", m.resource_code or "", clock.now()
    row.data = found
    audit.record(
        session,
        actor=actor.actor,
        action="services.material.shared",
        subject_type="svc_application",
        subject_id=a.number,
        payload={"material": m.name, "resource": m.resource_code, "reason": reason, "consumer": hall.code},
    )


def supplement(*, session: Session, actor: Principal, number: str, uploads: dict[int, str]) -> ApplicationOut:
    """The applicant (or the window) hands in what the return listed; the application is submitted
    again and only what is still missing is looked at."""
    a = _get(session, actor, number)
    if a.applicant_user_id != actor.id:
        authorize(actor, "services.window")
    if a.state != "returned":
        raise Conflict("Only a returned application takes supplements", code="not_returned")
    _gather(session, actor, a, session.get(ServiceItem, a.item_id), uploads)  # type: ignore[arg-type]
    a.state, a.submitted_at = "submitted", clock.now()
    _history(a, actor, "supplemented")
    audit.record(
        session,
        actor=actor.actor,
        action="services.application.supplement",
        subject_type="svc_application",
        subject_id=a.number,
        payload={"files": len(uploads)},
    )
    return app_out(session, a, actor)


# ---------------------------------------------------------------- the window
def _missing(session: Session, a: Application) -> list[str]:
    req = {
        m.id
        for m in session.scalars(
            select(ItemMaterial).where(ItemMaterial.item_id == a.item_id, ItemMaterial.required.is_(True))
        )
    }
    return [
        m.name
        for m in session.scalars(
            select(ApplicationMaterial)
            .where(ApplicationMaterial.application_id == a.id)
            .order_by(ApplicationMaterial.id)
        )
        if m.material_id in req and m.status not in SATISFIED
    ]


def accept(*, session: Session, actor: Principal, number: str) -> ApplicationOut:
    """受理: the window checks completeness; the deadline runs from now in working days."""
    a = _get(session, actor, number)
    authorize(actor, "services.window")
    if a.state not in ("submitted", "sent_back"):
        raise Conflict("This application cannot be accepted now", code="bad_state")
    missing = _missing(session, a)
    if missing:
        raise Invalid(
            "Materials missing: {names}; return the application with the list",
            code="materials_missing",
            params={"names": "、".join(missing)},
        )
    item = session.get(ServiceItem, a.item_id)
    assert item is not None
    now = clock.now()
    a.state, a.accepted_at = "accepted", now
    if a.due_at is None:
        a.due_at = get_calendar(session).add_working_days(now, item.time_limit_days)
    _history(a, actor, "accepted")
    audit.record(
        session,
        actor=actor.actor,
        action="services.application.accept",
        subject_type="svc_application",
        subject_id=a.number,
        payload={"due_at": a.due_at.isoformat()},
    )
    return app_out(session, a, actor)


def return_once(*, session: Session, actor: Principal, number: str, data: ReturnIn) -> ApplicationOut:
    """一次性告知: the return names every missing material at once, and happens only once."""
    a = _get(session, actor, number)
    authorize(actor, "services.window")
    if a.state not in ("submitted", "sent_back"):
        raise Conflict("This application cannot be returned now", code="bad_state")
    if a.returned_count >= 1:
        raise Conflict(
            "This application was already returned once with the complete list", code="already_returned"
        )
    listed = [s.strip() for s in data.missing if s.strip()]
    left_out = [n for n in _missing(session, a) if n not in listed]
    if left_out:
        raise Invalid(
            "The list must name every missing material; it leaves out {names}",
            field="missing",
            code="list_incomplete",
            params={"names": "、".join(left_out)},
        )
    a.state, a.missing, a.reason = "returned", listed, data.reason
    a.returned_count += 1
    _history(a, actor, "returned", "、".join(listed))
    audit.record(
        session,
        actor=actor.actor,
        action="services.application.return",
        subject_type="svc_application",
        subject_id=a.number,
        payload={"missing": listed},
    )
    events.publish(session, "services.ApplicationReturned", {"number": a.number})
    return app_out(session, a, actor)


# ---------------------------------------------------------------- the back office
def decide(*, session: Session, actor: Principal, number: str, data: DecisionIn) -> ApplicationOut:
    a = _get(session, actor, number)
    authorize(actor, "services.review", department_id=a.department_id)
    if a.state != "accepted":
        raise Conflict("Only an accepted application can be decided", code="bad_state")
    if data.decision != "approve" and not data.reason.strip():
        raise Invalid("State the reason", field="reason", code="reason_required")
    item = session.get(ServiceItem, a.item_id)
    assert item is not None
    now = clock.now()
    a.reason = data.reason
    if data.decision == "send_back":
        a.state = "sent_back"
    else:
        a.state, a.decided_at = ("approved" if data.decision == "approve" else "rejected"), now
    _history(a, actor, a.state, data.reason)
    audit.record(
        session,
        actor=actor.actor,
        action=f"services.application.{data.decision}",
        subject_type="svc_application",
        subject_id=a.number,
        payload={"reason": data.reason},
    )
    if a.state == "approved":
        _approved(session, actor, a, item)
    return app_out(session, a, actor)


def _approved(session: Session, actor: Principal, a: Application, item: ServiceItem) -> None:
    if item.license_kind:
        lic = licenses.issue(
            session=session,
            actor=actor,
            kind_code=item.license_kind,
            holder_user_id=a.applicant_user_id,
            holder_name=a.applicant_name,
            holder_code=a.applicant_code,
            holder_kind=a.applicant_kind,
            jurisdiction=_jurisdiction(session, item),
            fields=dict(a.form or {}),
            application_id=a.id,
        )
        a.license_identifier = lic.identifier
    if item.regulator_department_id:
        session.add(
            SupervisionTask(
                application_id=a.id,
                item_id=item.id,
                department_id=item.regulator_department_id,
                state="open",
                note="",
                created_at=clock.now(),
            )
        )
        audit.record(
            session,
            actor=actor.actor,
            action="services.supervision.open",
            subject_type="svc_application",
            subject_id=a.number,
            payload={"regulator": item.regulator_department_id},
        )
    if a.channel == "online":  # the result goes to the applicant's wallet and page at once
        _issue(a, actor)
    events.publish(session, "services.ApplicationApproved", {"number": a.number})


def _jurisdiction(session: Session, item: ServiceItem) -> str:
    return identity.get_department(session=session, id=item.department_id).region_code


def _issue(a: Application, actor: Principal) -> None:
    a.state, a.issued_at = "issued", clock.now()
    _history(a, actor, "issued")


def issue_result(*, session: Session, actor: Principal, number: str) -> ApplicationOut:
    """统一窗口出件: the window hands over the result of an approved application."""
    a = _get(session, actor, number)
    authorize(actor, "services.window")
    if a.state != "approved":
        raise Conflict("Only an approved application is issued", code="bad_state")
    _issue(a, actor)
    audit.record(
        session,
        actor=actor.actor,
        action="services.application.issue",
        subject_type="svc_application",
        subject_id=a.number,
        payload={},
    )
    return app_out(session, a, actor)


# ---------------------------------------------------------------- reads
def get_application(*, session: Session, actor: Principal, number: str) -> ApplicationOut:
    return app_out(session, _get(session, actor, number), actor)


def search(
    *,
    session: Session,
    actor: Principal,
    state: str | None = None,
    q: str | None = None,
    mine: bool = False,
    limit: int = 50,
    before: int | None = None,
    to_decide: bool = False,
) -> list[ApplicationOut]:
    """Applications the actor may see, newest first (keyset on id): by state, and by number,
    applicant name or exact applicant code; `to_decide` keeps those whose decision is the actor's
    (the back-office inbox)."""
    stmt = select(Application).where(reviewable(actor) if to_decide else visible(actor))
    if mine:
        stmt = stmt.where(Application.applicant_user_id == (actor.id or -1))
    if state:
        stmt = stmt.where(Application.state == state)
    if q and q.strip():
        stmt = stmt.where(_matches(q.strip()))
    if before:
        stmt = stmt.where(Application.id < before)
    stmt = stmt.order_by(Application.id.desc()).limit(max(1, min(limit, 200)))
    rows = list(session.scalars(stmt))
    # the items of the page in one query (the identity map holds objects weakly: a get per row
    # went back to the database for each of them)
    items = {
        i.id: i
        for i in session.scalars(select(ServiceItem).where(ServiceItem.id.in_({a.item_id for a in rows})))
    }
    return [app_out(session, a, actor, materials=False, item=items.get(a.item_id)) for a in rows]


def _matches(q: str) -> ColumnElement[bool]:
    """An application number, an applicant's code (exact), else the start of the applicant's name —
    each one indexed comparison (a name prefix as a range, which both databases answer from the
    index)."""
    if q.isdigit() and len(q) == 16:
        return Application.number == q
    if len(q) == 18 and q.upper().isalnum() and q[:6].isdigit():
        return Application.applicant_code == q.upper()
    return and_(Application.applicant_name >= q, Application.applicant_name < q + "\U0010ffff")


def counts(*, session: Session, actor: Principal) -> dict[str, int]:
    rows = session.execute(
        select(Application.state, func.count()).where(visible(actor)).group_by(Application.state)
    )
    return {s: int(n) for s, n in rows}


def supervision_tasks(*, session: Session, actor: Principal) -> list[dict[str, Any]]:
    authorize(actor, "services.supervise")
    stmt = (
        select(SupervisionTask, Application.number, ServiceItem.name)
        .join(Application, Application.id == SupervisionTask.application_id)
        .join(ServiceItem, ServiceItem.id == SupervisionTask.item_id)
        .order_by(SupervisionTask.id.desc())
        .limit(200)
    )
    if not has(actor, "services.manage"):
        stmt = stmt.where(SupervisionTask.department_id == (actor.department_id or -1))
    return [
        {"id": t.id, "number": n, "item": name, "state": t.state, "created_at": t.created_at, "note": t.note}
        for t, n, name in session.execute(stmt)
    ]


def close_supervision(*, session: Session, actor: Principal, task_id: int, note: str) -> None:
    t = session.get(SupervisionTask, task_id)
    if t is None:
        raise NotFound("Task not found", code="task_not_found")
    authorize(actor, "services.supervise", department_id=t.department_id)
    if t.state != "open":
        raise Conflict("This task is closed", code="bad_state")
    t.state, t.note, t.done_at = "done", note, clock.now()
    audit.record(
        session,
        actor=actor.actor,
        action="services.supervision.done",
        subject_type="svc_supervision",
        subject_id=t.id,
        payload={"note": note},
    )


def certificate_free(*, session: Session) -> list[dict[str, Any]]:
    """免证明 measurement: per item (and its department), materials satisfied from data (shared
    or e-license) against those handed in on paper or upload."""
    rows = session.execute(
        select(
            ServiceItem.code,
            ServiceItem.name,
            ServiceItem.department_id,
            ApplicationMaterial.status,
            func.count(),
        )
        .join(Application, Application.item_id == ServiceItem.id)
        .join(ApplicationMaterial, ApplicationMaterial.application_id == Application.id)
        .group_by(ServiceItem.code, ServiceItem.name, ServiceItem.department_id, ApplicationMaterial.status)
    )
    names = {d.id: d.name for d in identity.departments(session=session)}
    out: dict[str, dict[str, Any]] = {}
    for code, name, dept, status, n in rows:
        r = out.setdefault(
            code,
            {
                "code": code,
                "name": name,
                "department": names.get(dept, ""),
                "from_data": 0,
                "handed_in": 0,
                "missing": 0,
            },
        )
        key = (
            "from_data"
            if status in ("shared", "license")
            else "handed_in"
            if status == "uploaded"
            else "missing"
        )
        r[key] += int(n)
    for r in out.values():
        total = r["from_data"] + r["handed_in"]
        r["share"] = round(100 * r["from_data"] / total, 1) if total else 0.0
    return sorted(out.values(), key=lambda r: r["code"])
