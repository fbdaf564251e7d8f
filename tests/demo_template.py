"""One small demo city per test process, copied for each test module that needs one.

Building the small demo city takes ~15 s of CPU with every module's demo data, and seven test
modules (the builder's, the catalog's, the demo's work queues, the zh-CN crawl, the API fuzzer and
the browser tests) need a whole one. Each gets a copy of one city built once per process at the real
clock: a copy of CITYOS_HOME (the SQLite file, the data store, the keys) with a fresh `DemoContext`
pointing at it, so a module that writes (the browser tests, the fuzzer) never changes what another
module reads. Nothing in the database names the home's path, so a copy is a complete city.
"""

from __future__ import annotations

import copy
import dataclasses
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cityos.core.db import Database, make_engine, use_db
from cityos.core.settings import Settings, load_settings, use_settings
from cityos.demo.context import DemoContext


@dataclass
class DemoTemplate:
    home: Path
    ctx: DemoContext

    @classmethod
    def build(cls, home: Path) -> DemoTemplate:
        from cityos.demo import builder

        use_settings(load_settings({"CITYOS_HOME": str(home)}))
        try:
            ctx = builder.build(scale="small")
            ctx.db.engine.dispose()  # the SQLite file is complete (WAL checkpointed) before any copy
            return cls(home=home, ctx=ctx)
        finally:
            use_db(None)
            use_settings(None)

    @contextmanager
    def copy(self, home: Path) -> Iterator[tuple[Settings, DemoContext]]:
        """A private copy of the city in `home`, installed as the process's settings and database
        while the block runs."""
        shutil.copytree(self.home, home)
        config = load_settings({"CITYOS_HOME": str(home)})
        use_settings(config)
        db = Database(make_engine(config.database_url))
        use_db(db)
        ctx = dataclasses.replace(
            self.ctx,
            db=db,
            rng=copy.deepcopy(self.ctx.rng),
            notes=list(self.ctx.notes),
            extra=copy.deepcopy(self.ctx.extra),
        )
        try:
            yield config, ctx
        finally:
            db.engine.dispose()
            use_db(None)
            use_settings(None)
