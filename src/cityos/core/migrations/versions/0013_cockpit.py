"""cockpit: metric definitions, stored values, alerts (领导驾驶舱)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 07:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "cockpit_definitions",
        sa.Column("theme", sa.String(length=20), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("updated_by", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("theme", name=op.f("pk_cockpit_definitions")),
    )
    op.create_table(
        "cockpit_values",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("metric", sa.String(length=64), nullable=False),
        sa.Column("region", sa.String(length=14), nullable=False),
        sa.Column("period", sa.String(length=10), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("source_kind", sa.String(length=12), nullable=False),
        sa.Column("source_ref", sa.String(length=100), nullable=False),
        sa.Column("source_version", sa.Integer(), nullable=True),
        sa.Column("source_at", sa.DateTime(), nullable=True),
        sa.Column("computed_at", sa.DateTime(), nullable=False),
        sa.Column("detail", JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cockpit_values")),
        sa.UniqueConstraint("metric", "region", "period", name="uq_cockpit_values_metric_region_period"),
    )
    op.create_index("ix_cockpit_values_metric_period", "cockpit_values", ["metric", "period"])
    op.create_table(
        "cockpit_snapshots",
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("payload", JSON, nullable=False),
        sa.Column("computed_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_cockpit_snapshots")),
    )
    op.create_table(
        "cockpit_alerts",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("metric", sa.String(length=64), nullable=False),
        sa.Column("region", sa.String(length=14), nullable=False),
        sa.Column("rule", sa.String(length=20), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("period", sa.String(length=10), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("limit", sa.Float(), nullable=True),
        sa.Column("raised_at", sa.DateTime(), nullable=False),
        sa.Column("cleared_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cockpit_alerts")),
    )
    op.create_index(
        "ix_cockpit_alerts_metric_region_rule", "cockpit_alerts", ["metric", "region", "rule", "state"]
    )


def downgrade() -> None:
    op.drop_index("ix_cockpit_alerts_metric_region_rule", table_name="cockpit_alerts")
    op.drop_table("cockpit_alerts")
    op.drop_table("cockpit_snapshots")
    op.drop_index("ix_cockpit_values_metric_period", table_name="cockpit_values")
    op.drop_table("cockpit_values")
    op.drop_table("cockpit_definitions")
