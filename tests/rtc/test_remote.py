"""One meeting across media nodes, the receiving end against a real Janus: a participant of
another node becomes a remote publisher of this node's room, which its people are offered like
any other feed; removed, it is gone. (Media across two nodes is the browser tests' part.)"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from parley.rtc import remote
from parley.rtc.process import JanusProcess
from parley.rtc.rooms import SfuRooms, SfuUnavailable
from tests.rtc.test_rooms import Sent, _participants

CAMERA_AND_MICROPHONE: list[dict[str, Any]] = [
    {"type": "audio", "mindex": 0, "mid": "0", "codec": "opus"},
    {"type": "video", "mindex": 1, "mid": "1", "codec": "vp8", "simulcast": True},
]


@pytest.fixture
async def node(janus: JanusProcess) -> AsyncIterator[tuple[SfuRooms, Sent]]:
    sent = Sent()
    made = SfuRooms(janus.url, janus.cfg.api_secret, janus.cfg.admin_key, sent)
    yield made, sent
    await made.close()


async def test_a_remote_publisher_joins_the_room_and_gets_a_port(
    node: tuple[SfuRooms, Sent], janus: JanusProcess
) -> None:
    rooms, _ = node
    meeting = uuid.uuid4().hex
    where = await remote.add_remote_publisher(
        rooms, meeting, "far-away", "Far Away", CAMERA_AND_MICROPHONE, "127.0.0.1"
    )
    assert where["host"] == "127.0.0.1" and where["port"] > 0
    assert await _participants(janus, meeting) == ["far-away"]


async def test_this_nodes_people_are_offered_the_remote_publishers_streams(
    node: tuple[SfuRooms, Sent],
) -> None:
    rooms, sent = node
    meeting = uuid.uuid4().hex
    await rooms.join(meeting, "near", "Near")
    await remote.add_remote_publisher(
        rooms, meeting, "far-away", "Far Away", CAMERA_AND_MICROPHONE, "127.0.0.1"
    )
    for _ in range(50):
        offers = [f for _, to, f in sent.frames if to == ["near"] and f["type"] == "sfu-offer"]
        if offers:
            break
        await asyncio.sleep(0.1)
    assert offers, "no subscriber offer reached the local participant"
    assert {s["peer"] for s in offers[-1]["streams"]} == {"far-away"}
    assert {s["kind"] for s in offers[-1]["streams"]} == {"audio", "video"}


async def test_a_removed_remote_publisher_leaves_the_room(
    node: tuple[SfuRooms, Sent], janus: JanusProcess
) -> None:
    rooms, _ = node
    meeting = uuid.uuid4().hex
    await remote.add_remote_publisher(
        rooms, meeting, "far-away", "Far Away", CAMERA_AND_MICROPHONE, "127.0.0.1"
    )
    await remote.remove_remote_publisher(rooms, meeting, "far-away")
    assert await _participants(janus, meeting) == []
    assert rooms.stats()["remote_publishers"] == 0


async def test_adding_a_remote_publisher_again_replaces_it(
    node: tuple[SfuRooms, Sent], janus: JanusProcess
) -> None:
    rooms, _ = node
    meeting = uuid.uuid4().hex
    for _ in range(2):  # a republish on the other node: new streams, same participant
        await remote.add_remote_publisher(
            rooms, meeting, "far-away", "Far Away", CAMERA_AND_MICROPHONE, "127.0.0.1"
        )
    assert await _participants(janus, meeting) == ["far-away"]


async def test_someone_on_this_node_is_not_made_a_remote_publisher_of_it(
    node: tuple[SfuRooms, Sent],
) -> None:
    rooms, _ = node
    meeting = uuid.uuid4().hex
    await rooms.join(meeting, "near", "Near")
    with pytest.raises(SfuUnavailable):
        await remote.add_remote_publisher(
            rooms, meeting, "near", "Near", CAMERA_AND_MICROPHONE, "127.0.0.1"
        )


async def test_only_a_publisher_of_this_node_is_sent_to_another(
    node: tuple[SfuRooms, Sent],
) -> None:
    rooms, _ = node
    meeting = uuid.uuid4().hex
    await rooms.join(meeting, "near", "Near")  # joined, but sends nothing yet
    with pytest.raises(SfuUnavailable):
        await remote.publish_remotely(rooms, meeting, "near", "node-b", "127.0.0.1", 40000)
