"""The internal API of server-side recording (under ``/internal/rtc/``, service tokens only).

meeting-service calls it when a host starts or stops a recording (the same service token
signaling uses, audience ``RTC_AUDIENCE``): ``PUT`` answers ``{"kind": "server"}`` when this
node's SFU holds the meeting's room and records it, else ``409 not-recordable`` (the client
then records in the browser). A stopped recording's files become a media worker job
(:func:`parley.media.recording_jobs.submit`) on this node, whose disk holds them.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Request
from pydantic import BaseModel, Field

from parley.config import Settings
from parley.media import recording_jobs
from parley.media.runtime import media_service
from parley.rtc import errors
from parley.rtc.recording import Finished, NotRecordable, SfuRecorder, recording_files
from parley.rtc.router import Id, RoomsDep
from parley.rtc.runtime import sfu_rooms

Uuid = Annotated[str, Field(pattern=r"^[0-9a-fA-F-]{36}$")]


class StartBody(BaseModel):
    recording_id: Uuid
    owner_id: Uuid


def recordings_root(settings: Settings) -> Path:
    """Where this node's Janus writes recordings (the embedded Janus: under its data dir)."""
    if settings.sfu_recordings_dir is not None:
        return settings.sfu_recordings_dir.resolve()
    return settings.data_dir.resolve() / "janus" / "recordings"


def sfu_recorder(app: FastAPI) -> SfuRecorder | None:
    """The app's recorder (made with its SFU rooms), or ``None`` without an SFU."""
    recorder: SfuRecorder | None = getattr(app.state, "sfu_recorder", None)
    if recorder is not None:
        return recorder
    rooms = sfu_rooms(app)
    if rooms is None:
        return None
    settings: Settings = app.state.settings
    root = recordings_root(settings)

    async def finished(done: Finished) -> None:
        await recording_jobs.submit(
            media_service(app),
            node=recording_jobs.recording_node(settings),
            raw_dir=root / done.meeting_id,
            meeting_id=done.meeting_id,
            recording_id=done.recording_id,
            owner_id=done.owner_id,
            started_us=done.started_us,
            ended_us=done.ended_us,
            file_names=[p.name for p in done.files],
            names=done.names,
        )

    recorder = SfuRecorder(rooms, root, settings.sfu_recording_max_s, finished)
    app.state.sfu_recorder = recorder
    return recorder


async def run_recorder(app: FastAPI) -> None:
    """Background task: the recorder exists before the first room is made (rooms get their
    ``rec_dir`` from it), and running recordings' watchers end with the app."""
    recorder = sfu_recorder(app)
    if recorder is None:
        return
    try:
        await asyncio.Event().wait()
    finally:
        await recorder.close()


def _recorder(request: Request) -> SfuRecorder:
    recorder = sfu_recorder(request.app)
    if recorder is None:
        raise errors.sfu_unavailable("No SFU is configured on this media node.")
    return recorder


router = APIRouter(prefix="/internal/rtc", tags=["rtc"], include_in_schema=False)


@router.put("/meetings/{meeting_id}/recording")
async def start_recording(
    meeting_id: Id, body: StartBody, rooms: RoomsDep, request: Request
) -> dict[str, Any]:
    """Record the meeting's room (this node's SFU must hold it)."""
    recorder = _recorder(request)
    try:
        take = await recorder.start(meeting_id, body.recording_id, body.owner_id)
    except NotRecordable as exc:
        raise errors.not_recordable(str(exc)) from exc
    return {"kind": "server", "recording_id": take.recording_id, "started_us": take.started_us}


@router.delete("/meetings/{meeting_id}/recording")
async def stop_recording(
    meeting_id: Id, rooms: RoomsDep, request: Request, recording_id: Uuid | None = None
) -> dict[str, Any]:
    """Stop the meeting's recording; its files go to the media worker."""
    done = await _recorder(request).stop(meeting_id, "stopped", recording_id)
    if done is None:
        return {"stopped": False}
    return {
        "stopped": True,
        "recording_id": done.recording_id,
        "started_us": done.started_us,
        "ended_us": done.ended_us,
        "files": [p.name for p in done.files],
    }


@router.get("/meetings/{meeting_id}/recording-files")
async def files(
    meeting_id: Id, rooms: RoomsDep, request: Request, since_us: int = 0, until_us: int = 2**62
) -> dict[str, Any]:
    """The ``.mjr`` files of the meeting's room written between two times (µs)."""
    recorder = _recorder(request)
    found = recording_files(recorder.root, meeting_id, since_us, until_us)
    take = recorder.recording(meeting_id)
    return {
        "recording": None if take is None else take.recording_id,
        "files": [{"name": p.name, "size_bytes": p.stat().st_size} for p in found],
    }


routers = [router]
