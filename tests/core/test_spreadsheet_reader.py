"""The one spreadsheet reader every import uses (core.spreadsheet): a file that is not a workbook,
a zip bomb and an XML entity bomb are each a clear Invalid (they were 500s, or a process eating
memory), and a cell reads the same text whichever import reads it."""

from __future__ import annotations

import io
import zipfile
from datetime import date, datetime

import openpyxl
import pytest

from cityos.core import spreadsheet
from cityos.core.errors import Invalid

LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10)
    )
    + "]>"
)


def _xlsx(rows: list[list[object]], title: str = "Sheet", more: tuple[str, ...] = ()) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = title
    for r in rows:
        ws.append(r)
    for t in more:
        wb.create_sheet(t).append(["x"])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _replace(data: bytes, member: str, content: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info, content if info.filename == member else src.read(info.filename))
    return out.getvalue()


def sheet_bomb(*titles: str) -> bytes:
    """An .xlsx (sheets named `titles`) whose first sheet's XML expands one cell into a billion 'lol's."""
    body = (
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
        '<row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row></sheetData></worksheet>'
    )
    book = _xlsx([["x"]], *(titles[:1] or ("Sheet",)), more=titles[1:])
    return _replace(book, "xl/worksheets/sheet1.xml", LAUGHS + body)


def workbook_bomb() -> bytes:
    body = (
        '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        '<sheets><sheet name="&lol9;" sheetId="1" r:id="rId1"/></sheets></workbook>'
    )
    return _replace(_xlsx([["x"]]), "xl/workbook.xml", LAUGHS + body)


def _read_all(data: bytes, **kw: object) -> list[tuple[int, tuple[object, ...]]]:
    wb = spreadsheet.open_workbook(data, **kw)  # type: ignore[arg-type]
    return list(spreadsheet.read_rows(wb.worksheets[0], **kw))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"date,type\n2026-10-01,holiday\n",
        b"PK\x03\x04 not really a zip",
        _replace(_xlsx([["x"]]), "xl/workbook.xml", "<not-closed"),
        sheet_bomb(),
        workbook_bomb(),
    ],
    ids=["empty", "csv", "broken-zip", "broken-xml", "sheet-entity-bomb", "workbook-entity-bomb"],
)
def test_what_is_not_a_workbook_is_one_clear_error(data):
    with pytest.raises(Invalid) as e:
        _read_all(data, code="bad_workbook")
    assert e.value.code == "bad_workbook" and e.value.field == "file"


def test_a_zip_bomb_is_refused_before_it_is_inflated():
    wide = _xlsx([["x" * 1000] * 50 for _ in range(200)])  # ~10 MB of XML, a few KB zipped
    assert len(wide) < 200_000
    with pytest.raises(Invalid) as e:
        spreadsheet.open_workbook(wide, max_unpacked=1024 * 1024)
    assert e.value.code == "xlsx_too_large"
    assert len(_read_all(wide)) == 200  # under the default limit it reads


def test_cells_read_as_typed():
    assert [spreadsheet.read_cell(v) for v in (None, " 兰山区 ", 12.0, 12.5, 371302.0, True, False)] == [
        "",
        "兰山区",
        "12",
        "12.5",
        "371302",
        "1",
        "0",
    ]
    assert spreadsheet.read_cell(1e16) == "1e+16"  # past 15 digits a float is no longer exact
    assert spreadsheet.read_cell(datetime(2026, 10, 1)) == "2026-10-01"  # Excel's dates are datetimes
    assert spreadsheet.read_cell(datetime(2026, 10, 1, 8, 30)) == "2026-10-01 08:30:00"
    assert spreadsheet.read_cell(date(2026, 10, 1)) == "2026-10-01"


def test_xlsx_and_csv_give_the_same_records():
    table = [["date", "type", "name"], [datetime(2026, 10, 1), "holiday", " 国庆节 "], [None, None, None]]
    table.append([datetime(2026, 9, 28), "workday", "补班"])
    header, rows = spreadsheet.read_records(_xlsx(table))
    from_xlsx = (header, list(rows))
    csv_text = "date,type,name\n2026-10-01,holiday, 国庆节 \n,,\n2026-09-28,workday,补班\n"
    header, rows = spreadsheet.read_records(csv_text)
    assert (header, list(rows)) == from_xlsx
    assert from_xlsx == (
        ["date", "type", "name"],
        [
            (2, {"date": "2026-10-01", "type": "holiday", "name": "国庆节"}),
            (4, {"date": "2026-09-28", "type": "workday", "name": "补班"}),
        ],
    )


def test_every_excel_import_refuses_an_entity_bomb(db, city):
    """Through the imports themselves: the taxonomy's raised a ParseError (500) before."""
    from cityos.cases import admin, admin_workbook
    from cityos.catalog import excel

    admin_p = city.as_role("admin")
    with db.transaction() as s, pytest.raises(Invalid) as e:
        admin_workbook.import_xlsx(
            session=s, actor=admin_p, data=sheet_bomb(admin.CATEGORY_SHEET, admin.RULE_SHEET)
        )
    assert e.value.code == "bad_workbook"
    with db.transaction() as s, pytest.raises(Invalid) as e:
        excel.import_catalog(
            session=s, actor=city.as_role("data_bureau"), data=sheet_bomb("信息资源", "信息项")
        )
    assert e.value.code == "not_xlsx"


def test_the_calendar_reads_a_workbook_like_its_csv():
    from cityos.core import calendar

    book = _xlsx(
        [
            ["date", "type", "name"],
            [datetime(2026, 10, 1), "holiday", "国庆节"],
            [date(2026, 9, 27), "班", ""],
        ]
    )
    text = "date,type,name\n2026-10-01,holiday,国庆节\n2026-09-27,班,\n"
    assert calendar.parse_schedule(book) == calendar.parse_schedule(text)
    assert calendar.parse_schedule(text) == [
        (date(2026, 10, 1), False, "国庆节"),
        (date(2026, 9, 27), True, ""),
    ]
    with pytest.raises(Invalid) as e:
        calendar.parse_schedule(sheet_bomb())
    assert e.value.code == "not_xlsx"
