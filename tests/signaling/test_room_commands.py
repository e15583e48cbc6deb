"""A host's commands for the whole room over real sockets: lower a hand, lower every hand,
mute everyone but hosts and cohosts, admit everyone waiting; and the hand queue's order."""

from __future__ import annotations

import pytest

from tests.support.api import unique
from tests.support.signaling import Site


def hand(peer_id: str, raised: bool):  # type: ignore[no-untyped-def]
    return lambda f: f["peer"]["id"] == peer_id and f["peer"]["hand"] is raised


async def test_a_raised_hand_says_when_it_went_up_and_a_lowered_one_does_not(room) -> None:
    alice, alice_id = room["alice_client"], room["alice_row"]["id"]
    await alice.send({"type": "hand", "raised": True})
    up = await room["host_client"].expect("peer-updated", hand(alice_id, True))
    assert isinstance(up["peer"]["hand_at"], float)
    await alice.send({"type": "hand", "raised": False})
    down = await room["host_client"].expect("peer-updated", hand(alice_id, False))
    assert down["peer"]["hand_at"] is None


async def test_a_host_lowers_someones_hand_and_everyone_sees_it(room) -> None:
    alice, alice_id = room["alice_client"], room["alice_row"]["id"]
    await alice.send({"type": "hand", "raised": True})
    await room["host_client"].expect("peer-updated", hand(alice_id, True))
    await room["host_client"].send({"type": "lower-hand", "peer": alice_id})
    await alice.expect("peer-updated", hand(alice_id, False))
    await room["host_client"].expect("peer-updated", hand(alice_id, False))


async def test_lower_hands_lowers_every_raised_hand(site: Site, room) -> None:
    bob, bob_row = await site.enter(room["meeting"], name="Bob")
    room["clients"].append(bob)
    alice_id = room["alice_row"]["id"]
    for client in (room["alice_client"], bob):
        await client.send({"type": "hand", "raised": True})
    for peer_id in (alice_id, bob_row["id"]):
        await room["host_client"].expect("peer-updated", hand(peer_id, True))
    await room["host_client"].send({"type": "lower-hands"})
    for peer_id in (alice_id, bob_row["id"]):
        await room["host_client"].expect("peer-updated", hand(peer_id, False))


async def test_mute_all_mutes_everyone_but_hosts_and_cohosts(site: Site, room) -> None:
    bob, bob_row = await site.enter(room["meeting"], await site.user(unique("bob")))
    room["clients"].append(bob)
    for client in (room["host_client"], room["alice_client"], bob):
        await client.send({"type": "media-state", "audio": True, "video": True, "screen": False})
    await room["host_client"].send({"type": "role", "peer": bob_row["id"], "role": "cohost"})
    await bob.expect("peer-updated", lambda f: f["peer"]["role"] == "cohost")
    await room["host_client"].send({"type": "mute-all"})
    told = await room["alice_client"].expect("mute")
    assert told["from"] == room["host_row"]["id"]
    await bob.never("mute")
    await room["host_client"].never("mute", wait=0.05)


async def test_admit_all_lets_everyone_in_the_lobby_in(site: Site) -> None:
    host = await site.user(unique("host"))
    meeting = await site.meeting(host, settings={"waiting_room": True})
    host_client, _ = await site.enter(meeting, host)
    knockers = [await site.enter(meeting, name=name) for name in ("Kim", "Lou")]
    for _ in knockers:
        await host_client.expect("lobby-request")
    await host_client.send({"type": "admit-all"})
    for client, row in knockers:
        welcome = await client.expect("welcome")
        assert welcome["self"]["id"] == row["id"]
    for client in (host_client, *[c for c, _ in knockers]):
        await client.close()


@pytest.mark.parametrize(
    "command",
    [
        {"type": "mute-all"},
        {"type": "lower-hands"},
        {"type": "admit-all"},
        {"type": "lower-hand", "peer": "anyone"},
    ],
)
async def test_room_commands_are_forbidden_to_participants(room, command: dict) -> None:
    await room["alice_client"].send(command)
    assert (await room["alice_client"].expect("error"))["code"] == "forbidden"


async def test_every_host_stops_showing_a_denied_knocker(site: Site) -> None:
    host = await site.user(unique("host"))
    meeting = await site.meeting(host, settings={"waiting_room": True})
    host_client, _ = await site.enter(meeting, host)
    kim, kim_row = await site.enter(meeting, name="Kim")
    await host_client.expect("lobby-request")
    await host_client.send({"type": "deny", "peer": kim_row["id"]})
    left = await host_client.expect("lobby-left")
    assert left["peer"] == kim_row["id"]
    for client in (host_client, kim):
        await client.close()
