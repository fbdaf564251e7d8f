"""Editing the taxonomy (小类) and the dispatch rules one item at a time from the admin pages (the
whole set as an Excel workbook is `admin_workbook.py`, on the same checks).

One validation path serves the form and the workbook: `_check_category` and `_check_rule` return
every problem with its column, so a form names the field and an import names the row and column.
An import is all or nothing: every row is checked before anything is written, and a bad row
rejects the whole workbook (`WorkbookRejected`, 422, one line per problem in Chinese and English).
Every change appends an audit record (subject `case_category` / `dispatch_rule`); nothing here
commits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from sqlalchemy.orm import Session

from cityos.cases import service
from cityos.cases.models import CaseCategory, DispatchRule
from cityos.core import audit, i18n
from cityos.core.errors import Invalid, NotFound
from cityos.identity import service as identity
from cityos.identity.permissions import authorize
from cityos.identity.schemas import Principal

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CATEGORY_SHEET = "categories"
RULE_SHEET = "dispatch_rules"
# The workbook's columns, in order. The header row holds these keys; the README sheet explains them.
CATEGORY_COLUMNS = (
    "code",
    "case_class",
    "major_name",
    "name",
    "filing_condition",
    "closing_condition",
    "file_hours",
    "dispatch_hours",
    "handle_hours_urgent",
    "handle_hours_normal",
    "verify_hours",
    "department_code",
    "duplicate_radius_m",
    "duplicate_window_h",
    "active",
)
RULE_COLUMNS = ("id", "category_prefix", "region_prefix", "basis", "department_code")
HOUR_FIELDS = ("file_hours", "dispatch_hours", "handle_hours_urgent", "handle_hours_normal", "verify_hours")
MAX_HOURS = 8760.0  # a year: anything longer is a typing error
MAX_RADIUS_M = 5000.0
CODE_RE = re.compile(r"^[CE]\d{4}$")
PREFIX_RE = re.compile(r"^([CE](\d{2}){0,2})?$")
SHEET_HELP = {  # the README sheet: English msgids, translated through the catalogs
    CATEGORY_SHEET: "xlsx-help:categories",
    RULE_SHEET: "xlsx-help:dispatch_rules",
}


def column_label(column: str, locale: str | None = None) -> str:
    """A column's name for people (msgid `column:<key>`)."""
    return i18n.gettext(f"column:{column}", locale)


# ---------------------------------------------------------------- DTOs
class CategoryDetail(BaseModel):
    """A 小类 with everything an admin edits."""

    model_config = ConfigDict(from_attributes=True)
    code: str
    case_class: str
    major_name: str
    name: str
    filing_condition: str
    closing_condition: str
    file_hours: float
    dispatch_hours: float
    handle_hours_urgent: float
    handle_hours_normal: float
    verify_hours: float
    department_code: str
    duplicate_radius_m: float
    duplicate_window_h: float
    active: bool


class CategoryEdit(BaseModel):
    """What the edit page and a workbook row may change (the code and its class stay)."""

    major_name: str
    name: str
    filing_condition: str = ""
    closing_condition: str = ""
    file_hours: float
    dispatch_hours: float
    handle_hours_urgent: float
    handle_hours_normal: float
    verify_hours: float
    department_code: str
    duplicate_radius_m: float
    duplicate_window_h: float
    active: bool = True


class RuleOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    category_prefix: str
    region_prefix: str
    basis: str
    department_code: str


class RuleIn(BaseModel):
    category_prefix: str = ""
    region_prefix: str = ""
    basis: str
    department_code: str


class ImportSummary(BaseModel):
    categories_created: list[str]
    categories_updated: list[str]
    rules_added: int
    rules_updated: int
    rules_deleted: int

    @property
    def changes(self) -> int:
        return (
            len(self.categories_created)
            + len(self.categories_updated)
            + self.rules_added
            + self.rules_updated
            + self.rules_deleted
        )


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a value: its column, a machine code and an English msgid with {params}."""

    column: str
    code: str
    message: str
    params: tuple[tuple[str, Any], ...] = ()

    def text(self, locale: str) -> str:
        return i18n.gettext(self.message, locale).format(**dict(self.params))


def _problem(column: str, code: str, message: str, **params: Any) -> Problem:
    return Problem(column, code, message, tuple(params.items()))


ROW_LINE = "Sheet {sheet}, row {row}, column {letter} ({column}): {reason}"
FIELD_LINE = "{column}: {reason}"


def row_error(sheet: str, row: int, letter: str, p: Problem) -> dict[str, Any]:
    """One bad cell of a workbook, in both languages (the API's `details`, the page's list)."""

    def line(loc: str) -> str:
        return i18n.gettext(ROW_LINE, loc).format(
            sheet=sheet, row=row, letter=letter, column=column_label(p.column, loc), reason=p.text(loc)
        )

    return {
        "sheet": sheet,
        "row": row,
        "column": p.column,
        "letter": letter,
        "code": p.code,
        "message": {"zh-CN": line("zh_CN"), "en": line("en")},
    }


class FieldInvalid(Invalid):
    """A form value refused: the field's name and the reason, both translated."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(
            problem.message, field=problem.column, code=problem.code, params=dict(problem.params)
        )
        self.problem = problem

    def text(self, locale: str = "en") -> str:
        return i18n.gettext(FIELD_LINE, locale).format(
            column=column_label(self.problem.column, locale), reason=self.problem.text(locale)
        )


class WorkbookRejected(Invalid):
    """An import refused as a whole; `details` lists every bad row (see `row_error`)."""

    code = "workbook_rejected"


# ---------------------------------------------------------------- one validation path
def _check_category(v: CategoryEdit, departments: set[str]) -> list[Problem]:
    out: list[Problem] = []
    if not v.name.strip():
        out.append(_problem("name", "required", "is required"))
    elif len(v.name.strip()) > 60:
        out.append(_problem("name", "too_long", "is too long (at most {max} characters)", max=60))
    if not v.major_name.strip():
        out.append(_problem("major_name", "required", "is required"))
    elif len(v.major_name.strip()) > 40:
        out.append(_problem("major_name", "too_long", "is too long (at most {max} characters)", max=40))
    for f in HOUR_FIELDS:
        h = getattr(v, f)
        if not 0 < h <= MAX_HOURS:
            out.append(
                _problem(f, "bad_hours", "must be more than 0 and at most {max} hours", max=int(MAX_HOURS))
            )
    if 0 < v.handle_hours_normal < v.handle_hours_urgent:
        out.append(
            _problem(
                "handle_hours_urgent",
                "urgent_longer",
                "the urgent time limit must not be longer than the normal one",
            )
        )
    if v.department_code.strip() not in departments:
        out.append(
            _problem(
                "department_code", "unknown_department", "unknown department {value}", value=v.department_code
            )
        )
    if not 0 <= v.duplicate_radius_m <= MAX_RADIUS_M:
        out.append(
            _problem("duplicate_radius_m", "bad_radius", "must be between 0 and {max}", max=int(MAX_RADIUS_M))
        )
    if not 0 <= v.duplicate_window_h <= MAX_HOURS:
        out.append(
            _problem("duplicate_window_h", "bad_window", "must be between 0 and {max}", max=int(MAX_HOURS))
        )
    return out


def _check_rule(session: Session, r: RuleIn, departments: set[str]) -> list[Problem]:
    out: list[Problem] = []
    if not PREFIX_RE.match(r.category_prefix):
        out.append(
            _problem(
                "category_prefix",
                "bad_prefix",
                "must be empty, C or E, or C/E followed by 2 or 4 digits",
            )
        )
    if r.region_prefix:
        try:
            identity.get_region(session=session, code=r.region_prefix)
        except NotFound:
            out.append(
                _problem("region_prefix", "unknown_region", "unknown region {value}", value=r.region_prefix)
            )
    if r.basis not in ("owner", "territory"):
        out.append(_problem("basis", "bad_basis", "must be owner or territory"))
    if r.department_code not in departments:
        out.append(
            _problem(
                "department_code", "unknown_department", "unknown department {value}", value=r.department_code
            )
        )
    return out


def _raise_first(problems: list[Problem]) -> None:
    if problems:
        raise FieldInvalid(problems[0])


def _department_codes(session: Session) -> set[str]:
    return {d.code for d in identity.departments(session=session) if d.active}


# ---------------------------------------------------------------- categories
def categories(*, session: Session, actor: Principal) -> list[CategoryDetail]:
    """Every 小类, active or not, by code."""
    authorize(actor, "cases.taxonomy")
    return [
        CategoryDetail.model_validate(c)
        for c in session.scalars(select(CaseCategory).order_by(CaseCategory.code))
    ]


def category(*, session: Session, actor: Principal, code: str) -> CategoryDetail:
    authorize(actor, "cases.taxonomy")
    row = session.get(CaseCategory, code)
    if row is None:
        raise NotFound("Unknown case category", params={"code": code})
    return CategoryDetail.model_validate(row)


def _diff(row: Any, values: dict[str, Any]) -> dict[str, list[Any]]:
    return {k: [getattr(row, k), v] for k, v in values.items() if getattr(row, k) != v}


def _clean(edit: CategoryEdit) -> dict[str, Any]:
    d = edit.model_dump()
    for k in ("major_name", "name", "filing_condition", "closing_condition", "department_code"):
        d[k] = d[k].strip()
    return d


def update_category(*, session: Session, actor: Principal, code: str, edit: CategoryEdit) -> CategoryDetail:
    """Change a 小类's time limits, conditions, default department, duplicate rule or active flag.
    New limits apply to stages that start after the change; running deadlines stay as they were."""
    authorize(actor, "cases.taxonomy")
    row = session.get(CaseCategory, code)
    if row is None:
        raise NotFound("Unknown case category", params={"code": code})
    # the category's current department is accepted even if it is not (yet) a department of this city
    _raise_first(_check_category(edit, _department_codes(session) | {row.department_code}))
    _apply(session, actor, row, _diff(row, _clean(edit)), "cases.category.update", "case_category", code)
    return CategoryDetail.model_validate(row)


def _apply(
    session: Session,
    actor: Principal,
    row: Any,
    changes: dict[str, list[Any]],
    action: str,
    subject_type: str,
    subject_id: str | int,
) -> None:
    """Write an edit's changed columns and its audit record (old and new values); nothing if unchanged."""
    if not changes:
        return
    for k, (_old, new) in changes.items():
        setattr(row, k, new)
    session.flush()
    audit.record(
        session,
        actor=actor.actor,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        payload={"changes": changes},
    )


# ---------------------------------------------------------------- dispatch rules
def dispatch_rules(*, session: Session, actor: Principal) -> list[RuleOut]:
    """The rules in the order they are read: by category prefix, region prefix, basis."""
    authorize(actor, "cases.taxonomy")
    rows = session.scalars(
        select(DispatchRule).order_by(
            DispatchRule.category_prefix, DispatchRule.region_prefix, DispatchRule.basis, DispatchRule.id
        )
    )
    return [RuleOut.model_validate(r) for r in rows]


def _same_rule(session: Session, r: RuleIn, exclude_id: int | None = None) -> bool:
    q = select(DispatchRule.id).where(
        DispatchRule.category_prefix == r.category_prefix,
        DispatchRule.region_prefix == r.region_prefix,
        DispatchRule.basis == r.basis,
    )
    if exclude_id is not None:
        q = q.where(DispatchRule.id != exclude_id)
    return session.scalar(q.limit(1)) is not None


def _clean_rule(r: RuleIn) -> RuleIn:
    return RuleIn(
        category_prefix=r.category_prefix.strip().upper(),
        region_prefix=r.region_prefix.strip(),
        basis=r.basis.strip(),
        department_code=r.department_code.strip(),
    )


def add_rule(*, session: Session, actor: Principal, rule: RuleIn) -> int:
    """Add a dispatch rule after checking it (format, region, department, not a copy of another)."""
    authorize(actor, "cases.taxonomy")
    rule = _clean_rule(rule)
    _raise_first(_check_rule(session, rule, _department_codes(session)))
    if _same_rule(session, rule):
        raise Invalid(
            "A rule for this category, region and basis exists already",
            field="category_prefix",
            code="duplicate_rule",
        )
    return service.add_dispatch_rule(session=session, actor=actor, **rule.model_dump())


def update_rule(*, session: Session, actor: Principal, rule_id: int, rule: RuleIn) -> RuleOut:
    authorize(actor, "cases.taxonomy")
    row = session.get(DispatchRule, rule_id)
    if row is None:
        raise NotFound("Dispatch rule not found", params={"id": rule_id})
    rule = _clean_rule(rule)
    _raise_first(_check_rule(session, rule, _department_codes(session)))
    if _same_rule(session, rule, exclude_id=rule_id):
        raise Invalid(
            "A rule for this category, region and basis exists already",
            field="category_prefix",
            code="duplicate_rule",
        )
    _apply(session, actor, row, _diff(row, rule.model_dump()), "cases.rule.update", "dispatch_rule", rule_id)
    return RuleOut.model_validate(row)


def delete_rule(*, session: Session, actor: Principal, rule_id: int) -> None:
    authorize(actor, "cases.taxonomy")
    row = session.get(DispatchRule, rule_id)
    if row is None:
        raise NotFound("Dispatch rule not found", params={"id": rule_id})
    payload = RuleOut.model_validate(row).model_dump()
    session.delete(row)
    session.flush()
    audit.record(
        session,
        actor=actor.actor,
        action="cases.rule.delete",
        subject_type="dispatch_rule",
        subject_id=rule_id,
        payload=payload,
    )
