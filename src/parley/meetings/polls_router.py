"""meeting-service HTTP API for polls: /api/v1/meetings/{id}/polls (rules in ``polls.py``).

Launching, closing and the CSV go through the meeting API's chain
(``meeting_for_moderator``: hosts and cohosts); reading and voting through
:func:`parley.meetings.poll_access.poll_caller`, the same rule plus guests in the meeting.
Every change is told to the live room on the signaling command stream after it is committed.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Response

from parley.core.deps import KvDep, SessionDep, SettingsDep
from parley.meetings import polls
from parley.meetings.access import MeetingAccess
from parley.meetings.dependencies import meeting_for_moderator
from parley.meetings.poll_access import poll_caller
from parley.meetings.poll_schemas import PollCreate, PollOut, VoteIn

router = APIRouter(prefix="/api/v1/meetings", tags=["polls"])

ModeratorAccess = Annotated[MeetingAccess, Depends(meeting_for_moderator)]
Caller = Annotated[polls.PollCaller, Depends(poll_caller)]


def _as_caller(access: MeetingAccess) -> polls.PollCaller:
    """A host or cohost, as the poll views see them (they read; this is not a vote)."""
    return polls.PollCaller(access.meeting, True, f"user:{access.principal.user_id}", None)


@router.post(
    "/{meeting_id:uuid}/polls",
    status_code=201,
    summary="Launch a poll (hosts and cohosts, live meetings)",
    response_model_exclude_none=True,
)
async def create_poll(
    body: PollCreate,
    access: ModeratorAccess,
    session: SessionDep,
    kv: KvDep,
    settings: SettingsDep,
) -> PollOut:
    """Everyone in the room is shown the poll at once (`poll-opened`)."""
    poll = await polls.create_poll(session, access.meeting, access.principal.user_id, body)
    await polls.tell_room(kv, session, access.meeting, poll, "opened")
    return await polls.view(session, poll, _as_caller(access), settings.secret())


@router.get(
    "/{meeting_id:uuid}/polls",
    summary="The meeting's polls, with results where the caller may see them",
    response_model_exclude_none=True,
)
async def list_polls(caller: Caller, session: SessionDep, settings: SettingsDep) -> list[PollOut]:
    """`results` for hosts and cohosts always, for others with live results or once closed;
    `votes` only for named polls and only to hosts and cohosts; never who voted in an
    anonymous poll. Guests pass `participant_id` (their guest cookie proves it)."""
    secret = settings.secret()
    return [
        await polls.view(session, poll, caller, secret)
        for poll in await polls.polls_of(session, caller.meeting)
    ]


@router.post(
    "/{meeting_id:uuid}/polls/{poll_id:uuid}/votes",
    summary="Vote, or change one's vote (people in the meeting)",
    response_model_exclude_none=True,
)
async def vote(
    poll_id: uuid.UUID,
    body: VoteIn,
    caller: Caller,
    session: SessionDep,
    kv: KvDep,
    settings: SettingsDep,
) -> PollOut:
    """One vote per person, changeable until the poll closes (409 after); 422 for an option
    the poll does not have, or several on a single-choice poll."""
    poll = await polls.poll_of(session, caller.meeting, poll_id)
    secret = settings.secret()
    poll = await polls.vote(session, poll, caller, body.options, secret)
    await polls.tell_room(kv, session, caller.meeting, poll, "results")
    return await polls.view(session, poll, caller, secret)


@router.post(
    "/{meeting_id:uuid}/polls/{poll_id:uuid}/close",
    summary="Close a poll (hosts and cohosts); everyone sees the results",
    response_model_exclude_none=True,
)
async def close_poll(
    poll_id: uuid.UUID,
    access: ModeratorAccess,
    session: SessionDep,
    kv: KvDep,
    settings: SettingsDep,
) -> PollOut:
    poll = await polls.poll_of(session, access.meeting, poll_id)
    poll = await polls.close_poll(session, poll)
    await polls.tell_room(kv, session, access.meeting, poll, "closed")
    return await polls.view(session, poll, _as_caller(access), settings.secret())


@router.get(
    "/{meeting_id:uuid}/polls/{poll_id:uuid}/results.csv",
    response_class=Response,
    summary="A poll's results as CSV (hosts and cohosts)",
    responses={200: {"content": {"text/csv": {}}}},
)
async def results_csv(poll_id: uuid.UUID, access: ModeratorAccess, session: SessionDep) -> Response:
    """One row per option: its votes and, for named polls only, who chose it."""
    await polls.polls_of(session, access.meeting)  # a finished meeting's polls are closed
    poll = await polls.poll_of(session, access.meeting, poll_id)
    body = await polls.results_csv(session, poll)
    name = f"poll-{access.meeting.code}-{str(poll.id)[:8]}.csv"
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


routers = [router]
