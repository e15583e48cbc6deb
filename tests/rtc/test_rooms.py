"""SfuRooms against a real Janus: rooms made with their secrets, members joined and subscribed,
kicks and ends that leave nothing behind. (Media itself is the browser tests' part.)"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from parley.config import Settings
from parley.rtc.janus import JanusError, JanusSession
from parley.rtc.process import JanusProcess
from parley.rtc.rooms import SfuRooms
from tests.support.api import JWT_SECRET, client_for, running_app
from tests.support.janus import janus_server


class Sent:
    """What the rooms pushed to participants."""

    def __init__(self) -> None:
        self.frames: list[tuple[str, list[str], dict[str, Any]]] = []

    async def __call__(self, meeting_id: str, to: list[str], frame: dict[str, Any]) -> None:
        self.frames.append((meeting_id, to, frame))


@pytest.fixture
async def rooms(janus: JanusProcess) -> AsyncIterator[SfuRooms]:
    made = SfuRooms(janus.url, janus.cfg.api_secret, janus.cfg.admin_key, Sent())
    yield made
    await made.close()


async def _room_exists(janus: JanusProcess, room: str) -> bool:
    session = JanusSession(janus.url, janus.cfg.api_secret)
    await session.create()
    try:
        handle = await session.attach()
        reply = await session.message(handle, {"request": "exists", "room": room})
        return bool(reply.data.get("exists"))
    finally:
        await session.destroy()


async def _participants(janus: JanusProcess, room: str) -> list[str]:
    session = JanusSession(janus.url, janus.cfg.api_secret)
    await session.create()
    try:
        handle = await session.attach()
        reply = await session.message(handle, {"request": "listparticipants", "room": room})
        return sorted(str(p["id"]) for p in reply.data.get("participants", []))
    finally:
        await session.destroy()


async def test_a_join_makes_the_meetings_room_and_puts_the_participant_in_it(
    rooms: SfuRooms, janus: JanusProcess
) -> None:
    meeting = str(uuid.uuid4())

    await rooms.join(meeting, "alice", "Alice")

    assert await _room_exists(janus, meeting)
    assert await _participants(janus, meeting) == ["alice"]


async def test_joining_twice_is_one_membership(rooms: SfuRooms, janus: JanusProcess) -> None:
    meeting = str(uuid.uuid4())
    first = await rooms.join(meeting, "alice", "Alice")

    again = await rooms.join(meeting, "alice", "Alice")

    assert again is first
    assert await _participants(janus, meeting) == ["alice"]


async def test_nobody_joins_the_room_without_its_pin_and_a_token(
    rooms: SfuRooms, janus: JanusProcess
) -> None:
    meeting = str(uuid.uuid4())
    await rooms.join(meeting, "alice", "Alice")
    session = JanusSession(janus.url, janus.cfg.api_secret)
    await session.create()
    try:
        handle = await session.attach()
        join = {"request": "join", "ptype": "publisher", "room": meeting, "id": "mallory"}
        with pytest.raises(JanusError):
            await session.message(handle, join)
        pin = rooms.rooms[meeting].pin
        with pytest.raises(JanusError):  # the pin alone is not enough: no allowed token
            await session.message(handle, {**join, "pin": pin})
        subscribe = {"request": "join", "ptype": "subscriber", "room": meeting, "pin": pin}
        with pytest.raises(JanusError):  # and nobody receives without a publisher's private id
            await session.message(
                await session.attach(), {**subscribe, "streams": [{"feed": "alice"}]}
            )
    finally:
        await session.destroy()


async def test_a_kicked_participant_is_out_of_the_room_and_its_token_is_void(
    rooms: SfuRooms, janus: JanusProcess
) -> None:
    meeting = str(uuid.uuid4())
    await rooms.join(meeting, "alice", "Alice")
    bob = await rooms.join(meeting, "bob", "Bob")
    token = bob.token

    await rooms.leave(meeting, "bob", kick=True)

    assert await _participants(janus, meeting) == ["alice"]
    session = JanusSession(janus.url, janus.cfg.api_secret)
    await session.create()
    try:
        handle = await session.attach()
        rejoin = {
            "request": "join",
            "ptype": "publisher",
            "room": meeting,
            "id": "bob",
            "pin": rooms.rooms[meeting].pin,
            "token": token,
        }
        with pytest.raises(JanusError):
            await session.message(handle, rejoin)
    finally:
        await session.destroy()


async def test_the_end_of_the_meeting_destroys_its_room(
    rooms: SfuRooms, janus: JanusProcess
) -> None:
    meeting = str(uuid.uuid4())
    await rooms.join(meeting, "alice", "Alice")

    await rooms.end(meeting)

    assert not await _room_exists(janus, meeting)


async def test_a_room_left_by_an_earlier_run_is_made_afresh(janus: JanusProcess) -> None:
    meeting = str(uuid.uuid4())
    earlier = SfuRooms(janus.url, janus.cfg.api_secret, janus.cfg.admin_key, Sent())
    await earlier.join(meeting, "alice", "Alice")
    await earlier.close()  # a crash: the room stays in Janus
    later = SfuRooms(janus.url, janus.cfg.api_secret, janus.cfg.admin_key, Sent())
    try:
        await later.join(meeting, "bob", "Bob")

        assert await _participants(janus, meeting) == ["bob"]
    finally:
        await later.close()


async def test_after_janus_restarts_everyone_is_told_and_rooms_are_made_again(
    tmp_path: Path,
) -> None:
    meeting = str(uuid.uuid4())
    with janus_server(tmp_path, supervise=True) as janus:
        sent = Sent()
        rooms = SfuRooms(janus.url, janus.cfg.api_secret, janus.cfg.admin_key, sent)
        try:
            await rooms.join(meeting, "alice", "Alice")
            assert janus.process is not None
            janus.process.kill()

            for _ in range(150):
                if sent.frames:
                    break
                await asyncio.sleep(0.1)
            assert sent.frames == [(meeting, ["alice"], {"type": "sfu-restart"})]
            for _ in range(150):  # the supervisor brings Janus back
                if await rooms.available():
                    break
                await asyncio.sleep(0.1)
            await rooms.join(meeting, "alice", "Alice")

            assert await _participants(janus, meeting) == ["alice"]
            assert rooms.restarts == 1
        finally:
            await rooms.close()


async def test_readiness_and_metrics_report_a_configured_sfu(
    janus: JanusProcess, tmp_path: Path
) -> None:
    settings = Settings(
        env="test",
        data_dir=tmp_path / "data",
        jwt_secret=JWT_SECRET,
        janus_url=janus.url,
        janus_api_secret=janus.cfg.api_secret,
        janus_admin_key=janus.cfg.admin_key,
    )
    async with running_app(settings) as app, client_for(app) as client:
        for _ in range(50):
            sfu = (await client.get("/health/ready")).json().get("sfu")
            if sfu:
                break
            await asyncio.sleep(0.1)
        metrics = (await client.get("/metrics")).text

    assert sfu == {
        "configured": True,
        "available": True,
        "mode": "auto",
        "rooms": 0,
        "remote_publishers": 0,
        "publishers": 0,
        "subscribers": 0,
    }
    assert "parley_sfu_rooms 0.0" in metrics and "parley_sfu_up 1.0" in metrics
