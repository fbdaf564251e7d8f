"""patrol: grid workers' attendance (check-in/out), patrols and their recorded track points

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 04:35:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "patrol_attendance",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("grid_code", sa.String(length=14), nullable=False),
        sa.Column("region_code", sa.String(length=14), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patrol_attendance")),
    )
    op.create_index("ix_patrol_attendance_user_at", "patrol_attendance", ["user_id", "at"])
    op.create_index("ix_patrol_attendance_region_at", "patrol_attendance", ["region_code", "at"])
    op.create_table(
        "patrols",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=14), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.Column("distance_m", sa.Float(), nullable=False),
        sa.Column("point_count", sa.Integer(), nullable=False),
        sa.Column("covered", JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patrols")),
    )
    op.create_index("ix_patrols_user_started", "patrols", ["user_id", "started_at"])
    op.create_index("ix_patrols_region_started", "patrols", ["region_code", "started_at"])
    op.create_table(
        "patrol_points",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("patrol_id", BIG_ID, nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("accuracy_m", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["patrol_id"], ["patrols.id"], name=op.f("fk_patrol_points_patrol_id_patrols"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patrol_points")),
    )
    op.create_index("ix_patrol_points_patrol", "patrol_points", ["patrol_id", "at", "id"])


def downgrade() -> None:
    op.drop_index("ix_patrol_points_patrol", table_name="patrol_points")
    op.drop_table("patrol_points")
    op.drop_index("ix_patrols_region_started", table_name="patrols")
    op.drop_index("ix_patrols_user_started", table_name="patrols")
    op.drop_table("patrols")
    op.drop_index("ix_patrol_attendance_region_at", table_name="patrol_attendance")
    op.drop_index("ix_patrol_attendance_user_at", table_name="patrol_attendance")
    op.drop_table("patrol_attendance")
