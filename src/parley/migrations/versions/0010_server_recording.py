"""server-side recording (issue 17): recordings.kind and .progress, media's recording_jobs

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("recordings", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=16), server_default="browser", nullable=False)
        )
        batch_op.add_column(sa.Column("progress", sa.Integer(), nullable=True))
    op.create_table(
        "recording_jobs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("meeting_id", sa.Uuid(), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("node", sa.String(length=128), nullable=False),
        sa.Column("raw_dir", sa.String(length=1000), nullable=False),
        sa.Column("files", sa.JSON(), nullable=False),
        sa.Column("names", sa.JSON(), nullable=False),
        sa.Column("started_us", sa.BigInteger(), nullable=False),
        sa.Column("ended_us", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("progress", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("media_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recording_jobs")),
    )
    with op.batch_alter_table("recording_jobs", schema=None) as batch_op:
        batch_op.create_index("ix_recording_jobs_status_node", ["status", "node"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("recording_jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_recording_jobs_status_node")
    op.drop_table("recording_jobs")
    with op.batch_alter_table("recordings", schema=None) as batch_op:
        batch_op.drop_column("progress")
        batch_op.drop_column("kind")
