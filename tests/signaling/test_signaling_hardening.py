"""The signaling service under attack and failure (issue 13): who reads a room's chat history,
ghost participants, disabled accounts, resuming into an ended meeting, control characters in
chat, settings changed during the meeting, malformed frames, tickets used twice.

Real server (uvicorn on a loopback port), `websockets` client, both backends.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import pytest
from sqlalchemy import select

from parley.core.contracts import (
    MEETING_COMMANDS,
    SIGNALING_COMMANDS,
    USER_GONE_CHANNEL,
    user_gone_key,
)
from parley.signaling import service
from parley.signaling.models import ChatMessage
from parley.signaling.state import KNOWN_NODES
from tests.support.api import unique
from tests.support.backends import Backend
from tests.support.signaling import RESUME_GRACE_S as GRACE_S
from tests.support.signaling import (
    Client,
    Site,
    eventually,
    live_server,
    open_client,
)


def kv(site: Site) -> Any:
    assert site.app is not None
    return site.app.state.kv


async def say(sender: Client, text: str, *readers: Client) -> None:
    """Send a public chat line and wait until everyone named has it."""
    await sender.send({"type": "chat", "text": text})
    for reader in (sender, *readers):
        await reader.expect("chat", lambda f: f["text"] == text)


async def commands_for(site: Site, participant_id: str, cmd: str) -> list[dict[str, str]]:
    entries = await kv(site).xrange(MEETING_COMMANDS)
    return [
        fields
        for _, fields in entries
        if fields.get("cmd") == cmd and fields.get("participant_id") == participant_id
    ]


async def lobby_meeting(site: Site) -> tuple[dict[str, Any], dict[str, str], Client]:
    host = await site.user(unique("host"))
    meeting = await site.meeting(host, settings={"waiting_room": True})
    host_client, _ = await site.enter(meeting, host)
    return meeting, host, host_client


# --- item 2: chat history only for admitted, not removed participants -------------------------


async def test_someone_waiting_in_the_lobby_cannot_read_the_history(site: Site) -> None:
    meeting, _, host_client = await lobby_meeting(site)
    await say(host_client, "only for those inside")
    knocker = await site.user(unique("knocker"))
    knocking, _ = await site.enter(meeting, knocker)
    await host_client.expect("lobby-request")
    assert (await site.history(meeting, knocker)).status_code == 404
    for client in (knocking, host_client):
        await client.close()


async def test_a_denied_knocker_cannot_read_the_history(site: Site) -> None:
    meeting, _, host_client = await lobby_meeting(site)
    await say(host_client, "only for those inside")
    knocker = await site.user(unique("knocker"))
    knocking, row = await site.enter(meeting, knocker)
    await host_client.expect("lobby-request")
    await host_client.send({"type": "deny", "peer": row["id"]})
    await knocking.expect("denied")
    assert (await site.history(meeting, knocker)).status_code == 404
    await host_client.close()


async def test_an_admitted_knocker_reads_the_history(site: Site) -> None:
    meeting, _, host_client = await lobby_meeting(site)
    await say(host_client, "welcome in")
    knocker = await site.user(unique("knocker"))
    knocking, row = await site.enter(meeting, knocker)
    await host_client.expect("lobby-request")
    await host_client.send({"type": "admit", "peer": row["id"]})
    await knocking.expect("welcome")
    page = await site.history(meeting, knocker)
    assert [m["text"] for m in page.json()["items"]] == ["welcome in"]
    for client in (knocking, host_client):
        await client.close()


async def test_history_before_a_number_of_seconds_is_422_not_1970(site: Site) -> None:
    meeting, host, host_client = await lobby_meeting(site)
    response = await site.http.get(
        f"/api/v1/signaling/meetings/{meeting['id']}/messages",
        params={"before": "0.5"},
        headers=host,
    )
    assert response.status_code == 422
    await host_client.close()


async def test_a_removed_participant_cannot_read_the_history(room) -> None:
    site = room["site"]
    await say(room["host_client"], "before the removal", room["alice_client"])
    await room["host_client"].send({"type": "remove", "peer": room["alice_row"]["id"]})
    await room["alice_client"].expect("removed")
    assert (await site.history(room["meeting"], room["alice"])).status_code == 404


async def test_someone_removed_after_leaving_cannot_read_the_history(room) -> None:
    site, meeting, alice_id = room["site"], room["meeting"], room["alice_row"]["id"]
    await say(room["host_client"], "while alice is here", room["alice_client"])
    await room["alice_client"].close()
    await room["host_client"].expect("peer-left")
    url = f"/api/v1/meetings/{meeting['id']}/participants/{alice_id}/remove"
    assert (await site.http.post(url, headers=room["host"])).status_code == 200

    async def shut_out() -> bool:
        return (await site.history(meeting, room["alice"])).status_code == 404

    assert await eventually(shut_out)


async def test_someone_who_left_reads_the_history_only_up_to_leaving(room) -> None:
    site, meeting = room["site"], room["meeting"]
    await say(room["host_client"], "while alice is here", room["alice_client"])
    await room["alice_client"].close()
    await room["host_client"].expect("peer-left")
    await say(room["host_client"], "after alice left")
    page = await site.history(meeting, room["alice"])
    assert [m["text"] for m in page.json()["items"]] == ["while alice is here"]


async def test_someone_who_left_and_came_back_reads_everything_again(room) -> None:
    site, meeting = room["site"], room["meeting"]
    await room["alice_client"].close()
    await room["host_client"].expect("peer-left")
    await say(room["host_client"], "said while alice was away")
    again, _ = await site.enter(meeting, room["alice"])
    room["clients"].append(again)
    page = await site.history(meeting, room["alice"])
    assert [m["text"] for m in page.json()["items"]] == ["said while alice was away"]


# --- item 7: ghost participants ---------------------------------------------------------------


async def test_meeting_service_is_told_when_a_participant_connects(room) -> None:
    site, alice_id = room["site"], room["alice_row"]["id"]
    told = await eventually(lambda: commands_for(site, alice_id, "connected"))
    assert told and told[0]["meeting_id"] == room["meeting"]["id"]


async def test_a_knocker_is_connected_for_meeting_service_only_once_admitted(site: Site) -> None:
    meeting, _, host_client = await lobby_meeting(site)
    knocking, row = await site.enter(meeting, await site.user(unique("knocker")))
    await host_client.expect("lobby-request")
    assert await commands_for(site, row["id"], "connected") == []
    await host_client.send({"type": "admit", "peer": row["id"]})
    await knocking.expect("welcome")
    assert await eventually(lambda: commands_for(site, row["id"], "connected"))
    for client in (knocking, host_client):
        await client.close()


async def test_the_peers_of_a_node_whose_heartbeat_is_gone_are_reaped(room) -> None:
    """A node that died without cleaning up: its peers still say ``connected: true``, but its
    heartbeat key has expired. The living node takes them out of the room."""
    site, meeting_id = room["site"], room["meeting"]["id"]
    assert site.app is not None
    state = site.app.state.signaling.state
    dead_node, ghost_id = "deadnode" + uuid.uuid4().hex[:6], str(uuid.uuid4())
    await kv(site).sadd(KNOWN_NODES, dead_node)
    await state.hold_room(dead_node, meeting_id)
    ghost = {
        "id": ghost_id,
        "user_id": None,
        "display_name": "Ghost",
        "role": "participant",
        "media": {"audio": False, "video": False, "screen": False},
        "hand": False,
        "node": dead_node,
        "connected": True,
    }
    await state.enter_room(meeting_id, ghost)
    left = await room["host_client"].expect("peer-left", lambda f: f["peer"] == ghost_id, timeout=5)
    assert left["peer"] == ghost_id
    assert ghost_id not in await state.peers(meeting_id)
    assert await eventually(lambda: commands_for(site, ghost_id, "left"))
    await room["alice_client"].expect("peer-left", lambda f: f["peer"] == ghost_id)


async def test_a_living_node_keeps_its_heartbeat(room) -> None:
    site = room["site"]
    assert site.app is not None
    node = site.app.state.signaling.node_id
    assert await kv(site).ttl(f"sig:alive:{node}") > 0
    assert node in await kv(site).smembers(KNOWN_NODES)
    await room["host_client"].never("peer-left", 1.5)


async def test_a_node_taken_for_dead_closes_the_connections_it_lost(room) -> None:
    """A node that stalled past its heartbeat may have had its peers reaped by another node:
    when it wakes up, those connections are closed instead of lingering unseen."""
    site, meeting_id = room["site"], room["meeting"]["id"]
    assert site.app is not None
    hub = site.app.state.signaling
    # The heartbeat lapses unseen by other nodes: on a Redis shared with other tests' nodes,
    # one of them would otherwise claim this node and reap every peer of it (rightly).
    async with kv(site).pipeline(transaction=True) as pipe:
        pipe.srem(KNOWN_NODES, hub.node_id)
        pipe.delete(f"sig:alive:{hub.node_id}")
        await pipe.execute()
    await hub.state.drop_peer(meeting_id, room["alice_row"]["id"])  # what a reaper did
    code, _ = await room["alice_client"].close_code()
    assert code == 1012
    assert not room["host_client"].closed.done()  # still in the room state: kept


async def test_a_dead_node_among_two_has_its_peers_reaped_by_the_other(backend: Backend) -> None:
    if backend.name != "postgres":
        pytest.skip("the embedded store lives in one process: one node only")
    settings = backend.settings(signaling_resume_grace_s=GRACE_S)
    async with live_server(settings) as (app_a, base_a), live_server(settings) as (app_b, base_b):
        site_a, site_b = Site(base_a, app_a), Site(base_b, app_b)
        host = await site_a.user(unique("host"))
        bob = await site_a.user(unique("bob"))
        meeting = await site_a.meeting(host)
        host_client, _ = await site_a.enter(meeting, host)
        bob_client, bob_row = await site_b.enter(meeting, bob)
        await host_client.expect("peer-joined")
        # Node B stops refreshing its heartbeat and its key is gone, as after a kill -9.
        node_b = app_b.state.signaling
        node_b.heartbeat.cancel()
        await asyncio.wait([node_b.heartbeat], timeout=2)
        await app_a.state.kv.delete(f"sig:alive:{node_b.node_id}")
        left = await host_client.expect("peer-left", timeout=5)
        assert left["peer"] == bob_row["id"]
        assert await eventually(lambda: commands_for(site_a, bob_row["id"], "left"))
        for client in (host_client, bob_client):
            await client.close()
        await site_a.aclose()
        await site_b.aclose()


# --- item 9: disabled or deleted users ---------------------------------------------------------


async def test_a_disabled_users_sockets_are_closed_and_they_leave_the_room(room) -> None:
    site = room["site"]
    alice_id = await site.user_id(room["alice"])
    await kv(site).publish(USER_GONE_CHANNEL, f"{alice_id} disabled")
    code, reason = await room["alice_client"].close_code()
    assert code == 4401 and "disabled" in reason
    left = await room["host_client"].expect("peer-left")
    assert left["peer"] == room["alice_row"]["id"]


async def test_a_deleted_user_waiting_in_the_lobby_is_closed(site: Site) -> None:
    meeting, _, host_client = await lobby_meeting(site)
    knocker = await site.user(unique("knocker"))
    knocking, row = await site.enter(meeting, knocker)
    await host_client.expect("lobby-request")
    await kv(site).publish(USER_GONE_CHANNEL, f"{await site.user_id(knocker)} deleted")
    code, reason = await knocking.close_code()
    assert code == 4401 and "deleted" in reason
    assert (await host_client.expect("lobby-left"))["peer"] == row["id"]
    await host_client.close()


async def test_a_disabled_user_cannot_resume(room) -> None:
    site, alice = room["site"], room["alice_client"]
    token = (await alice.expect("welcome"))["resume_token"]
    alice.vanish()
    alice_id = await site.user_id(room["alice"])
    await kv(site).set(user_gone_key(alice_id), "disabled")
    again = await open_client(site.base)
    await again.send({"type": "resume", "resume_token": token})
    assert (await again.close_code())[0] == 4401


async def test_a_disabled_user_cannot_enter_with_a_ticket(site: Site) -> None:
    host = await site.user(unique("host"))
    meeting = await site.meeting(host)
    ticket = await site.ticket(meeting, host)
    await kv(site).set(user_gone_key(await site.user_id(host)), "disabled")
    client = await open_client(site.base)
    await client.send({"type": "auth", "token": ticket["signaling"]["token"]})
    code, reason = await client.close_code()
    assert code == 4401 and "disabled" in reason


# --- item 10: resume into an ended meeting; resume tokens live as long as the window ---------


async def test_resume_into_an_ended_meeting_is_refused(room) -> None:
    site, alice = room["site"], room["alice_client"]
    token = (await alice.expect("welcome"))["resume_token"]
    alice.vanish()
    await room["host_client"].send({"type": "end"})
    await room["host_client"].expect("meeting-ended")
    again = await open_client(site.base)
    await again.send({"type": "resume", "resume_token": token})
    assert (await again.close_code())[0] == 4410
    await again.never("welcome", 0)


async def test_a_resume_token_lives_only_for_the_resume_window_after_a_drop(room) -> None:
    site, alice = room["site"], room["alice_client"]
    token = (await alice.expect("welcome"))["resume_token"]
    assert await kv(site).ttl(f"sig:resume:{token}") == -1  # no expiry while connected
    alice.vanish()

    async def windowed() -> bool:
        return 0 < await kv(site).ttl(f"sig:resume:{token}") <= GRACE_S + 1

    assert await eventually(windowed)
    await room["host_client"].expect("peer-left", timeout=GRACE_S + 5)
    assert not await kv(site).exists(f"sig:resume:{token}")


# --- item 13: control characters in chat; one bad row never drops the batch --------------------


@pytest.mark.parametrize("text", ["nul\x00here", "bell\x07", "escape\x1b[2J"])
async def test_chat_with_control_characters_is_refused_with_an_error(room, text: str) -> None:
    alice = room["alice_client"]
    await alice.send({"type": "chat", "text": text})
    assert (await alice.expect("error"))["code"] == "invalid-message"
    await room["host_client"].never("chat", 0.2)
    await say(alice, "line one\nline two\twith a tab", room["host_client"])


async def test_a_message_the_database_refuses_does_not_take_the_batch_down(site: Site) -> None:
    assert site.app is not None
    meeting_id, sender = str(uuid.uuid4()), {"id": str(uuid.uuid4()), "display_name": "Ann"}
    stored = service.new_chat(meeting_id, sender, "already stored", None)
    chat_log = service.ChatLog(site.app.state.db.sessionmaker)
    chat_log.add(stored)
    await chat_log.flush()
    good_before = service.new_chat(meeting_id, sender, "good one", None)
    clash = service.new_chat(meeting_id, sender, "same id again", None)
    clash.id = stored.id  # the database refuses it (primary key)
    good_after = service.new_chat(meeting_id, sender, "good two", None)
    for message in (good_before, clash, good_after):
        chat_log.add(message)
    await chat_log.flush()
    async with site.app.state.db.sessionmaker() as session:
        texts = set(
            await session.scalars(
                select(ChatMessage.text).where(ChatMessage.meeting_id == uuid.UUID(meeting_id))
            )
        )
    assert texts == {"already stored", "good one", "good two"}


# --- item 14: settings changed during the meeting ------------------------------------------------


async def change_settings(site: Site, meeting: dict[str, Any], **settings: Any) -> None:
    """What meeting-service publishes when a host changes the settings of a live meeting."""
    await kv(site).xadd(
        SIGNALING_COMMANDS,
        {"cmd": "settings", "meeting_id": meeting["id"], "settings": json.dumps(settings)},
    )


async def test_changed_settings_reach_everyone_in_the_room(room) -> None:
    await change_settings(room["site"], room["meeting"], allow_chat=False, allow_screen_share=True)
    for client in (room["host_client"], room["alice_client"]):
        frame = await client.expect("settings")
        assert frame["settings"] == {"allow_chat": False, "allow_screen_share": True}


async def test_chat_switched_off_during_the_meeting_is_refused_to_participants(room) -> None:
    await change_settings(room["site"], room["meeting"], allow_chat=False)
    await room["alice_client"].expect("settings")
    await room["alice_client"].send({"type": "chat", "text": "still here?"})
    assert (await room["alice_client"].expect("error"))["code"] == "forbidden"
    await say(room["host_client"], "hosts may still chat", room["alice_client"])


async def test_screen_sharing_switched_off_during_the_meeting_is_refused(room) -> None:
    await change_settings(room["site"], room["meeting"], allow_screen_share=False)
    await room["alice_client"].expect("settings")
    await room["alice_client"].send(
        {"type": "media-state", "audio": True, "video": True, "screen": True}
    )
    assert (await room["alice_client"].expect("error"))["code"] == "forbidden"


async def test_chat_switched_on_during_the_meeting_is_allowed_despite_the_ticket(
    site: Site,
) -> None:
    host, alice = await site.user(unique("host")), await site.user(unique("alice"))
    meeting = await site.meeting(host, settings={"allow_chat": False})
    host_client, _ = await site.enter(meeting, host)
    alice_client, _ = await site.enter(meeting, alice)
    await change_settings(site, meeting, allow_chat=True)
    await alice_client.expect("settings")
    await say(alice_client, "now I may", host_client)
    newcomer, _ = await site.enter(meeting, await site.user(unique("late")))
    welcome = await newcomer.expect("welcome")
    assert welcome["room"]["settings"] == {"allow_chat": True}
    for client in (host_client, alice_client, newcomer):
        await client.close()


# --- low: malformed frames, tickets spent on entry ----------------------------------------------


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        (json.dumps({"type": ["chat"]}), "unknown-type"),
        (json.dumps({"type": {"x": 1}}), "unknown-type"),
        ("[" * 20_000 + "]" * 20_000, "invalid-json"),
        (json.dumps({"type": "offer", "to": "x", "sdp": json.loads("[" * 900 + "]" * 900)}), None),
    ],
    ids=["type-list", "type-object", "nested-20000", "nested-sdp"],
)
async def test_odd_frames_get_an_error_and_the_connection_stays(
    room, frame: str, code: str | None
) -> None:
    alice = room["alice_client"]
    await alice.send(frame)
    error = await alice.expect("error")
    assert code is None or error["code"] == code
    await alice.send({"type": "ping"})
    await alice.expect("pong")


async def test_a_ticket_enters_only_once(site: Site) -> None:
    host = await site.user(unique("host"))
    meeting = await site.meeting(host)
    ticket = await site.ticket(meeting, host)
    first = await open_client(site.base)
    await first.send({"type": "auth", "token": ticket["signaling"]["token"]})
    await first.expect("welcome")
    second = await open_client(site.base)
    await second.send({"type": "auth", "token": ticket["signaling"]["token"]})
    code, reason = await second.close_code()
    assert code == 4401 and "used" in reason
    await first.close()


async def test_a_denied_knocker_cannot_reuse_the_ticket_to_knock_again(site: Site) -> None:
    meeting, _, host_client = await lobby_meeting(site)
    ticket = await site.ticket(meeting, None, "Knocking Kim")
    knocking = await open_client(site.base, ticket["signaling"]["token"])
    await knocking.expect("lobby-wait")
    await host_client.send({"type": "deny", "peer": ticket["participant"]["id"]})
    await knocking.expect("denied")
    again = await open_client(site.base, ticket["signaling"]["token"])
    assert (await again.close_code())[0] == 4401
    await again.never("lobby-wait", 0)
    await asyncio.sleep(0.3)
    assert len([f for f in host_client.frames if f["type"] == "lobby-request"]) == 1
    await host_client.close()


# --- item 16: the ticket in the first frame (the web client no longer puts it in the URL) ---


async def test_a_socket_that_never_authenticates_is_closed(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("parley.signaling.entry.AUTH_TIMEOUT_S", 0.3)
    silent = await open_client(site.base)
    code, reason = await silent.close_code()
    assert code == 4401 and "timed out" in reason
