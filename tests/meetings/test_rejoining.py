"""Coming back as the same participant (issue 16, item 4, meetings side): the rejoin credential
a join hands out, what it is good for, and when it stops working."""

from __future__ import annotations

from typing import Any

import httpx
import jwt

from parley.meetings import tasks
from tests.support.api import JWT_SECRET, Api, Cast, client_for
from tests.support.meetings import MEETINGS, create_meeting, joined
from tests.support.problems import assert_problem


def _claims(body: dict[str, Any]) -> dict[str, Any]:
    token = body["signaling"]["token"]
    claims: dict[str, Any] = jwt.decode(
        token, JWT_SECRET, algorithms=["HS256"], audience="signaling"
    )
    return claims


async def _rejoin(
    http: httpx.AsyncClient,
    meeting_id: str,
    participant_id: str,
    token: str,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    return await http.post(
        f"{MEETINGS}/{meeting_id}/rejoin",
        json={"participant_id": participant_id, "token": token},
        headers=headers or {},
    )


async def _signaling_says(api: Api, command: str, meeting_id: str, pid: str, **extra: str) -> None:
    await tasks._apply(
        api.app, {"cmd": command, "meeting_id": meeting_id, "participant_id": pid, **extra}
    )


async def test_a_join_hands_out_a_rejoin_credential(api: Api, cast: Cast) -> None:
    meeting = await create_meeting(api, cast.host)
    body = await joined(api, meeting["id"], cast.participant)
    assert len(body["rejoin"]["token"]) >= 32
    assert body["rejoin"]["expires_in"] > 3600
    assert _claims(body)["rejoin"] is False


async def test_a_user_comes_back_as_the_same_participant(api: Api, cast: Cast) -> None:
    meeting = await create_meeting(api, cast.host)
    first = await joined(api, meeting["id"], cast.participant)
    pid = first["participant"]["id"]
    response = await _rejoin(
        api.http, meeting["id"], pid, first["rejoin"]["token"], cast.participant.headers
    )
    assert response.status_code == 200, response.text
    again = response.json()
    assert again["participant"]["id"] == pid
    assert again["participant"]["status"] == "joined"
    claims = _claims(again)
    assert claims["sub"] == pid and claims["rejoin"] is True
    assert claims["jti"] != _claims(first)["jti"]
    assert again["rejoin"]["token"] != first["rejoin"]["token"]
    rows = (
        await api.http.get(f"{MEETINGS}/{meeting['id']}/participants", headers=cast.host.headers)
    ).json()
    assert [r["id"] for r in rows if r["user_id"] == cast.participant.id] == [pid]


async def test_a_credential_works_once_and_its_successor_then(api: Api, cast: Cast) -> None:
    meeting = await create_meeting(api, cast.host)
    first = await joined(api, meeting["id"], cast.participant)
    pid, token = first["participant"]["id"], first["rejoin"]["token"]
    headers = cast.participant.headers
    second = await _rejoin(api.http, meeting["id"], pid, token, headers)
    assert second.status_code == 200
    assert_problem(
        await _rejoin(api.http, meeting["id"], pid, token, headers), 403, "rejoin-refused"
    )
    rotated = second.json()["rejoin"]["token"]
    third = await _rejoin(api.http, meeting["id"], pid, rotated, headers)
    assert third.status_code == 200
    assert_problem(
        await _rejoin(api.http, meeting["id"], pid, rotated, headers), 403, "rejoin-refused"
    )


async def test_a_new_join_retires_the_credential_it_replaces_only_for_its_own_row(
    api: Api, cast: Cast
) -> None:
    meeting = await create_meeting(api, cast.host)
    tab_a = await joined(api, meeting["id"], cast.participant)
    tab_b = await joined(api, meeting["id"], cast.participant)
    headers = cast.participant.headers
    # Each tab's credential is for its own participant, not the other's.
    crossed = await _rejoin(
        api.http, meeting["id"], tab_b["participant"]["id"], tab_a["rejoin"]["token"], headers
    )
    assert_problem(crossed, 403, "rejoin-refused")
    for tab in (tab_a, tab_b):
        ok = await _rejoin(
            api.http, meeting["id"], tab["participant"]["id"], tab["rejoin"]["token"], headers
        )
        assert ok.status_code == 200


async def test_only_the_same_user_may_use_it(api: Api, cast: Cast) -> None:
    meeting = await create_meeting(api, cast.host)
    first = await joined(api, meeting["id"], cast.participant)
    pid, token = first["participant"]["id"], first["rejoin"]["token"]
    assert_problem(
        await _rejoin(api.http, meeting["id"], pid, token, cast.other.headers),
        403,
        "rejoin-refused",
    )
    assert_problem(await _rejoin(api.http, meeting["id"], pid, token), 403, "rejoin-refused")
    # Refusing someone else did not spend it: its owner still comes back.
    owner = await _rejoin(api.http, meeting["id"], pid, token, cast.participant.headers)
    assert owner.status_code == 200


async def test_a_guest_comes_back_from_the_same_browser_only(api: Api, cast: Cast) -> None:
    meeting = await create_meeting(api, cast.host)
    url = f"{MEETINGS}/{meeting['id']}"
    async with client_for(api.app) as browser, client_for(api.app) as other_browser:
        first = (await browser.post(f"{url}/join", json={"display_name": "Gina"})).json()
        pid, token = first["participant"]["id"], first["rejoin"]["token"]
        assert_problem(
            await _rejoin(other_browser, meeting["id"], pid, token), 403, "rejoin-refused"
        )
        back = await _rejoin(browser, meeting["id"], pid, token)
        assert back.status_code == 200, back.text
        assert back.json()["participant"]["display_name"] == "Gina"
        assert _claims(back.json())["role"] == "guest"


async def test_refused_after_leaving_for_good_kept_after_a_drop(api: Api, cast: Cast) -> None:
    meeting = await create_meeting(api, cast.host)
    mid = meeting["id"]
    first = await joined(api, mid, cast.participant)
    pid, headers = first["participant"]["id"], cast.participant.headers
    await _signaling_says(api, "connected", mid, pid)
    # The resume window ran out: the row is left, the credential is kept.
    await _signaling_says(api, "left", mid, pid, why="dropped")
    back = await _rejoin(api.http, mid, pid, first["rejoin"]["token"], headers)
    assert back.status_code == 200, back.text
    assert back.json()["participant"]["status"] == "joined"
    assert back.json()["participant"]["left_at"] is None
    # Closed the room (code 1000): gone for good.
    await _signaling_says(api, "left", mid, pid)
    assert_problem(
        await _rejoin(api.http, mid, pid, back.json()["rejoin"]["token"], headers),
        403,
        "rejoin-refused",
    )


async def test_refused_after_post_leave(api: Api, cast: Cast) -> None:
    meeting = await create_meeting(api, cast.host)
    first = await joined(api, meeting["id"], cast.participant)
    pid, headers = first["participant"]["id"], cast.participant.headers
    left = await api.http.post(
        f"{MEETINGS}/{meeting['id']}/leave", json={"participant_id": pid}, headers=headers
    )
    assert left.status_code == 204
    assert_problem(
        await _rejoin(api.http, meeting["id"], pid, first["rejoin"]["token"], headers),
        403,
        "rejoin-refused",
    )


async def test_refused_after_removal(api: Api, cast: Cast) -> None:
    meeting = await create_meeting(api, cast.host)
    url = f"{MEETINGS}/{meeting['id']}"
    async with client_for(api.app) as browser:
        first = (await browser.post(f"{url}/join", json={"display_name": "Gina"})).json()
        pid, token = first["participant"]["id"], first["rejoin"]["token"]
        removed = await api.http.post(f"{url}/participants/{pid}/remove", headers=cast.host.headers)
        assert removed.status_code == 200
        refused = await _rejoin(browser, meeting["id"], pid, token)
        assert refused.status_code == 403
    user = await joined(api, meeting["id"], cast.participant)
    upid = user["participant"]["id"]
    # Removed in the room (signaling's command), not over REST.
    await _signaling_says(api, "remove", meeting["id"], upid)
    refused = await _rejoin(
        api.http, meeting["id"], upid, user["rejoin"]["token"], cast.participant.headers
    )
    assert refused.status_code == 403


async def test_a_removed_row_is_refused_whatever_the_store_says(api: Api, cast: Cast) -> None:
    meeting = await create_meeting(api, cast.host)
    first = await joined(api, meeting["id"], cast.participant)
    pid = first["participant"]["id"]
    tab_b = await joined(api, meeting["id"], cast.participant)
    # Removing one tab removes the person: the other tab's credential is refused as well.
    await api.http.post(
        f"{MEETINGS}/{meeting['id']}/participants/{pid}/remove", headers=cast.host.headers
    )
    refused = await _rejoin(
        api.http,
        meeting["id"],
        tab_b["participant"]["id"],
        tab_b["rejoin"]["token"],
        cast.participant.headers,
    )
    assert_problem(refused, 403, "removed")


async def test_refused_after_denial_and_kept_while_waiting(api: Api, cast: Cast) -> None:
    meeting = await create_meeting(api, cast.host, settings={"waiting_room": True})
    mid = meeting["id"]
    knock = await joined(api, mid, cast.participant)
    pid, headers = knock["participant"]["id"], cast.participant.headers
    assert knock["participant"]["status"] == "waiting"
    # A reload in the lobby: back in the lobby, as the same participant.
    again = await _rejoin(api.http, mid, pid, knock["rejoin"]["token"], headers)
    assert again.status_code == 200
    assert again.json()["participant"]["status"] == "waiting"
    assert _claims(again.json())["status"] == "waiting"
    assert _claims(again.json())["rejoin"] is False
    denied = await api.http.post(
        f"{MEETINGS}/{mid}/participants/{pid}/deny", headers=cast.host.headers
    )
    assert denied.status_code == 200
    assert_problem(
        await _rejoin(api.http, mid, pid, again.json()["rejoin"]["token"], headers),
        403,
        "rejoin-refused",
    )


async def test_refused_once_the_meeting_ended(api: Api, cast: Cast) -> None:
    meeting = await create_meeting(api, cast.host)
    first = await joined(api, meeting["id"], cast.participant)
    ended = await api.http.post(f"{MEETINGS}/{meeting['id']}/end", headers=cast.host.headers)
    assert ended.status_code == 200
    refused = await _rejoin(
        api.http,
        meeting["id"],
        first["participant"]["id"],
        first["rejoin"]["token"],
        cast.participant.headers,
    )
    assert_problem(refused, 410, "meeting-finished")


async def test_a_made_up_credential_or_participant_is_refused(api: Api, cast: Cast) -> None:
    meeting = await create_meeting(api, cast.host)
    first = await joined(api, meeting["id"], cast.participant)
    pid, headers = first["participant"]["id"], cast.participant.headers
    made_up = await _rejoin(api.http, meeting["id"], pid, "x" * 43, headers)
    assert_problem(made_up, 403, "rejoin-refused")
    other_meeting = await create_meeting(api, cast.host)
    elsewhere = await _rejoin(api.http, other_meeting["id"], pid, first["rejoin"]["token"], headers)
    assert_problem(elsewhere, 403, "rejoin-refused")
    bad = await api.http.post(
        f"{MEETINGS}/{meeting['id']}/rejoin", json={"participant_id": pid, "token": "a b"}
    )
    assert_problem(bad, 422)
