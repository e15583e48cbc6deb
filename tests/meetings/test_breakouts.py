"""Breakout rooms through the API (issue 18): setting rooms up (manual, auto, self), who may do
what, what each caller sees, the 422s and 409s, the rooms being meetings nobody finds or joins
on their own, and the way back into the main meeting."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx

from parley.core.db import utcnow
from parley.meetings import breakout_timers, stats
from tests.support.api import Account, Api, Cast
from tests.support.meetings import MEETINGS, create_meeting, join, joined
from tests.support.problems import assert_problem

ROOMS = [{"name": "Red"}, {"name": "Blue"}]


async def _live_meeting(api: Api, cast: Cast) -> dict[str, Any]:
    """A live meeting with the host, a participant and a cohost in it."""
    meeting = await create_meeting(api, cast.host)
    meeting["host_row"] = (await joined(api, meeting["id"], cast.host))["participant"]
    meeting["part_row"] = (await joined(api, meeting["id"], cast.participant))["participant"]
    cohost = (await joined(api, meeting["id"], cast.cohost))["participant"]
    response = await api.http.patch(
        f"{MEETINGS}/{meeting['id']}/participants/{cohost['id']}",
        json={"role": "cohost"},
        headers=cast.host.headers,
    )
    assert response.status_code == 200, response.text
    meeting["cohost_row"] = cohost
    return meeting


def _url(meeting: dict[str, Any], what: str = "") -> str:
    return f"{MEETINGS}/{meeting['id']}/breakouts" + (f"/{what}" if what else "")


async def _create(api: Api, meeting: dict, who: Account, **body: Any) -> httpx.Response:
    body.setdefault("rooms", ROOMS)
    return await api.http.post(_url(meeting), json=body, headers=who.headers)


async def _created(api: Api, meeting: dict, who: Account, **body: Any) -> dict[str, Any]:
    response = await _create(api, meeting, who, **body)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def _guest(api: Api, meeting: dict, name: str) -> dict[str, Any]:
    participant: dict[str, Any] = (await joined(api, meeting["id"], None, display_name=name))[
        "participant"
    ]
    return participant


async def test_manual_assignment_puts_each_named_participant_in_their_room(
    api: Api, cast: Cast
) -> None:
    meeting = await _live_meeting(api, cast)
    session = await _created(
        api, meeting, cast.host, assignments={meeting["part_row"]["id"]: 1}, allow_return=True
    )
    assert session["state"] == "created" and session["assignment"] == "manual"
    assert session["allow_return"] is True and session["duration_s"] is None
    assert [(r["name"], r["index"]) for r in session["rooms"]] == [("Red", 0), ("Blue", 1)]
    red, blue = session["rooms"]
    assert red["participants"] == []
    assert blue["participants"] == [
        {
            "participant_id": meeting["part_row"]["id"],
            "display_name": meeting["part_row"]["display_name"],
        }
    ]


async def test_auto_assignment_spreads_joined_participants_evenly_and_leaves_moderators(
    api: Api, cast: Cast
) -> None:
    meeting = await _live_meeting(api, cast)
    for name in ("Gia", "Gus", "Gem", "Gil"):
        await _guest(api, meeting, name)
    session = await _created(
        api, meeting, cast.host, assignment="auto", rooms=[{"name": n} for n in "ABC"]
    )
    sizes = sorted(len(r["participants"]) for r in session["rooms"])
    assert sizes == [1, 2, 2]  # five participants in three rooms
    seated = {p["participant_id"] for r in session["rooms"] for p in r["participants"]}
    assert meeting["host_row"]["id"] not in seated
    assert meeting["cohost_row"]["id"] not in seated
    assert meeting["part_row"]["id"] in seated
    assert session["unassigned"] == []


async def test_self_assignment_seats_nobody_until_they_choose(api: Api, cast: Cast) -> None:
    meeting = await _live_meeting(api, cast)
    session = await _created(api, meeting, cast.cohost, assignment="self")
    assert all(r["participants"] == [] for r in session["rooms"])
    assert [p["participant_id"] for p in session["unassigned"]] == [meeting["part_row"]["id"]]
    opened = await api.http.post(_url(meeting, "open"), headers=cast.host.headers)
    assert opened.status_code == 200, opened.text
    red = session["rooms"][0]
    chosen = await api.http.post(
        _url(meeting, f"{red['id']}/join"), headers=cast.participant.headers
    )
    assert chosen.status_code == 200, chosen.text
    ticket = chosen.json()
    assert ticket["participant"]["meeting_id"] == red["id"]
    assert ticket["participant"]["role"] == "participant"
    assert ticket["signaling"]["token"] and ticket["rejoin"]["token"]
    mine = await api.http.get(_url(meeting), headers=cast.participant.headers)
    assert mine.json()["my_room"] == 0


async def test_a_participant_sees_room_names_and_only_their_own_room(api: Api, cast: Cast) -> None:
    meeting = await _live_meeting(api, cast)
    gia = await _guest(api, meeting, "Gia")
    await _created(
        api,
        meeting,
        cast.host,
        assignments={meeting["part_row"]["id"]: 0, gia["id"]: 1},
        duration_s=600,
    )
    seen = await api.http.get(_url(meeting), headers=cast.participant.headers)
    assert seen.status_code == 200, seen.text
    body = seen.json()
    assert body["my_room"] == 0 and body["duration_s"] == 600
    red, blue = body["rooms"]
    assert [p["participant_id"] for p in red["participants"]] == [meeting["part_row"]["id"]]
    assert "participants" not in blue and blue["name"] == "Blue"
    assert "unassigned" not in body
    as_guest = await api.http.get(_url(meeting), params={"participant_id": gia["id"]})
    assert as_guest.status_code == 200, as_guest.text
    assert as_guest.json()["my_room"] == 1
    assert "participants" not in as_guest.json()["rooms"][0]


async def test_a_participant_cannot_set_up_open_close_move_or_broadcast(
    api: Api, cast: Cast
) -> None:
    meeting = await _live_meeting(api, cast)
    assert_problem(await _create(api, meeting, cast.participant), 403, "moderator-required")
    session = await _created(api, meeting, cast.host)
    who = cast.participant.headers
    red = session["rooms"][0]["id"]
    for method, path, body in (
        ("POST", "open", None),
        ("POST", "close", {"now": True}),
        ("POST", "broadcast", {"text": "hi"}),
        ("PATCH", red, {"name": "Mine"}),
    ):
        response = await api.http.request(method, _url(meeting, path), json=body, headers=who)
        assert_problem(response, 403, "moderator-required")


async def test_outsiders_get_404_from_every_breakout_endpoint(api: Api, cast: Cast) -> None:
    meeting = await _live_meeting(api, cast)
    session = await _created(api, meeting, cast.host)
    await api.http.post(_url(meeting, "open"), headers=cast.host.headers)
    # A participant removed, a guest denied at the door: outsiders like someone never there.
    removed = (await joined(api, meeting["id"], cast.other))["participant"]
    gone = await api.http.post(
        f"{MEETINGS}/{meeting['id']}/participants/{removed['id']}/remove",
        headers=cast.host.headers,
    )
    assert gone.status_code == 200, gone.text
    await api.http.patch(
        f"{MEETINGS}/{meeting['id']}",
        json={"settings": {"waiting_room": True}},
        headers=cast.host.headers,
    )
    knocker = await _guest(api, meeting, "Kim")
    assert knocker["status"] == "waiting"
    denied = await api.http.post(
        f"{MEETINGS}/{meeting['id']}/participants/{knocker['id']}/deny",
        headers=cast.host.headers,
    )
    assert denied.status_code == 200, denied.text
    red = session["rooms"][0]["id"]
    endpoints = [
        ("GET", "", None),
        ("POST", "", {"rooms": ROOMS}),
        ("POST", "open", None),
        ("POST", "close", None),
        ("POST", "broadcast", {"text": "hi"}),
        ("POST", "help", None),
        ("POST", "return", None),
        ("PATCH", red, {"name": "x"}),
        ("POST", f"{red}/join", None),
    ]
    callers: list[dict[str, Any]] = [
        {"headers": cast.other.headers},  # removed
        {"params": {"participant_id": knocker["id"]}},  # denied guest
    ]
    stranger = await api.account()
    callers.append({"headers": stranger.headers})
    for caller in callers:
        for method, path, body in endpoints:
            response = await api.http.request(method, _url(meeting, path), json=body, **caller)
            assert_problem(response, 404, "meeting-not-found")


async def test_bad_input_is_422_with_what_was_wrong(api: Api, cast: Cast) -> None:
    meeting = await _live_meeting(api, cast)
    part = meeting["part_row"]["id"]
    for body, expected in (
        ({"rooms": []}, "validation"),
        ({"rooms": [{"name": f"R{i}"} for i in range(51)]}, "validation"),
        ({"rooms": [{"name": "  "}]}, "validation"),
        ({"duration_s": 59}, "validation"),
        ({"duration_s": 86401}, "validation"),
        ({"assignment": "random"}, "validation"),
        ({"assignments": {part: 2}}, "invalid-breakout"),
        ({"assignments": {str(uuid.uuid4()): 0}}, "invalid-breakout"),
    ):
        response = await _create(api, meeting, cast.host, **body)
        assert_problem(response, 422, expected)
    session = await _created(api, meeting, cast.host)
    red = session["rooms"][0]["id"]
    moved = await api.http.patch(
        _url(meeting, red),
        json={"move": {"participant_id": part, "to": 7}},
        headers=cast.host.headers,
    )
    assert_problem(moved, 422, "invalid-breakout")
    long = await api.http.post(
        _url(meeting, "broadcast"), json={"text": "x" * 501}, headers=cast.host.headers
    )
    assert_problem(long, 422, "validation")


async def test_one_session_at_a_time(api: Api, cast: Cast) -> None:
    meeting = await _live_meeting(api, cast)
    await _created(api, meeting, cast.host)
    assert_problem(await _create(api, meeting, cast.host), 409, "breakouts-active")
    closed = await api.http.post(_url(meeting, "close"), headers=cast.host.headers)
    assert closed.status_code == 200 and closed.json()["state"] == "closed"
    await _created(api, meeting, cast.host)


async def test_a_meeting_without_breakouts_answers_no_breakouts(api: Api, cast: Cast) -> None:
    meeting = await _live_meeting(api, cast)
    response = await api.http.get(_url(meeting), headers=cast.participant.headers)
    assert_problem(response, 404, "no-breakouts")


async def test_a_breakout_room_is_never_joined_found_or_listed_on_its_own(
    api: Api, cast: Cast
) -> None:
    meeting = await _live_meeting(api, cast)
    session = await _created(api, meeting, cast.host)
    red = session["rooms"][0]["id"]
    assert_problem(await join(api, red, cast.participant), 409, "breakout-room")
    assert_problem(await join(api, red), 409, "breakout-room")
    room = await api.http.get(f"{MEETINGS}/{red}", headers=cast.host.headers)
    assert room.status_code == 200
    by_code = await api.http.get(f"{MEETINGS}/by-code/{room.json()['code']}")
    assert_problem(by_code, 404, "meeting-not-found")
    listed = await api.http.get(MEETINGS, headers=cast.host.headers, params={"page_size": 100})
    ids = [m["id"] for m in listed.json()["items"]]
    assert meeting["id"] in ids and red not in ids
    # Nor managed as a meeting of its own.
    nested = await api.http.get(f"{MEETINGS}/{red}/breakouts", headers=cast.host.headers)
    assert_problem(nested, 404, "meeting-not-found")


async def test_a_participant_goes_back_early_only_when_allowed(api: Api, cast: Cast) -> None:
    meeting = await _live_meeting(api, cast)
    await _created(api, meeting, cast.host, assignments={meeting["part_row"]["id"]: 0})
    await api.http.post(_url(meeting, "open"), headers=cast.host.headers)
    refused = await api.http.post(_url(meeting, "return"), headers=cast.participant.headers)
    assert_problem(refused, 403, "breakout-return-refused")
    host_back = await api.http.post(_url(meeting, "return"), headers=cast.host.headers)
    assert host_back.status_code == 200, host_back.text
    assert host_back.json()["participant"]["id"] == meeting["host_row"]["id"]
    closed = await api.http.post(
        _url(meeting, "close"), json={"now": True}, headers=cast.host.headers
    )
    assert closed.json()["state"] == "closed"
    back = await api.http.post(_url(meeting, "return"), headers=cast.participant.headers)
    assert back.status_code == 200, back.text
    assert back.json()["participant"]["id"] == meeting["part_row"]["id"]
    assert back.json()["participant"]["meeting_id"] == meeting["id"]


async def test_a_participant_enters_only_their_own_room_unless_they_choose(
    api: Api, cast: Cast
) -> None:
    meeting = await _live_meeting(api, cast)
    session = await _created(api, meeting, cast.host, assignments={meeting["part_row"]["id"]: 0})
    red, blue = (r["id"] for r in session["rooms"])
    early = await api.http.post(_url(meeting, f"{red}/join"), headers=cast.participant.headers)
    assert_problem(early, 409, "breakouts-state")
    await api.http.post(_url(meeting, "open"), headers=cast.host.headers)
    other = await api.http.post(_url(meeting, f"{blue}/join"), headers=cast.participant.headers)
    assert_problem(other, 403, "breakout-not-assigned")
    own = await api.http.post(_url(meeting, f"{red}/join"), headers=cast.participant.headers)
    assert own.status_code == 200, own.text
    again = await api.http.post(_url(meeting, f"{red}/join"), headers=cast.participant.headers)
    # One row per person per room, however often they come.
    assert again.json()["participant"]["id"] == own.json()["participant"]["id"]
    visit = await api.http.post(_url(meeting, f"{blue}/join"), headers=cast.cohost.headers)
    assert visit.status_code == 200 and visit.json()["participant"]["role"] == "cohost"


async def test_closing_ends_every_room_with_the_main_meeting_too(api: Api, cast: Cast) -> None:
    meeting = await _live_meeting(api, cast)
    session = await _created(api, meeting, cast.host)
    await api.http.post(_url(meeting, "open"), headers=cast.host.headers)
    ended = await api.http.post(f"{MEETINGS}/{meeting['id']}/end", headers=cast.host.headers)
    assert ended.status_code == 200
    for room in session["rooms"]:
        got = await api.http.get(f"{MEETINGS}/{room['id']}", headers=cast.host.headers)
        assert got.json()["status"] == "ended"
    after = await api.http.get(_url(meeting), headers=cast.host.headers)
    assert after.json()["state"] == "closed"


async def test_a_meeting_whose_people_are_in_breakout_rooms_is_not_idle(
    fresh_api: Api,
) -> None:
    api = fresh_api
    host, part = await api.account(), await api.account()
    meeting = await create_meeting(api, host)
    await joined(api, meeting["id"], host)
    part_row = (await joined(api, meeting["id"], part))["participant"]
    session = await _created(api, meeting, host, assignments={part_row["id"]: 0})
    await api.http.post(_url(meeting, "open"), headers=host.headers)
    red = session["rooms"][0]["id"]
    entered = await api.http.post(_url(meeting, f"{red}/join"), headers=part.headers)
    assert entered.status_code == 200, entered.text
    # Everyone left the main room (the host, and the participant gone to Red).
    await api.http.post(f"{MEETINGS}/{meeting['id']}/leave", headers=host.headers)
    await api.http.post(f"{MEETINGS}/{meeting['id']}/leave", headers=part.headers)
    later = utcnow() + timedelta(hours=1)
    async with api.app.state.db.sessionmaker() as db:
        assert await stats.end_idle_meetings(db, 300, now=later) == 0
    # The last one leaves Red too: the meeting is idle now, and ends with its rooms.
    await api.http.post(f"{MEETINGS}/{red}/leave", headers=part.headers)
    async with api.app.state.db.sessionmaker() as db:
        assert await stats.end_idle_meetings(db, 300, now=later) == 1
    await breakout_timers.sweep(api.app)
    got = await api.http.get(f"{MEETINGS}/{red}", headers=host.headers)
    assert got.json()["status"] == "ended"
