"""Ghost participants are released (issue 13, item 7, meetings side).

A join hands out a signaling ticket; signaling-service reports each socket it authenticates
into the room with a ``connected`` command on meeting-service's command stream. A joined row
that has not connected within the ticket's lifetime (plus a margin) never will: it is released
(``left``), so it neither keeps the meeting full nor keeps it from ending idle.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from parley.meetings import participants, stats, tasks
from parley.meetings.models import Meeting, Participant
from tests.support.api import Api, Cast, client_for, running_app
from tests.support.backends import Backend
from tests.support.meetings import MEETINGS, create_meeting, join, joined
from tests.support.problems import assert_problem

TICKET_S = 120  # the default signaling ticket lifetime


def _later(seconds: float) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)


async def _connected(api: Api, meeting_id: str, participant_id: str) -> None:
    await tasks._apply(
        api.app, {"cmd": "connected", "meeting_id": meeting_id, "participant_id": participant_id}
    )


async def _release(api: Api, at: datetime) -> int:
    async with api.app.state.db.sessionmaker() as session:
        return await participants.release_ghosts(session, TICKET_S + tasks.GHOST_MARGIN_S, now=at)


async def _row(api: Api, participant_id: str) -> Participant:
    async with api.app.state.db.sessionmaker() as session:
        row = await session.get(Participant, uuid.UUID(participant_id))
        assert row is not None
        return row


async def test_the_connected_command_records_the_connection(api: Api, cast: Cast) -> None:
    meeting = await create_meeting(api, cast.host)
    me = (await joined(api, meeting["id"], cast.participant))["participant"]
    assert (await _row(api, me["id"])).connected_at is None
    await _connected(api, meeting["id"], me["id"])
    assert (await _row(api, me["id"])).connected_at is not None


async def test_a_join_that_never_connects_is_released_after_the_ticket_expires(
    api: Api, cast: Cast
) -> None:
    meeting = await create_meeting(api, cast.host)
    ghost = (await joined(api, meeting["id"], cast.participant))["participant"]
    await _release(api, _later(TICKET_S - 1))
    assert (await _row(api, ghost["id"])).status == "joined"
    await _release(api, _later(TICKET_S + tasks.GHOST_MARGIN_S + 1))
    row = await _row(api, ghost["id"])
    assert row.status == "left" and row.left_at is not None


async def test_a_connected_participant_is_never_released(api: Api, cast: Cast) -> None:
    meeting = await create_meeting(api, cast.host)
    me = (await joined(api, meeting["id"], cast.participant))["participant"]
    await _connected(api, meeting["id"], me["id"])
    await _release(api, _later(24 * 3600))
    assert (await _row(api, me["id"])).status == "joined"


async def test_ghosts_do_not_keep_a_meeting_full(api: Api, cast: Cast) -> None:
    meeting = await create_meeting(api, cast.host, settings={"max_participants": 2})
    host = (await joined(api, meeting["id"], cast.host))["participant"]
    await _connected(api, meeting["id"], host["id"])
    await joined(api, meeting["id"], cast.participant)  # never connects
    assert_problem(await join(api, meeting["id"], cast.other), 409, "meeting-full")
    await _release(api, _later(TICKET_S + tasks.GHOST_MARGIN_S + 1))
    assert (await join(api, meeting["id"], cast.other)).status_code == 200


async def test_a_meeting_of_ghosts_ends_idle(api: Api, cast: Cast) -> None:
    meeting = await create_meeting(api, cast.host)
    await joined(api, meeting["id"], cast.host)  # the host's tab never connects
    released_at = _later(TICKET_S + tasks.GHOST_MARGIN_S + 1)
    assert await _release(api, released_at) >= 1
    async with api.app.state.db.sessionmaker() as session:
        await stats.end_idle_meetings(session, 60, now=released_at + timedelta(seconds=61))
        ended = await session.get(Meeting, uuid.UUID(meeting["id"]))
        assert ended is not None and ended.status == "ended"


async def test_the_sweep_releases_ghosts_by_itself(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tasks, "GHOST_MARGIN_S", 0)
    settings = backend.settings(
        signaling_token_ttl_s=1, meeting_idle_end_s=1, meeting_sweep_interval_s=0.2
    )
    async with running_app(settings) as app, client_for(app) as client:
        api = Api(app, client)
        host = await api.account()
        meeting = await create_meeting(api, host)
        await joined(api, meeting["id"], host)
        status = None
        for _ in range(60):
            await asyncio.sleep(0.1)
            response = await api.http.get(f"{MEETINGS}/{meeting['id']}", headers=host.headers)
            status = response.json()["status"]
            if status == "ended":
                break
        assert status == "ended"
