"""The signaling WebSocket against a real server (uvicorn on a loopback port), with the
`websockets` client, on both backends (embedded store and real Redis)."""

from __future__ import annotations

import asyncio
import json
import time

import jwt
import pytest

from tests.support.api import JWT_SECRET, unique
from tests.support.backends import Backend
from tests.support.signaling import RESUME_GRACE_S as GRACE_S
from tests.support.signaling import Site, live_server, open_client


async def test_welcome_describes_self_peers_room_and_resume(site: Site) -> None:
    host = await site.user(unique("host"))
    meeting = await site.meeting(host, settings={"allow_chat": True})
    ticket = await site.ticket(meeting, host)
    client = await open_client(site.base, ticket["signaling"]["token"])
    welcome = await client.expect("welcome")
    assert welcome["self"] == {
        "id": ticket["participant"]["id"],
        "display_name": ticket["participant"]["display_name"],
        "role": "host",
    }
    assert welcome["peers"] == []
    assert welcome["room"]["meeting_id"] == meeting["id"]
    assert welcome["room"]["settings"]["allow_chat"] is True
    assert welcome["room"]["locked"] is False
    assert welcome["chat_history"] == []
    assert isinstance(welcome["ice_servers"], list)
    assert welcome["resume_token"]
    await client.close()


async def test_a_newcomer_sees_who_is_there_and_they_see_the_newcomer(room) -> None:
    welcome = await room["alice_client"].expect("welcome")
    assert [p["id"] for p in welcome["peers"]] == [room["host_row"]["id"]]
    joined = await room["host_client"].expect("peer-joined")
    assert joined["peer"]["id"] == room["alice_row"]["id"]
    assert joined["peer"]["media"] == {"audio": False, "video": False, "screen": False}


async def test_the_token_may_come_as_the_first_frame(site: Site) -> None:
    host = await site.user(unique("host"))
    meeting = await site.meeting(host)
    ticket = await site.ticket(meeting, host)
    client = await open_client(site.base)
    await client.send({"type": "auth", "token": ticket["signaling"]["token"]})
    assert (await client.expect("welcome"))["self"]["role"] == "host"
    await client.close()


@pytest.mark.parametrize("token", ["garbage", "expired", "wrong-audience"])
async def test_bad_tokens_are_closed_with_4401(site: Site, token: str) -> None:
    now = int(time.time())
    claims = {"sub": "p", "mid": "m", "jti": "j", "iat": now - 300}
    tokens = {
        "garbage": "garbage",
        "expired": jwt.encode({**claims, "aud": "signaling", "exp": now - 10}, JWT_SECRET),
        "wrong-audience": jwt.encode({**claims, "aud": "parley", "exp": now + 60}, JWT_SECRET),
    }
    client = await open_client(site.base, tokens[token])
    code, reason = await client.close_code()
    assert code == 4401 and reason


async def test_a_first_frame_that_is_not_auth_is_closed_with_4401(site: Site) -> None:
    client = await open_client(site.base)
    await client.send({"type": "chat", "text": "hi"})
    assert (await client.close_code())[0] == 4401


async def test_offer_answer_and_candidates_reach_only_their_target(room) -> None:
    site, meeting = room["site"], room["meeting"]
    bob_client, bob_row = await site.enter(meeting, await site.user(unique("bob")))
    room["clients"].append(bob_client)
    host, alice = room["host_client"], room["alice_client"]
    alice_id, host_id = room["alice_row"]["id"], room["host_row"]["id"]
    await host.send({"type": "offer", "to": alice_id, "sdp": {"type": "offer", "sdp": "v=0"}})
    offer = await alice.expect("offer")
    assert offer == {"type": "offer", "from": host_id, "sdp": {"type": "offer", "sdp": "v=0"}}
    await alice.send({"type": "answer", "to": host_id, "sdp": {"type": "answer", "sdp": "v=0"}})
    assert (await host.expect("answer"))["from"] == alice_id
    await alice.send({"type": "candidate", "to": host_id, "candidate": {"candidate": "c1"}})
    assert (await host.expect("candidate"))["candidate"] == {"candidate": "c1"}
    await host.send({"type": "renegotiate", "to": alice_id})
    assert (await alice.expect("renegotiate"))["from"] == host_id
    await bob_client.never("offer")
    await bob_client.never("answer", 0)
    assert bob_row


async def test_relay_to_an_unknown_peer_is_an_error(room) -> None:
    await room["host_client"].send({"type": "offer", "to": "nobody", "sdp": {}})
    assert (await room["host_client"].expect("error"))["code"] == "unknown-peer"


async def test_chat_reaches_everyone_and_is_kept_for_newcomers(room) -> None:
    site = room["site"]
    await room["alice_client"].send({"type": "chat", "text": "Hello, all"})
    received = await room["host_client"].expect("chat")
    assert received["text"] == "Hello, all"
    assert received["from"] == room["alice_row"]["id"]
    assert "to" not in received and received["id"] and received["ts"]
    assert (await room["alice_client"].expect("chat"))["id"] == received["id"]
    late, _ = await site.enter(room["meeting"], await site.user(unique("late")))
    room["clients"].append(late)
    history = (await late.expect("welcome"))["chat_history"]
    assert [m["text"] for m in history] == ["Hello, all"]


async def test_room_frames_are_serialised_once_and_written_straight_to_the_sockets(room) -> None:
    hub = room["site"].app.state.signaling
    before = hub.written_directly
    await room["alice_client"].send({"type": "chat", "text": "one frame, two sockets"})
    for client in (room["host_client"], room["alice_client"]):
        await client.expect("chat", lambda f: f["text"] == "one frame, two sockets")
    assert hub.written_directly >= before + 2


async def test_private_chat_reaches_only_its_two_ends(room) -> None:
    site = room["site"]
    bob_client, bob_row = await site.enter(room["meeting"], await site.user(unique("bob")))
    room["clients"].append(bob_client)
    await room["alice_client"].send({"type": "chat", "text": "psst", "to": bob_row["id"]})
    assert (await bob_client.expect("chat"))["to"] == bob_row["id"]
    assert (await room["alice_client"].expect("chat"))["text"] == "psst"
    await room["host_client"].never("chat")
    newcomer, _ = await site.enter(room["meeting"], await site.user(unique("new")))
    room["clients"].append(newcomer)
    assert (await newcomer.expect("welcome"))["chat_history"] == []


async def test_reactions_hands_and_media_state_are_shared(room) -> None:
    alice, host = room["alice_client"], room["host_client"]
    await alice.send({"type": "reaction", "emoji": "🎉"})
    assert (await host.expect("reaction"))["emoji"] == "🎉"
    await alice.send({"type": "hand", "raised": True})
    updated = await host.expect("peer-updated", lambda f: f["peer"]["hand"])
    assert updated["peer"]["id"] == room["alice_row"]["id"]
    await alice.send({"type": "media-state", "audio": True, "video": True, "screen": False})
    media = await host.expect("peer-updated", lambda f: f["peer"]["media"]["video"])
    assert media["peer"]["media"] == {"audio": True, "video": True, "screen": False}


async def test_reactions_outside_the_short_list_are_refused(room) -> None:
    await room["alice_client"].send({"type": "reaction", "emoji": "🦄"})
    assert (await room["alice_client"].expect("error"))["code"] == "invalid-message"


@pytest.mark.parametrize(
    "command",
    [
        {"type": "mute", "peer": "x"},
        {"type": "remove", "peer": "x"},
        {"type": "admit", "peer": "x"},
        {"type": "deny", "peer": "x"},
        {"type": "lock", "locked": True},
        {"type": "end"},
    ],
)
async def test_moderation_is_forbidden_to_participants(room, command: dict) -> None:
    await room["alice_client"].send(command)
    assert (await room["alice_client"].expect("error"))["code"] == "forbidden"


async def test_mute_tells_the_target(room) -> None:
    await room["host_client"].send({"type": "mute", "peer": room["alice_row"]["id"]})
    assert (await room["alice_client"].expect("mute"))["from"] == room["host_row"]["id"]


async def test_a_host_makes_a_participant_cohost_who_may_then_moderate(room) -> None:
    site, alice_id = room["site"], room["alice_row"]["id"]
    await room["host_client"].send({"type": "role", "peer": alice_id, "role": "cohost"})
    updated = await room["alice_client"].expect("peer-updated")
    assert updated["peer"]["id"] == alice_id and updated["peer"]["role"] == "cohost"
    await room["alice_client"].expect("lobby")
    await room["alice_client"].send({"type": "lock", "locked": True})
    assert (await room["host_client"].expect("room-updated"))["locked"] is True
    roles: list[str] = []
    for _ in range(50):  # meeting-service records the role from the command stream
        listed = await site.http.get(
            f"/api/v1/meetings/{room['meeting']['id']}/participants", headers=room["host"]
        )
        roles = [p["role"] for p in listed.json() if p["id"] == alice_id]
        if roles == ["cohost"]:
            break
        await asyncio.sleep(0.1)
    assert roles == ["cohost"]


async def test_the_host_role_cannot_be_given_away_by_a_frame(room) -> None:
    await room["alice_client"].send(
        {"type": "role", "peer": room["alice_row"]["id"], "role": "cohost"}
    )
    assert (await room["alice_client"].expect("error"))["code"] == "forbidden"
    await room["host_client"].send(
        {"type": "role", "peer": room["host_row"]["id"], "role": "participant"}
    )
    assert (await room["host_client"].expect("error"))["code"] == "forbidden"


async def test_everyone_is_told_when_recording_starts_and_newcomers_see_it(room) -> None:
    await room["host_client"].send({"type": "recording", "active": True})
    updated = await room["alice_client"].expect("room-updated")
    assert updated["recording"] is True
    await room["alice_client"].send({"type": "recording", "active": False})
    assert (await room["alice_client"].expect("error"))["code"] == "forbidden"
    site = room["site"]
    ticket = await site.ticket(room["meeting"], None, "Late Guest")
    late = await open_client(site.base, ticket["signaling"]["token"])
    room["clients"].append(late)
    assert (await late.expect("welcome"))["room"]["recording"] is True


async def test_a_removal_through_the_rest_api_reaches_the_live_room(room) -> None:
    site, alice_id = room["site"], room["alice_row"]["id"]
    url = f"/api/v1/meetings/{room['meeting']['id']}/participants/{alice_id}/remove"
    assert (await site.http.post(url, headers=room["host"])).status_code == 200
    await room["alice_client"].expect("removed")
    assert (await room["alice_client"].close_code())[0] == 4403
    left = await room["host_client"].expect("peer-left")
    assert left["peer"] == alice_id and left["reason"] == "removed"


async def test_a_role_change_through_the_rest_api_reaches_the_live_room(room) -> None:
    site, alice_id = room["site"], room["alice_row"]["id"]
    url = f"/api/v1/meetings/{room['meeting']['id']}/participants/{alice_id}"
    changed = await site.http.patch(url, json={"role": "cohost"}, headers=room["host"])
    assert changed.status_code == 200
    updated = await room["host_client"].expect("peer-updated")
    assert updated["peer"]["id"] == alice_id and updated["peer"]["role"] == "cohost"


async def test_ending_through_the_rest_api_closes_the_live_room(room) -> None:
    site = room["site"]
    ended = await site.http.post(
        f"/api/v1/meetings/{room['meeting']['id']}/end", headers=room["host"]
    )
    assert ended.status_code == 200
    for client in (room["host_client"], room["alice_client"]):
        await client.expect("meeting-ended")
        assert (await client.close_code())[0] == 1000


async def test_removed_participant_is_closed_and_cannot_come_back(room) -> None:
    site, alice_id = room["site"], room["alice_row"]["id"]
    await room["host_client"].send({"type": "remove", "peer": alice_id})
    await room["alice_client"].expect("removed")
    assert (await room["alice_client"].close_code())[0] == 4403
    left = await room["host_client"].expect("peer-left")
    assert left["peer"] == alice_id and left["reason"] == "removed"
    rejoin = None
    for _ in range(50):  # meeting-service applies the removal from the command stream
        rejoin = await site.http.post(
            f"/api/v1/meetings/{room['meeting']['id']}/join", json={}, headers=room["alice"]
        )
        if rejoin.status_code == 403:
            break
        await asyncio.sleep(0.1)
    assert rejoin is not None and rejoin.status_code == 403


async def test_lobby_admit_flow(site: Site) -> None:
    host = await site.user(unique("host"))
    meeting = await site.meeting(host, settings={"waiting_room": True})
    host_client, _ = await site.enter(meeting, host)
    guest_client, guest_row = await site.enter(meeting, name="Knocking Kim")
    request = await host_client.expect("lobby-request")
    assert request["participant"]["id"] == guest_row["id"]
    await guest_client.send({"type": "chat", "text": "let me in"})
    assert (await guest_client.expect("error"))["code"] == "in-lobby"
    await host_client.send({"type": "admit", "peer": guest_row["id"]})
    welcome = await guest_client.expect("welcome")
    assert [p["id"] for p in welcome["peers"]] != []
    assert (await host_client.expect("peer-joined"))["peer"]["id"] == guest_row["id"]
    await guest_client.send({"type": "chat", "text": "thanks"})
    assert (await host_client.expect("chat"))["text"] == "thanks"
    for _ in range(50):
        people = (
            await site.http.get(f"/api/v1/meetings/{meeting['id']}/participants", headers=host)
        ).json()
        if next(p for p in people if p["id"] == guest_row["id"])["status"] == "joined":
            break
        await asyncio.sleep(0.1)
    assert next(p for p in people if p["id"] == guest_row["id"])["status"] == "joined"
    for client in (host_client, guest_client):
        await client.close()


async def test_lobby_deny_closes_the_knocker(site: Site) -> None:
    host = await site.user(unique("host"))
    meeting = await site.meeting(host, settings={"waiting_room": True})
    host_client, _ = await site.enter(meeting, host)
    guest_client, guest_row = await site.enter(meeting)
    await host_client.expect("lobby-request")
    await host_client.send({"type": "deny", "peer": guest_row["id"]})
    await guest_client.expect("denied")
    assert (await guest_client.close_code())[0] == 4403
    await host_client.close()


async def test_locked_room_sends_newcomers_to_the_lobby(room) -> None:
    site = room["site"]
    await room["host_client"].send({"type": "lock", "locked": True})
    assert (await room["alice_client"].expect("room-updated"))["locked"] is True
    ticket = await site.ticket(room["meeting"], await site.user(unique("late")))
    late = await open_client(site.base, ticket["signaling"]["token"])
    room["clients"].append(late)
    await late.expect("lobby-wait")
    request = await room["host_client"].expect("lobby-request")
    assert request["participant"]["id"] == ticket["participant"]["id"]


async def test_end_closes_everyone_and_ends_the_meeting(room) -> None:
    site, meeting = room["site"], room["meeting"]
    await room["host_client"].send({"type": "end"})
    for client in (room["host_client"], room["alice_client"]):
        await client.expect("meeting-ended")
        assert (await client.close_code())[0] == 1000
    status = None
    for _ in range(50):
        status = (
            await site.http.get(f"/api/v1/meetings/{meeting['id']}", headers=room["host"])
        ).json()["status"]
        if status == "ended":
            break
        await asyncio.sleep(0.1)
    assert status == "ended"


async def test_ping_gets_pong(room) -> None:
    await room["alice_client"].send({"type": "ping"})
    await room["alice_client"].expect("pong")


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("{not json", "invalid-json"),
        (json.dumps({"type": "teleport"}), "unknown-type"),
        (json.dumps({"type": "offer"}), "invalid-message"),
        (json.dumps({"type": "chat", "text": "x" * 4001}), "too-long"),
        (json.dumps({"type": "chat", "text": "x" * 70_000}), "too-large"),
        (json.dumps([1, 2]), "unknown-type"),
    ],
)
async def test_bad_frames_get_an_error_and_the_connection_stays(
    room, frame: str, code: str
) -> None:
    alice = room["alice_client"]
    await alice.send(frame)
    assert (await alice.expect("error"))["code"] == code
    await alice.send({"type": "ping"})
    await alice.expect("pong")


async def test_floods_are_rate_limited_then_closed(room) -> None:
    alice = room["alice_client"]
    for _ in range(150):
        await alice.send({"type": "ping"})
    assert (await alice.expect("error", lambda f: f["code"] == "rate-limited"))["message"]
    for _ in range(400):
        if alice.closed.done():
            break
        await alice.send({"type": "ping"})
    assert (await alice.close_code())[0] == 1008


async def test_resume_within_the_window_keeps_the_participant(room) -> None:
    site, alice = room["site"], room["alice_client"]
    token = (await alice.expect("welcome"))["resume_token"]
    alice.vanish()
    await asyncio.sleep(0.2)
    again = await open_client(site.base)
    room["clients"].append(again)
    await again.send({"type": "resume", "resume_token": token})
    welcome = await again.expect("welcome")
    assert welcome["self"]["id"] == room["alice_row"]["id"]
    updated = await room["host_client"].expect("peer-updated", lambda f: f.get("reconnected"))
    assert updated["peer"]["id"] == room["alice_row"]["id"]
    await room["host_client"].never("peer-left", GRACE_S + 1.2)


async def test_a_vanished_client_leaves_after_the_window(room) -> None:
    site, alice_id = room["site"], room["alice_row"]["id"]
    room["alice_client"].vanish()
    left = await room["host_client"].expect("peer-left", timeout=GRACE_S + 5)
    assert left["peer"] == alice_id
    status = None
    for _ in range(50):
        people = (
            await site.http.get(
                f"/api/v1/meetings/{room['meeting']['id']}/participants", headers=room["host"]
            )
        ).json()
        status = next(p for p in people if p["id"] == alice_id)["status"]
        if status == "left":
            break
        await asyncio.sleep(0.1)
    assert status == "left"


async def test_resume_after_the_window_is_refused(room) -> None:
    site, alice = room["site"], room["alice_client"]
    token = (await alice.expect("welcome"))["resume_token"]
    alice.vanish()
    await room["host_client"].expect("peer-left", timeout=GRACE_S + 5)
    again = await open_client(site.base)
    await again.send({"type": "resume", "resume_token": token})
    assert (await again.close_code())[0] == 4401


async def test_closing_normally_leaves_at_once(room) -> None:
    await room["alice_client"].close()
    assert (await room["host_client"].expect("peer-left", timeout=1.0))["peer"] == room[
        "alice_row"
    ]["id"]


async def test_chat_history_endpoint_is_for_people_who_were_there(room) -> None:
    site, meeting = room["site"], room["meeting"]
    await room["alice_client"].send({"type": "chat", "text": "first"})
    await room["host_client"].expect("chat", lambda f: f["text"] == "first")
    await room["host_client"].send(
        {"type": "chat", "text": "secret", "to": room["alice_row"]["id"]}
    )
    await room["host_client"].expect("chat", lambda f: f["text"] == "secret")
    url = f"/api/v1/signaling/meetings/{meeting['id']}/messages"
    mine = (await site.http.get(url, headers=room["alice"])).json()
    assert [m["text"] for m in mine["items"]] == ["first", "secret"]
    stranger = await site.user(unique("stranger"))
    assert (await site.http.get(url, headers=stranger)).status_code == 404
    assert (await site.http.get(url)).status_code == 401
    paged = (await site.http.get(url, params={"limit": 1}, headers=room["alice"])).json()
    assert [m["text"] for m in paged["items"]] == ["secret"] and paged["has_more"] is True


async def test_stats_are_for_admins(room) -> None:
    site = room["site"]
    assert (await site.http.get("/api/v1/signaling/stats", headers=room["host"])).status_code == 403
    admin = await site.user("sigroot")
    nodes = []
    for _ in range(40):
        nodes = (await site.http.get("/api/v1/signaling/stats", headers=admin)).json()["nodes"]
        if nodes and nodes[0]["connections"] >= 2:
            break
        await asyncio.sleep(0.1)
    assert nodes and nodes[0]["connections"] >= 2


async def test_two_nodes_share_rooms_through_redis(backend: Backend) -> None:
    if backend.name != "postgres":
        pytest.skip("the embedded store lives in one process: one node only")
    settings = backend.settings(signaling_resume_grace_s=GRACE_S)
    async with live_server(settings) as (_, base_a), live_server(settings) as (_, base_b):
        site_a, site_b = Site(base_a), Site(base_b)
        host = await site_a.user(unique("host"))
        bob = await site_a.user(unique("bob"))
        carol = await site_a.user(unique("carol"))
        meeting = await site_a.meeting(host)
        host_client, host_row = await site_a.enter(meeting, host)
        bob_client, bob_row = await site_b.enter(meeting, bob)
        carol_client, carol_row = await site_b.enter(meeting, carol)
        assert (await host_client.expect("peer-joined"))["peer"]["id"] == bob_row["id"]
        await host_client.send({"type": "offer", "to": bob_row["id"], "sdp": {"sdp": "o"}})
        assert (await bob_client.expect("offer"))["from"] == host_row["id"]
        await bob_client.send({"type": "answer", "to": host_row["id"], "sdp": {"sdp": "a"}})
        assert (await host_client.expect("answer"))["sdp"] == {"sdp": "a"}
        await bob_client.send({"type": "candidate", "to": host_row["id"], "candidate": {"c": 1}})
        assert (await host_client.expect("candidate"))["candidate"] == {"c": 1}
        await bob_client.send({"type": "chat", "text": "across nodes"})
        assert (await host_client.expect("chat"))["text"] == "across nodes"
        await host_client.send({"type": "remove", "peer": carol_row["id"]})
        await carol_client.expect("removed")
        assert (await carol_client.close_code())[0] == 4403
        assert (await bob_client.expect("peer-left"))["peer"] == carol_row["id"]
        for client in (host_client, bob_client):
            await client.close()
        await site_a.aclose()
        await site_b.aclose()
