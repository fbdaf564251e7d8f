"""Each module keeps its own catalog, but core/i18n.py merges them into one per locale, where a
later file silently wins. So one English message must mean one thing everywhere: the same msgid
with two different translations in two modules' catalogs would change the other module's pages
(a case "已结案" turning into "已关闭" because another module says "closed" differently)."""

from __future__ import annotations

from collections import defaultdict

import pytest
from babel.messages.pofile import read_po

from cityos.core.i18n import LOCALE_DIR


def _text(value: object) -> str:
    return value if isinstance(value, str) else str(value[0])  # type: ignore[index]


def conflicts(locale: str) -> list[str]:
    seen: dict[str, dict[str, str]] = defaultdict(dict)
    for path in sorted((LOCALE_DIR / locale / "LC_MESSAGES").glob("*.po")):
        with path.open("rb") as f:
            for message in read_po(f, locale=locale):
                if message.id and message.string and not message.context:
                    seen[_text(message.id)][path.stem] = _text(message.string)
    return [
        f"{msgid!r}: " + ", ".join(f"{module} {text!r}" for module, text in sorted(by_module.items()))
        for msgid, by_module in sorted(seen.items())
        if len(set(by_module.values())) > 1
    ]


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_one_message_one_translation_across_modules(locale):
    assert conflicts(locale) == []
