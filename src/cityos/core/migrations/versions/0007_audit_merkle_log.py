"""audit trail as a Merkle log: entries inserted unsequenced, leaf indexes and signed tree heads
assigned by the sequencer (work in progress; number claimed)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 03:20:00.000000
"""

from __future__ import annotations

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
