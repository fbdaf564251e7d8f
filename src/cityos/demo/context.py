"""What the demo builder hands each module's `demo.populate(ctx)`.

Modules add their demo data through their own services (never by writing other modules'
tables), deterministically from `ctx.rng` / `ctx.faker` so two builds give the same city.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from faker import Faker
from rich.progress import Progress

from cityos.core.db import Database
from cityos.identity import service as identity
from cityos.identity.schemas import Principal, UserIn

STEWARD_PASSWORD = "demo-data-steward-2026"


@dataclass
class DemoContext:
    db: Database
    scale: str  # "small" | "city"
    rng: random.Random
    faker: Faker  # zh_CN, seeded
    city_code: str  # e.g. "371300"
    city_name: str
    start: datetime  # aware UTC: the first day of the demo year (demo data spans start → now)
    now: datetime  # aware UTC: "today" in the demo city
    system: Principal  # acts for the builder (admin)
    users: dict[str, list[Principal]] = field(default_factory=dict)  # role -> principals
    departments: dict[str, int] = field(default_factory=dict)  # department code -> id
    passwords: dict[str, str] = field(default_factory=dict)  # username -> demo password (printed)
    progress: Progress | None = None
    notes: list[str] = field(default_factory=list)  # lines printed at the end (URLs, accounts...)
    extra: dict[str, Any] = field(default_factory=dict)

    def user(self, role: str, i: int = 0) -> Principal:
        return self.users[role][i % len(self.users[role])]

    def stewards(self, codes: Iterable[str]) -> dict[str, Principal]:
        """A data steward for each of these departments the city has (department code -> steward):
        the demo's existing ones, and `steward-<code>` accounts created once for the rest."""
        out = {p.department_code: p for p in self.users.get("data_steward", []) if p.department_code}
        missing = [c for c in codes if c not in out and c in self.departments]
        if missing:
            with self.db.transaction() as s:
                created = identity.add_users_bulk(
                    session=s,
                    actor=self.system,
                    users=[
                        UserIn(
                            username=f"steward-{c}",
                            display_name=self.faker.name(),
                            password=STEWARD_PASSWORD,
                            roles=["data_steward"],
                            department_code=c,
                            region_code=self.city_code,
                        )
                        for c in missing
                    ],
                )
            for p in created:
                self.users.setdefault("data_steward", []).append(p)
                self.passwords[p.username] = STEWARD_PASSWORD
                if p.department_code:
                    out[p.department_code] = p
        return out
