"""Frictionless Table Schema (https://specs.frictionlessdata.io/table-schema/) as CityOS reads it.

A schema is `{"fields": [...], "primaryKey": ..., "missingValues": [...]}`; a field has `name`,
`title`, `type`, `format`, `description` and `constraints` (required, unique, enum, minimum,
maximum, pattern, minLength, maxLength). CityOS adds string formats for Chinese government data
(`cn-resident-id`, `cn-uscc`, `cn-division-code`, `cn-mobile`), accepts the date spellings
government files use with date format `any` (`2026-11-23`, `2026/11/23`, `20261123`,
`2026年11月23日` …) and reads three extra field properties the catalog needs: `sensitivity`
(public | internal | sensitive), `mask` (auto | id | mobile | name | partial | none) and `index`
(the data API may filter on it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from cityos.core.errors import Invalid

TYPES = ("string", "integer", "number", "boolean", "date", "datetime", "year")
STRING_FORMATS = ("default", "cn-resident-id", "cn-uscc", "cn-division-code", "cn-mobile", "email", "uri")
CONSTRAINTS = ("required", "unique", "enum", "minimum", "maximum", "pattern", "minLength", "maxLength")
SENSITIVITY = ("public", "internal", "sensitive")
MASKS = ("auto", "id", "mobile", "name", "partial", "none")
TRUE_VALUES = ("true", "True", "TRUE", "1", "是", "Y", "y")
FALSE_VALUES = ("false", "False", "FALSE", "0", "否", "N", "n")


@dataclass(frozen=True)
class FieldSpec:
    name: str
    type: str = "string"
    format: str = "default"
    title: str = ""
    description: str = ""
    constraints: dict[str, Any] = field(default_factory=dict)
    sensitivity: str = "internal"
    mask: str = "auto"
    index: bool = False

    @property
    def required(self) -> bool:
        return bool(self.constraints.get("required"))

    def mask_kind(self) -> str:
        """How this field is shown to a consumer who may not see it in clear."""
        if self.mask != "auto":
            return self.mask
        if self.format == "cn-resident-id":
            return "id"
        if self.format == "cn-mobile":
            return "mobile"
        return "partial"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "type": self.type}
        if self.format != "default":
            out["format"] = self.format
        if self.title:
            out["title"] = self.title
        if self.description:
            out["description"] = self.description
        if self.constraints:
            out["constraints"] = dict(self.constraints)
        out["sensitivity"] = self.sensitivity
        if self.mask != "auto":
            out["mask"] = self.mask
        if self.index:
            out["index"] = True
        return out


@dataclass(frozen=True)
class Schema:
    fields: tuple[FieldSpec, ...]
    primary_key: tuple[str, ...] = ()
    missing_values: tuple[str, ...] = ("",)

    def names(self) -> list[str]:
        return [f.name for f in self.fields]

    def get(self, name: str) -> FieldSpec | None:
        for f in self.fields:
            if f.name == name:
                return f
        return None

    def filterable(self) -> list[str]:
        return [f.name for f in self.fields if f.index or f.name in self.primary_key]

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"fields": [f.to_json() for f in self.fields]}
        if self.primary_key:
            out["primaryKey"] = list(self.primary_key)
        if self.missing_values != ("",):
            out["missingValues"] = list(self.missing_values)
        return out


def _pattern_error(pattern: Any) -> str | None:
    """Why `pattern` cannot run, or None. Checked by the engine that runs it — DuckDB, whose RE2
    refuses what Python's `re` takes (lookarounds, backreferences) and takes what it refuses
    (\\p{Han}) — so a schema that is accepted is one its loads can check."""
    if not isinstance(pattern, str):
        return "the pattern must be a string"
    import duckdb

    con = duckdb.connect()
    try:
        con.execute("SELECT regexp_full_match('', ?)", [pattern])
    except duckdb.Error as exc:
        return str(exc).splitlines()[0].removeprefix("Invalid Input Error: ")[:200]
    finally:
        con.close()
    return None


def _bad(where: str, reason: str, **params: Any) -> Invalid:
    return Invalid(
        "Invalid Table Schema at {where}: {reason}",
        field=where,
        code="bad_schema",
        params={"where": where, "reason": reason, **params},
    )


def parse(doc: Any) -> Schema:
    """Read and check a Table Schema document; the error names the field and property at fault."""
    if not isinstance(doc, dict) or not isinstance(doc.get("fields"), list) or not doc["fields"]:
        raise _bad("fields", "a non-empty list of fields is required")
    fields: list[FieldSpec] = []
    seen: set[str] = set()
    for i, raw in enumerate(doc["fields"]):
        where = f"fields[{i}]"
        if not isinstance(raw, dict) or not isinstance(raw.get("name"), str) or not raw["name"].strip():
            raise _bad(where, "every field needs a name")
        name = raw["name"].strip()
        where = f"fields[{i}] ({name})"
        if name in seen:
            raise _bad(where, "duplicate field name")
        if name.startswith("__"):
            raise _bad(where, "names starting with __ are reserved")
        seen.add(name)
        ftype = raw.get("type", "string")
        if ftype not in TYPES:
            raise _bad(where, f"unknown type {ftype!r}; one of {', '.join(TYPES)}")
        fmt = raw.get("format", "default") or "default"
        if ftype == "string" and fmt not in STRING_FORMATS:
            raise _bad(where, f"unknown string format {fmt!r}")
        if ftype in ("date", "datetime") and fmt not in ("default", "any") and "%" not in fmt:
            raise _bad(where, f"date format must be default, any or a strptime pattern, not {fmt!r}")
        cons = raw.get("constraints") or {}
        if not isinstance(cons, dict):
            raise _bad(where, "constraints must be an object")
        for k in cons:
            if k not in CONSTRAINTS:
                raise _bad(where, f"unknown constraint {k!r}")
        if "enum" in cons and (not isinstance(cons["enum"], list) or not cons["enum"]):
            raise _bad(where, "enum must be a non-empty list")
        for k in ("minLength", "maxLength"):
            if k in cons and (not isinstance(cons[k], int) or cons[k] < 0):
                raise _bad(where, f"{k} must be a non-negative integer")
        for k in ("minimum", "maximum"):
            if k in cons and ftype in ("integer", "number", "year"):
                v = cons[k]
                # NaN compares false with everything and inf is no bound: both would pass every value
                if not isinstance(v, int | float) or isinstance(v, bool) or not math.isfinite(v):
                    raise _bad(where, f"{k} must be a finite number")
        if "pattern" in cons:
            reason = _pattern_error(cons["pattern"])
            if reason:
                raise _bad(where, f"pattern does not compile: {reason}")
        sens = raw.get("sensitivity", "internal")
        if sens not in SENSITIVITY:
            raise _bad(where, f"sensitivity must be one of {', '.join(SENSITIVITY)}")
        mask = raw.get("mask", "auto")
        if mask not in MASKS:
            raise _bad(where, f"mask must be one of {', '.join(MASKS)}")
        fields.append(
            FieldSpec(
                name=name,
                type=ftype,
                format=fmt,
                title=str(raw.get("title", "") or ""),
                description=str(raw.get("description", "") or ""),
                constraints=dict(cons),
                sensitivity=sens,
                mask=mask,
                index=bool(raw.get("index", False)),
            )
        )
    pk = doc.get("primaryKey") or []
    if isinstance(pk, str):
        pk = [pk]
    if not isinstance(pk, list) or any(k not in seen for k in pk):
        raise _bad("primaryKey", "primaryKey must name fields of the schema")
    mv = doc.get("missingValues", [""])
    if not isinstance(mv, list) or not all(isinstance(v, str) for v in mv):
        raise _bad("missingValues", "missingValues must be a list of strings")
    return Schema(fields=tuple(fields), primary_key=tuple(pk), missing_values=tuple(mv))
