"""How the catalog's pages name fields, types, formats and constraints for people: field titles
(信息项名称) rather than column codes, types and formats in words (文本, 整数, 身份证号…), and
constraints as a sentence (必填；唯一；取值：男、女) rather than Table Schema JSON.

Used by the staff pages and the open portal alike (views pass these functions to templates); the
words are messages, translated per request (catalog_labels.po).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from cityos.core import i18n

TYPES = {
    "string": "Text",
    "integer": "Whole number",
    "number": "Decimal number",
    "boolean": "Yes or no",
    "date": "Calendar date",
    "datetime": "Date and time",
    "year": "Calendar year",
}
FORMATS = {
    "cn-resident-id": "Resident ID number",
    "cn-uscc": "Unified social credit code",
    "cn-division-code": "Administrative division code",
    "cn-mobile": "Mobile number",
    "email": "Email address",
    "uri": "Web address",
}


class _Field(Protocol):
    name: str
    title: str
    type: str
    format: str


def _sep() -> str:
    return "、" if i18n.current_locale.get() == "zh_CN" else ", "


def _clause_sep() -> str:
    return "；" if i18n.current_locale.get() == "zh_CN" else "; "


def type_label(f: _Field) -> str:
    """A field's type and format in words: 文本（身份证号）, 日期（%Y%m%d）, 整数."""
    base = i18n.gettext(TYPES.get(f.type, f.type))
    fmt = f.format or "default"
    if fmt in ("default", "any"):
        return base
    shown = i18n.gettext(FORMATS[fmt]) if fmt in FORMATS else fmt  # a strptime pattern as written
    return f"{base}（{shown}）" if i18n.current_locale.get() == "zh_CN" else f"{base} ({shown})"


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return i18n.gettext("yes") if v else i18n.gettext("no")
    return str(v)


def constraints_label(constraints: Mapping[str, Any] | None) -> str:
    """Table Schema constraints as a sentence: 必填；唯一；取值：男、女；长度至多 20."""
    c = constraints or {}
    parts: list[str] = []
    if c.get("required"):
        parts.append(i18n.gettext("Required"))
    if c.get("unique"):
        parts.append(i18n.gettext("Unique"))
    if "enum" in c:
        values = _sep().join(_value(v) for v in c["enum"] or [])
        parts.append(i18n.gettext("One of: {values}").format(values=values))
    for key, msg in (
        ("minimum", "Not less than {n}"),
        ("maximum", "Not more than {n}"),
        ("minLength", "At least {n} characters"),
        ("maxLength", "At most {n} characters"),
        ("pattern", "Matches the pattern {n}"),
    ):
        if key in c:
            parts.append(i18n.gettext(msg).format(n=_value(c[key])))
    return _clause_sep().join(parts)


def titles(fields: Iterable[_Field]) -> dict[str, str]:
    """Column code -> what people call it (the title, else the code)."""
    return {f.name: f.title or f.name for f in fields}


def titled(names: Iterable[str], fields: Iterable[_Field] | Mapping[str, str]) -> str:
    """Field codes as their titles, in the reader's list punctuation: 公民身份号码、姓名."""
    known = fields if isinstance(fields, Mapping) else titles(fields)
    return _sep().join(known.get(n, n) for n in names)


# what templates get, next to the vocabularies
HELPERS = {
    "type_label": type_label,
    "constraints_label": constraints_label,
    "field_titles": titles,
    "titled": titled,
}
