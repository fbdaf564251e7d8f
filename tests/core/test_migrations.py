"""Migrations are the only way the schema changes: after `upgrade head` the database must match
the models exactly, on both backends."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from cityos.core.db import Base
from cityos.registry import import_models


def test_models_and_migrations_do_not_drift(db):
    import_models()
    ctx = MigrationContext.configure(db.bind, opts={"compare_type": True})  # the test's connection
    diff = compare_metadata(ctx, Base.metadata)
    assert diff == [], f"models and migrations differ: {diff}"


def test_single_linear_history():
    from alembic.script import ScriptDirectory

    from cityos.core.migrate import config

    script = ScriptDirectory.from_config(config())
    assert len(script.get_heads()) == 1
    assert len(script.get_bases()) == 1
