"""Authorization as chained dependencies, so that no route forgets a check:

``valid_meeting`` (exists) → ``meeting_for_participant`` (the caller belongs to it, else 404 —
never 403, so ids cannot be probed) → ``meeting_for_moderator`` (host or cohost) →
``meeting_for_host`` (the host). Admins pass every gate.
"""

from __future__ import annotations

import uuid

from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncSession

from parley.core.auth import Principal, current_principal
from parley.core.db import get_session
from parley.meetings import errors
from parley.meetings.access import MeetingAccess, role_in
from parley.meetings.models import Meeting


async def valid_meeting(
    meeting_id: uuid.UUID, session: AsyncSession = Depends(get_session)
) -> Meeting:
    meeting = await session.get(Meeting, meeting_id)
    if meeting is None:
        raise errors.meeting_not_found()
    return meeting


async def meeting_for_participant(
    meeting: Meeting = Depends(valid_meeting),
    principal: Principal = Depends(current_principal),
    session: AsyncSession = Depends(get_session),
) -> MeetingAccess:
    role = await role_in(session, meeting, principal)
    if role is None:
        raise errors.meeting_not_found()
    return MeetingAccess(meeting, principal, role)


async def meeting_for_moderator(
    access: MeetingAccess = Depends(meeting_for_participant),
) -> MeetingAccess:
    if not access.is_moderator:
        raise errors.moderator_required()
    return access


async def meeting_for_host(
    access: MeetingAccess = Depends(meeting_for_participant),
) -> MeetingAccess:
    if not access.is_host:
        raise errors.host_required()
    return access
