"""case list indexes: a page of a state in order, the viewer's region or department within it

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 17:00:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.create_index("ix_cases_state_reported_at", ["state", "reported_at"], unique=False)
        batch_op.create_index(
            "ix_cases_state_region_code", ["state", "region_code", "reported_at"], unique=False
        )
        batch_op.create_index(
            "ix_cases_department_id_state", ["department_id", "state", "reported_at"], unique=False
        )
        # the department's index above starts with department_id: this one only costs writes
        batch_op.drop_index("ix_cases_department_id")


def downgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.create_index("ix_cases_department_id", ["department_id"], unique=False)
        batch_op.drop_index("ix_cases_department_id_state")
        batch_op.drop_index("ix_cases_state_region_code")
        batch_op.drop_index("ix_cases_state_reported_at")
