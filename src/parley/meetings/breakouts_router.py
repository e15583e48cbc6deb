"""meeting-service HTTP API for breakout rooms: /api/v1/meetings/{id}/breakouts, always under
the MAIN meeting (rules in ``breakouts.py``, the clock in ``breakout_timers.py``).

Setting up, opening, closing, moving, renaming and broadcasting are for hosts and cohosts;
reading, entering a room, coming back and asking for help for everyone admitted to the
meeting, guests with their ``participant_id`` and guest cookie (``breakout_access.py``).
What changes is told to the rooms on the signaling command stream after it is committed.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from parley.core.deps import KvDep, SessionDep, SettingsDep, SignerDep
from parley.meetings import breakout_timers, breakouts
from parley.meetings.breakout_access import BreakoutCaller, breakout_caller, moderator_caller
from parley.meetings.breakout_schemas import (
    BreakoutsCreate,
    BreakoutsOut,
    BroadcastIn,
    CloseIn,
    HelpIn,
    RoomUpdate,
)
from parley.meetings.rejoin_schemas import JoinedOut

router = APIRouter(prefix="/api/v1/meetings", tags=["breakouts"])

Caller = Annotated[BreakoutCaller, Depends(breakout_caller)]
Moderator = Annotated[BreakoutCaller, Depends(moderator_caller)]
PATH = "/{meeting_id:uuid}/breakouts"


def _avatar(caller: BreakoutCaller) -> str:
    return caller.principal.avatar if caller.principal is not None else ""


@router.post(
    PATH,
    status_code=201,
    summary="Set up breakout rooms (hosts and cohosts, live meetings)",
    response_model_exclude_unset=True,
)
async def create_breakouts(
    body: BreakoutsCreate,
    caller: Moderator,
    session: SessionDep,
    kv: KvDep,
) -> BreakoutsOut:
    """1 to 50 rooms; nobody moves until `open`. `manual`: `assignments` (main-meeting
    participant id → room index); `auto`: the joined participants (not hosts or cohosts) are
    spread evenly and at random; `self`: participants choose their room once open. 409 while
    another session is not closed; 422 for a room index or participant that does not exist."""
    owner = caller.principal.user_id if caller.principal else str(caller.meeting.host_id)
    breakout = await breakouts.create(session, caller.meeting, owner, body)
    await breakouts.updated(kv, caller.meeting, breakout)
    return await breakouts.view(session, breakout, caller)


@router.get(
    PATH,
    summary="The breakout rooms: who is where, and the times",
    response_model_exclude_unset=True,
)
async def get_breakouts(caller: Caller, session: SessionDep) -> BreakoutsOut:
    """The meeting's newest session (404 `no-breakouts` when it never had one). Hosts and
    cohosts see every room's participants and who is unassigned; everyone else the rooms'
    names, the times, their own room (`my_room`) and who is in it."""
    breakout = await breakouts.current(session, caller.meeting)
    return await breakouts.view(session, breakout, caller)


@router.post(
    f"{PATH}/open",
    summary="Open the breakout rooms: everyone assigned is sent to theirs",
    response_model_exclude_unset=True,
)
async def open_breakouts(
    caller: Moderator,
    request: Request,
    session: SessionDep,
    kv: KvDep,
    signer: SignerDep,
    settings: SettingsDep,
) -> BreakoutsOut:
    """Each assigned participant in the main room gets `breakout-move` with a ticket for
    their room on their own connection; `ends_at` is set when the session has a duration."""
    breakout = await breakouts.current(session, caller.meeting)
    ctx = breakouts.Context(session, kv, signer, settings)
    await breakouts.open_rooms(ctx, caller.meeting, breakout)
    breakout_timers.follow(request.app, breakout)
    return await breakouts.view(session, breakout, caller)


@router.post(
    f"{PATH}/close",
    summary="Close the breakout rooms (after a countdown everyone sees, or at once)",
    response_model_exclude_unset=True,
)
async def close_breakouts(
    caller: Moderator,
    request: Request,
    session: SessionDep,
    kv: KvDep,
    signer: SignerDep,
    settings: SettingsDep,
    body: CloseIn | None = None,
) -> BreakoutsOut:
    """Everyone in every room and in the main room gets `breakout-closing` (`closes_at`,
    `seconds`); when it runs out (at once with `now: true`) the rooms end: whoever is still
    in one gets `meeting-ended` and comes back with `POST .../breakouts/return`."""
    breakout = await breakouts.current(session, caller.meeting)
    ctx = breakouts.Context(session, kv, signer, settings)
    await breakouts.close(ctx, caller.meeting, breakout, now=bool(body and body.now))
    await session.refresh(breakout)
    breakout_timers.follow(request.app, breakout)
    return await breakouts.view(session, breakout, caller)


@router.post(
    f"{PATH}/broadcast",
    status_code=204,
    summary="A message shown in every breakout room (hosts and cohosts)",
)
async def broadcast(
    body: BroadcastIn,
    caller: Moderator,
    session: SessionDep,
    kv: KvDep,
    signer: SignerDep,
    settings: SettingsDep,
) -> Response:
    """Everyone in every breakout room gets `breakout-broadcast` (`text`, `from`)."""
    breakout = await breakouts.current(session, caller.meeting)
    ctx = breakouts.Context(session, kv, signer, settings)
    await breakouts.broadcast(ctx, breakout, body.text, caller.name)
    return Response(status_code=204)


@router.post(
    f"{PATH}/return",
    summary="The ticket back into the main meeting",
)
async def come_back(
    caller: Caller,
    session: SessionDep,
    kv: KvDep,
    signer: SignerDep,
    settings: SettingsDep,
) -> JoinedOut:
    """The caller's own participant of the main meeting, back in (no lobby, no password):
    hosts and cohosts always; others when the session allows going back early, is closing
    or closed, or a host moved them back. 403 `breakout-return-refused` otherwise."""
    ctx = breakouts.Context(session, kv, signer, settings)
    return await breakouts.come_back(ctx, caller.meeting, caller, _avatar(caller))


@router.post(
    f"{PATH}/help",
    status_code=204,
    summary="Ask the hosts for help from a breakout room",
)
async def ask_help(
    caller: Caller,
    session: SessionDep,
    kv: KvDep,
    signer: SignerDep,
    settings: SettingsDep,
    body: HelpIn | None = None,
) -> Response:
    """Every host and cohost (in the main room or visiting a room) gets `breakout-help`
    naming the room and who asks; once per 30 s per person (429 `help-rate-limited`)."""
    breakout = await breakouts.current(session, caller.meeting)
    ctx = breakouts.Context(session, kv, signer, settings)
    await breakouts.ask_help(ctx, caller.meeting, breakout, caller, body.room_id if body else None)
    return Response(status_code=204)


@router.patch(
    f"{PATH}/{{room_id:uuid}}",
    summary="Rename a breakout room, or move someone (hosts and cohosts)",
    response_model_exclude_unset=True,
)
async def update_room(
    room_id: uuid.UUID,
    body: RoomUpdate,
    caller: Moderator,
    session: SessionDep,
    kv: KvDep,
    signer: SignerDep,
    settings: SettingsDep,
) -> BreakoutsOut:
    """`move: {participant_id, to}`: to a room index, or `null` for the main room. While the
    rooms are open the person is told at once (`breakout-move` or `breakout-return`)."""
    breakout = await breakouts.current(session, caller.meeting)
    room = await breakouts.room_of(session, breakout, room_id)
    ctx = breakouts.Context(session, kv, signer, settings)
    await breakouts.update_room(ctx, caller.meeting, breakout, room, body)
    return await breakouts.view(session, breakout, caller)


@router.post(
    f"{PATH}/{{room_id:uuid}}/join",
    summary="The ticket into a breakout room",
)
async def enter_room(
    room_id: uuid.UUID,
    caller: Caller,
    session: SessionDep,
    kv: KvDep,
    signer: SignerDep,
    settings: SettingsDep,
) -> JoinedOut:
    """Hosts and cohosts visit any room while the rooms are open (keeping their role there);
    a participant enters their assigned room, or any room when they choose their own
    (`self`). The same answer as `POST /meetings/{id}/join`, for a participant of the room."""
    breakout = await breakouts.current(session, caller.meeting)
    room = await breakouts.room_of(session, breakout, room_id)
    ctx = breakouts.Context(session, kv, signer, settings)
    return await breakouts.enter(ctx, caller.meeting, breakout, caller, room, _avatar(caller))


routers = [router]
