"""Resident ID numbers (GB 11643-1999 公民身份号码) before linking.

A 15-digit number (the 1984 form: 6-digit address code, YYMMDD birth date, 3-digit sequence) is
upgraded exactly as the standard's successor form defines: insert "19" before the 2-digit year and
append the ISO 7064 MOD 11-2 check character computed over the 17 digits (python-stdnum's
`cn.ric.calc_check_digit`, which takes the 18-character form with a placeholder last character).
Every 15-digit number was issued to someone born in the 1900s, hence "19" unconditionally.
"""

from __future__ import annotations

import re

from stdnum.cn import ric

_15 = re.compile(r"^\d{15}$")
_18 = re.compile(r"^\d{17}[\dX]$")


def upgrade_15_to_18(number: str) -> str:
    """110105491231002 → 11010519491231002X. Raises ValueError for anything but 15 digits."""
    n = number.strip()
    if not _15.match(n):
        raise ValueError(f"not a 15-digit resident ID: {number!r}")
    body = n[:6] + "19" + n[6:]
    return body + ric.calc_check_digit(body + "0")


def normalise(number: str | None) -> str | None:
    """The 18-character form of a resident ID (upper-case X; 15 digits upgraded), or None when it
    is neither form or its check character is wrong."""
    if number is None:
        return None
    n = number.strip().upper()
    if _15.match(n):
        return upgrade_15_to_18(n)
    if _18.match(n) and ric.calc_check_digit(n[:17] + "0") == n[17]:
        return n
    return None
