"""Polls through the API (issue 18): counting, changing a vote, closing, the 422s, who sees
results and votes, anonymity in every answer and every event for the room, guests and
outsiders, the CSV."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
from sqlalchemy import select

from parley.core.contracts import SIGNALING_COMMANDS
from parley.meetings.models import PollBallot
from tests.support.api import Account, Api, Cast, client_for
from tests.support.meetings import MEETINGS, create_meeting, joined
from tests.support.problems import assert_problem

POLL = {"question": "Lunch?", "options": ["Pizza", "Sushi", "Salad"]}


async def _live_meeting(api: Api, cast: Cast) -> dict[str, Any]:
    """A live meeting with the host, a participant and a cohost in it."""
    meeting = await create_meeting(api, cast.host)
    url = f"{MEETINGS}/{meeting['id']}"
    meeting["host_row"] = (await joined(api, meeting["id"], cast.host))["participant"]
    meeting["part_row"] = (await joined(api, meeting["id"], cast.participant))["participant"]
    cohost = (await joined(api, meeting["id"], cast.cohost))["participant"]
    response = await api.http.patch(
        f"{url}/participants/{cohost['id']}", json={"role": "cohost"}, headers=cast.host.headers
    )
    assert response.status_code == 200, response.text
    meeting["cohost_row"] = cohost
    return meeting


async def _poll(api: Api, meeting: dict, who: Account, **fields: Any) -> dict[str, Any]:
    response = await api.http.post(
        f"{MEETINGS}/{meeting['id']}/polls", json={**POLL, **fields}, headers=who.headers
    )
    assert response.status_code == 201, response.text
    return response.json()


async def _vote(api: Api, meeting: dict, poll: dict, who: Account, *options: int) -> httpx.Response:
    return await api.http.post(
        f"{MEETINGS}/{meeting['id']}/polls/{poll['id']}/votes",
        json={"options": list(options)},
        headers=who.headers,
    )


async def _listed(api: Api, meeting: dict, who: Account, poll: dict) -> dict[str, Any]:
    response = await api.http.get(f"{MEETINGS}/{meeting['id']}/polls", headers=who.headers)
    assert response.status_code == 200, response.text
    (found,) = [p for p in response.json() if p["id"] == poll["id"]]
    return found


async def _close(api: Api, meeting: dict, poll: dict, who: Account) -> httpx.Response:
    return await api.http.post(
        f"{MEETINGS}/{meeting['id']}/polls/{poll['id']}/close", headers=who.headers
    )


async def _events(api: Api, meeting: dict) -> list[dict[str, str]]:
    entries = await api.app.state.kv.xrevrange(SIGNALING_COMMANDS, count=1000)
    return [
        fields
        for _, fields in reversed(entries)
        if fields.get("meeting_id") == meeting["id"] and fields.get("cmd") == "poll"
    ]


async def test_single_choice_votes_are_counted(api: Api, cast: Cast) -> None:
    meeting = await _live_meeting(api, cast)
    poll = await _poll(api, meeting, cast.host)
    assert poll["status"] == "open" and poll["results"] == [0, 0, 0]
    assert poll["multiple"] is False and poll["anonymous"] is False
    for who, option in ((cast.host, 1), (cast.participant, 1), (cast.cohost, 2)):
        assert (await _vote(api, meeting, poll, who, option)).status_code == 200
    seen = await _listed(api, meeting, cast.host, poll)
    assert seen["results"] == [0, 2, 1] and seen["voters"] == 3
    assert seen["revision"] == 3 and seen["my_vote"] == [1]


async def test_multiple_choice_counts_each_option_chosen(api: Api, cast: Cast) -> None:
    meeting = await _live_meeting(api, cast)
    poll = await _poll(api, meeting, cast.cohost, multiple=True)
    assert (await _vote(api, meeting, poll, cast.participant, 0, 2)).status_code == 200
    assert (await _vote(api, meeting, poll, cast.host, 2)).status_code == 200
    seen = await _listed(api, meeting, cast.cohost, poll)
    assert seen["results"] == [1, 0, 2] and seen["voters"] == 2


async def test_a_vote_can_be_changed_until_the_poll_closes(api: Api, cast: Cast) -> None:
    meeting = await _live_meeting(api, cast)
    poll = await _poll(api, meeting, cast.host, live_results=True)
    first = await _vote(api, meeting, poll, cast.participant, 0)
    assert first.json()["my_vote"] == [0] and first.json()["results"] == [1, 0, 0]
    changed = await _vote(api, meeting, poll, cast.participant, 2)
    assert changed.status_code == 200
    assert changed.json()["results"] == [0, 0, 1] and changed.json()["voters"] == 1
    closed = await _close(api, meeting, poll, cast.host)
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    assert closed.json()["results"] == [0, 0, 1] and closed.json()["closed_at"]
    assert_problem(await _vote(api, meeting, poll, cast.participant, 1), 409, "poll-closed")
    assert_problem(await _close(api, meeting, poll, cast.host), 409, "poll-closed")
    after = await _listed(api, meeting, cast.participant, poll)
    assert after["results"] == [0, 0, 1] and "my_vote" not in after


async def test_bad_votes_and_bad_polls_are_422(api: Api, cast: Cast) -> None:
    meeting = await _live_meeting(api, cast)
    poll = await _poll(api, meeting, cast.host)
    assert_problem(await _vote(api, meeting, poll, cast.participant, 3), 422, "invalid-vote")
    assert_problem(await _vote(api, meeting, poll, cast.participant, 0, 1), 422, "invalid-vote")
    multiple = await _poll(api, meeting, cast.host, multiple=True)
    assert_problem(await _vote(api, meeting, multiple, cast.participant, 1, 1), 422)
    for options in ([], [-1], [10]):
        assert_problem(await _vote(api, meeting, poll, cast.participant, *options), 422)
    url = f"{MEETINGS}/{meeting['id']}/polls"
    for body in (
        {**POLL, "options": ["Only one"]},
        {**POLL, "options": [f"Option {n}" for n in range(11)]},
        {**POLL, "options": ["Fine", "   "]},
        {**POLL, "options": ["Fine", "x" * 101]},
        {**POLL, "question": ""},
        {**POLL, "question": "q" * 301},
        {**POLL, "question": "Bad\x00"},
        {**POLL, "multiple": "yes"},
        {**POLL, "extra": 1},
    ):
        response = await api.http.post(url, json=body, headers=cast.host.headers)
        assert_problem(response, 422)
    assert (await _listed(api, meeting, cast.host, poll))["results"] == [0, 0, 0]


async def test_only_hosts_and_cohosts_launch_and_close(api: Api, cast: Cast) -> None:
    meeting = await _live_meeting(api, cast)
    response = await api.http.post(
        f"{MEETINGS}/{meeting['id']}/polls", json=POLL, headers=cast.participant.headers
    )
    assert_problem(response, 403, "moderator-required")
    poll = await _poll(api, meeting, cast.cohost)
    assert_problem(await _close(api, meeting, poll, cast.participant), 403, "moderator-required")
    assert (await _close(api, meeting, poll, cast.cohost)).status_code == 200


async def test_results_are_shown_to_whom_the_rules_say(api: Api, cast: Cast) -> None:
    meeting = await _live_meeting(api, cast)
    hidden = await _poll(api, meeting, cast.host)
    live = await _poll(api, meeting, cast.host, live_results=True)
    for poll in (hidden, live):
        assert (await _vote(api, meeting, poll, cast.participant, 0)).status_code == 200
    mine = await _listed(api, meeting, cast.participant, hidden)
    assert "results" not in mine and "voters" not in mine and mine["my_vote"] == [0]
    voted = await _vote(api, meeting, hidden, cast.participant, 1)
    assert "results" not in voted.json()
    assert (await _listed(api, meeting, cast.participant, live))["results"] == [1, 0, 0]
    for moderator in (cast.host, cast.cohost):
        assert (await _listed(api, meeting, moderator, hidden))["results"] == [0, 1, 0]
    await _close(api, meeting, hidden, cast.host)
    assert (await _listed(api, meeting, cast.participant, hidden))["results"] == [0, 1, 0]
    # Named poll: who voted what goes to hosts and cohosts, never to participants.
    votes = (await _listed(api, meeting, cast.cohost, live))["votes"]
    assert votes == [
        {
            "participant_id": meeting["part_row"]["id"],
            "display_name": meeting["part_row"]["display_name"],
            "options": [0],
        }
    ]
    assert "votes" not in await _listed(api, meeting, cast.participant, live)
    # The room hears counts for a poll without live results only through its moderators.
    audiences = {
        (e["event"], e["audience"], json.loads(e["poll"]).get("poll_id"))
        for e in await _events(api, meeting)
    }
    assert ("results", "moderators", hidden["id"]) in audiences
    assert ("results", "everyone", live["id"]) in audiences
    assert ("closed", "everyone", hidden["id"]) in audiences
    assert ("results", "everyone", hidden["id"]) not in audiences


async def test_anonymous_polls_never_tell_who_voted_what(api: Api, cast: Cast) -> None:
    meeting = await _live_meeting(api, cast)
    poll = await _poll(api, meeting, cast.host, anonymous=True, live_results=True)
    assert "votes" not in poll
    await _vote(api, meeting, poll, cast.participant, 2)
    await _vote(api, meeting, poll, cast.cohost, 0)
    voted = await _vote(api, meeting, poll, cast.host, 2)
    assert "votes" not in voted.json()
    for who in (cast.host, cast.cohost, cast.participant, cast.admin):
        seen = await _listed(api, meeting, who, poll)
        assert "votes" not in seen and seen["results"] == [1, 0, 2]
    csv_url = f"{MEETINGS}/{meeting['id']}/polls/{poll['id']}/results.csv"
    sheet = (await api.http.get(csv_url, headers=cast.host.headers)).text
    names = [meeting[row]["display_name"] for row in ("host_row", "part_row", "cohost_row")]
    ids = [meeting[row]["id"] for row in ("host_row", "part_row", "cohost_row")]
    ids += [cast.host.id, cast.participant.id, cast.cohost.id]
    for text in [sheet, *[json.dumps(e) for e in await _events(api, meeting)]]:
        assert not [n for n in names + ids if n in text], text
    # The stored ballots: a keyed tag and a choice, nothing that names the voter.
    async with api.app.state.db.sessionmaker() as session:
        ballots = (
            await session.scalars(
                select(PollBallot).where(PollBallot.poll_id == uuid.UUID(poll["id"]))
            )
        ).all()
        assert len(ballots) == 3
        for ballot in ballots:
            assert ballot.participant_id is None and ballot.display_name is None
            assert len(ballot.voter_tag) == 64 and not [i for i in ids if i in ballot.voter_tag]
    closed = await _close(api, meeting, poll, cast.host)
    assert closed.json()["results"] == [1, 0, 2] and "votes" not in closed.json()
    async with api.app.state.db.sessionmaker() as session:
        left = await session.scalars(
            select(PollBallot).where(PollBallot.poll_id == uuid.UUID(poll["id"]))
        )
        assert left.all() == []  # only the counts outlive an anonymous poll
    assert (await _listed(api, meeting, cast.participant, poll))["results"] == [1, 0, 2]


async def test_outsiders_can_neither_vote_nor_read(api: Api, cast: Cast) -> None:
    meeting = await _live_meeting(api, cast)
    poll = await _poll(api, meeting, cast.host, live_results=True)
    url = f"{MEETINGS}/{meeting['id']}/polls"
    assert_problem(await api.http.get(url, headers=cast.other.headers), 404, "meeting-not-found")
    assert_problem(await _vote(api, meeting, poll, cast.other, 0), 404, "meeting-not-found")
    assert_problem(await api.http.get(url), 401)
    csv_url = f"{url}/{poll['id']}/results.csv"
    assert_problem(await api.http.get(csv_url, headers=cast.other.headers), 404)
    assert_problem(await api.http.get(csv_url, headers=cast.participant.headers), 403)
    # An admin reads (every gate lets them through) but, not being in the meeting, does not vote.
    assert_problem(await _vote(api, meeting, poll, cast.admin, 0), 403, "not-a-voter")
    # Someone removed is an outsider again.
    await api.http.post(
        f"{MEETINGS}/{meeting['id']}/participants/{meeting['part_row']['id']}/remove",
        headers=cast.host.headers,
    )
    assert_problem(await _vote(api, meeting, poll, cast.participant, 0), 404)
    assert_problem(await api.http.get(url, headers=cast.participant.headers), 404)


async def test_guests_in_the_meeting_vote_and_guests_outside_do_not(api: Api, cast: Cast) -> None:
    meeting = await _live_meeting(api, cast)
    poll = await _poll(api, meeting, cast.host, live_results=True)
    url = f"{MEETINGS}/{meeting['id']}/polls"
    async with client_for(api.app) as gina, client_for(api.app) as mallory:
        joining = await gina.post(
            f"{MEETINGS}/{meeting['id']}/join", json={"display_name": "Guest Gina"}
        )
        guest = joining.json()["participant"]
        query = {"participant_id": guest["id"]}
        voted = await gina.post(f"{url}/{poll['id']}/votes", params=query, json={"options": [1]})
        assert voted.status_code == 200, voted.text
        assert voted.json()["my_vote"] == [1] and voted.json()["results"] == [0, 1, 0]
        listed = await gina.get(url, params=query)
        assert listed.status_code == 200 and listed.json()[0]["results"] == [0, 1, 0]
        # A guest of another meeting (or none) holding Gina's participant id gets nowhere.
        await mallory.post(f"{MEETINGS}/{meeting['id']}/join", json={"display_name": "Mallory"})
        for response in (
            await mallory.get(url, params=query),
            await mallory.post(f"{url}/{poll['id']}/votes", params=query, json={"options": [0]}),
        ):
            assert_problem(response, 404, "meeting-not-found")
        assert_problem(
            await mallory.get(url, params={"participant_id": meeting["part_row"]["id"]}), 404
        )
    named = await _listed(api, meeting, cast.host, poll)
    assert named["votes"] == [
        {"participant_id": guest["id"], "display_name": "Guest Gina", "options": [1]}
    ]


async def test_polls_need_a_live_meeting_and_close_when_it_ends(api: Api, cast: Cast) -> None:
    scheduled = await create_meeting(api, cast.host)
    response = await api.http.post(
        f"{MEETINGS}/{scheduled['id']}/polls", json=POLL, headers=cast.host.headers
    )
    assert_problem(response, 409, "meeting-not-live")
    meeting = await _live_meeting(api, cast)
    poll = await _poll(api, meeting, cast.host, anonymous=True)
    await _vote(api, meeting, poll, cast.participant, 0)
    ended = await api.http.post(f"{MEETINGS}/{meeting['id']}/end", headers=cast.host.headers)
    assert ended.status_code == 200
    assert_problem(await _vote(api, meeting, poll, cast.cohost, 1), 409, "poll-closed")
    after = await _listed(api, meeting, cast.participant, poll)
    assert after["status"] == "closed" and after["results"] == [1, 0, 0]


async def test_hosts_download_the_results_as_csv(api: Api, cast: Cast) -> None:
    meeting = await _live_meeting(api, cast)
    poll = await _poll(api, meeting, cast.host, question="=cmd|' /C calc'!A0")
    await _vote(api, meeting, poll, cast.participant, 1)
    await _vote(api, meeting, poll, cast.cohost, 1)
    response = await api.http.get(
        f"{MEETINGS}/{meeting['id']}/polls/{poll['id']}/results.csv", headers=cast.host.headers
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    lines = response.text.splitlines()
    assert lines[0] == "question,status,anonymous,option,votes,voters"
    assert len(lines) == 4
    assert lines[2].startswith("'=cmd|' /C calc'!A0,open,no,Sushi,2,")  # a formula no more
    for row in ("part_row", "cohost_row"):
        assert meeting[row]["display_name"] in lines[2]
