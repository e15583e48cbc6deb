"""meeting-service as media-service sees it: over its public HTTP API, never its tables.

Who may see a file that belongs to a meeting is meeting-service's rule (host, admitted
participants, admins; removed people not), so media-service asks it with the caller's own token:
``GET /api/v1/meetings/{id}`` answers 200 exactly to the people who belong to the meeting. In
the all-in-one app the request goes in-process through the same ASGI app (no socket, same
middleware and rules); when the services run apart, ``PARLEY_MEDIA_MEETINGS_URL`` names
meeting-service's base URL.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import structlog
from fastapi import FastAPI

from parley.core.errors import ProblemError
from parley.media import errors

log = structlog.get_logger("parley.media.meetings")
TIMEOUT_S = 10.0


class MeetingsClient:
    def __init__(self, app: FastAPI, base_url: str | None) -> None:
        if base_url:
            self.http = httpx.AsyncClient(base_url=base_url.rstrip("/"), timeout=TIMEOUT_S)
        else:
            self.http = httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app),
                base_url="http://meetings.internal",
                timeout=TIMEOUT_S,
            )

    async def _request(
        self, method: str, path: str, auth: dict[str, str], json: Any = None
    ) -> httpx.Response:
        try:
            response = await self.http.request(method, path, headers=auth, json=json)
        except httpx.HTTPError as exc:
            log.warning("meetings_unreachable", error=f"{type(exc).__name__}: {exc}")
            raise errors.meetings_unavailable() from exc
        if response.status_code >= 500:
            raise errors.meetings_unavailable()
        return response

    async def meeting(self, meeting_id: uuid.UUID, auth: dict[str, str]) -> dict[str, Any] | None:
        """The meeting as the caller sees it, or ``None`` when it is none of their business."""
        response = await self._request("GET", f"/api/v1/meetings/{meeting_id}", auth)
        if response.status_code == 200:
            data: dict[str, Any] = response.json()
            return data
        return None

    async def recordings(
        self, meeting_id: uuid.UUID, auth: dict[str, str]
    ) -> list[dict[str, Any]] | None:
        response = await self._request("GET", f"/api/v1/meetings/{meeting_id}/recordings", auth)
        if response.status_code == 200:
            data: list[dict[str, Any]] = response.json()
            return data
        return None

    async def update_recording(
        self,
        meeting_id: uuid.UUID,
        recording_id: uuid.UUID,
        body: dict[str, Any],
        auth: dict[str, str],
    ) -> bool:
        """Keep meeting-service's recording in step; a refusal is logged, not raised (the
        upload itself is done and must not be lost over it)."""
        try:
            response = await self._request(
                "PATCH", f"/api/v1/meetings/{meeting_id}/recordings/{recording_id}", auth, body
            )
        except ProblemError:
            return False
        if response.status_code != 200:
            log.warning(
                "recording_update_refused",
                meeting_id=str(meeting_id),
                recording_id=str(recording_id),
                status=response.status_code,
                body=response.text[:300],
            )
            return False
        return True

    async def aclose(self) -> None:
        await self.http.aclose()
