"""Server-side recording against a real Janus: rooms get a rec_dir of their own, Janus takes
``enable_recording`` with the room's secret, the room says it records, and stopping hands on
the recorded window. (The files themselves need media: tests/e2e/test_sfu_recording.py.)"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from parley.rtc.janus import JanusSession
from parley.rtc.process import JanusProcess
from parley.rtc.recording import Finished, NotRecordable, SfuRecorder, recording_files
from parley.rtc.rooms import SfuRooms


async def _nobody(meeting_id: str, to: list[str], frame: dict[str, Any]) -> None:
    return None


class Handed:
    def __init__(self) -> None:
        self.finished: list[Finished] = []

    async def __call__(self, done: Finished) -> None:
        self.finished.append(done)


@pytest.fixture
async def rooms(janus: JanusProcess) -> AsyncIterator[SfuRooms]:
    made = SfuRooms(janus.url, janus.cfg.api_secret, janus.cfg.admin_key, _nobody)
    yield made
    await made.close()


async def _room_info(janus: JanusProcess, room: str) -> dict[str, Any]:
    """The room as VideoRoom's ``list`` shows it (private rooms need the admin key)."""
    session = JanusSession(janus.url, janus.cfg.api_secret)
    await session.create()
    try:
        handle = await session.attach()
        reply = await session.message(handle, {"request": "list", "admin_key": janus.cfg.admin_key})
        return next(r for r in reply.data["list"] if str(r["room"]) == room)
    finally:
        await session.destroy()


async def test_recording_is_enabled_on_the_room_and_stopped_with_its_window(
    janus: JanusProcess, rooms: SfuRooms
) -> None:
    handed = Handed()
    recorder = SfuRecorder(rooms, janus.cfg.rec_dir, 3600, handed)
    meeting = str(uuid.uuid4())
    await rooms.join(meeting, "p1", "Ann")
    info = await _room_info(janus, meeting)
    assert info["record"] is False
    assert info["rec_dir"] == f"{janus.cfg.rec_dir}/{meeting}"

    recording = str(uuid.uuid4())
    take = await recorder.start(meeting, recording, str(uuid.uuid4()))
    assert (await _room_info(janus, meeting))["record"] is True
    assert await recorder.start(meeting, recording, take.owner_id) is take  # idempotent
    with pytest.raises(NotRecordable):
        await recorder.start(meeting, str(uuid.uuid4()), take.owner_id)

    done = await recorder.stop(meeting, recording_id=recording)
    assert done is not None and handed.finished == [done]
    assert done.started_us == take.started_us < done.ended_us
    assert done.files == []  # Ann published nothing: Janus wrote nothing
    assert (await _room_info(janus, meeting))["record"] is False
    assert await recorder.stop(meeting) is None
    await rooms.end(meeting)


async def test_a_room_not_on_this_sfu_is_not_recordable(
    janus: JanusProcess, rooms: SfuRooms
) -> None:
    recorder = SfuRecorder(rooms, janus.cfg.rec_dir, 3600, Handed())
    with pytest.raises(NotRecordable):
        await recorder.start(str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4()))


async def test_the_meeting_ending_stops_the_recording(janus: JanusProcess, rooms: SfuRooms) -> None:
    handed = Handed()
    recorder = SfuRecorder(rooms, janus.cfg.rec_dir, 3600, handed)
    meeting = str(uuid.uuid4())
    await rooms.join(meeting, "p1", "Ann")
    await recorder.start(meeting, str(uuid.uuid4()), str(uuid.uuid4()))
    await recorder.room_ending(meeting)
    await rooms.end(meeting)
    assert [f.why for f in handed.finished] == ["meeting-ended"]


async def test_a_recording_stops_by_itself_at_the_longest_length(
    janus: JanusProcess, rooms: SfuRooms
) -> None:
    handed = Handed()
    recorder = SfuRecorder(rooms, janus.cfg.rec_dir, 1.5, handed)
    meeting = str(uuid.uuid4())
    await rooms.join(meeting, "p1", "Ann")
    await recorder.start(meeting, str(uuid.uuid4()), str(uuid.uuid4()))
    for _ in range(50):
        if handed.finished:
            break
        await asyncio.sleep(0.1)
    assert [f.why for f in handed.finished] == ["max-duration"]
    assert (await _room_info(janus, meeting))["record"] is False
    await rooms.end(meeting)


def test_files_are_found_by_room_and_time_window(tmp_path: Path) -> None:
    room, other = str(uuid.uuid4()), str(uuid.uuid4())
    folder = tmp_path / room
    folder.mkdir()
    names = [
        f"videoroom-{room}-user-p1-1700000000000000-audio-0.mjr",
        f"videoroom-{room}-user-p1-1700000010000000-video-1.mjr",
        f"videoroom-{room}-user-p2-1700000100000000-audio-0.mjr",  # after the window
        f"videoroom-{other}-user-p3-1700000001000000-audio-0.mjr",  # another room
        f"videoroom-{room}-user-p1-1700000000000000-data-2.mjr",  # data channel: not media
    ]
    for name in names:
        (folder / name).write_bytes(b"MJR00002")
    found = recording_files(tmp_path, room, 1700000000000000, 1700000050000000)
    assert [p.name for p in found] == names[:2]
