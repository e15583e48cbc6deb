"""meeting-service as the other services see it: over its public HTTP API, never its tables.

Who belongs to a meeting is meeting-service's rule (host, admitted participants, admins;
removed people not), so media and AI ask it *with the caller's own token*:
``GET /api/v1/meetings/{id}`` answers 200 exactly to the people who belong to the meeting and
404 to everyone else. The asking service then needs no privileged credential and never sees
more than the caller could.

One :class:`MeetingsClient` per app and base URL (:func:`meetings_client`), one pooled
``httpx.AsyncClient`` inside it, closed with the app (:mod:`parley.core.app`). In the
all-in-one app the requests go in-process through the same ASGI app (no socket, same
middleware and rules); when the services run apart, a setting (``PARLEY_MEDIA_MEETINGS_URL``,
``PARLEY_AI_MEETINGS_URL``) names meeting-service's base URL.

One error mapping for every caller:

* 200: the JSON body;
* 403 or meeting-service's own 404: ``None`` (the caller answers its own 404, never 403);
* 401: ``invalid-token`` 401 (the caller's token was refused, e.g. revoked meanwhile);
* a 404 that is no route of meeting-service (the service alone with no URL configured, or a
  wrong one), any other status, 5xx, or no answer at all: ``dependency-unavailable`` 503 with
  ``Retry-After``.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import httpx
import structlog
from fastapi import FastAPI
from starlette.types import ASGIApp

from parley.core.errors import TYPE_PREFIX, ProblemError

log = structlog.get_logger("parley.core.meetings")

TIMEOUT_S = 10.0
"""Per request: in-process calls take milliseconds; a split meeting-service that takes longer
than this is treated as unavailable (503, retry later) rather than holding the caller."""
RETRY_AFTER_S = "5"
_INTERNAL_BASE = "http://meetings.internal"
_GENERIC_NOT_FOUND = TYPE_PREFIX + "not-found"
_STATE_KEY = "meetings_clients"


def meetings_unavailable(
    detail: str = "meeting-service is unavailable; try again shortly.",
) -> ProblemError:
    """503 ``dependency-unavailable``: meeting-service did not answer, or not as itself."""
    return ProblemError(
        503, detail, type="dependency-unavailable", headers={"Retry-After": RETRY_AFTER_S}
    )


def token_refused() -> ProblemError:
    """401 ``invalid-token``: meeting-service did not accept the caller's token."""
    return ProblemError(401, "The access token was not accepted.", type="invalid-token")


def _is_route_miss(response: httpx.Response) -> bool:
    """A 404 from whatever answers at the base URL when it is not meeting-service: the
    generic "no such route" problem (or no problem document at all), where meeting-service's
    own 404s carry their specific types (``meeting-not-found``, ``recording-not-found``)."""
    try:
        body = response.json()
    except ValueError:
        return True
    problem_type = body.get("type") if isinstance(body, dict) else None
    return not isinstance(problem_type, str) or problem_type == _GENERIC_NOT_FOUND


class MeetingsClient:
    """meeting-service's API with the caller's credentials; see the module for the outcomes."""

    def __init__(
        self,
        app: ASGIApp,
        base_url: str | None,
        *,
        setting: str = "the meeting-service URL setting",
        timeout_s: float = TIMEOUT_S,
    ) -> None:
        """``base_url`` ``None``: in-process through ``app``. ``setting`` names the variable
        that configures ``base_url``, for the message when nobody answers as meeting-service."""
        self.setting = setting
        if base_url:
            self.http = httpx.AsyncClient(base_url=base_url.rstrip("/"), timeout=timeout_s)
        else:
            self.http = httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url=_INTERNAL_BASE, timeout=timeout_s
            )

    async def request(
        self, method: str, path: str, auth: Mapping[str, str], json: Any = None
    ) -> httpx.Response:
        """The raw answer; 503 when there is none or it is a 5xx (the caller may retry)."""
        try:
            response = await self.http.request(method, path, headers=dict(auth), json=json)
        except httpx.HTTPError as exc:
            log.warning("meetings_unreachable", error=f"{type(exc).__name__}: {exc}")
            raise meetings_unavailable() from exc
        if response.status_code >= 500:
            log.warning("meetings_failed", path=path, status=response.status_code)
            raise meetings_unavailable(
                f"meeting-service answered {response.status_code}; try again shortly."
            )
        return response

    async def get(self, path: str, auth: Mapping[str, str]) -> Any | None:
        """``GET path`` under the module's one error mapping: the JSON body on 200 (``None``
        if it is not JSON), ``None`` when the caller may not see it."""
        response = await self.request("GET", path, auth)
        status = response.status_code
        if status == 200:
            try:
                return response.json()
            except ValueError:
                return None
        if status == 404 and _is_route_miss(response):
            raise meetings_unavailable(
                f"meeting-service is not reachable from this service; set {self.setting} to its"
                " base URL."
            )
        if status in (403, 404):
            return None
        if status == 401:
            raise token_refused()
        raise meetings_unavailable(f"meeting-service answered {status}; try again shortly.")

    async def meeting(
        self, meeting_id: uuid.UUID, auth: Mapping[str, str]
    ) -> dict[str, Any] | None:
        """The meeting as the caller sees it, or ``None`` when it is none of their business."""
        data = await self.get(f"/api/v1/meetings/{meeting_id}", auth)
        return data if isinstance(data, dict) else None

    async def recordings(
        self, meeting_id: uuid.UUID, auth: Mapping[str, str]
    ) -> list[dict[str, Any]] | None:
        """The meeting's recordings (participants only), or ``None`` for anyone else."""
        data = await self.get(f"/api/v1/meetings/{meeting_id}/recordings", auth)
        if not isinstance(data, list):
            return None
        return [item for item in data if isinstance(item, dict)]

    async def update_recording(
        self,
        meeting_id: uuid.UUID,
        recording_id: uuid.UUID,
        body: dict[str, Any],
        auth: Mapping[str, str],
    ) -> bool:
        """Keep meeting-service's recording in step; a refusal is logged, not raised (the
        upload itself is done and must not be lost over it)."""
        try:
            response = await self.request(
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


def meetings_client(app: FastAPI, base_url: str | None, *, setting: str) -> MeetingsClient:
    """``app``'s client for ``base_url``, made on first use and the same one afterwards (one
    connection pool per app; in the all-in-one app media and AI share the in-process one).
    :func:`close_meetings_clients` closes them when the app stops."""
    clients: dict[str | None, MeetingsClient] | None = getattr(app.state, _STATE_KEY, None)
    if clients is None:
        clients = {}
        setattr(app.state, _STATE_KEY, clients)
    key = base_url.rstrip("/") if base_url else None
    client = clients.get(key)
    if client is None:
        client = clients[key] = MeetingsClient(app, base_url, setting=setting)
    return client


async def close_meetings_clients(app: FastAPI) -> None:
    """Close every client :func:`meetings_client` made for ``app`` (at the end of its lifespan;
    a later start makes new ones)."""
    clients: dict[str | None, MeetingsClient] | None = getattr(app.state, _STATE_KEY, None)
    setattr(app.state, _STATE_KEY, {})
    for client in (clients or {}).values():
        await client.aclose()
