"""services: service items, applications, e-licenses, queue, ratings, OIDC clients (一网通办)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 07:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "svc_issuer_keys",
        sa.Column("kid", sa.String(length=40), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("issuer_code", sa.String(length=18), nullable=False),
        sa.Column("public_key", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("retired_at", sa.DateTime(), nullable=True),
        sa.Column("valid_until", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("kid", name=op.f("pk_svc_issuer_keys")),
    )
    op.create_index(
        op.f("ix_svc_issuer_keys_department_id"), "svc_issuer_keys", ["department_id"], unique=False
    )
    op.create_table(
        "svc_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("legal_basis", sa.Text(), nullable=False),
        sa.Column("conditions", sa.Text(), nullable=False),
        sa.Column("time_limit_days", sa.Integer(), nullable=False),
        sa.Column("fee", sa.String(length=100), nullable=False),
        sa.Column("online", sa.Boolean(), nullable=False),
        sa.Column("license_kind", sa.String(length=40), nullable=True),
        sa.Column("regulator_department_id", sa.Integer(), nullable=True),
        sa.Column("rectify_days", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_svc_items")),
        sa.UniqueConstraint("code", name=op.f("uq_svc_items_code")),
    )
    op.create_index(op.f("ix_svc_items_department_id"), "svc_items", ["department_id"], unique=False)
    op.create_table(
        "svc_license_kinds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("type_code", sa.String(length=40), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("issuer_code", sa.String(length=18), nullable=False),
        sa.Column("validity_years", sa.Integer(), nullable=True),
        sa.Column("next_serial", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_svc_license_kinds")),
        sa.UniqueConstraint("code", name=op.f("uq_svc_license_kinds_code")),
    )
    op.create_table(
        "svc_licenses",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("identifier", sa.String(length=120), nullable=False),
        sa.Column("kind_code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("holder_user_id", sa.Integer(), nullable=True),
        sa.Column("holder_name", sa.String(length=200), nullable=False),
        sa.Column("holder_code", sa.String(length=18), nullable=False),
        sa.Column("holder_code_type", sa.String(length=20), nullable=False),
        sa.Column("issuer_department_id", sa.Integer(), nullable=False),
        sa.Column("issuer_name", sa.String(length=200), nullable=False),
        sa.Column("issuer_code", sa.String(length=18), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("jurisdiction", sa.String(length=12), nullable=False),
        sa.Column("fields", JSON, nullable=False),
        sa.Column("kid", sa.String(length=40), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.Column("revoke_reason", sa.Text(), nullable=False),
        sa.Column("application_id", BIG_ID, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_svc_licenses")),
        sa.UniqueConstraint("identifier", name=op.f("uq_svc_licenses_identifier")),
    )
    op.create_index(op.f("ix_svc_licenses_holder_code"), "svc_licenses", ["holder_code"], unique=False)
    op.create_index(op.f("ix_svc_licenses_holder_user_id"), "svc_licenses", ["holder_user_id"], unique=False)
    op.create_table(
        "svc_oidc_clients",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.String(length=40), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("redirect_uris", JSON, nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_svc_oidc_clients")),
        sa.UniqueConstraint("client_id", name=op.f("uq_svc_oidc_clients_client_id")),
    )
    op.create_table(
        "svc_oidc_consents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.String(length=40), nullable=False),
        sa.Column("scope", sa.String(length=200), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_svc_oidc_consents")),
        sa.UniqueConstraint("user_id", "client_id", name=op.f("uq_svc_oidc_consents_user_id")),
    )
    op.create_table(
        "svc_oidc_grants",
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=6), nullable=False),
        sa.Column("client_id", sa.String(length=40), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("redirect_uri", sa.String(length=500), nullable=False),
        sa.Column("scope", sa.String(length=200), nullable=False),
        sa.Column("nonce", sa.String(length=200), nullable=False),
        sa.Column("code_challenge", sa.String(length=128), nullable=False),
        sa.Column("auth_time", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("used", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("digest", name=op.f("pk_svc_oidc_grants")),
    )
    op.create_table(
        "svc_queue_tickets",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("window_type", sa.String(length=20), nullable=False),
        sa.Column("number", sa.String(length=12), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("taken_at", sa.DateTime(), nullable=False),
        sa.Column("called_at", sa.DateTime(), nullable=True),
        sa.Column("done_at", sa.DateTime(), nullable=True),
        sa.Column("window", sa.String(length=20), nullable=False),
        sa.Column("called_by", sa.String(length=80), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_svc_queue_tickets")),
    )
    op.create_index(
        "ix_svc_queue_type_state", "svc_queue_tickets", ["window_type", "state", "id"], unique=False
    )
    op.create_table(
        "svc_ratings",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("application_id", BIG_ID, nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("aspects", JSON, nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_svc_ratings")),
        sa.UniqueConstraint("application_id", name=op.f("uq_svc_ratings_application_id")),
    )
    op.create_index(op.f("ix_svc_ratings_department_id"), "svc_ratings", ["department_id"], unique=False)
    op.create_index(op.f("ix_svc_ratings_item_id"), "svc_ratings", ["item_id"], unique=False)
    op.create_table(
        "svc_real_names",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("id_number", sa.String(length=18), nullable=False),
        sa.Column("verified_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_svc_real_names")),
    )
    op.create_table(
        "svc_supervision_tasks",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("application_id", BIG_ID, nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("done_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_svc_supervision_tasks")),
        sa.UniqueConstraint("application_id", name=op.f("uq_svc_supervision_tasks_application_id")),
    )
    op.create_index(
        op.f("ix_svc_supervision_tasks_department_id"),
        "svc_supervision_tasks",
        ["department_id"],
        unique=False,
    )
    op.create_table(
        "svc_applications",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("number", sa.String(length=24), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("applicant_user_id", sa.Integer(), nullable=True),
        sa.Column("applicant_kind", sa.String(length=8), nullable=False),
        sa.Column("applicant_name", sa.String(length=200), nullable=False),
        sa.Column("applicant_code", sa.String(length=18), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("form", JSON, nullable=False),
        sa.Column("consent", sa.Boolean(), nullable=False),
        sa.Column("missing", JSON, nullable=False),
        sa.Column("returned_count", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("history", JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("submitted_at", sa.DateTime(), nullable=True),
        sa.Column("accepted_at", sa.DateTime(), nullable=True),
        sa.Column("due_at", sa.DateTime(), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("issued_at", sa.DateTime(), nullable=True),
        sa.Column("license_identifier", sa.String(length=120), nullable=True),
        sa.ForeignKeyConstraint(
            ["item_id"], ["svc_items.id"], name=op.f("fk_svc_applications_item_id_svc_items")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_svc_applications")),
        sa.UniqueConstraint("number", name=op.f("uq_svc_applications_number")),
    )
    op.create_index(
        "ix_svc_applications_applicant", "svc_applications", ["applicant_user_id", "id"], unique=False
    )
    op.create_index("ix_svc_applications_code", "svc_applications", ["applicant_code"], unique=False)
    op.create_index(
        "ix_svc_applications_dept_state", "svc_applications", ["department_id", "state", "id"], unique=False
    )
    op.create_index("ix_svc_applications_item", "svc_applications", ["item_id", "state"], unique=False)
    op.create_index("ix_svc_applications_dept_id", "svc_applications", ["department_id", "id"], unique=False)
    op.create_index("ix_svc_applications_state_id", "svc_applications", ["state", "id"], unique=False)
    op.create_index("ix_svc_applications_name", "svc_applications", ["applicant_name"], unique=False)
    op.create_table(
        "svc_item_materials",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("required", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("license_kind", sa.String(length=40), nullable=True),
        sa.Column("resource_code", sa.String(length=80), nullable=True),
        sa.Column("resource_fields", JSON, nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["svc_items.id"],
            name=op.f("fk_svc_item_materials_item_id_svc_items"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_svc_item_materials")),
    )
    op.create_index(op.f("ix_svc_item_materials_item_id"), "svc_item_materials", ["item_id"], unique=False)
    op.create_table(
        "svc_rectifications",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("rating_id", BIG_ID, nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("response", sa.Text(), nullable=False),
        sa.Column("callback", sa.Text(), nullable=False),
        sa.Column("appeal", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["rating_id"], ["svc_ratings.id"], name=op.f("fk_svc_rectifications_rating_id_svc_ratings")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_svc_rectifications")),
        sa.UniqueConstraint("rating_id", name=op.f("uq_svc_rectifications_rating_id")),
    )
    op.create_index(
        op.f("ix_svc_rectifications_department_id"), "svc_rectifications", ["department_id"], unique=False
    )
    op.create_table(
        "svc_application_materials",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("application_id", BIG_ID, nullable=False),
        sa.Column("material_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("reference", sa.String(length=200), nullable=False),
        sa.Column("data", JSON, nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["svc_applications.id"],
            name=op.f("fk_svc_application_materials_application_id_svc_applications"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_svc_application_materials")),
    )
    op.create_index(
        op.f("ix_svc_application_materials_application_id"),
        "svc_application_materials",
        ["application_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_svc_application_materials_application_id"), table_name="svc_application_materials")
    op.drop_table("svc_application_materials")
    op.drop_index(op.f("ix_svc_rectifications_department_id"), table_name="svc_rectifications")
    op.drop_table("svc_rectifications")
    op.drop_index(op.f("ix_svc_item_materials_item_id"), table_name="svc_item_materials")
    op.drop_table("svc_item_materials")
    op.drop_index("ix_svc_applications_name", table_name="svc_applications")
    op.drop_index("ix_svc_applications_state_id", table_name="svc_applications")
    op.drop_index("ix_svc_applications_dept_id", table_name="svc_applications")
    op.drop_index("ix_svc_applications_item", table_name="svc_applications")
    op.drop_index("ix_svc_applications_dept_state", table_name="svc_applications")
    op.drop_index("ix_svc_applications_code", table_name="svc_applications")
    op.drop_index("ix_svc_applications_applicant", table_name="svc_applications")
    op.drop_table("svc_applications")
    op.drop_index(op.f("ix_svc_supervision_tasks_department_id"), table_name="svc_supervision_tasks")
    op.drop_table("svc_supervision_tasks")
    op.drop_table("svc_real_names")
    op.drop_index(op.f("ix_svc_ratings_item_id"), table_name="svc_ratings")
    op.drop_index(op.f("ix_svc_ratings_department_id"), table_name="svc_ratings")
    op.drop_table("svc_ratings")
    op.drop_index("ix_svc_queue_type_state", table_name="svc_queue_tickets")
    op.drop_table("svc_queue_tickets")
    op.drop_table("svc_oidc_grants")
    op.drop_table("svc_oidc_consents")
    op.drop_table("svc_oidc_clients")
    op.drop_index(op.f("ix_svc_licenses_holder_user_id"), table_name="svc_licenses")
    op.drop_index(op.f("ix_svc_licenses_holder_code"), table_name="svc_licenses")
    op.drop_table("svc_licenses")
    op.drop_table("svc_license_kinds")
    op.drop_index(op.f("ix_svc_items_department_id"), table_name="svc_items")
    op.drop_table("svc_items")
    op.drop_index(op.f("ix_svc_issuer_keys_department_id"), table_name="svc_issuer_keys")
    op.drop_table("svc_issuer_keys")
