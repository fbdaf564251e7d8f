"""Each module keeps its own catalog; merged, they must not translate one msgid two ways (the
later file would silently win) and every catalog must parse."""

from __future__ import annotations

from collections import defaultdict

from babel.messages.pofile import read_po

from cityos.core.i18n import LOCALE_DIR


def test_no_msgid_has_two_translations_across_catalogs():
    for locale_dir in LOCALE_DIR.iterdir():
        seen: dict[str, dict[str, str]] = defaultdict(dict)
        for po in sorted((locale_dir / "LC_MESSAGES").glob("*.po")):
            with po.open("rb") as f:
                for m in read_po(f):
                    if m.id and m.string:
                        seen[str(m.id)][po.name] = str(m.string)
        clashes = {k: v for k, v in seen.items() if len(set(v.values())) > 1}
        assert clashes == {}, f"{locale_dir.name}: {clashes}"
