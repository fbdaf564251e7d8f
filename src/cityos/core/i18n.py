"""Gettext catalogs (Babel). Messages are written in English in code and templates; zh_CN is the
default locale. Each module keeps its own catalog file:
    src/cityos/locale/<locale>/LC_MESSAGES/<module>.po
They are compiled in memory at first use and merged into one Translations per locale, so there
is no build step and no binary .mo in the tree.
"""

from __future__ import annotations

import io
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
DEFAULT_LOCALE = "zh_CN"
current_locale: ContextVar[str] = ContextVar("cityos_locale", default=DEFAULT_LOCALE)


@lru_cache(maxsize=8)
def translations(locale: str) -> NullTranslations:
    merged: NullTranslations | None = None
    for po_path in sorted((LOCALE_DIR / locale / "LC_MESSAGES").glob("*.po")):
        with po_path.open("rb") as f:
            catalog = read_po(f, locale=locale)
        buf = io.BytesIO()
        write_mo(buf, catalog)
        buf.seek(0)
        t = Translations(buf, domain="messages")
        if merged is None:
            merged = t
        else:
            assert isinstance(merged, Translations)
            merged.merge(t)
    return merged or NullTranslations()


def gettext(message: str, locale: str | None = None) -> str:
    return translations(locale or current_locale.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int, locale: str | None = None) -> str:
    return translations(locale or current_locale.get()).ngettext(singular, plural, n)


def _(message: str) -> str:
    return gettext(message)


def normalize_locale(value: str | None) -> str | None:
    if not value:
        return None
    v = value.replace("-", "_").lower()
    if v.startswith("zh"):
        return "zh_CN"
    if v.startswith("en"):
        return "en"
    return None
