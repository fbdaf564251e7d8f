"""GB/T 36904-2018 e-license identifiers (电子证照标识):

    1.2.156.3005.2.{证照类型代码}.{颁发机构代码}.{证照编号/顺序号}.{版本号}.{校验位}

The check character is ISO/IEC 7064 MOD 37,36 (GB/T 17710) over the type code, issuer code,
serial and version written one after another without the dots (python-stdnum's
`iso7064.mod_37_36`); every part is digits and capital letters, the version three digits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from stdnum.iso7064 import mod_37_36

from cityos.core.errors import Invalid

PREFIX = "1.2.156.3005.2"
_PART = re.compile(r"^[0-9A-Z]+$")
_VERSION = re.compile(r"^\d{3}$")


@dataclass(frozen=True)
class Identifier:
    type_code: str
    issuer_code: str
    serial: str
    version: str
    check: str

    def __str__(self) -> str:
        return ".".join((PREFIX, self.type_code, self.issuer_code, self.serial, self.version, self.check))


def check_character(type_code: str, issuer_code: str, serial: str, version: str) -> str:
    for name, part in (("type_code", type_code), ("issuer_code", issuer_code), ("serial", serial)):
        if not _PART.match(part):
            raise Invalid(
                "{field} may hold only digits and capital letters",
                field=name,
                code="bad_identifier_part",
                params={"field": name},
            )
    if not _VERSION.match(version):
        raise Invalid("The version is three digits", field="version", code="bad_identifier_part")
    return str(mod_37_36.calc_check_digit(type_code + issuer_code + serial + version))


def make(type_code: str, issuer_code: str, serial: str, version: str = "001") -> Identifier:
    check = check_character(type_code, issuer_code, serial, version)
    return Identifier(type_code, issuer_code, serial, version, check)


def parse(text: str) -> Identifier:
    """An identifier from its text; 422 bad_identifier when its form or check character is wrong."""
    bad = Invalid("Not a valid e-license identifier", field="identifier", code="bad_identifier")
    if not text.startswith(PREFIX + "."):
        raise bad
    parts = text[len(PREFIX) + 1 :].split(".")
    if len(parts) != 5:
        raise bad
    type_code, issuer_code, serial, version, check = parts
    try:
        expected = check_character(type_code, issuer_code, serial, version)
    except Invalid:
        raise bad from None
    if check != expected:
        raise bad
    return Identifier(type_code, issuer_code, serial, version, check)
