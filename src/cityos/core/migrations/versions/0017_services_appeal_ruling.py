"""services: the data bureau's ruling on a 差评 appeal (申诉)

A rectification that the applicant appeals goes to the data bureau, which upholds the appeal (the
department rectifies again, with a new deadline) or dismisses it (closed); its ruling is kept
beside the department's response, the callback and the appeal.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02 12:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("svc_rectifications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ruling", sa.Text(), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("svc_rectifications", schema=None) as batch_op:
        batch_op.drop_column("ruling")
