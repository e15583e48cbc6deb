"""The people of a meeting once they have joined or knocked: the host's moderation (admit,
deny, remove, roles), leaving, and what signaling-service reports (connected, left), down to
releasing ghosts (joins whose socket never came).

Promoting or removing a signed-in user applies to all their rows (one per tab); a removed
user cannot join again.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, case, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from parley.core.db import utcnow
from parley.meetings import errors
from parley.meetings.joining import joined_count, lock_meeting, mark_joined
from parley.meetings.lifecycle import ensure_editable
from parley.meetings.models import Meeting, Participant
from parley.meetings.schemas import ParticipantRole
from parley.meetings.views import settings_of


async def participant_of(
    session: AsyncSession, meeting: Meeting, participant_id: uuid.UUID
) -> Participant:
    participant = await session.get(Participant, participant_id)
    if participant is None or participant.meeting_id != meeting.id:
        raise errors.participant_not_found()
    return participant


async def participants(session: AsyncSession, meeting: Meeting) -> list[Participant]:
    rows = await session.scalars(
        select(Participant)
        .where(Participant.meeting_id == meeting.id)
        .order_by(Participant.created_at, Participant.id)
    )
    return list(rows.all())


# ---- leaving ---------------------------------------------------------------------------------


async def _emptied(session: AsyncSession, meeting: Meeting) -> None:
    """The last one out of a live meeting starts its idle clock (see ``end_idle_meetings``)."""
    if meeting.status == "live" and await joined_count(session, meeting.id) == 0:
        meeting.empty_since = utcnow()


async def leave(
    session: AsyncSession, meeting: Meeting, user_id: uuid.UUID, participant_id: uuid.UUID | None
) -> int:
    """The caller's joins (or the one named) leave; returns how many rows changed."""
    conditions = [
        Participant.meeting_id == meeting.id,
        Participant.user_id == user_id,
        Participant.status.in_(("joined", "waiting")),
    ]
    if participant_id is not None:
        conditions.append(Participant.id == participant_id)
    result = cast(
        CursorResult[Any],
        await session.execute(
            update(Participant).where(*conditions).values(status="left", left_at=utcnow())
        ),
    )
    await _emptied(session, meeting)
    await session.commit()
    return int(result.rowcount or 0)


async def participant_left(
    session: AsyncSession, meeting: Meeting, participant: Participant
) -> None:
    """signaling-service saw this participant go (closed, or never came back in time).

    A conditional update, not a write of the row as read: a removal committed meanwhile (say
    while this ``left`` waited on the stream, as it does for someone gone to a breakout room)
    stays a removal."""
    result = cast(
        CursorResult[Any],
        await session.execute(
            update(Participant)
            .where(Participant.id == participant.id, Participant.status.in_(("joined", "waiting")))
            .values(status="left", left_at=utcnow())
        ),
    )
    if result.rowcount:
        await session.flush()
        await _emptied(session, meeting)
    await session.commit()


async def participant_connected(
    session: AsyncSession, meeting: Meeting, participant: Participant
) -> None:
    """signaling-service authenticated this participant's socket (the ``connected`` command):
    the join was real, so the ghost sweep leaves it alone. The first connection counts."""
    if participant.connected_at is None and participant.status in ("waiting", "joined"):
        participant.connected_at = utcnow()
    await session.commit()


async def release_ghosts(session: AsyncSession, grace_s: float, now: datetime | None = None) -> int:
    """Joined rows whose socket never connected within ``grace_s`` of being let in leave.

    A join hands out a signaling ticket that expires (``signaling_token_ttl_s``); a row that
    has not connected by then never will, yet it would count towards ``max_participants`` and
    keep the meeting from ending idle. Returns how many rows were released."""
    now = now or utcnow()
    ghosts = (
        await session.scalars(
            select(Participant).where(
                Participant.status == "joined",
                Participant.connected_at.is_(None),
                Participant.joined_at < now - timedelta(seconds=grace_s),
            )
        )
    ).all()
    for ghost in ghosts:
        ghost.status = "left"
        ghost.left_at = now
    await session.flush()
    for meeting_id in {ghost.meeting_id for ghost in ghosts}:
        meeting = await session.get(Meeting, meeting_id)
        if meeting is not None:
            await _emptied(session, meeting)
    await session.commit()
    return len(ghosts)


# ---- moderation ------------------------------------------------------------------------------


async def admit(session: AsyncSession, meeting: Meeting, participant: Participant) -> Participant:
    ensure_editable(meeting)
    if participant.status != "waiting":
        raise errors.not_waiting("admitted")
    await lock_meeting(session, meeting)
    if await joined_count(session, meeting.id) >= settings_of(meeting).max_participants:
        raise errors.meeting_full()
    mark_joined(meeting, participant, utcnow())
    await session.commit()
    return participant


async def deny(session: AsyncSession, meeting: Meeting, participant: Participant) -> Participant:
    """Out of the lobby, not in: the row becomes ``left`` with no ``joined_at``, so the person
    stays an outsider and waits in the lobby again if they knock again."""
    if participant.status != "waiting":
        raise errors.not_waiting("denied")
    participant.status = "left"
    participant.left_at = utcnow()
    await session.commit()
    return participant


async def remove(session: AsyncSession, meeting: Meeting, participant: Participant) -> Participant:
    """Out, and not back: every row of a signed-in user is marked removed."""
    if participant.role == "host":
        raise errors.host_immovable("The host cannot be removed.")
    now = utcnow()
    same_person = (
        Participant.user_id == participant.user_id
        if participant.user_id is not None
        else Participant.id == participant.id
    )
    await session.execute(
        update(Participant)
        .where(Participant.meeting_id == meeting.id, same_person)
        .values(
            status="removed",
            left_at=case(
                (Participant.status.in_(("joined", "waiting")), now), else_=Participant.left_at
            ),
        )
    )
    await session.refresh(participant)
    await _emptied(session, meeting)
    await session.commit()
    return participant


async def set_role(
    session: AsyncSession, meeting: Meeting, participant: Participant, role: ParticipantRole
) -> Participant:
    """A signed-in user becomes cohost or participant again, in every tab they joined from."""
    if participant.role == "host":
        raise errors.host_immovable("The host's role cannot change.")
    if participant.user_id is None:
        raise errors.guest_role()
    if participant.status == "removed":
        raise errors.participant_removed()
    await session.execute(
        update(Participant)
        .where(Participant.meeting_id == meeting.id, Participant.user_id == participant.user_id)
        .values(role=role)
    )
    await session.refresh(participant)
    await session.commit()
    return participant
