"""Who belongs to a meeting, and as what.

"Was admitted" is one explicit fact: ``Participant.joined_at``, set only when a row is let in
(by admission, or by a join past no waiting room) and never by any other transition. Statuses
are not that fact: a denied knocker and one still waiting when the meeting ends both become
``left`` without ever having been in, and must stay outsiders (404 for everything of the
meeting, the lobby again if they knock again).

A signed-in user's *role* in a meeting is the best role of their admitted rows (one per tab);
a removed user has none.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from parley.core.auth import Principal
from parley.meetings.models import Meeting, Participant

# The one test of "was let in at some point" (see the module docstring); never a status.
ADMITTED = Participant.joined_at.is_not(None)
ROLE_RANK = {"host": 3, "cohost": 2, "participant": 1, "guest": 0}


@dataclass(frozen=True, slots=True)
class MeetingAccess:
    """A meeting and what the caller may do in it."""

    meeting: Meeting
    principal: Principal
    role: str  # host | cohost | participant | guest | admin

    @property
    def is_moderator(self) -> bool:
        return self.role in ("host", "cohost", "admin")

    @property
    def is_host(self) -> bool:
        return self.role in ("host", "admin")


async def role_in(session: AsyncSession, meeting: Meeting, principal: Principal) -> str | None:
    """The caller's role in this meeting, or ``None`` when it is none of their business."""
    if str(meeting.host_id) == principal.user_id:
        return "host"
    rows = (
        await session.execute(
            select(Participant.role, Participant.status, Participant.joined_at).where(
                Participant.meeting_id == meeting.id,
                Participant.user_id == uuid.UUID(principal.user_id),
            )
        )
    ).all()
    if any(status == "removed" for _, status, _ in rows):
        return "admin" if principal.is_admin else None
    admitted = [role for role, _, joined_at in rows if joined_at is not None]
    if admitted:
        return max(admitted, key=lambda role: ROLE_RANK.get(role, 0))
    return "admin" if principal.is_admin else None
