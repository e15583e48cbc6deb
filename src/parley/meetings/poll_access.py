"""Who may read a meeting's polls and vote in them: the people in the meeting, guests too.

Signed-in callers go through the same rule as the rest of the meeting API
(:func:`parley.meetings.access.role_in`: outsiders, the denied, the removed and those never let
in get 404). Guests have no access token; a guest proves who they are with the browser key
their join set (the ``parley_guest`` HttpOnly cookie, SameSite=strict, so no other site can
vote for them) together with the ``participant_id`` their join returned: the pair must match
what the join recorded, and the row must have been let in and not removed, else 404 alike.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Query, Request
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from parley.core.auth import current_principal, optional_principal
from parley.core.db import get_session
from parley.core.kv import get_kv
from parley.meetings import errors, polls
from parley.meetings.access import role_in
from parley.meetings.dependencies import valid_meeting
from parley.meetings.joining import GUEST_COOKIE, proven_guest
from parley.meetings.models import Meeting

GuestParticipant = Annotated[
    uuid.UUID | None,
    Query(
        description="Guests only (no access token): the participant id their join returned; "
        "their browser's guest cookie proves it is theirs."
    ),
]


async def poll_caller(
    request: Request,
    participant_id: GuestParticipant = None,
    meeting: Meeting = Depends(valid_meeting),
    session: AsyncSession = Depends(get_session),
    kv: Redis = Depends(get_kv),
) -> polls.PollCaller:
    principal = await optional_principal(request)
    if principal is None:
        if participant_id is None:
            await current_principal(request)  # 401, as everywhere without a token
            raise errors.meeting_not_found()
        cookie = request.cookies.get(GUEST_COOKIE) or ""
        guest = await proven_guest(session, kv, meeting, participant_id, cookie)
        return polls.PollCaller(meeting, False, f"guest:{guest.id}", guest)
    role = await role_in(session, meeting, principal)
    if role is None:
        raise errors.meeting_not_found()
    row = await polls.voting_row(session, meeting, uuid.UUID(principal.user_id))
    moderator = role in ("host", "cohost", "admin")
    return polls.PollCaller(meeting, moderator, f"user:{principal.user_id}", row)
