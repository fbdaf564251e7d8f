"""Excel export of a case list exactly as filtered: the same `CaseFilter`, the same
`queries.list_cases` (so the same `policy.visible` and the same order, newest first), walked page by
page with the keyset cursor. Headers in Chinese (the sheet goes to offices that read Chinese); every
cell through `core.spreadsheet.neutralise`, since descriptions are typed by the public. No
reporter name or phone: the export is a working list, not a personal-data extract."""

from __future__ import annotations

import io
from datetime import datetime
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from sqlalchemy.orm import Session

from cityos.cases.filters import CaseFilter, list_arguments
from cityos.cases.queries import list_cases
from cityos.cases.schemas import CaseOut
from cityos.core import i18n, spreadsheet
from cityos.core.errors import Invalid
from cityos.core.settings import get_settings
from cityos.identity import service as identity
from cityos.identity.schemas import Principal

EXPORT_MAX = 20_000  # rows in one sheet; past it the filter must be narrowed
PAGE = 500
HEADERS = (
    "案件编号",
    "问题类别",
    "状态",
    "亮灯",
    "来源渠道",
    "问题描述",
    "地址",
    "所属区划",
    "处置部门",
    "上报时间",
    "处置时限",
    "结案时间",
)
LIGHTS = {"green": "绿灯", "yellow": "黄灯", "red": "红灯"}


def export_cases(*, session: Session, actor: Principal, filters: CaseFilter) -> list[CaseOut]:
    """Every case of the filtered list, in the list's order (Invalid past EXPORT_MAX)."""
    args = list_arguments(filters, actor)
    out: list[CaseOut] = []
    after: str | None = None
    while True:
        page = list_cases(session=session, actor=actor, **args, limit=PAGE, after=after, count_cap=0)
        out.extend(page.items)
        if len(out) > EXPORT_MAX:
            raise Invalid(
                "More than %(n)s cases match: narrow the filter to export them",
                code="export_too_large",
                params={"n": EXPORT_MAX},
            )
        if not page.next_after:
            return out
        after = page.next_after


def _local(value: datetime | None, tz: ZoneInfo) -> str:
    return value.astimezone(tz).strftime("%Y-%m-%d %H:%M") if value else ""


def to_xlsx(*, session: Session, cases: list[CaseOut]) -> bytes:
    """The cases as one sheet: Chinese headers, names instead of codes, local times."""
    tz = ZoneInfo(get_settings().timezone)
    regions = {r.code: r.name for r in identity.regions(session=session)}
    depts = {d.id: d.name for d in identity.departments(session=session)}
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "案件清单"
    ws.append(list(HEADERS))
    for c in cases:
        row = [
            c.number,
            c.category_name,
            i18n.gettext("state:" + c.state, "zh_CN"),
            LIGHTS.get(c.light or "", ""),
            i18n.gettext("channel:" + c.channel, "zh_CN"),
            c.description,
            c.address,
            regions.get(c.region_code, c.region_code),
            depts.get(c.department_id, "") if c.department_id else "",
            _local(c.reported_at, tz),
            _local(c.deadline, tz),
            _local(c.closed_at, tz),
        ]
        ws.append(spreadsheet.neutralise_row(row))
    ws.freeze_panes = "A2"
    for col, width in zip("ABCDEFGHIJKL", (20, 16, 10, 6, 10, 40, 30, 14, 20, 17, 17, 17), strict=True):
        ws.column_dimensions[col].width = width
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
