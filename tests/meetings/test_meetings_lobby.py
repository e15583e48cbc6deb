"""The waiting room is a door, not a formality (issue 13, item 1).

Only admission (or a join past no lobby) makes someone a member of a meeting. A knocker who is
denied, or who is still waiting when the meeting ends, stays an outsider: 404 for everything of
that meeting (which is also what media-service and ai-service are told when they ask on the
caller's behalf), nothing of it in their list, and the lobby again if they knock again.
"""

from __future__ import annotations

import uuid

from parley.meetings import tasks
from parley.meetings.models import Participant
from tests.support.api import Account, Api, Cast
from tests.support.meetings import (
    MEETINGS,
    assert_outsider,
    create_meeting,
    joined,
    knock,
)


async def _lobby_meeting(api: Api, cast: Cast) -> dict:
    meeting = await create_meeting(api, cast.host, settings={"waiting_room": True})
    await joined(api, meeting["id"], cast.host)
    await api.http.post(f"{MEETINGS}/{meeting['id']}/recordings", headers=cast.host.headers)
    return meeting


async def _deny(api: Api, host: Account, meeting_id: str, participant_id: str) -> None:
    response = await api.http.post(
        f"{MEETINGS}/{meeting_id}/participants/{participant_id}/deny", headers=host.headers
    )
    assert response.status_code == 200, response.text


async def test_a_denied_knocker_is_an_outsider(api: Api, cast: Cast) -> None:
    meeting = await _lobby_meeting(api, cast)
    knocker = await api.account()
    waiting = await knock(api, meeting["id"], knocker)
    await _deny(api, cast.host, meeting["id"], waiting["id"])
    await assert_outsider(api, meeting["id"], knocker)


async def test_a_denied_knocker_who_knocks_again_waits_again(api: Api, cast: Cast) -> None:
    meeting = await _lobby_meeting(api, cast)
    knocker = await api.account()
    await _deny(api, cast.host, meeting["id"], (await knock(api, meeting["id"], knocker))["id"])
    again = await knock(api, meeting["id"], knocker)
    assert again["status"] == "waiting"
    await assert_outsider(api, meeting["id"], knocker)


async def test_a_knocker_denied_from_the_room_is_an_outsider(api: Api, cast: Cast) -> None:
    """The same rule when the host denies in the live room (signaling's ``deny`` command)."""
    meeting = await _lobby_meeting(api, cast)
    knocker = await api.account()
    waiting = await knock(api, meeting["id"], knocker)
    await tasks._apply(
        api.app, {"cmd": "deny", "meeting_id": meeting["id"], "participant_id": waiting["id"]}
    )
    await assert_outsider(api, meeting["id"], knocker)
    assert (await knock(api, meeting["id"], knocker))["status"] == "waiting"


async def test_a_knocker_still_waiting_when_the_meeting_ends_is_an_outsider(
    api: Api, cast: Cast
) -> None:
    meeting = await _lobby_meeting(api, cast)
    knocker = await api.account()
    await knock(api, meeting["id"], knocker)
    ended = await api.http.post(f"{MEETINGS}/{meeting['id']}/end", headers=cast.host.headers)
    assert ended.status_code == 200
    await assert_outsider(api, meeting["id"], knocker)


async def test_ending_a_meeting_admits_nobody(api: Api, cast: Cast) -> None:
    meeting = await _lobby_meeting(api, cast)
    waiting = await knock(api, meeting["id"], await api.account())
    await api.http.post(f"{MEETINGS}/{meeting['id']}/end", headers=cast.host.headers)
    async with api.app.state.db.sessionmaker() as session:
        row = await session.get(Participant, uuid.UUID(waiting["id"]))
        assert row is not None
        assert row.status == "left" and row.joined_at is None


async def test_a_denied_knocker_does_not_count_as_attending(api: Api, cast: Cast) -> None:
    meeting = await _lobby_meeting(api, cast)
    knocker = await api.account()
    await _deny(api, cast.host, meeting["id"], (await knock(api, meeting["id"], knocker))["id"])
    listed = await api.http.get(MEETINGS, headers=knocker.headers)
    assert meeting["id"] not in [m["id"] for m in listed.json()["items"]]
    stats = (await api.http.get(f"{MEETINGS}/stats", headers=knocker.headers)).json()
    assert stats["meetings_attended"] == 0


async def test_someone_admitted_who_left_still_belongs(api: Api, cast: Cast) -> None:
    """The other side of the rule: leaving after admission keeps the meeting readable."""
    meeting = await _lobby_meeting(api, cast)
    guest_of_honour = await api.account()
    waiting = await knock(api, meeting["id"], guest_of_honour)
    url = f"{MEETINGS}/{meeting['id']}"
    admit = await api.http.post(
        f"{url}/participants/{waiting['id']}/admit", headers=cast.host.headers
    )
    assert admit.status_code == 200
    await api.http.post(f"{url}/leave", headers=guest_of_honour.headers)
    assert (await api.http.get(url, headers=guest_of_honour.headers)).status_code == 200
    assert (await api.http.get(f"{url}/recordings", headers=guest_of_honour.headers)).is_success
    assert (await knock(api, meeting["id"], guest_of_honour))["status"] == "joined"
