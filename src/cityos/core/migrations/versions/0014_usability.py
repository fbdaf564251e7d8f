"""usability: map settings and further everyday-work tables (tasks sent to grid workers)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 07:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import cityos.core.db

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def _case_tasks_up() -> None:
    """Tasks sent to grid workers about a case (核实 / 核查)."""
    op.create_table(
        "case_tasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("assignee_id", sa.Integer(), nullable=False),
        sa.Column("sent_by", sa.String(length=120), nullable=False),
        sa.Column("sent_by_user_id", sa.Integer(), nullable=True),
        sa.Column("instruction", sa.Text(), nullable=False),
        sa.Column("sent_at", cityos.core.db.UTCDateTime(), nullable=False),
        sa.Column("due_at", cityos.core.db.UTCDateTime(), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("result", sa.String(length=16), nullable=True),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("attachment_id", sa.Integer(), nullable=True),
        sa.Column("answered_at", cityos.core.db.UTCDateTime(), nullable=True),
        sa.Column("on_time", sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_tasks_case_id_cases"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_tasks")),
    )
    op.create_index("ix_case_tasks_assignee_state", "case_tasks", ["assignee_id", "state", "due_at"])
    op.create_index("ix_case_tasks_case", "case_tasks", ["case_id"])


def _case_tasks_down() -> None:
    op.drop_index("ix_case_tasks_case", table_name="case_tasks")
    op.drop_index("ix_case_tasks_assignee_state", table_name="case_tasks")
    op.drop_table("case_tasks")


def upgrade() -> None:
    _case_tasks_up()


def downgrade() -> None:
    _case_tasks_down()
