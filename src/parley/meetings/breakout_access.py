"""Who asks about a meeting's breakout rooms, and as what: the same rule as polls
(``poll_access.py``), because participants of every kind, guests too, use these endpoints.

Signed-in callers: their role in the MAIN meeting (:func:`parley.meetings.access.role_in`;
outsiders, the denied, the removed and those never let in get 404) and their latest admitted
row there. Guests: the ``participant_id`` their join returned, proved by the guest cookie that
join set; the row must have been let in and not removed, else 404 alike. A breakout room's own
id is never accepted as the meeting here (404): everything goes through the main meeting.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query, Request
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from parley.core.auth import Principal, current_principal, optional_principal
from parley.core.db import get_session
from parley.core.kv import get_kv
from parley.meetings import errors, polls
from parley.meetings.access import role_in
from parley.meetings.dependencies import valid_meeting
from parley.meetings.joining import GUEST_COOKIE, proven_guest
from parley.meetings.models import Meeting, Participant

GuestParticipant = Annotated[
    uuid.UUID | None,
    Query(
        description="Guests only (no access token): the participant id their join of the main "
        "meeting returned; their browser's guest cookie proves it is theirs."
    ),
]


@dataclass(frozen=True, slots=True)
class BreakoutCaller:
    """The caller: the main meeting, whether they moderate it, and their row in it."""

    meeting: Meeting
    moderator: bool
    participant: Participant | None
    """Their admitted row in the main meeting (``None``: an admin or a host who never joined,
    who may manage the rooms but has no place to move)."""
    principal: Principal | None
    guest_key: str | None = None

    @property
    def name(self) -> str:
        if self.participant is not None:
            return self.participant.display_name
        if self.principal is not None:
            return self.principal.display_name or "Host"
        return "Participant"

    def row(self) -> Participant:
        if self.participant is None:
            raise errors.not_a_participant()
        return self.participant


async def breakout_caller(
    request: Request,
    participant_id: GuestParticipant = None,
    meeting: Meeting = Depends(valid_meeting),
    session: AsyncSession = Depends(get_session),
    kv: Redis = Depends(get_kv),
) -> BreakoutCaller:
    if meeting.parent_id is not None:
        raise errors.meeting_not_found("Breakout rooms are managed from the main meeting.")
    principal = await optional_principal(request)
    if principal is None:
        if participant_id is None:
            await current_principal(request)  # 401, as everywhere without a token
            raise errors.meeting_not_found()
        key = request.cookies.get(GUEST_COOKIE) or ""
        guest = await proven_guest(session, kv, meeting, participant_id, key)
        return BreakoutCaller(meeting, False, guest, None, key)
    role = await role_in(session, meeting, principal)
    if role is None:
        raise errors.meeting_not_found()
    # The tab's own row when it names one of theirs (a user may be in from two tabs), else
    # their latest.
    row = None
    if participant_id is not None:
        named = await session.get(Participant, participant_id)
        if (
            named is not None
            and named.meeting_id == meeting.id
            and str(named.user_id) == principal.user_id
            and named.joined_at is not None
        ):
            row = named
    row = row or await polls.voting_row(session, meeting, uuid.UUID(principal.user_id))
    return BreakoutCaller(meeting, role in ("host", "cohost", "admin"), row, principal)


async def moderator_caller(
    caller: BreakoutCaller = Depends(breakout_caller),
) -> BreakoutCaller:
    if not caller.moderator:
        raise errors.moderator_required()
    return caller
