"""breakout rooms (issue 18): meetings.parent_id and .breakout_index, breakout_sessions, seats

A breakout room is a meeting of its own under its main meeting; a session says which rooms a
round has and when they end, a seat where one person of the main meeting belongs.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("meetings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("parent_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("breakout_index", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_meetings_parent_id"), ["parent_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_meetings_parent_id_meetings"),
            "meetings",
            ["parent_id"],
            ["id"],
            ondelete="CASCADE",
        )
    op.create_table(
        "breakout_sessions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("meeting_id", sa.Uuid(), nullable=False),
        sa.Column("assignment", sa.String(length=16), nullable=False),
        sa.Column("allow_return", sa.Boolean(), nullable=False),
        sa.Column("duration_s", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closes_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rooms", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["meetings.id"],
            name=op.f("fk_breakout_sessions_meeting_id_meetings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_breakout_sessions")),
    )
    with op.batch_alter_table("breakout_sessions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_breakout_sessions_meeting_id"), ["meeting_id"], unique=False
        )
    op.create_table(
        "breakout_seats",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("participant_id", sa.Uuid(), nullable=False),
        sa.Column("room_index", sa.Integer(), nullable=True),
        sa.Column("tickets", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["breakout_sessions.id"],
            name=op.f("fk_breakout_seats_session_id_breakout_sessions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_breakout_seats_participant_id_participants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_breakout_seats")),
        sa.UniqueConstraint("session_id", "participant_id", name="uq_breakout_seats_person"),
    )


def downgrade() -> None:
    op.drop_table("breakout_seats")
    with op.batch_alter_table("breakout_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_breakout_sessions_meeting_id"))
    op.drop_table("breakout_sessions")
    with op.batch_alter_table("meetings", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_meetings_parent_id_meetings"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_meetings_parent_id"))
        batch_op.drop_column("breakout_index")
        batch_op.drop_column("parent_id")
