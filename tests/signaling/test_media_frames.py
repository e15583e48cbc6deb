"""SFU frames wait on the media server apart from the rest of a connection: a page whose SFU
frame hangs is still answered, its goodbye reaches the room at once, and the SFU lets go of
it only after its call is done."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from parley.signaling.media_frames import WAITING_LIMIT, MediaFrames
from parley.signaling.schemas import SfuFrame, SfuJoin, SfuLayer
from tests.support.signaling import Site

LAYER = {"type": "sfu-layer", "peer": "someone", "layer": "low"}


class StuckSfu:
    """The media plane of the site, with every participant's SFU call held until released,
    and what reached the media server in order."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.started = asyncio.Event()
        self.seen: list[str] = []


@pytest_asyncio.fixture
async def stuck_sfu(
    site: Site, room: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[StuckSfu]:
    assert site.app is not None
    plane = site.app.state.media_plane
    stuck = StuckSfu()

    async def request(meeting_id: str, peer_id: str, peer: Any, action: str, body: Any) -> Any:
        stuck.started.set()
        await stuck.release.wait()
        stuck.seen.append(f"{action} {peer_id}")
        return {}

    async def quietly(node: str, method: str, path: str, body: Any = None) -> None:
        stuck.seen.append(f"{method} {path.rsplit('/', 1)[-1]}")

    monkeypatch.setattr(plane, "_request", request)
    monkeypatch.setattr(plane, "_quietly", quietly)
    await plane.hub.state.set_media_mode(room["meeting"]["id"], "sfu")
    yield stuck
    stuck.release.set()


async def test_a_page_whose_sfu_frame_waits_still_gets_its_pongs(room, stuck_sfu) -> None:
    alice = room["alice_client"]
    await alice.send(LAYER)
    await asyncio.wait_for(stuck_sfu.started.wait(), 3)
    await alice.send({"type": "ping"})
    await alice.expect("pong", timeout=2)


async def test_a_leaver_whose_sfu_frame_waits_is_gone_for_the_others_at_once(
    room, stuck_sfu
) -> None:
    alice_id = room["alice_row"]["id"]
    await room["alice_client"].send(LAYER)
    await asyncio.wait_for(stuck_sfu.started.wait(), 3)
    await room["alice_client"].close()
    await room["host_client"].expect("peer-left", lambda f: f["peer"] == alice_id, timeout=2)
    assert stuck_sfu.seen == []  # the media server has not answered the call yet


async def test_the_sfu_lets_go_of_a_leaver_after_their_call_is_done(room, stuck_sfu) -> None:
    alice_id = room["alice_row"]["id"]
    await room["alice_client"].send(LAYER)
    await asyncio.wait_for(stuck_sfu.started.wait(), 3)
    await room["alice_client"].send({**LAYER, "layer": "high"})  # dropped: alice is leaving
    await room["alice_client"].close()
    await room["host_client"].expect("peer-left", lambda f: f["peer"] == alice_id)
    stuck_sfu.release.set()
    for _ in range(100):
        if len(stuck_sfu.seen) >= 2:
            break
        await asyncio.sleep(0.05)
    # (then the room, down to one person, leaves the SFU: DELETE of the meeting)
    assert stuck_sfu.seen[:2] == [f"layer {alice_id}", f"DELETE {alice_id}"]


# ---- the queue itself -----------------------------------------------------------------------


def layer(peer: str, which: str) -> SfuLayer:
    return SfuLayer.model_validate({"type": "sfu-layer", "peer": peer, "layer": which})


class Recorder:
    """A handler that holds every frame until told, and what it handled."""

    def __init__(self) -> None:
        self.handled: list[SfuFrame] = []
        self.go = asyncio.Event()

    async def __call__(self, frame: SfuFrame) -> None:
        await self.go.wait()
        self.handled.append(frame)


async def test_frames_are_handled_in_the_order_they_came() -> None:
    recorder = Recorder()
    queue = MediaFrames(recorder)
    frames: list[SfuFrame] = [SfuJoin(type="sfu-join"), layer("a", "low"), layer("b", "high")]
    for frame in frames:
        assert queue.put(frame)
    recorder.go.set()
    await queue.idle()
    assert recorder.handled == frames


async def test_a_newer_layer_for_a_feed_replaces_the_one_waiting() -> None:
    recorder = Recorder()
    queue = MediaFrames(recorder)
    queue.put(layer("a", "low"))  # starts at once: it is the one running
    await asyncio.sleep(0)
    queue.put(layer("a", "medium"))
    queue.put(layer("b", "low"))
    queue.put(layer("a", "high"))
    recorder.go.set()
    await queue.idle()
    assert [(f.peer, f.layer) for f in recorder.handled] == [
        ("a", "low"),
        ("b", "low"),
        ("a", "high"),
    ]


async def test_too_many_waiting_frames_are_refused() -> None:
    recorder = Recorder()
    queue = MediaFrames(recorder)
    queue.put(SfuJoin(type="sfu-join"))  # the one running
    await asyncio.sleep(0)
    accepted = [queue.put(SfuJoin(type="sfu-join")) for _ in range(WAITING_LIMIT + 1)]
    assert accepted == [True] * WAITING_LIMIT + [False]
    recorder.go.set()
    await queue.idle()


async def test_closing_drops_what_waits_and_lets_the_running_frame_finish() -> None:
    recorder = Recorder()
    queue = MediaFrames(recorder)
    queue.put(layer("a", "low"))
    await asyncio.sleep(0)
    queue.put(layer("b", "low"))
    queue.close()
    assert not queue.put(layer("c", "low"))
    recorder.go.set()
    await queue.idle()
    assert [f.peer for f in recorder.handled] == ["a"]
