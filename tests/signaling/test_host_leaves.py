"""The host leaves (issue 16, item 5) over real sockets: when the last host or cohost leaves, the
longest-present signed-in participant becomes cohost (the meeting's ``auto_cohost``), never a
guest; a drop within the resume window changes nothing."""

from __future__ import annotations

import asyncio
from typing import Any

import fakeredis

from parley.signaling.state import RoomState
from tests.support.api import unique
from tests.support.signaling import RESUME_GRACE_S as GRACE_S
from tests.support.signaling import Client, Site, eventually, open_client


def _made_cohost(peer_id: str) -> Any:
    return lambda f: f["peer"]["id"] == peer_id and f["peer"]["role"] == "cohost"


def _cohost_frames(client: Client) -> list[str]:
    return [
        f["peer"]["id"]
        for f in client.frames
        if f["type"] == "peer-updated" and f["peer"]["role"] == "cohost"
    ]


async def _recorded_role(
    site: Site, meeting: dict[str, Any], host: dict[str, str], pid: str
) -> Any:
    async def role() -> str | None:
        listed = await site.http.get(f"/api/v1/meetings/{meeting['id']}/participants", headers=host)
        found = [p["role"] for p in listed.json() if p["id"] == pid]
        return found[0] if found and found[0] == "cohost" else None

    return await eventually(role)


async def test_the_longest_present_signed_in_participant_becomes_cohost(site: Site) -> None:
    host = await site.user(unique("host"))
    meeting = await site.meeting(host)
    host_client, _ = await site.enter(meeting, host)
    guest_client, _ = await site.enter(meeting, None, "Gina")  # first in, but a guest
    alice_client, alice = await site.enter(meeting, await site.user(unique("alice")))
    bob_client, _ = await site.enter(meeting, await site.user(unique("bob")))
    await host_client.close()  # Leave: closed normally, gone for good

    told = await alice_client.expect("peer-updated", _made_cohost(alice["id"]), timeout=5)
    assert told["peer"]["id"] == alice["id"]
    await alice_client.expect("lobby")  # a new cohost hears who is waiting
    for other in (bob_client, guest_client):
        await other.expect("peer-updated", _made_cohost(alice["id"]))
    # Done once: nobody else was promoted, and meeting-service recorded it.
    await asyncio.sleep(0.3)
    assert _cohost_frames(bob_client) == [alice["id"]]
    assert await _recorded_role(site, meeting, host, alice["id"]) == "cohost"
    # The new cohost moderates.
    await alice_client.send({"type": "lock", "locked": True})
    assert (await bob_client.expect("room-updated"))["locked"] is True
    for client in (guest_client, alice_client, bob_client):
        await client.close()


async def test_a_guest_is_never_promoted(site: Site) -> None:
    host = await site.user(unique("host"))
    meeting = await site.meeting(host)
    host_client, host_row = await site.enter(meeting, host)
    guest_client, _ = await site.enter(meeting, None, "Gina")
    other_guest, _ = await site.enter(meeting, None, "Gus")
    await host_client.close()
    await guest_client.expect("peer-left", lambda f: f["peer"] == host_row["id"], timeout=5)
    await guest_client.never("lobby", wait=0.5)
    assert _cohost_frames(guest_client) == [] and _cohost_frames(other_guest) == []
    for client in (guest_client, other_guest):
        await client.close()


async def test_nobody_is_promoted_when_auto_cohost_is_off(site: Site) -> None:
    host = await site.user(unique("host"))
    meeting = await site.meeting(host, settings={"auto_cohost": False})
    assert meeting["settings"]["auto_cohost"] is False
    host_client, host_row = await site.enter(meeting, host)
    alice_client, _ = await site.enter(meeting, await site.user(unique("alice")))
    await host_client.close()
    await alice_client.expect("peer-left", lambda f: f["peer"] == host_row["id"], timeout=5)
    await alice_client.never("lobby", wait=0.5)
    assert _cohost_frames(alice_client) == []
    await alice_client.close()


async def test_a_cohost_still_present_keeps_the_room_as_it_is(site: Site) -> None:
    host = await site.user(unique("host"))
    meeting = await site.meeting(host)
    host_client, host_row = await site.enter(meeting, host)
    alice_client, alice = await site.enter(meeting, await site.user(unique("alice")))
    bob_client, _ = await site.enter(meeting, await site.user(unique("bob")))
    await host_client.send({"type": "role", "peer": alice["id"], "role": "cohost"})
    await bob_client.expect("peer-updated", _made_cohost(alice["id"]))
    await host_client.close()
    await bob_client.expect("peer-left", lambda f: f["peer"] == host_row["id"], timeout=5)
    await asyncio.sleep(0.5)
    assert _cohost_frames(bob_client) == [alice["id"]]  # only the host's own promotion
    for client in (alice_client, bob_client):
        await client.close()


async def test_a_hosts_drop_within_the_resume_window_promotes_nobody(site: Site) -> None:
    host = await site.user(unique("host"))
    meeting = await site.meeting(host)
    host_client, host_row = await site.enter(meeting, host)
    resume_token = (await host_client.expect("welcome"))["resume_token"]
    alice_client, alice = await site.enter(meeting, await site.user(unique("alice")))
    host_client.vanish()
    await asyncio.sleep(GRACE_S / 2)  # dropped, within the window
    back = await open_client(site.base)
    await back.send({"type": "resume", "resume_token": resume_token})
    assert (await back.expect("welcome"))["self"]["role"] == "host"
    await alice_client.expect("peer-updated", lambda f: f.get("reconnected") is True)
    await asyncio.sleep(GRACE_S + 0.5)  # past the window the first drop had
    assert _cohost_frames(alice_client) == []
    assert not [f for f in alice_client.frames if f["type"] == "peer-left"]
    # When a drop outlasts the window, the host is out of the room: then someone takes over.
    back.vanish()
    await alice_client.expect(
        "peer-left", lambda f: f["peer"] == host_row["id"], timeout=GRACE_S + 5
    )
    await alice_client.expect("peer-updated", _made_cohost(alice["id"]), timeout=5)
    await alice_client.close()


async def test_host_and_cohost_leaving_at_once_make_exactly_one_cohost(site: Site) -> None:
    host = await site.user(unique("host"))
    meeting = await site.meeting(host)
    host_client, _ = await site.enter(meeting, host)
    alice_client, alice = await site.enter(meeting, await site.user(unique("alice")))
    bob_client, bob = await site.enter(meeting, await site.user(unique("bob")))
    carl_client, _ = await site.enter(meeting, await site.user(unique("carl")))
    await host_client.send({"type": "role", "peer": alice["id"], "role": "cohost"})
    await carl_client.expect("peer-updated", _made_cohost(alice["id"]))
    # Both leaves are handled at the same moment: each looks for a cohost, one under the lock.
    await asyncio.gather(host_client.close(), alice_client.close())
    await carl_client.expect("peer-updated", _made_cohost(bob["id"]), timeout=5)
    await asyncio.sleep(0.5)
    assert _cohost_frames(carl_client) == [alice["id"], bob["id"]]
    for client in (bob_client, carl_client):
        await client.close()


async def test_one_node_at_a_time_holds_a_rooms_promotion_lock() -> None:
    state = RoomState(fakeredis.FakeAsyncRedis(decode_responses=True))
    assert await state.claim_promotion("m1", "node-a", 10)
    assert not await state.claim_promotion("m1", "node-b", 10)
    assert await state.claim_promotion("m2", "node-b", 10)  # another room, another lock
    await state.release_promotion("m1", "node-b")  # not b's to let go
    assert not await state.claim_promotion("m1", "node-b", 10)
    await state.release_promotion("m1", "node-a")
    assert await state.claim_promotion("m1", "node-b", 10)
