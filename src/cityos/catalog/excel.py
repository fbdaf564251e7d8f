"""The catalog as departments send it: an Excel workbook after the 编制指南's core metadata.

Sheet 信息资源 — one row per resource:
    信息资源代码 | 分类码 | 信息资源名称 | 提供方代码 | 信息资源摘要 | 信息资源格式 | 共享类型 | 共享条件 |
    法律依据 | 共享方式 | 开放属性 | 开放条件 | 更新周期 | 发布日期 | 关联资源代码 | 标签 | 主题 | 校验策略
Sheet 信息项 — one row per field:
    信息资源代码或名称 | 信息项名称 | 中文名称 | 数据类型 | 格式 | 描述 | 敏感级别 | 主键 | 可检索 | 必填 |
    唯一 | 枚举值 | 最小值 | 最大值 | 正则 | 最小长度 | 最大长度

Values may be written in Chinese (无条件共享, 每月 …) or as the code names. Lists are separated by
、 , ； or ;. An import is all or nothing: every bad cell is reported with its sheet, row and
column, and nothing is applied unless every row is good. A row whose code exists updates that
resource; a row without a code creates one (its code is assigned from the classification).
"""

from __future__ import annotations

import io
import re
from datetime import date
from pathlib import Path
from typing import Any

import openpyxl
from openpyxl.styles import Font, PatternFill
from pydantic import ValidationError
from sqlalchemy.orm import Session

from cityos.catalog import service
from cityos.catalog.schemas import (
    FORMAT_CLASSES,
    OPEN_TYPES,
    SENSITIVITY,
    SHARE_METHODS,
    SHARE_TYPES,
    UPDATE_CYCLES,
    ResourceIn,
    UsageRow,
)
from cityos.catalog.tableschema import TYPES
from cityos.core import spreadsheet
from cityos.core.errors import CityOSError, Invalid
from cityos.identity.schemas import Principal

RESOURCE_COLUMNS = [
    ("code", "信息资源代码"),
    ("class_code", "分类码"),
    ("name", "信息资源名称"),
    ("provider", "提供方代码"),
    ("summary", "信息资源摘要"),
    ("format_class", "信息资源格式"),
    ("share_type", "共享类型"),
    ("share_condition", "共享条件"),
    ("legal_basis", "法律依据"),
    ("share_methods", "共享方式"),
    ("open_type", "开放属性"),
    ("open_condition", "开放条件"),
    ("update_cycle", "更新周期"),
    ("publish_date", "发布日期"),
    ("related_codes", "关联资源代码"),
    ("tags", "标签"),
    ("topics", "主题"),
    ("policy", "校验策略"),
]
FIELD_COLUMNS = [
    ("resource", "信息资源代码或名称"),
    ("name", "信息项名称"),
    ("title", "中文名称"),
    ("type", "数据类型"),
    ("format", "格式"),
    ("description", "描述"),
    ("sensitivity", "敏感级别"),
    ("key", "主键"),
    ("index", "可检索"),
    ("required", "必填"),
    ("unique", "唯一"),
    ("enum", "枚举值"),
    ("minimum", "最小值"),
    ("maximum", "最大值"),
    ("pattern", "正则"),
    ("minLength", "最小长度"),
    ("maxLength", "最大长度"),
]
VOCAB = {
    "format_class": FORMAT_CLASSES,
    "share_type": SHARE_TYPES,
    "open_type": OPEN_TYPES,
    "update_cycle": UPDATE_CYCLES,
    "share_methods": SHARE_METHODS,
    "sensitivity": SENSITIVITY,
    "policy": {"reject": "整批拒绝", "quarantine": "隔离错误行"},
    "type": {
        "string": "字符型",
        "integer": "整数型",
        "number": "数值型",
        "boolean": "布尔型",
        "date": "日期型",
        "datetime": "日期时间型",
        "year": "年份",
    },
}
SPLIT = re.compile(r"[、,，;；]\s*")
YES = {"是", "y", "yes", "true", "1", "√", "✓"}
HEADER_FILL = PatternFill("solid", fgColor="DDE7F5")


def _label(kind: str, code: str) -> str:
    return VOCAB.get(kind, {}).get(code, code)


def _code(kind: str, value: str) -> str | None:
    vocab = VOCAB[kind]
    if value in vocab:
        return value
    for k, v in vocab.items():
        if v == value:
            return k
    return None


def _cell(v: Any) -> str:
    text = spreadsheet.read_cell(v)  # one reading of a cell for every import
    # undo the export's neutralisation ('=…, '+…, '-…, '@…) so export → import loses nothing
    return text[1:] if text[:1] == "'" and text[1:2] in spreadsheet.FORMULA_STARTS else text


_PLAIN_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def _out(v: Any) -> Any:
    """A value written into an exported cell: text that a spreadsheet would run as a formula is
    neutralised (core.spreadsheet, OWASP); a plain number sent as text (-1.5) is no formula and
    stays as it is, so quarantined rows fixed and loaded again keep their values."""
    if isinstance(v, str) and _PLAIN_NUMBER.fullmatch(v):
        return v
    return spreadsheet.neutralise(v)


def _sheet(wb: Any, title: str, columns: list[tuple[str, str]], rows: list[list[Any]]) -> None:
    ws = wb.create_sheet(title)
    ws.append([c[1] for c in columns])
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.fill = HEADER_FILL
    for r in rows:
        ws.append([_out(v) for v in r])
    ws.freeze_panes = "A2"
    for i, (_k, label) in enumerate(columns, start=1):
        ws.column_dimensions[openpyxl.utils.get_column_letter(i)].width = max(10, min(40, len(label) * 3))


def export_catalog(*, session: Session, department: str | None = None) -> bytes:
    items, _ = service.list_resources(session=session, department=department, limit=1_000_000)
    wb = openpyxl.Workbook()
    wb.remove(wb.worksheets[0])
    res_rows = []
    field_rows = []
    for r in items:
        res_rows.append(
            [
                r.code,
                r.class_code,
                r.name,
                r.provider_code,
                r.summary,
                _label("format_class", r.format_class),
                _label("share_type", r.share_type),
                r.share_condition,
                r.legal_basis,
                "、".join(_label("share_methods", m) for m in r.share_methods),
                _label("open_type", r.open_type),
                r.open_condition,
                _label("update_cycle", r.update_cycle),
                r.publish_date.isoformat() if r.publish_date else "",
                "、".join(r.related_codes),
                "、".join(r.tags),
                "、".join(r.topics),
                _label("policy", r.policy),
            ]
        )
        for f in r.fields:
            c = f.constraints
            field_rows.append(
                [
                    r.code,
                    f.name,
                    f.title,
                    _label("type", f.type),
                    "" if f.format == "default" else f.format,
                    f.description,
                    _label("sensitivity", f.sensitivity),
                    "是" if f.is_key else "",
                    "是" if f.is_index else "",
                    "是" if c.get("required") else "",
                    "是" if c.get("unique") else "",
                    "、".join(str(v) for v in c.get("enum", [])),
                    c.get("minimum", ""),
                    c.get("maximum", ""),
                    c.get("pattern", ""),
                    c.get("minLength", ""),
                    c.get("maxLength", ""),
                ]
            )
    _sheet(wb, "信息资源", RESOURCE_COLUMNS, res_rows)
    _sheet(wb, "信息项", FIELD_COLUMNS, field_rows)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _read_sheet(
    wb: Any, title: str, columns: list[tuple[str, str]], errors: list[dict[str, Any]]
) -> list[tuple[int, dict[str, str]]]:
    if title not in wb.sheetnames:
        errors.append({"sheet": title, "row": None, "column": None, "message": f"sheet {title} is missing"})
        return []
    ws = wb[title]
    rows = (values for _n, values in spreadsheet.read_rows(ws))
    header = [_cell(h) for h in next(rows, ())]
    index: dict[str, int] = {}
    for key, label in columns:
        if label in header:
            index[key] = header.index(label)
        elif key in header:
            index[key] = header.index(key)
    required = {"信息资源": ("class_code", "name", "provider"), "信息项": ("resource", "name")}[title]
    for key, label in columns:
        if key in required and key not in index:
            errors.append(
                {"sheet": title, "row": 1, "column": label, "message": f"column {label} is missing"}
            )
    out = []
    for n, row in enumerate(rows, start=2):
        values = {k: _cell(row[i]) if i < len(row) else "" for k, i in index.items()}
        if not any(values.values()):
            continue
        out.append((n, values))
    return out


def _split(v: str) -> list[str]:
    return [x.strip() for x in SPLIT.split(v) if x.strip()] if v else []


def import_catalog(*, session: Session, actor: Principal, data: bytes) -> dict[str, Any]:
    """All or nothing. Raises Invalid with `details` = the list of every bad cell."""
    wb = spreadsheet.open_workbook(data)  # not a workbook, a zip or an XML bomb: Invalid not_xlsx
    errors: list[dict[str, Any]] = []
    res_rows = _read_sheet(wb, "信息资源", RESOURCE_COLUMNS, errors)
    field_rows = _read_sheet(wb, "信息项", FIELD_COLUMNS, errors)
    if errors:
        raise Invalid(
            "The catalog workbook has errors; nothing was imported",
            code="catalog_import_failed",
            details=errors,
        )
    labels = dict(RESOURCE_COLUMNS) | {f"f.{k}": v for k, v in FIELD_COLUMNS}

    def err(sheet: str, row: int, key: str, message: str) -> None:
        col = labels.get(key if sheet == "信息资源" else f"f.{key}", key)
        errors.append({"sheet": sheet, "row": row, "column": col, "message": message})

    parsed: list[tuple[int, ResourceIn]] = []
    for n, v in res_rows:
        d: dict[str, Any] = {}
        for key in (
            "class_code",
            "name",
            "provider",
            "summary",
            "share_condition",
            "legal_basis",
            "open_condition",
        ):
            d[key] = v.get(key, "")
        if v.get("code"):
            d["code"] = v["code"]
        for key in ("format_class", "share_type", "open_type", "update_cycle", "policy"):
            raw = v.get(key, "")
            if not raw:
                continue
            code = _code(key, raw)
            if code is None:
                err("信息资源", n, key, f"unknown value {raw!r}; one of {'、'.join(VOCAB[key].values())}")
            else:
                d[key] = code
        methods = []
        for m in _split(v.get("share_methods", "")):
            c = _code("share_methods", m)
            if c is None:
                err("信息资源", n, "share_methods", f"unknown share method {m!r}")
            else:
                methods.append(c)
        if methods:
            d["share_methods"] = methods
        if v.get("publish_date"):
            try:
                d["publish_date"] = date.fromisoformat(v["publish_date"].replace("/", "-"))
            except ValueError:
                err("信息资源", n, "publish_date", f"not a date: {v['publish_date']!r}")
        d["related_codes"] = _split(v.get("related_codes", ""))
        d["tags"] = _split(v.get("tags", ""))
        d["topics"] = _split(v.get("topics", ""))
        try:
            parsed.append((n, ResourceIn(**d)))
        except ValidationError as exc:
            for e in exc.errors():
                err("信息资源", n, str(e["loc"][0]) if e["loc"] else "", e["msg"])
    # fields, grouped by the resource they name (code, or name for new resources)
    by_res: dict[str, list[tuple[int, dict[str, str]]]] = {}
    for n, v in field_rows:
        by_res.setdefault(v.get("resource", ""), []).append((n, v))
    known = {ri.code for _, ri in parsed if ri.code} | {ri.name for _, ri in parsed}
    for ref, rows in by_res.items():
        if ref not in known:
            for n, _v in rows:
                err("信息项", n, "resource", f"{ref!r} is not a resource of sheet 信息资源")
    schemas: dict[str, dict[str, Any]] = {}
    for ref, rows in by_res.items():
        fields = []
        pk = []
        for n, v in rows:
            ftype = _code("type", v.get("type") or "string") if v.get("type") else "string"
            if ftype is None or ftype not in TYPES:
                err("信息项", n, "type", f"unknown type {v.get('type')!r}")
                continue
            sens = _code("sensitivity", v.get("sensitivity") or "internal")
            if sens is None:
                err("信息项", n, "sensitivity", f"unknown sensitivity {v.get('sensitivity')!r}")
                continue
            cons: dict[str, Any] = {}
            if v.get("required", "").lower() in YES:
                cons["required"] = True
            if v.get("unique", "").lower() in YES:
                cons["unique"] = True
            if v.get("enum"):
                cons["enum"] = _split(v["enum"])
            for k in ("minimum", "maximum", "minLength", "maxLength"):
                if v.get(k):
                    try:
                        num = float(v[k])
                        cons[k] = int(num) if num.is_integer() else num
                    except ValueError:
                        err("信息项", n, k, f"not a number: {v[k]!r}")
            if v.get("pattern"):
                cons["pattern"] = v["pattern"]
            f: dict[str, Any] = {
                "name": v.get("name", ""),
                "title": v.get("title", ""),
                "type": ftype,
                "format": v.get("format") or "default",
                "description": v.get("description", ""),
                "sensitivity": sens,
                "constraints": cons,
                "index": v.get("index", "").lower() in YES,
            }
            if not f["name"]:
                err("信息项", n, "name", "the field needs a name")
                continue
            if v.get("key", "").lower() in YES:
                pk.append(f["name"])
            fields.append((n, f))
        doc = {"fields": [f for _, f in fields], "primaryKey": pk}
        try:
            from cityos.catalog.tableschema import parse

            if fields:
                parse(doc)
                schemas[ref] = doc
        except CityOSError as exc:
            n0 = fields[0][0] if fields else 0
            err("信息项", n0, "name", exc.text("zh_CN"))
    if errors:
        raise Invalid(
            "The catalog workbook has errors; nothing was imported",
            code="catalog_import_failed",
            details=errors,
        )
    created = updated = 0
    with session.begin_nested():
        for n, ri in parsed:
            schema = schemas.get(ri.code or "") or schemas.get(ri.name)
            ri = ri.model_copy(update={"table_schema": schema})
            try:
                if ri.code and _exists(session, ri.code):
                    service.update_resource(session=session, actor=actor, code=ri.code, data=ri)
                    updated += 1
                else:
                    service.create_resource(session=session, actor=actor, data=ri)
                    created += 1
            except CityOSError as exc:
                errors.append(
                    {
                        "sheet": "信息资源",
                        "row": n,
                        "column": labels.get(exc.field or "", exc.field),
                        "message": exc.text("zh_CN") + " / " + exc.text("en"),
                    }
                )
        if errors:
            raise Invalid(
                "The catalog workbook has errors; nothing was imported",
                code="catalog_import_failed",
                details=errors,
            )
    return {"created": created, "updated": updated, "resources": len(parsed)}


def _exists(session: Session, code: str) -> bool:
    try:
        service.get_resource(session=session, code=code)
        return True
    except CityOSError:
        return False


def quarantine_file(path: Path, fmt: str) -> tuple[bytes, str]:
    import duckdb

    con = duckdb.connect()
    try:
        if fmt == "parquet":
            return path.read_bytes(), "application/vnd.apache.parquet"
        if fmt == "csv":
            import pyarrow as pa
            import pyarrow.csv as pacsv

            tbl = con.read_parquet(str(path)).to_arrow_table()
            # the values are text as sent: formula-looking cells are neutralised (plain numbers kept)
            tbl = pa.table(
                {
                    name: pa.array([_out(v) for v in col.to_pylist()], col.type)
                    if pa.types.is_string(col.type) or pa.types.is_large_string(col.type)
                    else col
                    for name, col in zip(tbl.column_names, tbl.columns, strict=True)
                }
            )
            buf = io.BytesIO()
            buf.write(b"\xef\xbb\xbf")
            pacsv.write_csv(tbl, buf)
            return buf.getvalue(), "text/csv; charset=utf-8"
        if fmt == "xlsx":
            cur = con.execute("SELECT * FROM read_parquet(?)", [str(path)])
            wb = openpyxl.Workbook()
            ws = wb.active
            assert ws is not None
            ws.title = "隔离数据"
            ws.append([d[0] for d in cur.description])
            for row in cur.fetchall():
                ws.append([_out(v) for v in row])
            buf = io.BytesIO()
            wb.save(buf)
            return buf.getvalue(), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        raise Invalid("Quarantine downloads are csv, xlsx or parquet", code="bad_format", field="fmt")
    finally:
        con.close()


def usage_xlsx(rows: list[UsageRow]) -> bytes:
    wb = openpyxl.Workbook()
    wb.remove(wb.worksheets[0])
    cols = [
        ("resource_code", "信息资源代码"),
        ("resource_name", "信息资源名称"),
        ("provider_code", "提供方"),
        ("consumer", "使用方"),
        ("calls", "调用次数"),
        ("refused", "拒绝次数"),
        ("rows", "返回行数"),
        ("downloads", "下载次数"),
    ]
    _sheet(
        wb,
        "调用统计",
        cols,
        [
            [
                u.resource_code,
                u.resource_name,
                u.provider_code,
                u.consumer_name or u.consumer_code or "",
                u.calls,
                u.refused,
                u.rows,
                u.downloads,
            ]
            for u in rows
        ],
    )
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
