"""meeting-service background work."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import structlog
from fastapi import FastAPI

from parley.core import streams
from parley.core.contracts import MEETING_COMMANDS
from parley.core.errors import ProblemError
from parley.core.tasks import stopping
from parley.meetings import breakout_timers, breakouts, lifecycle, participants, rejoining, stats
from parley.meetings.joining import forget_removed_guest
from parley.meetings.models import Meeting

log = structlog.get_logger("parley.meetings")


# How long past a signaling ticket's lifetime a join may wait for its socket before it is
# released as a ghost: room for a slow network and for the ``connected`` command's journey.
GHOST_MARGIN_S = 30


async def end_idle_meetings(app: FastAPI) -> None:
    """Live meetings everyone has left for ``meeting_idle_end_s`` end by themselves. The state is
    in the database, so meetings left idle across a restart end too. (A meeting whose people
    are in breakout rooms is not idle; the rooms end with their session or with it.)

    Each sweep first releases ghosts (joins whose socket never connected within the ticket's
    lifetime plus :data:`GHOST_MARGIN_S`): they would keep a meeting full and never idle."""
    settings = app.state.settings
    while True:
        try:
            async with app.state.db.sessionmaker() as session:
                grace_s = settings.signaling_token_ttl_s + GHOST_MARGIN_S
                released = await participants.release_ghosts(session, grace_s)
            if released:
                log.info("ghost_participants_released", count=released)
            async with app.state.db.sessionmaker() as session:
                ended = await stats.end_idle_meetings(session, settings.meeting_idle_end_s)
            if ended:
                log.info("idle_meetings_ended", count=ended)
            # Breakout rooms whose time or countdown ran out while no timer of this process
            # watched them (a restart), and those of meetings that ended.
            await breakout_timers.sweep(app)
        except Exception:
            log.exception("idle_meeting_sweep_failed")
            if stopping():
                raise asyncio.CancelledError from None
        await asyncio.sleep(settings.meeting_sweep_interval_s)


GROUP = "meeting-service"


async def _apply(app: FastAPI, fields: dict[str, Any]) -> None:
    """One room event from signaling-service: ``cmd`` connected | left | remove | admit | deny |
    role | end, with ``meeting_id`` and (but for ``end``) ``participant_id``. ``connected`` is
    sent when a participant's socket is authenticated into the room; a dead signaling node's
    peers come as ``left``. A ``left`` with ``why`` = ``dropped`` (the resume window ran out,
    the node died) or ``breakout`` (gone to a breakout room, coming back with
    ``breakouts/return``) keeps the participant's rejoin credential; any other leave revokes
    it. The end of a main meeting ends its breakout rooms."""
    command = fields.get("cmd")
    async with app.state.db.sessionmaker() as session:
        meeting = await session.get(Meeting, uuid.UUID(fields["meeting_id"]))
        if meeting is None:
            return
        if command == "end":
            await lifecycle.end_meeting(session, meeting)
            await rejoining.revoke_meeting(app.state.kv, meeting.id)
            await breakouts.end_with(session, app.state.kv, meeting)
            return
        participant = await participants.participant_of(
            session, meeting, uuid.UUID(fields["participant_id"])
        )
        try:
            if command == "connected":
                await participants.participant_connected(session, meeting, participant)
            elif command == "left":
                await participants.participant_left(session, meeting, participant)
                # Left for good: not lost on the way, nor gone to a breakout room.
                if fields.get("why") not in ("dropped", "breakout"):
                    await rejoining.revoke(app.state.kv, [participant.id])
            elif command == "remove":
                await participants.remove(session, meeting, participant)
                await forget_removed_guest(app.state.kv, meeting, participant)
                await breakouts.follow_removal(session, app.state.kv, meeting, participant)
                await rejoining.revoke(app.state.kv, [participant.id])
            elif command == "admit":
                await participants.admit(session, meeting, participant)
            elif command == "deny":
                await participants.deny(session, meeting, participant)
                await rejoining.revoke(app.state.kv, [participant.id])
            elif command == "role" and fields.get("role") in ("cohost", "participant"):
                await participants.set_role(session, meeting, participant, fields["role"])
        except ProblemError as exc:  # already in that state, or no longer possible
            log.info("signaling_command_skipped", command=command, reason=exc.detail)


async def apply_signaling_commands(app: FastAPI) -> None:
    """What happens in the signaling rooms (leaving, removal, admission, the end) is recorded
    here, from a Redis stream read as a consumer group: each command is applied once, and
    commands sent while meeting-service was down wait for it."""
    await streams.consume(
        app.state.kv,
        MEETING_COMMANDS,
        GROUP,
        uuid.uuid4().hex[:12],
        lambda fields: _apply(app, fields),
        expected=(ProblemError, ValueError, KeyError),
    )
