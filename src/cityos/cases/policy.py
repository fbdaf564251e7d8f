"""Who sees which case, and what anyone may see of one: the cases module's one visibility rule.

`visible(actor)` is a SQL clause over `Case`. Every read of a case by an actor — the list, one case,
its timeline, attachments, duplicate candidates, a transition, a lookup by number, exports — puts it
in its WHERE, so a case outside the actor's scope never loads and is answered "not found" (404), the
same as a case that does not exist: nothing about its state or version is said first.

An actor sees the union of:
- the cases they reported themselves (a citizen follows their own report);
- with `cases.view_region`: the cases in their region scope (the whole city for city-wide roles and
  for tokens without a region; a grid worker attached to a grid sees that grid) — the dispatchers,
  inspectors, grid workers, leaders and administrators;
- with `cases.view_department`: the cases dispatched to their department (a handler; a case that
  has not been dispatched, or was returned, is no department's).

Which roles hold these permissions is in permissions.py; nothing here names a role.

`public_projection(case, events)` is what anyone may see of a case without logging in (the public
case page and every Open311 answer): no reporter, no names of people, no phones, coordinates rounded
to `PUBLIC_DECIMALS` places (about 100 m), only the notes meant for the public, and the reporter's
rating comment only when they allowed it. The free text (description, address, public notes) is as
people typed it, and people type phone numbers and ID numbers into it ("请联系13812345678"), so
`mask_personal` masks mobile and landline numbers and resident ID numbers in it first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_, true

from cityos.cases.models import Case
from cityos.cases.schemas import CaseOut, PublicCase, PublicNote, TimelineEntry
from cityos.identity.permissions import CITYWIDE_ROLES, has
from cityos.identity.schemas import Principal, division_prefix

PUBLIC_DECIMALS = 3  # 0.001° is about 110 m north–south and 90 m east–west in Shandong
# Steps whose note is written for the reporter and the public: the result of the handling, why a
# report was not taken, why the work is suspended. Other notes (why a case went back, rework
# orders, extensions, merges) are the departments' working notes.
PUBLIC_NOTE_ACTIONS = frozenset({"report_back", "reject", "suspend"})
CLOSED_STATES = frozenset({"closed", "rejected", "merged"})
_DIGITS = frozenset("0123456789")

# Personal numbers inside free text. A number is only matched as a whole (no digit, letter or
# separator-digit run on either side), so case numbers, dates and amounts are left alone. Resident
# IDs first (18 digits, the last may be X; or the old 15 digits), then mobiles (1[3-9] + 9 digits,
# people group them "138 1234 5678" or "138-1234-5678"), then landlines with their area code
# ("0539-8123456", "(0539)8123456", "0539 812 3456").
_SEP = r"[ \-\u2010-\u2015\u00a0]?"
_NOT_BEFORE = r"(?<![0-9A-Za-z])"
_NOT_AFTER = r"(?![0-9A-Za-z])"
_PERSONAL = re.compile(
    _NOT_BEFORE
    + "(?:"
    + r"(?P<id18>\d{6}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])\d{2}\d{3}[\dXx])"
    + r"|(?P<id15>\d{6}\d{2}(?:0[1-9]|1[0-2])\d{2}\d{3})"
    + rf"|(?P<mobile>(?:\+?86{_SEP})?1[3-9]\d{_SEP}\d{{4}}{_SEP}\d{{4}})"
    + rf"|(?P<landline>(?:0\d{{2,3}}|[(（]0\d{{2,3}}[)）]){_SEP}[2-9]\d{{2,3}}{_SEP}\d{{4}})"
    + ")"
    + _NOT_AFTER
)


def _mask(match: re.Match[str]) -> str:
    digits = "".join(ch for ch in match.group(0) if ch.isdigit() or ch in "Xx")
    if match.group("mobile"):
        digits = digits[-11:]  # without +86
        return f"{digits[:3]}****{digits[-4:]}"
    if match.group("landline"):
        area = 4 if digits[1] in "3456789" and len(digits) >= 11 else 3  # 0539…, 010/02x…
        return f"{digits[:area]}-{'*' * (len(digits) - area - 2)}{digits[-2:]}"
    return f"{digits[:3]}{'*' * (len(digits) - 7)}{digits[-4:]}"  # a resident ID


def mask_personal(text: str) -> str:
    """`text` with mobile and landline numbers and resident ID numbers masked for the public
    (13812345678 → 138****5678; 0539-8123456 → 0539-*****56; an ID keeps its first 3 and last 4)."""
    return _PERSONAL.sub(_mask, text) if text else text


def code_prefix(column: Any, prefix: str, ranges: bool = True) -> Any:
    """`column` starts with the division-code prefix, as an index range: LIKE 'p%' uses no index on
    SQLite (case-insensitive LIKE) nor on PostgreSQL outside the C collation. Codes are digits, and
    digit strings sort the same in every collation, so p <= code < p' (p with its last non-9 digit
    raised) holds the codes starting with p; the LIKE stays as the exact test."""
    like = column.startswith(prefix, autoescape=True)
    if not ranges or not prefix or not set(prefix) <= _DIGITS:
        return like
    head = prefix.rstrip("9")
    if not head:
        return and_(column >= prefix, like)
    upper = head[:-1] + str(int(head[-1]) + 1)
    return and_(column >= prefix, column < upper, like)


def _region_clause(actor: Principal, ranges: bool) -> ColumnElement[bool] | bool:
    """The region scope as identity.permissions.region_in_scope decides it, in SQL (True: the city)."""
    if actor.kind == "user" and actor.roles & CITYWIDE_ROLES:
        return True
    if not actor.region_code:
        return actor.kind == "token"
    clause: ColumnElement[bool] = code_prefix(Case.region_code, division_prefix(actor.region_code), ranges)
    return clause


def sees_whole_city(actor: Principal) -> bool:
    """Does the actor's region scope cover the whole city (pages then open on the city, not a region)."""
    return _region_clause(actor, ranges=False) is True


def visible(actor: Principal, *, ranges: bool = True) -> ColumnElement[bool]:
    """The cases `actor` may see, as a WHERE clause on Case. `ranges` adds the index ranges of the
    region prefix (lists turn it off where SQLite would pick the wrong index)."""
    if not actor.is_authenticated:
        return false()
    clauses: list[ColumnElement[bool]] = []
    if has(actor, "cases.view_region"):
        region = _region_clause(actor, ranges)
        if region is True:
            return true()  # the whole city: nothing else can add to it
        if region is not False:
            clauses.append(region)
    if has(actor, "cases.view_department") and actor.department_id is not None:
        clauses.append(Case.department_id == actor.department_id)
    if actor.kind == "user" and actor.id:  # reporters always follow their own reports
        clauses.append(Case.reporter_user_id == actor.id)
    if not clauses:
        return false()
    return clauses[0] if len(clauses) == 1 else or_(*clauses)


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, PUBLIC_DECIMALS)


def public_note(entry: TimelineEntry) -> str:
    """The note of a timeline entry as the public may read it ("" when it is internal)."""
    if entry.action in PUBLIC_NOTE_ACTIONS:
        return mask_personal(entry.note)
    if entry.action == "rate" and entry.data.get("public"):
        return mask_personal(entry.note)  # the reporter allowed their comment to be shown
    return ""


def public_notes(events: Iterable[TimelineEntry]) -> list[PublicNote]:
    """The timeline as the public sees it: every step and its time, no actor, no data, internal
    notes blanked."""
    return [
        PublicNote(id=e.id, at=e.at, action=e.action, to_state=e.to_state, note=public_note(e))
        for e in events
    ]


def public_projection(
    case: CaseOut,
    events: Iterable[TimelineEntry],
    *,
    agency: str | None = None,
    region_chain: list[str] | None = None,
) -> PublicCase:
    """What anyone may see of `case`: the public case page and Open311 both render this."""
    notes = public_notes(events)
    last = next((n for n in reversed(notes) if n.note), None)
    return PublicCase(
        number=case.number,
        category_code=case.category_code,
        category_name=case.category_name,
        channel=case.channel,
        state=case.state,
        status="closed" if case.state in CLOSED_STATES else "open",
        description=mask_personal(case.description),
        address=mask_personal(case.address),
        lon=_round(case.lon),
        lat=_round(case.lat),
        region_chain=region_chain or [],
        agency=agency,
        reported_at=case.reported_at,
        updated_at=notes[-1].at if notes else case.reported_at,
        deadline=case.deadline,
        closed_at=case.closed_at,
        status_note=last.note if last else "",
        notes=notes,
    )
