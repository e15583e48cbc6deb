"""Joining a meeting: users, guests, passwords, capacity, the waiting room, leaving, removal."""

from __future__ import annotations

import jwt

from tests.support.api import JWT_SECRET, Api, Cast, client_for
from tests.support.meetings import MEETINGS, create_meeting, join, joined
from tests.support.problems import assert_problem


async def test_join_returns_a_participant_and_a_signaling_ticket(api: Api, cast: Cast) -> None:
    meeting = await create_meeting(api, cast.host)
    body = await joined(api, meeting["id"], cast.participant)
    participant = body["participant"]
    assert participant["role"] == "participant" and participant["status"] == "joined"
    assert participant["user_id"] == cast.participant.id
    assert participant["display_name"] == cast.participant.user["display_name"]
    assert body["signaling"]["url"] == "/ws/signaling"
    claims = jwt.decode(
        body["signaling"]["token"], JWT_SECRET, algorithms=["HS256"], audience="signaling"
    )
    assert claims["sub"] == participant["id"]
    assert claims["mid"] == meeting["id"]
    assert claims["role"] == "participant"
    assert claims["exp"] - claims["iat"] == 120


async def test_signaling_ticket_is_not_an_access_token(api: Api, cast: Cast) -> None:
    meeting = await create_meeting(api, cast.host)
    ticket = (await joined(api, meeting["id"]))["signaling"]["token"]
    response = await api.http.get(
        f"{MEETINGS}/{meeting['id']}", headers={"Authorization": f"Bearer {ticket}"}
    )
    assert_problem(response, 401)


async def test_first_join_makes_an_instant_meeting_live(api: Api, cast: Cast) -> None:
    meeting = await create_meeting(api, cast.host)
    await joined(api, meeting["id"], cast.participant)
    body = (await api.http.get(f"{MEETINGS}/{meeting['id']}", headers=cast.host.headers)).json()
    assert body["status"] == "live" and body["started_at"]


async def test_host_joins_as_host(api: Api, cast: Cast) -> None:
    meeting = await create_meeting(api, cast.host)
    assert (await joined(api, meeting["id"], cast.host))["participant"]["role"] == "host"


async def test_guest_joins_with_a_display_name(api: Api, cast: Cast) -> None:
    meeting = await create_meeting(api, cast.host)
    participant = (await joined(api, meeting["id"], display_name="Visitor"))["participant"]
    assert participant["role"] == "guest"
    assert participant["user_id"] is None
    assert participant["display_name"] == "Visitor"


async def test_guest_without_a_display_name_is_422(api: Api, cast: Cast) -> None:
    meeting = await create_meeting(api, cast.host)
    response = await api.http.post(f"{MEETINGS}/{meeting['id']}/join", json={})
    assert_problem(response, 422)


async def test_guests_are_refused_when_the_meeting_does_not_allow_them(
    api: Api, cast: Cast
) -> None:
    meeting = await create_meeting(api, cast.host, settings={"allow_guests": False})
    assert_problem(await join(api, meeting["id"]), 401, "sign-in-required")
    assert (await join(api, meeting["id"], cast.participant)).status_code == 200


async def test_wrong_or_missing_password_is_403(api: Api, cast: Cast) -> None:
    meeting = await create_meeting(api, cast.host, password="correct-pw")
    assert_problem(await join(api, meeting["id"], cast.participant), 403, "password-required")
    assert_problem(
        await join(api, meeting["id"], cast.participant, password="nope"), 403, "wrong-password"
    )
    assert (
        await join(api, meeting["id"], cast.participant, password="correct-pw")
    ).status_code == 200


async def test_host_needs_no_password(api: Api, cast: Cast) -> None:
    meeting = await create_meeting(api, cast.host, password="correct-pw")
    assert (await join(api, meeting["id"], cast.host)).status_code == 200


async def test_ended_or_cancelled_meeting_is_410(api: Api, cast: Cast) -> None:
    cancelled = await create_meeting(api, cast.host)
    await api.http.delete(f"{MEETINGS}/{cancelled['id']}", headers=cast.host.headers)
    assert_problem(await join(api, cancelled["id"], cast.participant), 410, "meeting-finished")
    ended = await create_meeting(api, cast.host)
    await joined(api, ended["id"], cast.host)
    await api.http.post(f"{MEETINGS}/{ended['id']}/end", headers=cast.host.headers)
    assert_problem(await join(api, ended["id"]), 410)


async def test_full_meeting_is_409_but_the_host_still_gets_in(api: Api, cast: Cast) -> None:
    meeting = await create_meeting(api, cast.host, settings={"max_participants": 2})
    await joined(api, meeting["id"], cast.participant)
    await joined(api, meeting["id"])
    assert_problem(await join(api, meeting["id"], cast.other), 409, "meeting-full")
    assert (await join(api, meeting["id"], cast.host)).status_code == 200


async def test_waiting_room_holds_participants_until_admitted(api: Api, cast: Cast) -> None:
    meeting = await create_meeting(api, cast.host, settings={"waiting_room": True})
    await joined(api, meeting["id"], cast.host)
    waiting = (await joined(api, meeting["id"], cast.participant))["participant"]
    assert waiting["status"] == "waiting"
    url = f"{MEETINGS}/{meeting['id']}"
    assert_problem(await api.http.get(url, headers=cast.participant.headers), 404)
    admitted = await api.http.post(
        f"{url}/participants/{waiting['id']}/admit", headers=cast.host.headers
    )
    assert admitted.status_code == 200
    assert admitted.json()["status"] == "joined"
    assert (await api.http.get(url, headers=cast.participant.headers)).status_code == 200


async def test_an_admitted_user_skips_the_waiting_room_next_time(api: Api, cast: Cast) -> None:
    meeting = await create_meeting(api, cast.host, settings={"waiting_room": True})
    url = f"{MEETINGS}/{meeting['id']}"
    waiting = (await joined(api, meeting["id"], cast.participant))["participant"]
    await api.http.post(f"{url}/participants/{waiting['id']}/admit", headers=cast.host.headers)
    again = (await joined(api, meeting["id"], cast.participant))["participant"]
    assert again["status"] == "joined"


async def test_denied_participant_is_not_let_in(api: Api, cast: Cast) -> None:
    meeting = await create_meeting(api, cast.host, settings={"waiting_room": True})
    url = f"{MEETINGS}/{meeting['id']}"
    waiting = (await joined(api, meeting["id"]))["participant"]
    denied = await api.http.post(
        f"{url}/participants/{waiting['id']}/deny", headers=cast.host.headers
    )
    assert denied.json()["status"] == "left"
    again = await api.http.post(
        f"{url}/participants/{waiting['id']}/admit", headers=cast.host.headers
    )
    assert_problem(again, 409, "not-waiting")


async def test_removed_user_cannot_come_back(api: Api, cast: Cast) -> None:
    meeting = await create_meeting(api, cast.host)
    url = f"{MEETINGS}/{meeting['id']}"
    first = (await joined(api, meeting["id"], cast.participant))["participant"]
    await joined(api, meeting["id"], cast.participant)  # a second tab
    removed = await api.http.post(
        f"{url}/participants/{first['id']}/remove", headers=cast.host.headers
    )
    assert removed.json()["status"] == "removed"
    people = (await api.http.get(f"{url}/participants", headers=cast.host.headers)).json()
    mine = [p for p in people if p["user_id"] == cast.participant.id]
    assert len(mine) == 2 and {p["status"] for p in mine} == {"removed"}
    assert_problem(await join(api, meeting["id"], cast.participant), 403, "removed")
    assert_problem(await api.http.get(url, headers=cast.participant.headers), 404)


async def test_the_host_cannot_be_removed(api: Api, cast: Cast) -> None:
    meeting = await create_meeting(api, cast.host)
    host_row = (await joined(api, meeting["id"], cast.host))["participant"]
    await joined(api, meeting["id"], cast.cohost)
    url = f"{MEETINGS}/{meeting['id']}"
    response = await api.http.post(
        f"{url}/participants/{host_row['id']}/remove", headers=cast.host.headers
    )
    assert_problem(response, 409, "host-immovable")


async def test_cohost_can_moderate(api: Api, cast: Cast) -> None:
    meeting = await create_meeting(api, cast.host)
    url = f"{MEETINGS}/{meeting['id']}"
    cohost_row = (await joined(api, meeting["id"], cast.cohost))["participant"]
    promoted = await api.http.patch(
        f"{url}/participants/{cohost_row['id']}", json={"role": "cohost"}, headers=cast.host.headers
    )
    assert promoted.json()["role"] == "cohost"
    guest = (await joined(api, meeting["id"]))["participant"]
    removed = await api.http.post(
        f"{url}/participants/{guest['id']}/remove", headers=cast.cohost.headers
    )
    assert removed.status_code == 200


async def test_guests_cannot_be_made_cohosts(api: Api, cast: Cast) -> None:
    meeting = await create_meeting(api, cast.host)
    guest = (await joined(api, meeting["id"]))["participant"]
    response = await api.http.patch(
        f"{MEETINGS}/{meeting['id']}/participants/{guest['id']}",
        json={"role": "cohost"},
        headers=cast.host.headers,
    )
    assert_problem(response, 409, "guest-role")


async def test_participant_of_another_meeting_is_404(api: Api, cast: Cast) -> None:
    first = await create_meeting(api, cast.host)
    second = await create_meeting(api, cast.host)
    stranger = (await joined(api, second["id"]))["participant"]
    response = await api.http.post(
        f"{MEETINGS}/{first['id']}/participants/{stranger['id']}/remove", headers=cast.host.headers
    )
    assert_problem(response, 404, "participant-not-found")


async def test_leave_marks_the_participant_left(api: Api, cast: Cast) -> None:
    meeting = await create_meeting(api, cast.host)
    await joined(api, meeting["id"], cast.participant)
    url = f"{MEETINGS}/{meeting['id']}"
    assert (
        await api.http.post(f"{url}/leave", headers=cast.participant.headers)
    ).status_code == 204
    people = (await api.http.get(f"{url}/participants", headers=cast.host.headers)).json()
    row = next(p for p in people if p["user_id"] == cast.participant.id)
    assert row["status"] == "left" and row["left_at"]


async def test_participants_lists_present_and_past(api: Api, cast: Cast) -> None:
    meeting = await create_meeting(api, cast.host)
    await joined(api, meeting["id"], cast.host)
    await joined(api, meeting["id"], cast.participant)
    url = f"{MEETINGS}/{meeting['id']}"
    await api.http.post(f"{url}/leave", headers=cast.participant.headers)
    people = (await api.http.get(f"{url}/participants", headers=cast.participant.headers)).json()
    assert [(p["role"], p["status"]) for p in people] == [
        ("host", "joined"),
        ("participant", "left"),
    ]


async def test_wrong_meeting_passwords_are_rate_limited(fresh_api: Api) -> None:
    host = await fresh_api.account()
    meeting = await create_meeting(fresh_api, host, password="right-one")
    for _ in range(10):
        await join(fresh_api, meeting["id"], password="wrong")
    response = await join(fresh_api, meeting["id"], password="right-one")
    assert_problem(response, 429, "password-rate-limited")


async def test_a_removed_guest_cannot_rejoin_from_the_same_browser(api: Api, cast: Cast) -> None:
    meeting = await create_meeting(api, cast.host)
    url = f"{MEETINGS}/{meeting['id']}"
    async with client_for(api.app) as browser, client_for(api.app) as other_browser:
        first = await browser.post(f"{url}/join", json={"display_name": "Gina"})
        assert first.status_code == 200 and browser.cookies.get("parley_guest")
        guest = first.json()["participant"]
        removed = await api.http.post(
            f"{url}/participants/{guest['id']}/remove", headers=cast.host.headers
        )
        assert removed.status_code == 200
        again = await browser.post(f"{url}/join", json={"display_name": "Gina again"})
        assert_problem(again, 403)
        assert again.json()["type"].endswith(":removed")
        elsewhere = await other_browser.post(f"{url}/join", json={"display_name": "Hugo"})
        assert elsewhere.status_code == 200
