from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, engine_from_config, pool

from cityos.core.db import Base
from cityos.registry import import_models

import_models()
target_metadata = Base.metadata
config = context.config


def run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


conn = config.attributes.get("connection")
if conn is not None:
    run(conn)
else:
    engine = engine_from_config(
        config.get_section(config.config_ini_section) or {}, prefix="sqlalchemy.", poolclass=pool.NullPool
    )
    with engine.begin() as c:
        run(c)
