"""Recording on the SFU: meeting-service asks media-service's rtc to record a meeting's room.

When a host starts a recording, the room is asked for at the rtc API (``PUT /internal/rtc/
meetings/{id}/recording``, a service token like signaling's). If the meeting's room is on the
SFU, the SFU records it and the recording's ``kind`` is ``server``: the page records nothing,
and the recording goes on whoever leaves. Anything else (a peer-to-peer room, no SFU, rtc
unreachable) leaves it ``browser``, today's recording in the starter's page. Stopping a
server recording (any status after ``recording``) stops it at the SFU, which hands its tracks
to media-service's worker (:mod:`parley.media.recording_jobs`).

The rtc API is media-service's (``PARLEY_SIGNALING_MEDIA_URL`` when the services run apart,
in-process otherwise); with several media nodes, the configured one is asked.
"""

from __future__ import annotations

import structlog
from fastapi import FastAPI

from parley.config import Settings
from parley.core.rtc_client import RtcClient, RtcUnavailable
from parley.meetings.models import Recording

log = structlog.get_logger("parley.meetings.recordings")


def rtc_client(app: FastAPI) -> RtcClient:
    client: RtcClient | None = getattr(app.state, "meetings_rtc", None)
    if client is None:
        settings: Settings = app.state.settings
        client = RtcClient(app, settings.signaling_media_url, app.state.signer)
        app.state.meetings_rtc = client
    return client


async def start(app: FastAPI, recording: Recording) -> bool:
    """Whether the SFU records the meeting from now on."""
    settings: Settings = app.state.settings
    if settings.sfu_mode == "never":
        return False
    body = {"recording_id": str(recording.id), "owner_id": str(recording.started_by)}
    try:
        await rtc_client(app).call("PUT", f"/meetings/{recording.meeting_id}/recording", body)
    except RtcUnavailable as exc:
        log.info("recording_in_browser", recording_id=str(recording.id), why=str(exc))
        return False
    return True


async def stop(app: FastAPI, recording: Recording) -> None:
    """Stop the recording at the SFU (nothing happens when it stopped already)."""
    path = f"/meetings/{recording.meeting_id}/recording?recording_id={recording.id}"
    try:
        await rtc_client(app).call("DELETE", path)
    except RtcUnavailable as exc:
        log.warning("recording_stop_failed", recording_id=str(recording.id), error=str(exc))
