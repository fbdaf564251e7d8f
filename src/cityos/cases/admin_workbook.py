"""The taxonomy and the dispatch rules as one Excel workbook: export, edit in Excel, import back.

Split from `admin.py` (the one-item edits and the checks both paths share): an import runs every row
through `admin._check_category` / `admin._check_rule`, is all or nothing, and names each bad row and
column (`admin.WorkbookRejected`). Nothing here commits.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityos.cases import taxonomy
from cityos.cases.admin import (  # the checks, columns and schemas the form edits share
    CATEGORY_COLUMNS,
    CATEGORY_SHEET,
    CODE_RE,
    HOUR_FIELDS,
    RULE_COLUMNS,
    RULE_SHEET,
    SHEET_HELP,
    CategoryEdit,
    ImportSummary,
    Problem,
    RuleIn,
    RuleOut,
    WorkbookRejected,
    _check_category,
    _check_rule,
    _clean,
    _clean_rule,
    _department_codes,
    _diff,
    _problem,
    categories,
    column_label,
    dispatch_rules,
    row_error,
)
from cityos.cases.models import CaseCategory, DispatchRule
from cityos.core import audit, i18n, spreadsheet
from cityos.core.errors import Invalid
from cityos.identity.permissions import authorize
from cityos.identity.schemas import Principal


# ---------------------------------------------------------------- Excel
def export_xlsx(*, session: Session, actor: Principal) -> bytes:
    """The taxonomy and the dispatch rules as one workbook: sheets `categories`, `dispatch_rules` and
    `README` (the columns in Chinese and English). Importing it unchanged changes nothing."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    cats = categories(session=session, actor=actor)
    rules = dispatch_rules(session=session, actor=actor)
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = CATEGORY_SHEET
    ws.append(list(CATEGORY_COLUMNS))
    for c in cats:
        d = c.model_dump()
        ws.append(
            spreadsheet.neutralise_row([int(d[k]) if k == "active" else d[k] for k in CATEGORY_COLUMNS])
        )
    ws.freeze_panes = "B2"
    rs = wb.create_sheet(RULE_SHEET)
    rs.append(list(RULE_COLUMNS))
    for r in rules:
        rs.append(spreadsheet.neutralise_row([getattr(r, k) for k in RULE_COLUMNS]))
    rs.freeze_panes = "A2"
    for sheet in (ws, rs):
        for cell in sheet[1]:
            cell.font = Font(bold=True)
    help_ = wb.create_sheet("README")
    help_.append(["sheet", "column", "zh-CN", "en"])
    for sheet_name, cols in ((CATEGORY_SHEET, CATEGORY_COLUMNS), (RULE_SHEET, RULE_COLUMNS)):
        help_.append(
            [
                sheet_name,
                "",
                i18n.gettext(SHEET_HELP[sheet_name], "zh_CN"),
                i18n.gettext(SHEET_HELP[sheet_name], "en"),
            ]
        )
        for k in cols:
            help_.append([sheet_name, k, column_label(k, "zh_CN"), column_label(k, "en")])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _letter(i: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(i + 1)


def _text(v: Any) -> str:
    text = spreadsheet.read_cell(v)  # one reading of a cell for every import
    # undo the export's neutralisation ('=…, '+…, '-…, '@…) so export → import changes nothing
    return text[1:] if text[:1] == "'" and text[1:2] in spreadsheet.FORMULA_STARTS else text


_TRUE = {"1", "true", "yes", "y", "是", "启用"}
_FALSE = {"0", "false", "no", "n", "否", "停用", ""}


class _CellError(Exception):
    def __init__(self, problem: Problem) -> None:
        self.problem = problem


def _number(column: str, v: Any) -> float:
    if isinstance(v, bool):
        raise _CellError(_problem(column, "not_a_number", "must be a number"))
    if isinstance(v, int | float):
        return float(v)
    try:
        return float(_text(v))
    except ValueError:
        raise _CellError(_problem(column, "not_a_number", "must be a number")) from None


def _flag(column: str, v: Any) -> bool:
    if isinstance(v, bool):
        return v
    t = _text(v).lower()
    if t in _TRUE:
        return True
    if t in _FALSE:
        return False
    raise _CellError(_problem(column, "not_a_flag", "must be 1 (yes) or 0 (no)"))


def _rows(
    ws: Any, columns: tuple[str, ...], sheet: str, errors: list[dict[str, Any]]
) -> Iterable[tuple[int, dict[str, Any]]]:
    """(Excel row number, {column: raw value}) for each non-empty row under a header that has every column."""
    rows = (values for _n, values in spreadsheet.read_rows(ws, code="bad_workbook"))
    header = [_text(h) for h in next(rows, ())]
    missing = [c for c in columns if c not in header]
    for c in missing:
        errors.append(row_error(sheet, 1, "-", _problem(c, "missing_column", "the column is missing")))
    if missing:
        return
    pos = {c: header.index(c) for c in columns}
    for n, values in enumerate(rows, start=2):
        if all(v is None or _text(v) == "" for v in values):
            continue
        yield n, {c: (values[i] if i < len(values) else None) for c, i in pos.items()}


@dataclass
class _Parsed:
    categories: dict[str, tuple[int, dict[str, Any]]]  # code → (row, values)
    rules: list[tuple[int, int | None, RuleIn]]  # (row, id, rule)


def _parse(session: Session, data: bytes) -> _Parsed:
    """Both sheets checked in full; every problem of every row is reported at once (422
    WorkbookRejected, nothing imported), else the rows to apply."""
    wb = spreadsheet.open_workbook(data, code="bad_workbook")  # not a workbook, zip or XML bomb: Invalid
    for name in (CATEGORY_SHEET, RULE_SHEET):
        if name not in wb.sheetnames:
            raise Invalid(
                "The workbook has no sheet {sheet}",
                field="file",
                code="missing_sheet",
                params={"sheet": name},
            )
    errors: list[dict[str, Any]] = []
    departments = _department_codes(session)
    parsed = _Parsed(
        _parse_categories(session, wb[CATEGORY_SHEET], departments, errors),
        _parse_rules(session, wb[RULE_SHEET], departments, errors),
    )
    if errors:
        raise WorkbookRejected(
            "The workbook has {n} problems; nothing was imported",
            field="file",
            params={"n": len(errors)},
            details=errors,
        )
    return parsed


def _category_values(raw: dict[str, Any], problems: list[Problem]) -> dict[str, Any]:
    """A category row's cells as values (numbers, the active flag, text); bad cells to `problems`."""
    values: dict[str, Any] = {}
    for k in CATEGORY_COLUMNS[2:]:
        try:
            if k in HOUR_FIELDS or k in ("duplicate_radius_m", "duplicate_window_h"):
                values[k] = _number(k, raw[k])
            elif k == "active":
                values[k] = _flag(k, raw[k])
            else:
                values[k] = _text(raw[k])
        except _CellError as e:
            problems.append(e.problem)
    return values


def _parse_categories(
    session: Session, sheet: Any, departments: set[str], errors: list[dict[str, Any]]
) -> dict[str, tuple[int, dict[str, Any]]]:
    """The 小类 sheet: code → (row, values); the problems of each row to `errors`."""
    out: dict[str, tuple[int, dict[str, Any]]] = {}
    col_of = {c: _letter(i) for i, c in enumerate(CATEGORY_COLUMNS)}
    for n, raw in _rows(sheet, CATEGORY_COLUMNS, CATEGORY_SHEET, errors):
        problems: list[Problem] = []
        code = _text(raw["code"]).upper()
        if not CODE_RE.match(code):
            problems.append(_problem("code", "bad_code", "must be C or E followed by 4 digits"))
        elif code in out:
            problems.append(
                _problem(
                    "code", "duplicate_code", "{value} is also on row {other}", value=code, other=out[code][0]
                )
            )
        elif _text(raw["case_class"]) != taxonomy.case_class(code):
            problems.append(
                _problem(
                    "case_class",
                    "bad_class",
                    "must be {value} for this code",
                    value=taxonomy.case_class(code),
                )
            )
        values = _category_values(raw, problems)
        if not problems:
            current = session.get(CaseCategory, code)
            allowed = departments | ({current.department_code} if current else set())
            problems += _check_category(CategoryEdit(**values), allowed)
        if problems:
            errors += [row_error(CATEGORY_SHEET, n, col_of[p.column], p) for p in problems]
        else:
            out[code] = (n, values)
    return out


def _rule_id(
    raw: dict[str, Any], n: int, rule_ids: set[int], seen_ids: dict[int, int], problems: list[Problem]
) -> int | None:
    """The rule id a row updates (None: a new rule); unknown and repeated ids to `problems`."""
    if not _text(raw["id"]):
        return None
    try:
        rid = int(_number("id", raw["id"]))
    except _CellError as e:
        problems.append(e.problem)
        return None
    if rid not in rule_ids:
        problems.append(_problem("id", "unknown_rule", "unknown rule id {value}", value=rid))
    elif rid in seen_ids:
        problems.append(
            _problem("id", "duplicate_id", "{value} is also on row {other}", value=rid, other=seen_ids[rid])
        )
    else:
        seen_ids[rid] = n
    return rid


def _parse_rules(
    session: Session, sheet: Any, departments: set[str], errors: list[dict[str, Any]]
) -> list[tuple[int, int | None, RuleIn]]:
    """The dispatch rules sheet: (row, rule id or None, rule); the problems of each row to `errors`."""
    out: list[tuple[int, int | None, RuleIn]] = []
    rule_col = {c: _letter(i) for i, c in enumerate(RULE_COLUMNS)}
    rule_ids = set(session.scalars(select(DispatchRule.id)))
    seen_rules: dict[tuple[str, str, str], int] = {}
    seen_ids: dict[int, int] = {}
    for n, raw in _rows(sheet, RULE_COLUMNS, RULE_SHEET, errors):
        problems: list[Problem] = []
        rid = _rule_id(raw, n, rule_ids, seen_ids, problems)
        rule = _clean_rule(
            RuleIn(
                category_prefix=_text(raw["category_prefix"]),
                region_prefix=_text(raw["region_prefix"]),
                basis=_text(raw["basis"]),
                department_code=_text(raw["department_code"]),
            )
        )
        problems += _check_rule(session, rule, departments)
        key = (rule.category_prefix, rule.region_prefix, rule.basis)
        if not problems and key in seen_rules:
            problems.append(
                _problem(
                    "category_prefix",
                    "duplicate_rule",
                    "the same rule is on row {other}",
                    other=seen_rules[key],
                )
            )
        if problems:
            errors += [row_error(RULE_SHEET, n, rule_col[p.column], p) for p in problems]
        else:
            seen_rules[key] = n
            out.append((n, rid, rule))
    return out


def _apply_categories(
    session: Session, actor: Principal, categories: dict[str, tuple[int, dict[str, Any]]]
) -> tuple[list[str], list[str]]:
    """Add the new codes and update the changed ones, each audited; (created, updated)."""
    created: list[str] = []
    updated: list[str] = []
    for code, (_n, values) in sorted(categories.items()):
        clean = _clean(CategoryEdit(**values))
        row = session.get(CaseCategory, code)
        if row is None:
            session.add(CaseCategory(code=code, case_class=taxonomy.case_class(code), **clean))
            session.flush()
            created.append(code)
            audit.record(
                session,
                actor=actor.actor,
                action="cases.category.create",
                subject_type="case_category",
                subject_id=code,
                payload={"values": clean, "source": "xlsx"},
            )
            continue
        changes = _diff(row, clean)
        if changes:
            for k, (_old, new) in changes.items():
                setattr(row, k, new)
            session.flush()
            updated.append(code)
            audit.record(
                session,
                actor=actor.actor,
                action="cases.category.update",
                subject_type="case_category",
                subject_id=code,
                payload={"changes": changes, "source": "xlsx"},
            )
    return created, updated


def _apply_rules(
    session: Session, actor: Principal, rules: list[tuple[int, int | None, RuleIn]]
) -> tuple[int, int, int]:
    """Make the rule set the sheet's: delete the unlisted, add the new, update the changed, each
    audited; (added, updated, deleted)."""
    added = changed = deleted = 0
    keep = {rid for _n, rid, _r in rules if rid is not None}
    for old in list(session.scalars(select(DispatchRule).order_by(DispatchRule.id))):
        if old.id not in keep:
            payload = RuleOut.model_validate(old).model_dump()
            session.delete(old)
            session.flush()
            deleted += 1
            audit.record(
                session,
                actor=actor.actor,
                action="cases.rule.delete",
                subject_type="dispatch_rule",
                subject_id=payload["id"],
                payload={**payload, "source": "xlsx"},
            )
    for _n, rid, rule in rules:
        if rid is None:
            new = DispatchRule(**rule.model_dump())
            session.add(new)
            session.flush()
            added += 1
            audit.record(
                session,
                actor=actor.actor,
                action="cases.rule.add",
                subject_type="dispatch_rule",
                subject_id=new.id,
                payload={**rule.model_dump(), "source": "xlsx"},
            )
            continue
        existing = session.get(DispatchRule, rid)
        assert existing is not None  # checked by _parse
        changes = _diff(existing, rule.model_dump())
        if changes:
            for k, (_old, new_value) in changes.items():
                setattr(existing, k, new_value)
            session.flush()
            changed += 1
            audit.record(
                session,
                actor=actor.actor,
                action="cases.rule.update",
                subject_type="dispatch_rule",
                subject_id=rid,
                payload={"changes": changes, "source": "xlsx"},
            )
    return added, changed, deleted


def import_xlsx(*, session: Session, actor: Principal, data: bytes) -> ImportSummary:
    """Apply a workbook in the export's format: categories are updated by code (new codes are
    added; codes not in the sheet stay as they are — retire one with active 0); the dispatch rules
    sheet is the whole rule set (rows with an id update that rule, rows without add one, rules not
    listed are deleted). Everything is checked first; one bad row rejects the whole workbook."""
    authorize(actor, "cases.taxonomy")
    parsed = _parse(session, data)
    created, updated = _apply_categories(session, actor, parsed.categories)
    added, changed, deleted = _apply_rules(session, actor, parsed.rules)
    summary = ImportSummary(
        categories_created=created,
        categories_updated=updated,
        rules_added=added,
        rules_updated=changed,
        rules_deleted=deleted,
    )
    audit.record(
        session,
        actor=actor.actor,
        action="cases.taxonomy.import",
        subject_type="taxonomy",
        subject_id="xlsx",
        payload=summary.model_dump(),
    )
    return summary
