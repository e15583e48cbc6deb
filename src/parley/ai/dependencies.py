"""Request dependencies: the AI runtime, and who may see a meeting's results.

Participation is meeting-service's knowledge, and a service never imports another's internals,
so the AI service asks meeting-service over its public HTTP API, *with the caller's own token*:
``GET /api/v1/meetings/{id}`` answers 200 only to the meeting's participants (and admins) and
404 to everyone else. Using the caller's token means the AI service needs no privileged
credential and can never see more than the caller could. In the all-in-one app the request goes
through an in-process ASGI transport to the same app; split, to ``PARLEY_AI_MEETINGS_URL``.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import httpx
from fastapi import Depends, Request

from parley.ai.service import Runtime, runtime_of
from parley.core.auth import bearer_token
from parley.core.errors import ProblemError

CHECK_TIMEOUT_S = 5.0


async def get_runtime(request: Request) -> Runtime:
    return runtime_of(request.app.state)


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def _meetings_client(request: Request) -> httpx.AsyncClient:
    base = request.app.state.settings.ai_meetings_url
    if base:
        return httpx.AsyncClient(base_url=base.rstrip("/"), timeout=CHECK_TIMEOUT_S)
    transport = httpx.ASGITransport(app=request.app)
    return httpx.AsyncClient(transport=transport, base_url="http://meetings.internal")


def _is_route_miss(response: httpx.Response) -> bool:
    try:
        problem_type = str(response.json().get("type", ""))
    except ValueError:
        return True
    return not problem_type.endswith("meeting-not-found")


async def _ask_meetings(request: Request, meeting_id: uuid.UUID, path: str = "") -> Any:
    """``GET /api/v1/meetings/{id}{path}`` with the caller's token: the JSON body on 200; 404
    (never 403) when the caller does not take part; 503 when meeting-service cannot answer."""
    token = bearer_token(request)
    if token is None:
        raise ProblemError(401, "A bearer access token is required.", type="invalid-token")
    try:
        async with _meetings_client(request) as client:
            response = await client.get(
                f"/api/v1/meetings/{meeting_id}{path}",
                headers={"Authorization": f"Bearer {token}"},
            )
    except httpx.HTTPError as exc:
        raise ProblemError(
            503,
            f"meeting-service could not be asked about meeting {meeting_id}: {exc}",
            type="dependency-unavailable",
            headers={"Retry-After": "5"},
        ) from exc
    if response.status_code == 200:
        try:
            return response.json()
        except ValueError:
            return None
    if response.status_code == 404 and _is_route_miss(response):
        # Not meeting-service's "no such meeting" but "no such route": whoever answered is not
        # meeting-service (the ai service alone with no PARLEY_AI_MEETINGS_URL, or a wrong one).
        raise ProblemError(
            503,
            "meeting-service is not reachable from this ai service; set PARLEY_AI_MEETINGS_URL "
            "to its base URL.",
            type="dependency-unavailable",
            headers={"Retry-After": "5"},
        )
    if response.status_code in (403, 404):
        raise ProblemError(404, "No such meeting.", type="meeting-not-found")
    if response.status_code == 401:
        raise ProblemError(401, "The access token was not accepted.", type="invalid-token")
    raise ProblemError(
        503,
        f"meeting-service answered {response.status_code} about meeting {meeting_id}.",
        type="dependency-unavailable",
        headers={"Retry-After": "5"},
    )


async def ensure_participant(request: Request, meeting_id: uuid.UUID) -> None:
    """Pass when the caller takes part in the meeting; 404 (never 403) otherwise."""
    await _ask_meetings(request, meeting_id)


async def ensure_recording(
    request: Request, meeting_id: uuid.UUID, recording_id: uuid.UUID
) -> None:
    """Pass when the caller takes part in the meeting *and* the recording is one of that
    meeting's (its recordings list, which meeting-service shows to participants only): a
    result must never be filed under another meeting's recording. 404 otherwise."""
    recordings = await _ask_meetings(request, meeting_id, "/recordings")
    known = {
        str(item.get("id", "")).lower()
        for item in (recordings if isinstance(recordings, list) else [])
        if isinstance(item, dict)
    }
    if str(recording_id).lower() not in known:
        raise ProblemError(404, "The meeting has no such recording.", type="recording-not-found")


async def ensure_scope(
    request: Request, meeting_id: uuid.UUID | None, recording_id: uuid.UUID | None
) -> None:
    """A result stored against a meeting or recording: the caller must take part in it.

    A recording belongs to a meeting; the meeting is named with it so that access is checked
    against the meeting (the AI service keeps no copy of which recording is whose), and the
    recording must be one of that meeting's.
    """
    if recording_id is not None and meeting_id is None:
        raise ProblemError(
            422, "`recording_id` needs the recording's `meeting_id` as well.", type="validation"
        )
    if meeting_id is not None and recording_id is not None:
        await ensure_recording(request, meeting_id, recording_id)
    elif meeting_id is not None:
        await ensure_participant(request, meeting_id)
