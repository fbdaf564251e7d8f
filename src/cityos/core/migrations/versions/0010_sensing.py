"""sensing: devices, readings, roll-ups, rules, alarms, cameras (城市感知)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 07:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "sensing_devices",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("grid_code", sa.String(length=14), nullable=True),
        sa.Column("region_code", sa.String(length=14), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("firmware", sa.String(length=60), nullable=False),
        sa.Column("meta", JSON, nullable=False),
        sa.Column("units", JSON, nullable=False),
        sa.Column("token_generation", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(), nullable=True),
        sa.Column("last_values", JSON, nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("last_rejection", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sensing_devices")),
    )
    op.create_index("ix_sensing_devices_region", "sensing_devices", ["region_code"])
    op.create_index("ix_sensing_devices_type", "sensing_devices", ["type"])
    op.create_index("ix_sensing_devices_token", "sensing_devices", ["token_hash"], unique=True)
    op.create_table(
        "sensing_readings",
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("attr", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("text", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("device_id", "attr", "at", name=op.f("pk_sensing_readings")),
    )
    op.create_index("ix_sensing_readings_at", "sensing_readings", ["at"])
    op.create_table(
        "sensing_rollups",
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("attr", sa.String(length=64), nullable=False),
        sa.Column("period", sa.String(length=5), nullable=False),
        sa.Column("start", sa.DateTime(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("total", sa.Float(), nullable=False),
        sa.Column("min", sa.Float(), nullable=False),
        sa.Column("max", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("device_id", "attr", "period", "start", name=op.f("pk_sensing_rollups")),
    )
    op.create_table(
        "sensing_rules",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("device_type", sa.String(length=40), nullable=True),
        sa.Column("device_id", sa.String(length=64), nullable=True),
        sa.Column("attr", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("op", sa.String(length=8), nullable=False),
        sa.Column("low", sa.Float(), nullable=True),
        sa.Column("high", sa.Float(), nullable=True),
        sa.Column("duration_s", sa.Integer(), nullable=False),
        sa.Column("repeat", sa.Integer(), nullable=False),
        sa.Column("clear_op", sa.String(length=8), nullable=True),
        sa.Column("clear_low", sa.Float(), nullable=True),
        sa.Column("clear_high", sa.Float(), nullable=True),
        sa.Column("minutes", sa.Integer(), nullable=True),
        sa.Column("severity", sa.String(length=10), nullable=False),
        sa.Column("case_category", sa.String(length=8), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sensing_rules")),
    )
    op.create_table(
        "sensing_rule_state",
        sa.Column("rule_id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("since", sa.DateTime(), nullable=True),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("last_value", sa.Float(), nullable=True),
        sa.Column("last_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("rule_id", "device_id", name=op.f("pk_sensing_rule_state")),
    )
    op.create_table(
        "sensing_alarms",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("rule_id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=14), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("severity", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("acknowledged", sa.Boolean(), nullable=False),
        sa.Column("closed", sa.Boolean(), nullable=False),
        sa.Column("message", sa.String(length=300), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("first_at", sa.DateTime(), nullable=False),
        sa.Column("last_at", sa.DateTime(), nullable=False),
        sa.Column("cleared_at", sa.DateTime(), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(), nullable=True),
        sa.Column("assignee_id", sa.Integer(), nullable=True),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("case_number", sa.String(length=20), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sensing_alarms")),
    )
    op.create_index("ix_sensing_alarms_open", "sensing_alarms", ["device_id", "rule_id", "closed"])
    op.create_index("ix_sensing_alarms_region", "sensing_alarms", ["region_code", "closed"])
    op.create_index("ix_sensing_alarms_case", "sensing_alarms", ["case_id"])


def downgrade() -> None:
    for table in (
        "sensing_alarms",
        "sensing_rule_state",
        "sensing_rules",
        "sensing_rollups",
        "sensing_readings",
        "sensing_devices",
    ):
        op.drop_table(table)
