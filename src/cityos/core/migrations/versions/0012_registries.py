"""registries: base registries, discrepancies, linkage, cross-checks (基础库/交叉比对)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 07:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "registries_bindings",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("resource_code", sa.String(length=40), nullable=False),
        sa.Column("bound_by", sa.String(length=120), nullable=False),
        sa.Column("bound_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_registries_bindings")),
    )
    op.create_table(
        "registries_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("registry_code", sa.String(length=20), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("built_at", sa.DateTime(), nullable=False),
        sa.Column("built_by", sa.String(length=120), nullable=False),
        sa.Column("path", sa.String(length=300), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("provenance", JSON, nullable=False),
        sa.Column("absent", JSON, nullable=False),
        sa.Column("opened", sa.Integer(), nullable=False),
        sa.Column("closed", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registries_versions")),
        sa.UniqueConstraint("registry_code", "number", name=op.f("uq_registries_versions_registry_code")),
    )
    op.create_table(
        "registries_discrepancies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("origin", sa.String(length=12), nullable=False),
        sa.Column("registry_code", sa.String(length=20), nullable=True),
        sa.Column("subject_key", sa.String(length=40), nullable=False),
        sa.Column("field", sa.String(length=60), nullable=False),
        sa.Column("authority_code", sa.String(length=40), nullable=True),
        sa.Column("authority_value", sa.String(length=500), nullable=True),
        sa.Column("holder_code", sa.String(length=40), nullable=False),
        sa.Column("holder_field", sa.String(length=60), nullable=False),
        sa.Column("holder_department_id", sa.Integer(), nullable=False),
        sa.Column("holder_value", sa.String(length=500), nullable=True),
        sa.Column("evidence", JSON, nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("opened_at", sa.DateTime(), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("raised_by", sa.String(length=120), nullable=False),
        sa.Column("answered_by", sa.String(length=120), nullable=True),
        sa.Column("answered_at", sa.DateTime(), nullable=True),
        sa.Column("answer", sa.String(length=1000), nullable=False),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registries_discrepancies")),
    )
    op.create_index(
        "ix_registries_discrepancies_holder", "registries_discrepancies", ["holder_department_id", "state"]
    )
    op.create_index(
        "ix_registries_discrepancies_subject", "registries_discrepancies", ["subject_key", "field"]
    )
    op.create_table(
        "crosscheck_checks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("legal_basis", sa.String(length=500), nullable=False),
        sa.Column("owner_department_id", sa.Integer(), nullable=False),
        sa.Column("resources", JSON, nullable=False),
        sa.Column("conditions", JSON, nullable=False),
        sa.Column("sql", sa.Text(), nullable=False),
        sa.Column("due_days", sa.Integer(), nullable=False),
        sa.Column("schedule", sa.String(length=12), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("updated_by", sa.String(length=120), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("last_run_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crosscheck_checks")),
        sa.UniqueConstraint("code", name=op.f("uq_crosscheck_checks_code")),
    )
    op.create_table(
        "crosscheck_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("check_code", sa.String(length=40), nullable=False),
        sa.Column("engine", sa.String(length=10), nullable=False),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("duration_ms", sa.Float(), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.Column("keys", JSON, nullable=False),
        sa.Column("versions", JSON, nullable=False),
        sa.Column("tasks_created", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crosscheck_runs")),
    )
    op.create_index("ix_crosscheck_runs_check", "crosscheck_runs", ["check_code", "started_at"])
    op.create_table(
        "crosscheck_tasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("check_code", sa.String(length=40), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("subject_key", sa.String(length=40), nullable=False),
        sa.Column("evidence", JSON, nullable=False),
        sa.Column("owner_department_id", sa.Integer(), nullable=False),
        sa.Column("assignee", sa.String(length=120), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("note", sa.String(length=1000), nullable=False),
        sa.Column("decided_by", sa.String(length=120), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("discrepancy_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crosscheck_tasks")),
    )
    op.create_index("ix_crosscheck_tasks_owner", "crosscheck_tasks", ["owner_department_id", "state"])
    op.create_index("ix_crosscheck_tasks_subject", "crosscheck_tasks", ["check_code", "subject_key"])
    op.create_table(
        "registries_link_pairs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("link", sa.String(length=40), nullable=False),
        sa.Column("left_id", sa.String(length=60), nullable=False),
        sa.Column("right_id", sa.String(length=60), nullable=False),
        sa.Column("probability", sa.Float(), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("decided_by", sa.String(length=120), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registries_link_pairs")),
    )
    op.create_index("ix_registries_link_pairs_link", "registries_link_pairs", ["link", "state"])


def downgrade() -> None:
    op.drop_index("ix_registries_link_pairs_link", table_name="registries_link_pairs")
    op.drop_table("registries_link_pairs")
    op.drop_index("ix_crosscheck_tasks_subject", table_name="crosscheck_tasks")
    op.drop_index("ix_crosscheck_tasks_owner", table_name="crosscheck_tasks")
    op.drop_table("crosscheck_tasks")
    op.drop_index("ix_crosscheck_runs_check", table_name="crosscheck_runs")
    op.drop_table("crosscheck_runs")
    op.drop_table("crosscheck_checks")
    op.drop_index("ix_registries_discrepancies_subject", table_name="registries_discrepancies")
    op.drop_index("ix_registries_discrepancies_holder", table_name="registries_discrepancies")
    op.drop_table("registries_discrepancies")
    op.drop_table("registries_versions")
    op.drop_table("registries_bindings")
