"""registries: a cross-check's declarative form (join keys, conditions) beside its SQL

A check may be written as a small declarative form instead of SQL; the form is kept as written
(for the editor) and compiled to the SQL the engines run, which stays in `sql`.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02 12:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("crosscheck_checks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("form", JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("crosscheck_checks", schema=None) as batch_op:
        batch_op.drop_column("form")
