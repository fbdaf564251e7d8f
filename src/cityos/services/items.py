"""The 事项清单: service items and their materials, Excel import/export and the public guide.

The workbook has two sheets, 事项 and 材料 (columns in ITEM_COLUMNS / MATERIAL_COLUMNS). An import
is all or nothing: every row is checked first and the first bad cell is refused (422) naming the
sheet, the row and the column; only a workbook without a fault is written (items upserted by
code, each item's materials replaced).
"""

from __future__ import annotations

import io
from typing import Any

from pydantic import ValidationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from cityos.core import audit
from cityos.core.errors import CityOSError, Invalid, NotFound
from cityos.core.spreadsheet import neutralise_row, open_workbook, read_cell, read_rows
from cityos.identity import service as identity
from cityos.identity.permissions import authorize
from cityos.identity.schemas import Principal
from cityos.services.models import ItemMaterial, LicenseKind, ServiceItem
from cityos.services.schemas import ItemIn, ItemOut, MaterialIn, MaterialOut

ITEM_COLUMNS = [
    ("事项编码", "code"),
    ("事项名称", "name"),
    ("实施部门", "department_code"),
    ("事项类型", "kind"),
    ("设定依据", "legal_basis"),
    ("受理条件", "conditions"),
    ("承诺时限（工作日）", "time_limit_days"),
    ("收费", "fee"),
    ("网上办理", "online"),
    ("出具证照", "license_kind"),
    ("监管部门", "regulator_code"),
    ("整改时限（工作日）", "rectify_days"),
]
MATERIAL_COLUMNS = [
    ("事项编码", "item_code"),
    ("材料名称", "name"),
    ("必要", "required"),
    ("来源", "source"),
    ("证照类型", "license_kind"),
    ("共享资源", "resource_code"),
    ("共享字段", "resource_fields"),
]
SOURCE_NAMES = {"upload": "申请人提交", "license": "电子证照", "resource": "数据共享"}
YES, NO = "是", "否"


def _dept_maps(session: Session) -> tuple[dict[int, Any], dict[str, Any]]:
    depts = identity.departments(session=session)
    return {d.id: d for d in depts}, {d.code: d for d in depts}


def item_out(session: Session, item: ServiceItem, by_id: dict[int, Any] | None = None) -> ItemOut:
    by_id = by_id or _dept_maps(session)[0]
    d = by_id.get(item.department_id)
    reg = by_id.get(item.regulator_department_id) if item.regulator_department_id else None
    mats = session.scalars(
        select(ItemMaterial).where(ItemMaterial.item_id == item.id).order_by(ItemMaterial.position)
    )
    return ItemOut(
        id=item.id,
        code=item.code,
        name=item.name,
        department_id=item.department_id,
        department_code=d.code if d else "",
        department_name=d.name if d else "",
        kind=item.kind,
        legal_basis=item.legal_basis,
        conditions=item.conditions,
        time_limit_days=item.time_limit_days,
        fee=item.fee,
        online=item.online,
        license_kind=item.license_kind,
        regulator_code=reg.code if reg else None,
        rectify_days=item.rectify_days,
        materials=[
            MaterialOut(
                id=m.id,
                name=m.name,
                required=m.required,
                source=m.source,
                license_kind=m.license_kind,
                resource_code=m.resource_code,
                resource_fields=list(m.resource_fields or []),
            )
            for m in mats
        ],
    )


def _check(session: Session, data: ItemIn, by_code: dict[str, Any], kinds: set[str]) -> None:
    if data.department_code not in by_code:
        raise Invalid(
            "Unknown department {code}",
            field="department_code",
            code="unknown_department",
            params={"code": data.department_code},
        )
    if data.regulator_code and data.regulator_code not in by_code:
        raise Invalid(
            "Unknown department {code}",
            field="regulator_code",
            code="unknown_department",
            params={"code": data.regulator_code},
        )
    if data.license_kind and data.license_kind not in kinds:
        raise Invalid(
            "Unknown license kind {code}",
            field="license_kind",
            code="unknown_kind",
            params={"code": data.license_kind},
        )
    for m in data.materials:
        _check_material(m, kinds)


def _check_material(m: MaterialIn, kinds: set[str]) -> None:
    if m.source == "license" and m.license_kind not in kinds:
        raise Invalid(
            "A material from an e-license names a known license kind",
            field="license_kind",
            code="unknown_kind",
            params={"code": m.license_kind or ""},
        )
    if m.source == "resource" and not m.resource_code:
        raise Invalid(
            "A material from data sharing names its resource", field="resource_code", code="resource_required"
        )


def save_item(*, session: Session, actor: Principal, data: ItemIn) -> ItemOut:
    """Create or replace an item (by code) with its materials."""
    authorize(actor, "services.manage")
    by_id, by_code = _dept_maps(session)
    kinds = set(session.scalars(select(LicenseKind.code)))
    _check(session, data, by_code, kinds)
    item = _write(session, data, by_code)
    audit.record(
        session,
        actor=actor.actor,
        action="services.item.save",
        subject_type="svc_item",
        subject_id=data.code,
        payload={"materials": len(data.materials)},
    )
    return item_out(session, item, by_id)


def _write(session: Session, data: ItemIn, by_code: dict[str, Any]) -> ServiceItem:
    item = session.scalar(select(ServiceItem).where(ServiceItem.code == data.code))
    if item is None:
        item = ServiceItem(code=data.code)
        session.add(item)
    item.name, item.kind = data.name, data.kind
    item.department_id = by_code[data.department_code].id
    item.legal_basis, item.conditions = data.legal_basis, data.conditions
    item.time_limit_days, item.fee, item.online = data.time_limit_days, data.fee, data.online
    item.license_kind = data.license_kind or None
    item.regulator_department_id = by_code[data.regulator_code].id if data.regulator_code else None
    item.rectify_days, item.active = data.rectify_days, True
    session.flush()
    session.execute(delete(ItemMaterial).where(ItemMaterial.item_id == item.id))
    for i, m in enumerate(data.materials):
        session.add(
            ItemMaterial(
                item_id=item.id,
                position=i,
                name=m.name,
                required=m.required,
                source=m.source,
                license_kind=m.license_kind if m.source == "license" else None,
                resource_code=m.resource_code if m.source == "resource" else None,
                resource_fields=m.resource_fields if m.source == "resource" else [],
            )
        )
    session.flush()
    return item


def items(*, session: Session, query: str | None = None, department_id: int | None = None) -> list[ItemOut]:
    stmt = select(ServiceItem).where(ServiceItem.active.is_(True)).order_by(ServiceItem.code)
    if query:
        stmt = stmt.where(ServiceItem.name.contains(query, autoescape=True))
    if department_id:
        stmt = stmt.where(ServiceItem.department_id == department_id)
    by_id = _dept_maps(session)[0]
    return [item_out(session, i, by_id) for i in session.scalars(stmt)]


def get_item_row(session: Session, code: str) -> ServiceItem:
    item = session.scalar(select(ServiceItem).where(ServiceItem.code == code))
    if item is None or not item.active:
        raise NotFound("Service item {code} not found", code="item_not_found", params={"code": code})
    return item


def get_item(*, session: Session, code: str) -> ItemOut:
    return item_out(session, get_item_row(session, code))


# ---------------------------------------------------------------- Excel
def export_workbook(*, session: Session) -> bytes:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "事项"
    ws.append([h for h, _ in ITEM_COLUMNS])
    wm = wb.create_sheet("材料")
    wm.append([h for h, _ in MATERIAL_COLUMNS])
    for it in items(session=session):
        d = it.model_dump()
        d["online"] = YES if it.online else NO
        ws.append(neutralise_row([d[k] if d[k] is not None else "" for _, k in ITEM_COLUMNS]))
        for m in it.materials:
            wm.append(
                neutralise_row(
                    [
                        it.code,
                        m.name,
                        YES if m.required else NO,
                        SOURCE_NAMES[m.source],
                        m.license_kind or "",
                        m.resource_code or "",
                        ",".join(m.resource_fields),
                    ]
                )
            )
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _col(i: int) -> str:
    return chr(ord("A") + i)


def _sheet_rows(wb: Any, name: str, columns: list[tuple[str, str]]) -> list[tuple[int, dict[str, str]]]:
    if name not in wb.sheetnames:
        raise Invalid(
            "The workbook has no sheet {sheet}", field=name, code="sheet_missing", params={"sheet": name}
        )
    rows = read_rows(wb[name])
    first = next(rows, None)
    header = [read_cell(v) for v in (first[1] if first else ())]
    for i, (h, _) in enumerate(columns):
        if i >= len(header) or header[i] != h:
            raise Invalid(
                "Sheet {sheet}, column {col}: the header must be {header}",
                field=f"{name}!{_col(i)}1",
                code="bad_header",
                params={"sheet": name, "col": _col(i), "header": h},
            )
    out = []
    for n, values in rows:
        cells = [read_cell(v) for v in values]
        if any(cells):
            out.append((n, {k: (cells[i] if i < len(cells) else "") for i, (_, k) in enumerate(columns)}))
    return out


def _bad(sheet: str, row: int, columns: list[tuple[str, str]], key: str, message: str) -> Invalid:
    i = next((j for j, (_, k) in enumerate(columns) if k == key), 0)
    return Invalid(
        "Sheet {sheet}, row {row}, column {col} ({header}): {message}",
        field=f"{sheet}!{_col(i)}{row}",
        code="bad_cell",
        params={"sheet": sheet, "row": row, "col": _col(i), "header": columns[i][0], "message": message},
    )


def _yes(v: str) -> bool | None:
    return {YES: True, NO: False, "1": True, "0": False, "": True}.get(v)


def import_workbook(*, session: Session, actor: Principal, data: bytes) -> int:
    """Read the whole workbook, check every cell, then write: nothing is written when any cell is bad."""
    authorize(actor, "services.manage")
    wb = open_workbook(data)
    item_rows = _sheet_rows(wb, "事项", ITEM_COLUMNS)
    mat_rows = _sheet_rows(wb, "材料", MATERIAL_COLUMNS)
    _, by_code = _dept_maps(session)
    kinds = set(session.scalars(select(LicenseKind.code)))
    parsed: dict[str, tuple[int, dict[str, Any]]] = {}
    for n, r in item_rows:
        d: dict[str, Any] = dict(r)
        online = _yes(r["online"])
        if online is None:
            raise _bad("事项", n, ITEM_COLUMNS, "online", "是 or 否")
        d["online"] = online
        if (r["rectify_days"] or "5") not in ("5", "15"):
            raise _bad("事项", n, ITEM_COLUMNS, "rectify_days", "5 or 15")
        d["rectify_days"] = int(r["rectify_days"] or "5")
        d["license_kind"] = r["license_kind"] or None
        d["regulator_code"] = r["regulator_code"] or None
        if r["code"] in parsed:
            raise _bad("事项", n, ITEM_COLUMNS, "code", "duplicate code")
        parsed[r["code"]] = (n, d | {"materials": []})
    names = {s: k for s, k in ((v, k) for k, v in SOURCE_NAMES.items())}
    for n, r in mat_rows:
        if r["item_code"] not in parsed:
            raise _bad("材料", n, MATERIAL_COLUMNS, "item_code", "no such item in sheet 事项")
        source = names.get(r["source"], r["source"])
        required = _yes(r["required"])
        if required is None:
            raise _bad("材料", n, MATERIAL_COLUMNS, "required", "是 or 否")
        try:
            m = MaterialIn(
                name=r["name"],
                required=required,
                source=source,
                license_kind=r["license_kind"] or None,
                resource_code=r["resource_code"] or None,
                resource_fields=[f.strip() for f in r["resource_fields"].split(",") if f.strip()],
            )
            _check_material(m, kinds)
        except ValidationError as e:
            key = str(e.errors()[0]["loc"][0]) if e.errors()[0]["loc"] else "name"
            raise _bad("材料", n, MATERIAL_COLUMNS, key, e.errors()[0]["msg"]) from None
        except CityOSError as e:
            raise _bad(
                "材料", n, MATERIAL_COLUMNS, e.field or "source", e.message.format(**e.params)
            ) from None
        parsed[r["item_code"]][1]["materials"].append(m)
    checked = []
    for n, d in parsed.values():
        try:
            item = ItemIn.model_validate(d)
            _check(session, item, by_code, kinds)
        except ValidationError as e:
            loc = e.errors()[0]["loc"]
            raise _bad(
                "事项", n, ITEM_COLUMNS, str(loc[0]) if loc else "code", e.errors()[0]["msg"]
            ) from None
        except CityOSError as e:
            raise _bad("事项", n, ITEM_COLUMNS, e.field or "code", e.message.format(**e.params)) from None
        checked.append(item)
    for item in checked:
        _write(session, item, by_code)
    audit.record(
        session,
        actor=actor.actor,
        action="services.item.import",
        subject_type="svc_item",
        subject_id="",
        payload={"items": len(checked), "materials": len(mat_rows)},
    )
    return len(checked)
