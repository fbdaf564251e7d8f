"""throughput: case list indexes that give a page in the list's order

A case list is newest first, then by id. The `(state, reported_at)` and `(department_id, state,
reported_at)` indexes gave the order only up to reported_at, so with 1,000,000 cases PostgreSQL's
planner preferred walking `reported_at` backwards and filtering the state (8,000 rows read for a
page of `state=handling`, 32 ms; 0.2 ms with the id in the index). The indexes keep their names
and gain the id as their last column.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 07:00:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def _indexes(with_id: bool) -> None:
    tail = ["id"] if with_id else []
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index("ix_cases_state_reported_at")
        batch_op.drop_index("ix_cases_department_id_state")
        batch_op.create_index("ix_cases_state_reported_at", ["state", "reported_at", *tail], unique=False)
        batch_op.create_index(
            "ix_cases_department_id_state", ["department_id", "state", "reported_at", *tail], unique=False
        )


def upgrade() -> None:
    _indexes(with_id=True)


def downgrade() -> None:
    _indexes(with_id=False)
