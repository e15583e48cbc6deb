"""Coming back as the same participant over real sockets (issue 16, item 4): a rejoin ticket
replaces the old entry at once (no ghost), brings the private chat back, and works after the
resume window too."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.support.api import unique
from tests.support.signaling import RESUME_GRACE_S as GRACE_S
from tests.support.signaling import Client, Site, eventually, open_client


async def _join(
    site: Site, meeting: dict[str, Any], who: dict[str, str] | None = None, name: str = "Guest"
) -> tuple[Client, dict[str, Any]]:
    """Join over REST and enter; the join answer (with its rejoin credential) comes back."""
    ticket = await site.ticket(meeting, who, name)
    client = await open_client(site.base, ticket["signaling"]["token"])
    await client.expect("welcome")
    return client, ticket


async def _rejoin(
    site: Site, meeting: dict[str, Any], joined: dict[str, Any], who: dict[str, str] | None
) -> dict[str, Any]:
    response = await site.http.post(
        f"/api/v1/meetings/{meeting['id']}/rejoin",
        json={"participant_id": joined["participant"]["id"], "token": joined["rejoin"]["token"]},
        headers=who or {},
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _types_about(client: Client, peer_id: str) -> list[str]:
    """The peer-joined / peer-left frames a client got about one peer, in order."""
    out = []
    for frame in client.frames:
        if frame["type"] == "peer-left" and frame["peer"] == peer_id:
            out.append("left")
        elif frame["type"] == "peer-joined" and frame["peer"]["id"] == peer_id:
            out.append("joined")
    return out


async def _room(site: Site) -> tuple[dict[str, Any], dict[str, str], Client, dict[str, str]]:
    host = await site.user(unique("host"))
    alice = await site.user(unique("alice"))
    meeting = await site.meeting(host)
    host_client, _ = await _join(site, meeting, host)
    return meeting, host, host_client, alice


async def test_a_reload_replaces_the_old_entry_at_once(site: Site) -> None:
    meeting, _, host_client, alice = await _room(site)
    alice_client, joined = await _join(site, meeting, alice)
    alice_id = joined["participant"]["id"]
    old_resume = (await alice_client.expect("welcome"))["resume_token"]
    await host_client.expect("peer-joined", lambda f: f["peer"]["id"] == alice_id)
    await alice_client.ws.close(1001)  # the page goes away (a reload)
    await asyncio.sleep(0.2)
    again = await _rejoin(site, meeting, joined, alice)
    fresh = await open_client(site.base, again["signaling"]["token"])
    welcome = await fresh.expect("welcome")
    assert welcome["self"]["id"] == alice_id
    # The host sees the old entry leave, then the new one join: never two of them.
    await host_client.expect("peer-left", lambda f: f["peer"] == alice_id, timeout=1.0)
    await host_client.expect("peer-joined", lambda f: f["peer"]["id"] == alice_id)
    await eventually(lambda: _settled(host_client, alice_id))
    assert _types_about(host_client, alice_id) == ["joined", "left", "joined"]
    peers = await site.app.state.signaling.state.peers(meeting["id"])
    assert list(peers).count(alice_id) == 1 and peers[alice_id]["connected"] is True
    # The old window runs out without taking the new entry along.
    await asyncio.sleep(GRACE_S + 1.0)
    assert _types_about(host_client, alice_id) == ["joined", "left", "joined"]
    # The old connection's resume token is gone.
    stale = await open_client(site.base)
    await stale.send({"type": "resume", "resume_token": old_resume})
    assert (await stale.close_code())[0] == 4401
    await fresh.send({"type": "chat", "text": "back"})
    assert (await host_client.expect("chat"))["from"] == alice_id
    await fresh.close()
    await host_client.close()


async def _settled(client: Client, peer_id: str) -> bool:
    return (
        _types_about(client, peer_id)[-1:] == ["joined"] and len(_types_about(client, peer_id)) >= 3
    )


async def test_a_rejoin_closes_a_connection_still_open_with_4409(site: Site) -> None:
    meeting, _, host_client, alice = await _room(site)
    alice_client, joined = await _join(site, meeting, alice)
    alice_id = joined["participant"]["id"]
    again = await _rejoin(site, meeting, joined, alice)
    fresh = await open_client(site.base, again["signaling"]["token"])
    await fresh.expect("welcome")
    assert (await alice_client.close_code())[0] == 4409
    await host_client.expect("peer-left", lambda f: f["peer"] == alice_id)
    await eventually(lambda: _settled(host_client, alice_id))
    await asyncio.sleep(GRACE_S + 1.0)
    assert _types_about(host_client, alice_id) == ["joined", "left", "joined"]
    await fresh.close()
    await host_client.close()


async def test_private_chat_comes_back_after_a_rejoin(site: Site) -> None:
    meeting, host, host_client, _ = await _room(site)
    host_id = (await host_client.expect("welcome"))["self"]["id"]
    guest_client, joined = await _join(site, meeting, name="Gina")
    gina_id = joined["participant"]["id"]
    bob_client, _ = await _join(site, meeting, await site.user(unique("bob")))
    await guest_client.send({"type": "chat", "text": "psst host", "to": host_id})
    await host_client.expect("chat", lambda f: f["text"] == "psst host")
    await host_client.send({"type": "chat", "text": "psst gina", "to": gina_id})
    await guest_client.expect("chat", lambda f: f["text"] == "psst gina")
    await guest_client.send({"type": "chat", "text": "hello all"})
    await bob_client.expect("chat", lambda f: f["text"] == "hello all")
    guest_client.vanish()
    again = await _rejoin(site, meeting, joined, None)  # the same browser: site.http's cookie
    fresh = await open_client(site.base, again["signaling"]["token"])
    welcome = await fresh.expect("welcome")
    history = [(m["from"], m["text"], m.get("to")) for m in welcome["chat_history"]]
    assert history == [
        (gina_id, "psst host", host_id),
        (host_id, "psst gina", gina_id),
        (gina_id, "hello all", None),
    ]
    assert welcome["self"]["id"] == gina_id  # so the page shows its own lines as "You"
    # The host's replay (REST) still holds both private lines too.
    page = (await site.history(meeting, host)).json()["items"]
    assert [m["text"] for m in page] == ["psst host", "psst gina", "hello all"]
    for client in (fresh, host_client, bob_client):
        await client.close()


async def test_a_user_rejoins_after_the_resume_window(site: Site) -> None:
    meeting, host, host_client, alice = await _room(site)
    alice_client, joined = await _join(site, meeting, alice)
    alice_id = joined["participant"]["id"]
    await alice_client.send(
        {"type": "chat", "text": "mine", "to": (await host_client.expect("welcome"))["self"]["id"]}
    )
    await host_client.expect("chat")
    # The room is locked meanwhile: someone coming back is not a newcomer.
    await host_client.send({"type": "lock", "locked": True})
    await host_client.expect("room-updated")
    alice_client.vanish()
    await host_client.expect("peer-left", lambda f: f["peer"] == alice_id, timeout=GRACE_S + 5)

    async def left() -> bool:
        people = (
            await site.http.get(f"/api/v1/meetings/{meeting['id']}/participants", headers=host)
        ).json()
        return next(p for p in people if p["id"] == alice_id)["status"] == "left"

    assert await eventually(left)
    again = await _rejoin(site, meeting, joined, alice)
    assert again["participant"]["status"] == "joined"
    fresh = await open_client(site.base, again["signaling"]["token"])
    welcome = await fresh.expect("welcome")
    assert welcome["self"]["id"] == alice_id
    assert [m["text"] for m in welcome["chat_history"]] == ["mine"]
    await host_client.expect("peer-joined", lambda f: f["peer"]["id"] == alice_id)
    assert (await site.history(meeting, alice)).json()["items"][0]["text"] == "mine"
    # A newcomer is still held by the lock.
    newcomer = await open_client(
        site.base,
        (await site.ticket(meeting, await site.user(unique("new"))))["signaling"]["token"],
    )
    await newcomer.expect("lobby-wait")
    for client in (fresh, host_client, newcomer):
        await client.close()


async def test_a_rejoin_credential_of_someone_who_closed_the_room_is_refused(site: Site) -> None:
    meeting, _, host_client, alice = await _room(site)
    alice_client, joined = await _join(site, meeting, alice)
    await alice_client.close()  # 1000: left for good
    await host_client.expect("peer-left")

    async def refused() -> bool:
        response = await site.http.post(
            f"/api/v1/meetings/{meeting['id']}/rejoin",
            json={
                "participant_id": joined["participant"]["id"],
                "token": joined["rejoin"]["token"],
            },
            headers=alice,
        )
        return response.status_code == 403

    assert await eventually(refused)
    await host_client.close()
