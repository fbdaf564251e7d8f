"""case attachments (before/after photos and files)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 09:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import cityos.core.db

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "case_attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=10), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("public_sha256", sa.String(length=64), nullable=True),
        sa.Column("url", sa.String(length=1000), nullable=True),
        sa.Column("media_type", sa.String(length=60), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("has_location", sa.Boolean(), nullable=False),
        sa.Column("uploaded_by", sa.String(length=120), nullable=False),
        sa.Column("uploaded_by_user_id", sa.Integer(), nullable=True),
        sa.Column("uploaded_at", cityos.core.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_attachments_case_id_cases"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_attachments")),
    )
    with op.batch_alter_table("case_attachments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_attachments_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_case_attachments_sha256"), ["sha256"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("case_attachments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_attachments_sha256"))
        batch_op.drop_index(batch_op.f("ix_case_attachments_case_id"))

    op.drop_table("case_attachments")
