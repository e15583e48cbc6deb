"""A host's mute and stop-video over real sockets: who is told, what reaches the SFU, and the
hold (``allow_self_unmute`` off) that keeps a person muted until a host allows them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from tests.support.signaling import Client, Site, open_client, room_of

Call = tuple[str, str, str, bool]


@pytest.fixture
def sfu_calls(site: Site, monkeypatch: pytest.MonkeyPatch) -> list[Call]:
    """Every ``moderate`` the room asks of the media plane (these rooms stay peer to peer, where
    the plane itself does nothing with it)."""
    assert site.app is not None
    plane = site.app.state.media_plane
    calls: list[Call] = []
    original = plane.moderate

    async def moderate(meeting_id: str, peer_id: str, kind: str, muted: bool) -> None:
        calls.append((meeting_id, peer_id, kind, muted))
        await original(meeting_id, peer_id, kind, muted)

    monkeypatch.setattr(plane, "moderate", moderate)
    return calls


@pytest_asyncio.fixture
async def held_room(site: Site) -> AsyncIterator[dict[str, Any]]:
    """A live meeting that does not allow self-unmute, with its host and alice inside."""
    async with room_of(site, allow_self_unmute=False) as made:
        yield made


def media(audio: bool, video: bool = False) -> dict[str, Any]:
    return {"type": "media-state", "audio": audio, "video": video, "screen": False}


def of(peer_id: str, check: Any = lambda peer: True) -> Any:
    """A ``peer-updated`` about this peer that passes ``check``."""
    return lambda f: f["peer"]["id"] == peer_id and check(f["peer"])


def fresh(client: Client, where: Any = lambda f: True) -> Any:
    """``where``, for frames that arrive from now on only (call it before sending)."""
    old = {id(f) for f in client.frames}
    return lambda f: id(f) not in old and where(f)


async def quiet(client: Client, type_: str, wait: float = 0.5) -> None:
    """No new frame of this type within ``wait``."""
    before = len([f for f in client.frames if f["type"] == type_])
    await asyncio.sleep(wait)
    assert len([f for f in client.frames if f["type"] == type_]) == before


# ---- stop-video and who may use these commands ----------------------------------------------


async def test_stop_video_reaches_the_target_only_and_stops_its_camera_at_the_sfu(
    room, sfu_calls: list[Call]
) -> None:
    alice_id, host_id = room["alice_row"]["id"], room["host_row"]["id"]
    await room["host_client"].send({"type": "stop-video", "peer": alice_id})
    told = await room["alice_client"].expect("stop-video")
    assert told == {"type": "stop-video", "from": host_id, "held": False}
    await room["host_client"].never("stop-video")
    assert (room["meeting"]["id"], alice_id, "video", True) in sfu_calls


async def test_a_mute_says_whether_it_holds(room) -> None:
    await room["host_client"].send({"type": "mute", "peer": room["alice_row"]["id"]})
    told = await room["alice_client"].expect("mute")
    assert told["held"] is False and told["from"] == room["host_row"]["id"]


@pytest.mark.parametrize(
    "command",
    [
        {"type": "stop-video", "peer": "x"},
        {"type": "allow-unmute", "peer": "x"},
        {"type": "allow-unmute", "peer": "x", "kinds": ["audio"]},
    ],
)
async def test_media_moderation_is_forbidden_to_participants(room, command: dict) -> None:
    command = {**command, "peer": room["host_row"]["id"]}
    await room["alice_client"].send(command)
    assert (await room["alice_client"].expect("error"))["code"] == "forbidden"
    await room["host_client"].never("stop-video")
    await room["host_client"].never("unmute-allowed", 0)


async def test_media_moderation_of_nobody_is_an_unknown_peer(room) -> None:
    host = room["host_client"]
    for kind in ("stop-video", "mute", "allow-unmute"):
        seen = [f for f in host.frames if f["type"] == "error"]
        await host.send({"type": kind, "peer": "x"})
        error = await host.expect("error", lambda f, seen=seen: all(f is not s for s in seen))
        assert error["code"] == "unknown-peer", kind


@pytest.mark.parametrize(
    "command",
    [
        {"type": "allow-unmute", "peer": "p", "kinds": []},
        {"type": "allow-unmute", "peer": "p", "kinds": ["screen"]},
        {"type": "stop-video"},
    ],
)
async def test_malformed_media_moderation_is_refused(room, command: dict) -> None:
    await room["host_client"].send(command)
    assert (await room["host_client"].expect("error"))["code"] == "invalid-message"


# ---- the default: self-unmute allowed --------------------------------------------------------


async def test_by_default_unmuting_oneself_lifts_the_mute_at_the_sfu(
    room, sfu_calls: list[Call]
) -> None:
    meeting_id, alice_id = room["meeting"]["id"], room["alice_row"]["id"]
    alice, host = room["alice_client"], room["host_client"]
    await alice.send(media(True, True))
    await host.expect("peer-updated", of(alice_id, lambda p: p["media"]["video"]))
    sfu_calls.clear()
    await host.send({"type": "mute", "peer": alice_id})
    await host.send({"type": "stop-video", "peer": alice_id})
    await alice.expect("mute")
    await alice.expect("stop-video")
    await alice.send(media(False, False))  # the client obeys
    await host.expect("peer-updated", of(alice_id, lambda p: not p["media"]["video"]))
    both_on = fresh(host, of(alice_id, lambda p: p["media"]["audio"] and p["media"]["video"]))
    await alice.send(media(True, True))  # and later turns both on again itself
    back = await host.expect("peer-updated", both_on)
    assert back["peer"]["held"] == []
    assert not [f for f in alice.frames if f["type"] == "error"]
    # The SFU is told after the room hears of it (peer-updated first): wait for both calls.
    lifted = [(meeting_id, alice_id, kind, False) for kind in ("audio", "video")]
    for _ in range(100):
        if all(call in sfu_calls for call in lifted):
            break
        await asyncio.sleep(0.05)
    for kind in ("audio", "video"):
        assert sfu_calls.index((meeting_id, alice_id, kind, True)) < sfu_calls.index(
            (meeting_id, alice_id, kind, False)
        )


# ---- allow_self_unmute off: the hold --------------------------------------------------------


async def test_a_held_person_cannot_unmute_until_a_host_allows_it(
    held_room, sfu_calls: list[Call]
) -> None:
    meeting_id, alice_id = held_room["meeting"]["id"], held_room["alice_row"]["id"]
    alice, host = held_room["alice_client"], held_room["host_client"]
    await alice.send(media(True))
    await host.expect("peer-updated", of(alice_id, lambda p: p["media"]["audio"]))
    sfu_calls.clear()

    await host.send({"type": "mute", "peer": alice_id})
    assert (await alice.expect("mute"))["held"] is True
    # Everyone sees it at once, whatever alice's client does: muted, and held.
    for client in (host, alice):
        held = await client.expect("peer-updated", of(alice_id, lambda p: p["held"]))
        assert held["peer"]["held"] == ["audio"] and held["peer"]["media"]["audio"] is False
    assert (meeting_id, alice_id, "audio", True) in sfu_calls

    # Her client ignores the frame and unmutes: refused, and she stays muted for everyone.
    await alice.send(media(True))
    refused = await alice.expect("error")
    assert refused["code"] == "forbidden" and "when a host allows it" in refused["message"]
    await quiet(host, "peer-updated")
    assert (meeting_id, alice_id, "audio", False) not in sfu_calls
    # What is not held still works (her camera).
    await alice.send(media(False, True))
    on = await host.expect("peer-updated", of(alice_id, lambda p: p["media"]["video"]))
    assert on["peer"]["media"]["audio"] is False and on["peer"]["held"] == ["audio"]

    lifted_now = fresh(host, of(alice_id, lambda p: p["held"] == []))
    await host.send({"type": "allow-unmute", "peer": alice_id})
    allowed = await alice.expect("unmute-allowed")
    assert allowed == {
        "type": "unmute-allowed",
        "kinds": ["audio"],
        "from": held_room["host_row"]["id"],
    }
    await host.never("unmute-allowed", 0)
    lifted = await host.expect("peer-updated", lifted_now)
    assert lifted["peer"]["media"]["audio"] is False  # allowed, not unmuted by the host
    assert (meeting_id, alice_id, "audio", False) not in sfu_calls

    unmuted = fresh(host, of(alice_id, lambda p: p["media"]["audio"]))
    await alice.send(media(True, True))
    await host.expect("peer-updated", unmuted)
    assert (meeting_id, alice_id, "audio", False) in sfu_calls


async def test_a_held_camera_stays_off_and_allow_unmute_lifts_only_what_it_names(
    held_room, sfu_calls: list[Call]
) -> None:
    alice_id = held_room["alice_row"]["id"]
    alice, host = held_room["alice_client"], held_room["host_client"]
    await host.send({"type": "stop-video", "peer": alice_id})
    await host.send({"type": "mute", "peer": alice_id})
    assert (await alice.expect("stop-video"))["held"] is True
    await host.expect("peer-updated", of(alice_id, lambda p: p["held"] == ["audio", "video"]))

    await alice.send(media(False, True))
    assert "camera" in (await alice.expect("error"))["message"]
    await host.send({"type": "allow-unmute", "peer": alice_id, "kinds": ["video"]})
    assert (await alice.expect("unmute-allowed"))["kinds"] == ["video"]
    await host.expect("peer-updated", of(alice_id, lambda p: p["held"] == ["audio"]))
    await alice.send(media(False, True))
    await host.expect("peer-updated", of(alice_id, lambda p: p["media"]["video"]))
    await alice.send(media(True, True))
    refusals = [f for f in alice.frames if f["type"] == "error"]
    await alice.expect("error", lambda f: all(f is not r for r in refusals))
    assert (held_room["meeting"]["id"], alice_id, "video", False) in sfu_calls


async def test_allowing_someone_who_is_not_held_does_nothing(held_room) -> None:
    await held_room["host_client"].send(
        {"type": "allow-unmute", "peer": held_room["alice_row"]["id"]}
    )
    await held_room["alice_client"].never("unmute-allowed", 0.5)
    await held_room["host_client"].never("error", 0)


async def test_a_hold_survives_a_resume(held_room) -> None:
    site, alice_id = held_room["site"], held_room["alice_row"]["id"]
    alice, host = held_room["alice_client"], held_room["host_client"]
    token = (await alice.expect("welcome"))["resume_token"]
    assert "held" not in (await alice.expect("welcome"))["self"]
    await host.send({"type": "mute", "peer": alice_id})
    await alice.expect("mute")
    alice.vanish()
    again = await open_client(site.base)
    held_room["clients"].append(again)
    await again.send({"type": "resume", "resume_token": token})
    assert (await again.expect("welcome"))["self"]["held"] == ["audio"]
    await again.send(media(True))
    assert (await again.expect("error"))["code"] == "forbidden"


async def test_hosts_and_cohosts_are_never_held(held_room) -> None:
    alice_id = held_room["alice_row"]["id"]
    alice, host = held_room["alice_client"], held_room["host_client"]
    await host.send({"type": "role", "peer": alice_id, "role": "cohost"})
    await alice.expect("lobby")
    await host.send({"type": "mute", "peer": alice_id})
    assert (await alice.expect("mute"))["held"] is False
    await alice.send(media(True))
    await host.expect("peer-updated", of(alice_id, lambda p: p["media"]["audio"]))


async def test_a_held_person_made_cohost_may_unmute(held_room) -> None:
    alice_id = held_room["alice_row"]["id"]
    alice, host = held_room["alice_client"], held_room["host_client"]
    await host.send({"type": "mute", "peer": alice_id})
    await host.expect("peer-updated", of(alice_id, lambda p: p["held"]))
    await host.send({"type": "role", "peer": alice_id, "role": "cohost"})
    await alice.expect("lobby")
    await alice.send(media(True))
    back = await host.expect("peer-updated", of(alice_id, lambda p: p["media"]["audio"]))
    assert back["peer"]["held"] == []


async def test_allowing_self_unmute_during_the_meeting_lifts_every_hold(held_room) -> None:
    site, alice_id = held_room["site"], held_room["alice_row"]["id"]
    alice, host = held_room["alice_client"], held_room["host_client"]
    await host.send({"type": "stop-video", "peer": alice_id})
    await host.expect("peer-updated", of(alice_id, lambda p: p["held"] == ["video"]))
    response = await site.http.patch(
        f"/api/v1/meetings/{held_room['meeting']['id']}",
        json={"settings": {"allow_self_unmute": True}},
        headers=held_room["host"],
    )
    assert response.status_code == 200, response.text
    assert response.json()["settings"]["allow_self_unmute"] is True
    assert (await alice.expect("settings", timeout=5))["settings"]["allow_self_unmute"] is True
    allowed = await alice.expect("unmute-allowed")
    assert allowed["kinds"] == ["video"] and "from" not in allowed
    await host.expect("peer-updated", of(alice_id, lambda p: p["held"] == []))
    await alice.send(media(False, True))
    await host.expect("peer-updated", of(alice_id, lambda p: p["media"]["video"]))
