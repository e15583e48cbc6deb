"""Poll frames over real sockets (issue 18): a launched poll reaches everyone in the room, counts
reach everyone only with live results (else hosts and cohosts only until closed), closing
reaches everyone, and no frame of an anonymous poll names a voter."""

from __future__ import annotations

import json
from typing import Any

from tests.support.api import unique
from tests.support.signaling import Client, Site

POLL = {"question": "Ship it?", "options": ["Yes", "No", "Later"]}


async def _launch(site: Site, room: dict[str, Any], **fields: Any) -> dict[str, Any]:
    response = await site.http.post(
        f"/api/v1/meetings/{room['meeting']['id']}/polls",
        json={**POLL, **fields},
        headers=room["host"],
    )
    assert response.status_code == 201, response.text
    return response.json()


async def _vote(
    site: Site, room: dict[str, Any], poll: dict, options: list[int], **who: Any
) -> None:
    response = await site.http.post(
        f"/api/v1/meetings/{room['meeting']['id']}/polls/{poll['id']}/votes",
        json={"options": options},
        **who,
    )
    assert response.status_code == 200, response.text


async def _with_bob_and_a_guest(site: Site, room: dict[str, Any]) -> tuple[Client, Client, dict]:
    bob = await site.user(unique("bob"))
    room["bob"] = bob
    bob_client, _ = await site.enter(room["meeting"], bob)
    guest_client, guest_row = await site.enter(room["meeting"], name="Gus Guest")
    room["clients"] += [bob_client, guest_client]
    return bob_client, guest_client, guest_row


async def test_a_poll_without_live_results_shows_counts_to_hosts_only(
    room: dict[str, Any],
) -> None:
    site: Site = room["site"]
    bob, guest, guest_row = await _with_bob_and_a_guest(site, room)
    host, alice = room["host_client"], room["alice_client"]
    poll = await _launch(site, room)
    for client in (host, alice, bob, guest):
        opened = await client.expect("poll-opened")
        assert opened["poll"] == {
            "id": poll["id"],
            "question": "Ship it?",
            "options": ["Yes", "No", "Later"],
            "multiple": False,
            "anonymous": False,
            "live_results": False,
            "status": "open",
            "revision": 0,
        }
    await _vote(site, room, poll, [0], headers=room["alice"])
    await _vote(site, room, poll, [2], params={"participant_id": guest_row["id"]})
    counted = await host.expect("poll-results", lambda f: f["revision"] == 2)
    assert counted == {
        "type": "poll-results",
        "poll_id": poll["id"],
        "results": [1, 0, 1],
        "voters": 2,
        "revision": 2,
    }
    for client in (alice, bob, guest):
        await client.never("poll-results")
    closing = await site.http.post(
        f"/api/v1/meetings/{room['meeting']['id']}/polls/{poll['id']}/close",
        headers=room["host"],
    )
    assert closing.status_code == 200
    for client in (host, alice, bob, guest):
        closed = await client.expect("poll-closed")
        assert closed["results"] == [1, 0, 1] and closed["voters"] == 2


async def test_live_results_reach_everyone_and_never_name_a_voter(room: dict[str, Any]) -> None:
    site: Site = room["site"]
    bob, guest, guest_row = await _with_bob_and_a_guest(site, room)
    clients = [room["host_client"], room["alice_client"], bob, guest]
    poll = await _launch(site, room, anonymous=True, live_results=True, multiple=True)
    await _vote(site, room, poll, [0, 1], headers=room["alice"])
    await _vote(site, room, poll, [1], headers=room["bob"])
    for client in clients:
        counted = await client.expect("poll-results", lambda f: f["revision"] == 2)
        assert counted["results"] == [1, 2, 0] and counted["voters"] == 2
    # Alice changes her mind: counts move, the number of voters does not.
    await _vote(site, room, poll, [2], headers=room["alice"])
    for client in clients:
        changed = await client.expect("poll-results", lambda f: f["revision"] == 3)
        assert changed["results"] == [0, 1, 1] and changed["voters"] == 2
    await site.http.post(
        f"/api/v1/meetings/{room['meeting']['id']}/polls/{poll['id']}/close",
        headers=room["host"],
    )
    for client in clients:
        await client.expect("poll-closed")
    # Nothing any client received about the poll names anyone who voted.
    voters = [room["alice_row"], guest_row]
    names = [v["id"] for v in voters] + [v["display_name"] for v in voters]
    for client in clients:
        for frame in client.frames:
            if frame["type"].startswith("poll-"):
                text = json.dumps(frame)
                assert not [n for n in names if n in text], frame
                assert set(frame) <= {"type", "poll", "poll_id", "results", "voters", "revision"}
