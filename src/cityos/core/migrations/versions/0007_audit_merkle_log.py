"""audit trail as a Merkle log: entries get their id from the database and are inserted unsequenced
(no lock); the sequencer assigns leaf indexes and leaf hashes, stores subtree hashes and signed
tree heads. Existing chained records stay as they are and become leaves 0..n-1 in seq order when
the sequencer first runs (nothing newer can be ahead of them); their prev_hash/hash stay verified.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 03:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import cityos.core.db

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pg = op.get_bind().dialect.name == "postgresql"
    if pg:
        # seq comes from a sequence: writers no longer read the last record to number theirs
        op.execute("CREATE SEQUENCE audit_log_seq_seq OWNED BY audit_log.seq")
        op.execute(
            "SELECT setval('audit_log_seq_seq', COALESCE((SELECT max(seq) FROM audit_log), 0) + 1, false)"
        )
        op.execute("ALTER TABLE audit_log ALTER COLUMN seq SET DEFAULT nextval('audit_log_seq_seq')")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        if not pg:
            # INTEGER PRIMARY KEY is SQLite's rowid: numbered by the database on insert
            batch_op.alter_column(
                "seq", existing_type=sa.BigInteger(), type_=sa.Integer(), autoincrement=True
            )
        batch_op.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=True)
        batch_op.alter_column("hash", existing_type=sa.String(length=64), nullable=True)
        batch_op.add_column(sa.Column("leaf_index", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("leaf_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("sequenced_at", cityos.core.db.UTCDateTime(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_audit_log_leaf_index"), ["leaf_index"])
        batch_op.create_index(
            "ix_audit_log_unsequenced",
            ["seq"],
            unique=False,
            postgresql_where=sa.text("leaf_index IS NULL"),
            sqlite_where=sa.text("leaf_index IS NULL"),
        )
    op.create_table(
        "audit_tree_nodes",
        sa.Column("level", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("idx", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("level", "idx", name=op.f("pk_audit_tree_nodes")),
    )
    op.create_table(
        "audit_tree_heads",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("tree_size", sa.BigInteger(), nullable=False),
        sa.Column("root_hash", sa.String(length=64), nullable=False),
        sa.Column("timestamp_ms", sa.BigInteger(), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("signature", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_tree_heads")),
    )


def downgrade() -> None:
    bind = op.get_bind()
    unchained = bind.execute(sa.text("SELECT count(*) FROM audit_log WHERE hash IS NULL")).scalar()
    if unchained:
        raise RuntimeError(f"{unchained} audit entries have no chain hash; the old chain cannot hold them")
    op.drop_table("audit_tree_heads")
    op.drop_table("audit_tree_nodes")
    pg = bind.dialect.name == "postgresql"
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_log_unsequenced")
        batch_op.drop_constraint(batch_op.f("uq_audit_log_leaf_index"), type_="unique")
        batch_op.drop_column("sequenced_at")
        batch_op.drop_column("leaf_hash")
        batch_op.drop_column("leaf_index")
        batch_op.alter_column("hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=False)
        if not pg:
            batch_op.alter_column(
                "seq", existing_type=sa.Integer(), type_=sa.BigInteger(), autoincrement=False
            )
    if pg:
        op.execute("ALTER TABLE audit_log ALTER COLUMN seq DROP DEFAULT")
        op.execute("DROP SEQUENCE audit_log_seq_seq")
