"""Request dependencies: the AI runtime, and who may see a meeting's results.

Participation is meeting-service's knowledge, and a service never imports another's internals,
so the AI service asks meeting-service over its public HTTP API, *with the caller's own token*:
``GET /api/v1/meetings/{id}`` answers 200 only to the meeting's participants (and admins) and
404 to everyone else, through the app's one :class:`~parley.core.meetings_client.MeetingsClient`
(in-process in the all-in-one app; split, to ``PARLEY_AI_MEETINGS_URL``).
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Request

from parley.ai import errors
from parley.ai.service import Runtime, runtime_of
from parley.core.auth import bearer_token
from parley.core.meetings_client import MeetingsClient, meetings_client


async def get_runtime(request: Request) -> Runtime:
    return runtime_of(request.app.state)


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def _meetings(request: Request) -> MeetingsClient:
    """The app's one meeting-service client (pooled, made on first use)."""
    return meetings_client(
        request.app, request.app.state.settings.ai_meetings_url, setting="PARLEY_AI_MEETINGS_URL"
    )


def _caller_auth(request: Request) -> dict[str, str]:
    token = bearer_token(request)
    if token is None:
        raise errors.token_required()
    return {"Authorization": f"Bearer {token}"}


async def ensure_participant(request: Request, meeting_id: uuid.UUID) -> None:
    """Pass when the caller takes part in the meeting; 404 (never 403) otherwise."""
    if await _meetings(request).meeting(meeting_id, _caller_auth(request)) is None:
        raise errors.meeting_not_found()


async def ensure_recording(
    request: Request, meeting_id: uuid.UUID, recording_id: uuid.UUID
) -> None:
    """Pass when the caller takes part in the meeting *and* the recording is one of that
    meeting's (its recordings list, which meeting-service shows to participants only): a
    result must never be filed under another meeting's recording. 404 otherwise."""
    recordings = await _meetings(request).recordings(meeting_id, _caller_auth(request))
    if recordings is None:
        raise errors.meeting_not_found()
    known = {str(item.get("id", "")).lower() for item in recordings}
    if str(recording_id).lower() not in known:
        raise errors.recording_not_found()


async def ensure_scope(
    request: Request, meeting_id: uuid.UUID | None, recording_id: uuid.UUID | None
) -> None:
    """A result stored against a meeting or recording: the caller must take part in it.

    A recording belongs to a meeting; the meeting is named with it so that access is checked
    against the meeting (the AI service keeps no copy of which recording is whose), and the
    recording must be one of that meeting's.
    """
    if recording_id is not None and meeting_id is None:
        raise errors.meeting_id_required()
    if meeting_id is not None and recording_id is not None:
        await ensure_recording(request, meeting_id, recording_id)
    elif meeting_id is not None:
        await ensure_participant(request, meeting_id)
