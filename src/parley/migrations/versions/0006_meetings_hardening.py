"""meetings hardening (issue 13): participants record when their socket connected

``connected_at`` lets meeting-service release ghosts: joins whose signaling socket never came
within the ticket's lifetime. Rows already let in before this revision are taken as connected
(their ``joined_at``), so that nobody in a live meeting is released by the upgrade.

"Was admitted" needs no new column: ``joined_at`` is set only when a row is let in, so denied
knockers and knockers still waiting when a meeting ended already have none.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("participants", schema=None) as batch_op:
        batch_op.add_column(sa.Column("connected_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_participants_status_joined_at", ["status", "joined_at"])
    op.execute(
        "UPDATE participants SET connected_at = joined_at "
        "WHERE joined_at IS NOT NULL AND connected_at IS NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("participants", schema=None) as batch_op:
        batch_op.drop_index("ix_participants_status_joined_at")
        batch_op.drop_column("connected_at")
