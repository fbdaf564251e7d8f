"""The economy figures of the small test city published through the catalog, as in the demo."""

from __future__ import annotations

from datetime import UTC, datetime

from cityos.cockpit import demo
from cityos.core import clock
from cityos.identity import service as identity
from cityos.identity.schemas import Principal

PUBLISHED = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)  # figures up to October arrive in November
LAST = "2026-10"


def publish(city, db, grant: tuple[str, ...] = demo.GRANTED) -> dict[str, Principal]:  # type: ignore[no-untyped-def]
    clock.set_now(PUBLISHED)
    return demo.publish(
        db, system=identity.SYSTEM, asker=city.as_role("data_bureau"), city="371300", last=LAST, grant=grant
    )


def district_rows(indicator: str) -> list[list[object]]:
    """The rows the providers sent (the generator's own output), to check sums against."""
    return [r for r in demo.figures([("371302", "兰山区"), ("371311", "罗庄区")], LAST) if r[3] == indicator]
