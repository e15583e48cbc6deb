"""Breakout rooms over real sockets (issue 18): opening sends each assigned participant a
working ticket for their room on their own connection; a room hears nothing of another room
nor of the main room; a host's broadcast reaches every room, a call for help only the hosts;
closing (at once or after the countdown) ends the rooms and the way back works; leaving the
main room for a room appoints no cohost."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from parley.meetings import breakout_timers
from parley.meetings.models import BreakoutSession
from parley.signaling.errors import CLOSE_UNAUTHENTICATED
from tests.support.api import unique
from tests.support.breakouts import (
    breakouts_url,
    call,
    enter_with,
    follow_move,
    open_rooms,
    set_up,
)
from tests.support.signaling import BREAKOUT_COUNTDOWN_S, Client, Site, open_client


async def _with_bob(site: Site, room: dict[str, Any]) -> tuple[Client, dict[str, Any]]:
    bob = await site.user(unique("bob"))
    room["bob"] = bob
    client, row = await site.enter(room["meeting"], bob)
    room["clients"].append(client)
    return client, row


async def _split(room: dict[str, Any]) -> dict[str, Any]:
    """Alice to Red, Bob to Blue, both moved and in their rooms; the host stays in the main
    room. Returns what the test needs (clients, moves, welcomes, the session)."""
    site: Site = room["site"]
    bob_client, bob_row = await _with_bob(site, room)
    session = await set_up(
        site,
        room["meeting"],
        room["host"],
        assignment="manual",
        assignments={room["alice_row"]["id"]: 0, bob_row["id"]: 1},
    )
    await open_rooms(site, room["meeting"], room["host"])
    alice, alice_move, alice_welcome = await follow_move(site, room["alice_client"])
    bob, bob_move, bob_welcome = await follow_move(site, bob_client)
    room["clients"] += [alice, bob]
    return {
        "session": session,
        "alice": alice,
        "bob": bob,
        "bob_row": bob_row,
        "alice_move": alice_move,
        "bob_move": bob_move,
        "alice_welcome": alice_welcome,
        "bob_welcome": bob_welcome,
    }


async def test_opening_sends_each_assigned_participant_a_ticket_for_their_room(
    room: dict[str, Any],
) -> None:
    split = await _split(room)
    red, blue = split["session"]["rooms"]
    move = split["alice_move"]
    assert move["room"] == {"id": red["id"], "name": "Red", "index": 0, "meeting_id": red["id"]}
    assert move["allow_return"] is False and move["ends_at"] is None
    assert move["joined"]["participant"]["meeting_id"] == red["id"]
    assert move["joined"]["participant"]["display_name"] == room["alice_row"]["display_name"]
    assert split["alice_welcome"]["room"]["meeting_id"] == red["id"]
    assert split["bob_welcome"]["room"]["meeting_id"] == blue["id"]
    # The ticket was hers alone: nobody else got a move, the host none at all.
    await room["host_client"].never("breakout-move")
    assert split["bob_move"]["room"]["id"] == blue["id"]


async def test_a_ticket_from_a_move_works_once(room: dict[str, Any]) -> None:
    split = await _split(room)
    token = split["alice_move"]["joined"]["signaling"]["token"]
    replay = await open_client(room["site"].base, token)
    code, reason = await replay.close_code()
    assert code == CLOSE_UNAUTHENTICATED and "used already" in reason


async def test_a_room_hears_nothing_of_another_room_nor_of_the_main_room(
    room: dict[str, Any],
) -> None:
    split = await _split(room)
    alice, bob = split["alice"], split["bob"]
    # Each room's welcome lists only its own people.
    assert split["alice_welcome"]["peers"] == []
    assert split["bob_welcome"]["peers"] == []
    await bob.send({"type": "chat", "text": "blue team only"})
    await bob.expect("chat")
    await room["host_client"].send({"type": "chat", "text": "main room only"})
    await room["host_client"].expect("chat", lambda f: f["text"] == "main room only")
    # Someone new in Blue: Bob sees them, Alice does not.
    carol = await room["site"].user(unique("carol"))
    carol_ticket = await room["site"].ticket(room["meeting"], carol)
    carol_main, _ = await enter_with(room["site"], carol_ticket)
    room["clients"].append(carol_main)
    blue_id = split["session"]["rooms"][1]["id"]
    moved = await room["site"].http.patch(
        breakouts_url(room["meeting"], blue_id),
        json={"move": {"participant_id": carol_ticket["participant"]["id"], "to": 1}},
        headers=room["host"],
    )
    assert moved.status_code == 200, moved.text
    carol_client, _, _ = await follow_move(room["site"], carol_main)
    room["clients"].append(carol_client)
    await bob.expect("peer-joined")
    await bob.send({"type": "raise-hand"})
    for kind in ("chat", "peer-joined", "peer-updated", "peer-left", "lobby-request"):
        await alice.never(kind, wait=0.1)
    assert {f["type"] for f in alice.frames} <= {"welcome", "media-mode", "pong"}


async def test_auto_assignment_spreads_the_joined_participants_evenly(
    room: dict[str, Any],
) -> None:
    site: Site = room["site"]
    bob_client, _ = await _with_bob(site, room)
    guest_client, _ = await site.enter(room["meeting"], name="Gus Guest")
    room["clients"].append(guest_client)
    carol = await site.user(unique("carol"))
    carol_client, _ = await site.enter(room["meeting"], carol)
    room["clients"].append(carol_client)
    session = await set_up(site, room["meeting"], room["host"], assignment="auto")
    sizes = sorted(len(r["participants"]) for r in session["rooms"])
    assert sizes == [2, 2]
    await open_rooms(site, room["meeting"], room["host"])
    moved = [room["alice_client"], bob_client, guest_client, carol_client]
    rooms = [(await c.expect("breakout-move"))["room"]["index"] for c in moved]
    assert sorted(rooms) == [0, 0, 1, 1]
    await room["host_client"].never("breakout-move")


async def test_with_self_assignment_a_participant_enters_the_room_they_choose(
    room: dict[str, Any],
) -> None:
    site: Site = room["site"]
    session = await set_up(site, room["meeting"], room["host"], assignment="self")
    await open_rooms(site, room["meeting"], room["host"])
    opened = await room["alice_client"].expect("breakouts-updated")
    assert opened == {"type": "breakouts-updated", "state": "open"}
    await room["alice_client"].never("breakout-move")
    blue = session["rooms"][1]
    chosen = await call(site, room["meeting"], f"{blue['id']}/join", room["alice"])
    assert chosen.status_code == 200, chosen.text
    await room["alice_client"].close()
    client, welcome = await enter_with(site, chosen.json())
    room["clients"].append(client)
    assert welcome["room"]["meeting_id"] == blue["id"]
    listed = await site.http.get(breakouts_url(room["meeting"]), headers=room["alice"])
    assert listed.json()["my_room"] == 1


async def test_a_broadcast_reaches_every_breakout_room_and_not_the_main_room(
    room: dict[str, Any],
) -> None:
    split = await _split(room)
    sent = await call(room["site"], room["meeting"], "broadcast", room["host"], text="5 min left")
    assert sent.status_code == 204, sent.text
    for client in (split["alice"], split["bob"]):
        told = await client.expect("breakout-broadcast")
        assert told == {
            "type": "breakout-broadcast",
            "text": "5 min left",
            "from": room["host_row"]["display_name"],
        }
    await room["host_client"].never("breakout-broadcast")


async def test_a_call_for_help_reaches_the_hosts_only(room: dict[str, Any]) -> None:
    split = await _split(room)
    asked = await call(room["site"], room["meeting"], "help", room["alice"])
    assert asked.status_code == 204, asked.text
    notice = await room["host_client"].expect("breakout-help")
    red = split["session"]["rooms"][0]
    assert notice == {
        "type": "breakout-help",
        "room": {"id": red["id"], "name": "Red"},
        "from": room["alice_row"]["display_name"],
    }
    for client in (split["alice"], split["bob"]):
        await client.never("breakout-help")
    again = await call(room["site"], room["meeting"], "help", room["alice"])
    assert again.status_code == 429


async def test_closing_now_ends_the_rooms_and_the_way_back_works(room: dict[str, Any]) -> None:
    split = await _split(room)
    closed = await call(room["site"], room["meeting"], "close", room["host"], now=True)
    assert closed.status_code == 200, closed.text
    assert closed.json()["state"] == "closed"
    for client in (split["alice"], split["bob"]):
        await client.expect("breakout-closing", lambda f: f["seconds"] == 0)
        await client.expect("meeting-ended")
    back = await call(room["site"], room["meeting"], "return", room["alice"])
    assert back.status_code == 200, back.text
    assert back.json()["participant"]["id"] == room["alice_row"]["id"]
    assert back.json()["participant"]["status"] == "joined"
    client, welcome = await enter_with(room["site"], back.json())
    room["clients"].append(client)
    assert welcome["room"]["meeting_id"] == room["meeting"]["id"]
    assert room["host_row"]["id"] in [p["id"] for p in welcome["peers"]]


async def test_the_countdown_is_seen_everywhere_then_the_rooms_end(room: dict[str, Any]) -> None:
    split = await _split(room)
    closing = await call(room["site"], room["meeting"], "close", room["host"])
    assert closing.status_code == 200, closing.text
    assert closing.json()["state"] == "closing"
    for client in (split["alice"], split["bob"], room["host_client"]):
        frame = await client.expect("breakout-closing")
        assert frame["seconds"] == round(BREAKOUT_COUNTDOWN_S)
        assert frame["closes_at"] == closing.json()["closes_at"]
    for client in (split["alice"], split["bob"]):
        await client.expect("meeting-ended", timeout=BREAKOUT_COUNTDOWN_S + 4)
    await room["host_client"].never("meeting-ended")
    session = await room["site"].http.get(breakouts_url(room["meeting"]), headers=room["host"])
    assert session.json()["state"] == "closed"
    red = split["session"]["rooms"][0]
    ended = await room["site"].http.get(f"/api/v1/meetings/{red['id']}", headers=room["host"])
    assert ended.json()["status"] == "ended"


async def test_a_time_limit_starts_the_countdown_by_itself(room: dict[str, Any]) -> None:
    site: Site = room["site"]
    await set_up(
        site,
        room["meeting"],
        room["host"],
        assignments={room["alice_row"]["id"]: 0},
        duration_s=60,
    )
    await open_rooms(site, room["meeting"], room["host"])
    alice, move, _ = await follow_move(site, room["alice_client"])
    room["clients"].append(alice)
    assert move["ends_at"] is not None
    # A minute is long for a test: the time is brought forward in the database and the
    # session's timer set again, as opening set it.
    assert site.app is not None
    listed = await site.http.get(breakouts_url(room["meeting"]), headers=room["host"])
    session_id = uuid.UUID(listed.json()["id"])
    async with site.app.state.db.sessionmaker() as db:
        row = await db.get(BreakoutSession, session_id)
        assert row is not None and row.opened_at is not None
        row.ends_at = row.opened_at
        await db.commit()
    breakout_timers.follow(site.app, row)
    await alice.expect("breakout-closing")
    await alice.expect("meeting-ended", timeout=BREAKOUT_COUNTDOWN_S + 4)


async def test_a_host_visiting_a_room_appoints_no_cohost_in_the_main_room(
    room: dict[str, Any],
) -> None:
    site: Site = room["site"]
    bob_client, _ = await _with_bob(site, room)
    session = await set_up(site, room["meeting"], room["host"], assignment="self")
    await open_rooms(site, room["meeting"], room["host"])
    red = session["rooms"][0]
    visit = await call(site, room["meeting"], f"{red['id']}/join", room["host"])
    assert visit.status_code == 200, visit.text
    assert visit.json()["participant"]["role"] == "host"
    await asyncio.sleep(0.2)  # the away mark is on the command stream before the socket goes
    await room["host_client"].close()
    host_in_red, _ = await enter_with(site, visit.json())
    room["clients"].append(host_in_red)
    await bob_client.expect("peer-left")
    await bob_client.never("peer-updated", wait=0.5)
    await room["alice_client"].never("peer-updated", wait=0.1)
    # And the host comes back as the same participant.
    back = await call(site, room["meeting"], "return", room["host"])
    assert back.status_code == 200, back.text
    assert back.json()["participant"]["id"] == room["host_row"]["id"]
    host_back, _ = await enter_with(site, back.json())
    room["clients"].append(host_back)
    await bob_client.expect("peer-joined")


async def test_someone_removed_from_the_meeting_is_removed_from_their_breakout_room(
    room: dict[str, Any],
) -> None:
    split = await _split(room)
    removed = await room["site"].http.post(
        f"/api/v1/meetings/{room['meeting']['id']}/participants/{room['alice_row']['id']}/remove",
        headers=room["host"],
    )
    assert removed.status_code == 200, removed.text
    await split["alice"].expect("removed")
    await split["alice"].close_code()
    refused = await call(room["site"], room["meeting"], "return", room["alice"])
    assert refused.status_code == 404, refused.text
