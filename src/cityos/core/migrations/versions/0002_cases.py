"""cases

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 14:05:50.173470
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import cityos.core.db

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dispatch_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("category_prefix", sa.String(length=8), nullable=False),
        sa.Column("region_prefix", sa.String(length=14), nullable=False),
        sa.Column("basis", sa.String(length=10), nullable=False),
        sa.Column("department_code", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dispatch_rules")),
    )
    op.create_table(
        "channel_settings",
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("auto_file", sa.Boolean(), nullable=False),
        sa.Column("auto_dispatch", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("channel", name=op.f("pk_channel_settings")),
    )
    op.create_table(
        "case_categories",
        sa.Column("code", sa.String(length=8), nullable=False),
        sa.Column("case_class", sa.String(length=10), nullable=False),
        sa.Column("major_name", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("filing_condition", sa.Text(), nullable=False),
        sa.Column("closing_condition", sa.Text(), nullable=False),
        sa.Column("file_hours", sa.Float(), nullable=False),
        sa.Column("dispatch_hours", sa.Float(), nullable=False),
        sa.Column("handle_hours_urgent", sa.Float(), nullable=False),
        sa.Column("handle_hours_normal", sa.Float(), nullable=False),
        sa.Column("verify_hours", sa.Float(), nullable=False),
        sa.Column("department_code", sa.String(length=40), nullable=False),
        sa.Column("duplicate_radius_m", sa.Float(), nullable=False),
        sa.Column("duplicate_window_h", sa.Float(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_case_categories")),
    )
    op.create_table(
        "cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("category_code", sa.String(length=8), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("urgency", sa.String(length=10), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("address", sa.String(length=200), nullable=False),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("grid_code", sa.String(length=14), nullable=True),
        sa.Column("region_code", sa.String(length=14), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("reporter_user_id", sa.Integer(), nullable=True),
        sa.Column("reporter_name", sa.String(length=60), nullable=False),
        sa.Column("reporter_phone", sa.String(length=20), nullable=False),
        sa.Column("reported_at", cityos.core.db.UTCDateTime(), nullable=False),
        sa.Column("stage_started_at", cityos.core.db.UTCDateTime(), nullable=False),
        sa.Column("deadline", cityos.core.db.UTCDateTime(), nullable=True),
        sa.Column("stage_hours", sa.Float(), nullable=True),
        sa.Column("closed_at", cityos.core.db.UTCDateTime(), nullable=True),
        sa.Column("closed_on_time", sa.Boolean(), nullable=True),
        sa.Column("escalation_level", sa.Integer(), nullable=False),
        sa.Column("reminded_at", cityos.core.db.UTCDateTime(), nullable=True),
        sa.Column("duplicate_of", sa.Integer(), nullable=True),
        sa.Column("satisfaction", sa.Integer(), nullable=True),
        sa.Column("rework_count", sa.Integer(), nullable=False),
        sa.Column("return_count", sa.Integer(), nullable=False),
        sa.Column("suspended_from", sa.String(length=20), nullable=True),
        sa.Column("review_on", cityos.core.db.UTCDateTime(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["category_code"], ["case_categories.code"], name=op.f("fk_cases_category_code_case_categories")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cases")),
        sa.UniqueConstraint("number", name=op.f("uq_cases_number")),
    )
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cases_category_code"), ["category_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_cases_department_id"), ["department_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_cases_duplicate_of"), ["duplicate_of"], unique=False)
        batch_op.create_index(batch_op.f("ix_cases_grid_code"), ["grid_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_cases_region_code"), ["region_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_cases_reporter_user_id"), ["reporter_user_id"], unique=False)
        batch_op.create_index("ix_cases_state_deadline", ["state", "deadline"], unique=False)
        batch_op.create_index("ix_cases_reported_at", ["reported_at"], unique=False)

    op.create_table(
        "case_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("at", cityos.core.db.UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("action", sa.String(length=30), nullable=False),
        sa.Column("from_state", sa.String(length=20), nullable=True),
        sa.Column("to_state", sa.String(length=20), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column(
            "data",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_events_case_id_cases"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_events")),
    )
    with op.batch_alter_table("case_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_events_case_id"), ["case_id"], unique=False)


def downgrade() -> None:
    op.drop_table("channel_settings")
    op.drop_table("dispatch_rules")
    with op.batch_alter_table("case_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_events_case_id"))

    op.drop_table("case_events")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index("ix_cases_state_deadline")
        batch_op.drop_index(batch_op.f("ix_cases_reporter_user_id"))
        batch_op.drop_index(batch_op.f("ix_cases_region_code"))
        batch_op.drop_index(batch_op.f("ix_cases_grid_code"))
        batch_op.drop_index(batch_op.f("ix_cases_duplicate_of"))
        batch_op.drop_index(batch_op.f("ix_cases_department_id"))
        batch_op.drop_index(batch_op.f("ix_cases_category_code"))

    op.drop_table("cases")
    op.drop_table("case_categories")
