"""A meeting's own life: created (scheduled), changed while not finished, ended or cancelled.

Going live is not here: a meeting goes live when its first person is let in (see
:func:`parley.meetings.joining.mark_joined`)."""

from __future__ import annotations

import uuid

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from parley.core.auth import Principal
from parley.core.db import utcnow
from parley.core.hashing import hash_secret
from parley.meetings import errors
from parley.meetings.codes import new_code
from parley.meetings.models import Meeting, Participant, Recording
from parley.meetings.schedule import check_not_past, check_schedule, in_utc
from parley.meetings.schemas import MeetingCreate, MeetingSettings, MeetingStatus, MeetingUpdate
from parley.meetings.views import settings_of

FINISHED: tuple[MeetingStatus, ...] = ("ended", "cancelled")


async def create_meeting(
    session: AsyncSession, principal: Principal, data: MeetingCreate
) -> Meeting:
    start_time = in_utc(data.start_time, data.timezone) if data.start_time else None
    if start_time is not None:
        check_schedule(start_time, data.duration_minutes)
        check_not_past(start_time)
    password_hash = await hash_secret(data.password) if data.password else None
    for _ in range(5):
        meeting = Meeting(
            code=new_code(),
            title=data.title,
            description=data.description,
            host_id=uuid.UUID(principal.user_id),
            host_display_name=principal.display_name or "Host",
            start_time=start_time,
            duration_minutes=data.duration_minutes,
            timezone=data.timezone,
            password_hash=password_hash,
            settings=data.settings.model_dump(),
        )
        session.add(meeting)
        try:
            await session.commit()
            return meeting
        except IntegrityError:  # a code collision: draw again
            await session.rollback()
    raise errors.no_code_available()


def ensure_editable(meeting: Meeting) -> None:
    """409 for a finished meeting: its record, participants and recordings stay as they were."""
    if meeting.status in FINISHED:
        raise errors.meeting_finished(meeting.status)


async def update_meeting(session: AsyncSession, meeting: Meeting, data: MeetingUpdate) -> Meeting:
    ensure_editable(meeting)
    if data.password is not None and data.clear_password:
        raise errors.password_and_clear()
    timezone = data.timezone or meeting.timezone
    if data.start_time is not None or data.duration_minutes is not None:
        start = in_utc(data.start_time, timezone) if data.start_time else meeting.start_time
        if start is not None:
            check_schedule(start, data.duration_minutes or meeting.duration_minutes)
        if data.start_time is not None and start is not None:
            check_not_past(start)
    for name, value in data.model_dump(
        exclude_none=True, include={"title", "description", "timezone", "duration_minutes"}
    ).items():
        setattr(meeting, name, value)
    if data.start_time is not None:
        meeting.start_time = in_utc(data.start_time, timezone)
    if data.password is not None:
        meeting.password_hash = await hash_secret(data.password)
    if data.clear_password:
        meeting.password_hash = None
    if data.settings is not None:
        merged = settings_of(meeting).model_dump()
        merged.update(data.settings.model_dump(exclude_none=True))
        meeting.settings = MeetingSettings.model_validate(merged).model_dump()
    await session.commit()
    return meeting


async def close_meeting(session: AsyncSession, meeting: Meeting, status: MeetingStatus) -> None:
    """Everyone goes: rows in the room and in the lobby become ``left``. A lobby row keeps no
    ``joined_at``, so ending a meeting lets nobody in after the fact. Not committed: the
    caller commits (one meeting, or a sweep of idle ones)."""
    now = utcnow()
    meeting.status = status
    meeting.ended_at = now
    meeting.empty_since = None
    await session.execute(
        update(Participant)
        .where(Participant.meeting_id == meeting.id, Participant.status.in_(("joined", "waiting")))
        .values(status="left", left_at=now)
    )
    await session.execute(
        update(Recording)
        .where(Recording.meeting_id == meeting.id, Recording.status == "recording")
        .values(status="processing", ended_at=now)
    )


async def end_meeting(session: AsyncSession, meeting: Meeting) -> Meeting:
    """Everyone leaves; the meeting is over (a scheduled one that never started is cancelled)."""
    if meeting.status in FINISHED:
        return meeting
    await close_meeting(session, meeting, "ended" if meeting.status == "live" else "cancelled")
    await session.commit()
    return meeting
