"""sensing: the video network (camera grants, video rules, video events) and, on PostgreSQL, the
readings partitioned by month.

`sensing_camera_grants`  a camera (a `Camera` device) shared with another department
`sensing_video_rules`    what a detector must see on which cameras to open a case
`sensing_video_events`   one analysed snapshot: detections, the rule it met, the case it opened

On PostgreSQL `sensing_readings` becomes a table partitioned by range of `at`: one partition per
calendar month in the schema `sensing_partitions` (so the model comparison, which reads the
default schema, sees the parent only) plus a default partition for readings outside every month
created so far. The worker creates the coming months ahead and retention drops whole months
(storage.py). SQLite keeps the plain table.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 12:20:00.000000
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
PARTS = "sensing_partitions"
COLUMNS = (
    "device_id varchar(64) NOT NULL, attr varchar(64) NOT NULL, at timestamp without time zone NOT NULL, "
    "value double precision, text varchar(200)"
)


def _months(first: datetime, last: datetime) -> list[tuple[datetime, datetime]]:
    y, m = first.year, first.month
    out = []
    while (y, m) <= (last.year, last.month):
        ny, nm = (y + 1, 1) if m == 12 else (y, m + 1)
        out.append((datetime(y, m, 1), datetime(ny, nm, 1)))
        y, m = ny, nm
    return out


def _partition_readings() -> None:
    conn = op.get_bind()
    now = datetime.now(UTC).replace(tzinfo=None)
    oldest = conn.scalar(sa.text("SELECT min(at) FROM sensing_readings")) or now
    first = min(oldest, datetime(now.year, now.month, 1))
    last = datetime(now.year + (now.month + 2 > 12), (now.month + 2 - 1) % 12 + 1, 1)
    op.execute(f"CREATE SCHEMA IF NOT EXISTS {PARTS}")
    op.execute("ALTER TABLE sensing_readings RENAME TO sensing_readings_plain")
    op.execute("ALTER INDEX pk_sensing_readings RENAME TO pk_sensing_readings_plain")
    op.execute("ALTER INDEX ix_sensing_readings_at RENAME TO ix_sensing_readings_plain_at")
    op.execute(
        f"CREATE TABLE sensing_readings ({COLUMNS}, "
        "CONSTRAINT pk_sensing_readings PRIMARY KEY (device_id, attr, at)) PARTITION BY RANGE (at)"
    )
    op.execute("CREATE INDEX ix_sensing_readings_at ON sensing_readings (at)")
    op.execute(f"CREATE TABLE {PARTS}.readings_default PARTITION OF sensing_readings DEFAULT")
    for lo, hi in _months(first, last):
        op.execute(
            f"CREATE TABLE {PARTS}.readings_{lo:%Y_%m} PARTITION OF sensing_readings "
            f"FOR VALUES FROM ('{lo:%Y-%m-%d}') TO ('{hi:%Y-%m-%d}')"
        )
    op.execute(
        "INSERT INTO sensing_readings SELECT device_id, attr, at, value, text FROM sensing_readings_plain"
    )
    op.execute("DROP TABLE sensing_readings_plain")


def _unpartition_readings() -> None:
    op.execute("ALTER TABLE sensing_readings RENAME TO sensing_readings_parted")
    op.execute("ALTER INDEX pk_sensing_readings RENAME TO pk_sensing_readings_parted")
    op.execute("ALTER INDEX ix_sensing_readings_at RENAME TO ix_sensing_readings_parted_at")
    op.execute(
        f"CREATE TABLE sensing_readings ({COLUMNS}, "
        "CONSTRAINT pk_sensing_readings PRIMARY KEY (device_id, attr, at))"
    )
    op.execute("CREATE INDEX ix_sensing_readings_at ON sensing_readings (at)")
    op.execute(
        "INSERT INTO sensing_readings SELECT device_id, attr, at, value, text FROM sensing_readings_parted"
    )
    op.execute("DROP TABLE sensing_readings_parted")
    op.execute(f"DROP SCHEMA IF EXISTS {PARTS} CASCADE")


def upgrade() -> None:
    op.create_table(
        "sensing_camera_grants",
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=200), nullable=False),
        sa.Column("granted_by", sa.String(length=80), nullable=False),
        sa.Column("granted_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("device_id", "department_id", name=op.f("pk_sensing_camera_grants")),
    )
    op.create_index("ix_sensing_camera_grants_department", "sensing_camera_grants", ["department_id"])
    op.create_table(
        "sensing_video_rules",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("camera_id", sa.String(length=64), nullable=True),
        sa.Column("zone", sa.String(length=40), nullable=True),
        sa.Column("detector", sa.String(length=12), nullable=False),
        sa.Column("min_count", sa.Integer(), nullable=False),
        sa.Column("window_s", sa.Integer(), nullable=False),
        sa.Column("severity", sa.String(length=10), nullable=False),
        sa.Column("case_category", sa.String(length=8), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sensing_video_rules")),
    )
    op.create_table(
        "sensing_video_events",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("rule_id", sa.Integer(), nullable=True),
        sa.Column("detector", sa.String(length=12), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("boxes", JSON, nullable=False),
        sa.Column("snapshot_sha256", sa.String(length=64), nullable=False),
        sa.Column("content_type", sa.String(length=40), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("uploaded_by", sa.String(length=80), nullable=False),
        sa.Column("duplicate_of", BIG_ID, nullable=True),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("case_number", sa.String(length=20), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sensing_video_events")),
    )
    op.create_index("ix_sensing_video_events_device_at", "sensing_video_events", ["device_id", "at"])
    op.create_index("ix_sensing_video_events_rule", "sensing_video_events", ["device_id", "rule_id", "at"])
    if op.get_bind().dialect.name == "postgresql":
        _partition_readings()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _unpartition_readings()
    for table in ("sensing_video_events", "sensing_video_rules", "sensing_camera_grants"):
        op.drop_table(table)
