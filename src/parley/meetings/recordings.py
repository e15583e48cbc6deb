"""Recording metadata: a recording's states and who may move it through them.

meeting-service keeps only the record (started, processing, ready, failed, and the media it
points to); the file itself is media-service's."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from parley.core.auth import Principal
from parley.core.db import utcnow
from parley.meetings import errors
from parley.meetings.joining import lock_meeting
from parley.meetings.models import Meeting, Recording
from parley.meetings.schemas import RecordingStatus, RecordingUpdate

RECORDING_TRANSITIONS: dict[RecordingStatus, set[RecordingStatus]] = {
    "recording": {"recording", "processing", "ready", "failed"},
    "processing": {"processing", "ready", "failed"},
    "ready": {"ready"},
    "failed": {"failed"},
}

# What only the recording's starter may set: the media behind it and what it measures.
# media-service attaches an upload by PATCHing these with the uploader's own token, so this is
# the rule that keeps anyone else's file from becoming the host's recording.
STARTER_ONLY_FIELDS = ("media_id", "duration_s", "size_bytes", "progress")


async def start_recording(
    session: AsyncSession, meeting: Meeting, principal: Principal
) -> Recording:
    """One running recording per live meeting (under the meeting's lock, so two moderators
    pressing at once start one)."""
    if meeting.status != "live":
        raise errors.meeting_not_live()
    await lock_meeting(session, meeting)
    active = await session.scalar(
        select(Recording.id).where(
            Recording.meeting_id == meeting.id, Recording.status == "recording"
        )
    )
    if active is not None:
        raise errors.recording_active()
    recording = Recording(meeting_id=meeting.id, started_by=uuid.UUID(principal.user_id))
    session.add(recording)
    await session.commit()
    return recording


async def recording_of(
    session: AsyncSession, meeting: Meeting, recording_id: uuid.UUID
) -> Recording:
    recording = await session.get(Recording, recording_id)
    if recording is None or recording.meeting_id != meeting.id:
        raise errors.recording_not_found()
    return recording


async def update_recording(
    session: AsyncSession, recording: Recording, data: RecordingUpdate, principal: Principal
) -> Recording:
    """Moderators move a recording through its states; its media fields are the starter's."""
    touched = data.model_dump(exclude_none=True, include=set(STARTER_ONLY_FIELDS))
    if touched and str(recording.started_by) != principal.user_id:
        raise errors.recording_starter_only()
    if data.status is not None:
        if data.status not in RECORDING_TRANSITIONS[recording.status]:
            raise errors.recording_transition(recording.status, data.status)
        if recording.status == "recording" and data.status != "recording":
            recording.ended_at = utcnow()
        recording.status = data.status
        if data.status == "ready" and recording.kind == "server":
            recording.progress = 100
    for name, value in touched.items():
        setattr(recording, name, value)
    await session.commit()
    return recording


async def recordings(session: AsyncSession, meeting: Meeting) -> list[Recording]:
    rows = await session.scalars(
        select(Recording).where(Recording.meeting_id == meeting.id).order_by(Recording.started_at)
    )
    return list(rows.all())
