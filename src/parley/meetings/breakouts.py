"""Breakout rooms: a round of them in a meeting, who goes where, the tickets in and back, and
what the rooms are told.

A breakout room is a meeting of its own (``Meeting.parent_id`` names the main meeting), so it
has its own signaling room, chat, participant list, media room and recording, and nobody
receives anything of a room they have no ticket for: isolation is by meeting id, the rule
signaling already keeps. Rooms are never listed, never found by code and never joined through
``/join`` (``joining.py`` refuses them); their tickets come from here only: to the people a
host sends (``breakout-move``, to their own connection), to those who choose their room, and
to hosts and cohosts visiting. Each person gets one participant row per room (kept in their
:class:`BreakoutSeat`), with their role and name of the main meeting.

Leaving the main room for a room is not leaving the meeting: before a ``breakout-move`` (or a
visit) signaling is told the person is on their way (``breakout-away``), so their leave does
not appoint a cohost and meeting-service keeps their rejoin credential; ``return`` lets them
back in as the same participant, with no lobby and no password.

A session runs created → open → closing (the countdown everyone sees) → closed (the rooms
end, whoever is still there gets ``meeting-ended`` and comes back with ``return``). The clock
is kept by ``breakout_timers.py``; the main meeting ending ends the rooms too.
"""

from __future__ import annotations

import json
import math
import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from redis.asyncio import Redis
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from parley.config import Settings
from parley.core import ratelimit
from parley.core.auth import TokenSigner
from parley.core.db import utcnow
from parley.meetings import commands, errors, lifecycle, rejoining, tickets
from parley.meetings.breakout_access import BreakoutCaller
from parley.meetings.breakout_schemas import (
    BreakoutsCreate,
    BreakoutsOut,
    RoomOut,
    RoomUpdate,
    SeatOut,
)
from parley.meetings.codes import new_code
from parley.meetings.joining import (
    GUEST_MEMORY_S,
    _guest_of_key,
    guest_key_of,
    lock_meeting,
    mark_joined,
)
from parley.meetings.lifecycle import FINISHED
from parley.meetings.models import BreakoutSeat, BreakoutSession, Meeting, Participant
from parley.meetings.rejoin_schemas import JoinedOut
from parley.meetings.views import settings_of

NOT_CLOSED = ("created", "open", "closing")
HELP_WINDOW_S = 30
"""One call for help per person per this many seconds: a notice, not an alarm bell."""
_MODERATOR_ROLES = ("host", "cohost")
_random = random.SystemRandom()


@dataclass(frozen=True, slots=True)
class Context:
    """What issuing tickets and telling rooms needs (a request's, or a timer's own)."""

    session: AsyncSession
    kv: Redis
    signer: TokenSigner
    settings: Settings


# ---- reading ---------------------------------------------------------------------------------


async def latest(session: AsyncSession, meeting: Meeting) -> BreakoutSession | None:
    """The meeting's newest session, closed or not."""
    return await session.scalar(
        select(BreakoutSession)
        .where(BreakoutSession.meeting_id == meeting.id)
        .order_by(BreakoutSession.created_at.desc(), BreakoutSession.id)
        .limit(1)
    )


async def current(session: AsyncSession, meeting: Meeting) -> BreakoutSession:
    """The newest session, or 404 ``no-breakouts``."""
    found = await latest(session, meeting)
    if found is None:
        raise errors.no_breakouts()
    return found


async def rooms_of(session: AsyncSession, breakout: BreakoutSession) -> list[Meeting]:
    """The session's rooms, by index."""
    ids = [uuid.UUID(room_id) for room_id in breakout.rooms]
    found = {m.id: m for m in await session.scalars(select(Meeting).where(Meeting.id.in_(ids)))}
    return [found[room_id] for room_id in ids if room_id in found]


async def room_of(session: AsyncSession, breakout: BreakoutSession, room_id: uuid.UUID) -> Meeting:
    if str(room_id) not in breakout.rooms:
        raise errors.breakout_room_not_found()
    room = await session.get(Meeting, room_id)
    if room is None:
        raise errors.breakout_room_not_found()
    return room


async def seats_of(session: AsyncSession, breakout: BreakoutSession) -> Sequence[BreakoutSeat]:
    return (
        await session.scalars(
            select(BreakoutSeat)
            .where(BreakoutSeat.session_id == breakout.id)
            .order_by(BreakoutSeat.id)
        )
    ).all()


async def seat_of(
    session: AsyncSession, breakout: BreakoutSession, participant: Participant
) -> BreakoutSeat | None:
    return await session.scalar(
        select(BreakoutSeat).where(
            BreakoutSeat.session_id == breakout.id,
            BreakoutSeat.participant_id == participant.id,
        )
    )


async def _seat(
    session: AsyncSession, breakout: BreakoutSession, participant: Participant
) -> BreakoutSeat:
    seat = await seat_of(session, breakout, participant)
    if seat is None:
        seat = BreakoutSeat(
            session_id=breakout.id, participant_id=participant.id, room_index=None, tickets={}
        )
        session.add(seat)
        await session.flush()
    return seat


async def _member(
    session: AsyncSession, meeting: Meeting, participant_id: uuid.UUID
) -> Participant:
    """A row of the main meeting that was let in and not removed, else 422: assignments and
    moves name only people of this meeting."""
    row = await session.get(Participant, participant_id)
    if (
        row is None
        or row.meeting_id != meeting.id
        or row.joined_at is None
        or row.status == "removed"
    ):
        raise errors.invalid_breakout(f"No participant {participant_id} in this meeting.")
    return row


def _check_index(breakout_rooms: int, index: int) -> None:
    if index >= breakout_rooms:
        raise errors.invalid_breakout(
            f"There is no room {index}: the rooms are 0 to {breakout_rooms - 1}."
        )


async def view(
    session: AsyncSession, breakout: BreakoutSession, caller: BreakoutCaller
) -> BreakoutsOut:
    """The session as this caller may see it: hosts and cohosts everything, others the rooms'
    names, the times, and who is in their own room."""
    rooms = await rooms_of(session, breakout)
    seats = await seats_of(session, breakout)
    names = {
        row.id: row.display_name
        for row in await session.scalars(
            select(Participant).where(Participant.id.in_([s.participant_id for s in seats]))
        )
    }
    mine = next(
        (s for s in seats if caller.participant and s.participant_id == caller.participant.id),
        None,
    )
    my_room = mine.room_index if mine is not None else None
    out_rooms = []
    for room in rooms:
        index = room.breakout_index or 0
        shown = RoomOut(id=room.id, name=room.title, index=index)
        if caller.moderator or index == my_room:
            shown.participants = [
                SeatOut(
                    participant_id=s.participant_id,
                    display_name=names.get(s.participant_id, ""),
                )
                for s in seats
                if s.room_index == index
            ]
        out_rooms.append(shown)
    out = BreakoutsOut(
        id=breakout.id,
        state=breakout.state,
        assignment=breakout.assignment,
        allow_return=breakout.allow_return,
        duration_s=breakout.duration_s,
        created_at=breakout.created_at,
        opened_at=breakout.opened_at,
        ends_at=breakout.ends_at,
        closes_at=breakout.closes_at,
        rooms=out_rooms,
        my_room=my_room,
    )
    if caller.moderator:
        seated = {s.participant_id for s in seats if s.room_index is not None}
        out.unassigned = [
            SeatOut(participant_id=row.id, display_name=row.display_name)
            for row in await _joined_people(session, breakout.meeting_id)
            if row.id not in seated
        ]
    return out


async def _joined_people(session: AsyncSession, meeting_id: uuid.UUID) -> Sequence[Participant]:
    """Who is in the main meeting now and may be sent to a room (hosts and cohosts visit)."""
    return (
        await session.scalars(
            select(Participant)
            .where(
                Participant.meeting_id == meeting_id,
                Participant.status == "joined",
                Participant.role.not_in(_MODERATOR_ROLES),
            )
            .order_by(Participant.joined_at, Participant.id)
        )
    ).all()


# ---- telling the rooms (signaling builds nothing of these: it checks and delivers) ----------


async def _tell(kv: Redis, meeting: Meeting, to: str, frame: dict[str, Any]) -> None:
    """``to``: a participant id of ``meeting``, ``everyone`` or ``moderators``."""
    await commands.tell_signaling(kv, "frame", meeting, to=to, frame=json.dumps(frame))


async def _away(kv: Redis, meeting: Meeting, participant: Participant) -> None:
    """The person is leaving ``meeting``'s room for a breakout room: not leaving the meeting."""
    await commands.tell_signaling(kv, "breakout-away", meeting, participant)


async def updated(
    kv: Redis, meeting: Meeting, breakout: BreakoutSession, *, everyone: bool = False
) -> None:
    """``breakouts-updated`` to the main room's hosts and cohosts (their panel reads GET again),
    or to everyone there when the session opens or closes."""
    frame = {"type": "breakouts-updated", "state": breakout.state}
    await _tell(kv, meeting, "everyone" if everyone else "moderators", frame)


def _iso(moment: datetime | None) -> str | None:
    """As the API writes times (``Z`` for UTC), so a frame's time equals the GET's."""
    return moment.isoformat().replace("+00:00", "Z") if moment is not None else None


# ---- creating and opening --------------------------------------------------------------------


def _spread(people: list[uuid.UUID], counts: list[int]) -> dict[uuid.UUID, int]:
    """Each person (in random order) to the emptiest room (ties broken at random): the rooms
    end up within one person of each other."""
    _random.shuffle(people)
    placed: dict[uuid.UUID, int] = {}
    for person in people:
        index = min(range(len(counts)), key=lambda i: (counts[i], _random.random()))
        counts[index] += 1
        placed[person] = index
    return placed


async def create(
    session: AsyncSession, meeting: Meeting, created_by: str, body: BreakoutsCreate
) -> BreakoutSession:
    if meeting.status in FINISHED:
        raise errors.meeting_finished(meeting.status)
    if meeting.status != "live":
        raise errors.breakouts_need_live_meeting()
    await lock_meeting(session, meeting)
    active = await latest(session, meeting)
    if active is not None and active.state in NOT_CLOSED:
        raise errors.breakouts_active()
    count = len(body.rooms)
    placed: dict[uuid.UUID, int] = {}
    for participant_id, index in body.assignments.items():
        _check_index(count, index)
        await _member(session, meeting, participant_id)
        placed[participant_id] = index
    if body.assignment == "auto":
        counts = [0] * count
        for index in placed.values():
            counts[index] += 1
        rest = [p.id for p in await _joined_people(session, meeting.id) if p.id not in placed]
        placed.update(_spread(rest, counts))
    breakout = BreakoutSession(
        meeting_id=meeting.id,
        assignment=body.assignment,
        allow_return=body.allow_return,
        duration_s=body.duration_s,
        state="created",
        created_by=uuid.UUID(created_by),
        rooms=[],
    )
    session.add(breakout)
    # The rooms' own settings: nobody waits at their door (a ticket is the invitation), and
    # nobody is made cohost there when a visiting host leaves.
    room_settings = {**settings_of(meeting).model_dump(), "waiting_room": False}
    room_settings["auto_cohost"] = False
    rooms = [
        Meeting(
            code=new_code(),
            title=room.name,
            host_id=meeting.host_id,
            host_display_name=meeting.host_display_name,
            duration_minutes=meeting.duration_minutes,
            timezone=meeting.timezone,
            settings=room_settings,
            parent_id=meeting.id,
            breakout_index=index,
        )
        for index, room in enumerate(body.rooms)
    ]
    session.add_all(rooms)
    await session.flush()
    breakout.rooms = [str(room.id) for room in rooms]
    for participant_id, index in placed.items():
        session.add(
            BreakoutSeat(
                session_id=breakout.id, participant_id=participant_id, room_index=index, tickets={}
            )
        )
    await session.commit()
    return breakout


async def _ticket(
    ctx: Context,
    seat: BreakoutSeat,
    person: Participant,
    room: Meeting,
    *,
    avatar: str = "",
) -> JoinedOut:
    """The person's row in ``room`` (made once, let in again when they come back) and the
    answer that lets their browser in: a single-use signaling ticket and a rejoin credential."""
    session = ctx.session
    key = str(room.breakout_index)
    known = seat.tickets.get(key)
    row = await session.get(Participant, uuid.UUID(known)) if known else None
    if row is not None and row.status == "removed":
        raise errors.removed_from_meeting()
    if row is None:
        row = Participant(
            meeting_id=room.id,
            user_id=person.user_id,
            display_name=person.display_name,
            role=person.role,
            status="waiting",
        )
        session.add(row)
    row.role = person.role  # made cohost in the main meeting since
    if row.status != "joined":
        mark_joined(room, row, utcnow())
        row.left_at = None
    await session.flush()
    seat.tickets = {**seat.tickets, key: str(row.id)}
    await session.commit()
    if person.user_id is None:
        # A guest's browser key vouches for their rows in the rooms too (rejoin, polls there).
        guest_key = await guest_key_of(ctx.kv, person.id)
        if guest_key:
            await ctx.kv.set(_guest_of_key(row.id), guest_key, ex=GUEST_MEMORY_S)
    credential = await rejoining.issue(ctx.kv, row)
    # As a rejoin: sent by a host (or chosen where allowed), never held in a locked room's
    # lobby, and an old entry of the same row is replaced.
    return tickets.joined_out(
        ctx.signer, ctx.settings, room, row, credential, avatar=avatar, rejoin=True
    )


async def _rows_in_rooms(
    session: AsyncSession, seat: BreakoutSeat, rooms: list[Meeting]
) -> list[tuple[Meeting, str]]:
    """(room, the person's participant id there) for every room they had a ticket for."""
    by_index = {str(room.breakout_index): room for room in rooms}
    return [(by_index[k], v) for k, v in seat.tickets.items() if k in by_index]


async def _send(
    ctx: Context,
    meeting: Meeting,
    breakout: BreakoutSession,
    seat: BreakoutSeat,
    person: Participant,
    room: Meeting,
    rooms: list[Meeting],
) -> None:
    """``breakout-move`` with a ticket for ``room``, to the person's own connection wherever
    it is: the main room, or the breakout room they are in now."""
    elsewhere = await _rows_in_rooms(ctx.session, seat, rooms)
    joined = await _ticket(ctx, seat, person, room)
    frame = {
        "type": "breakout-move",
        "room": {
            "id": str(room.id),
            "name": room.title,
            "index": room.breakout_index,
            "meeting_id": str(room.id),
        },
        "joined": joined.model_dump(mode="json"),
        "ends_at": _iso(breakout.ends_at),
        "allow_return": breakout.allow_return,
    }
    await _away(ctx.kv, meeting, person)
    await _tell(ctx.kv, meeting, str(person.id), frame)
    for other, row_id in elsewhere:
        if other.id != room.id:
            await _tell(ctx.kv, other, row_id, frame)


async def open_rooms(ctx: Context, meeting: Meeting, breakout: BreakoutSession) -> None:
    """The rooms open; everyone assigned who is in the main room now is sent to theirs."""
    if meeting.status in FINISHED:
        raise errors.meeting_finished(meeting.status)
    if breakout.state != "created":
        raise errors.breakouts_state(breakout.state, "be opened")
    now = utcnow()
    breakout.state = "open"
    breakout.opened_at = now
    if breakout.duration_s is not None:
        breakout.ends_at = now + timedelta(seconds=breakout.duration_s)
    rooms = await rooms_of(ctx.session, breakout)
    for room in rooms:
        if room.status == "scheduled":
            room.status = "live"
            room.started_at = now
    await ctx.session.commit()
    for seat in await seats_of(ctx.session, breakout):
        if seat.room_index is None or seat.room_index >= len(rooms):
            continue
        person = await ctx.session.get(Participant, seat.participant_id)
        if person is not None and person.status == "joined":
            await _send(ctx, meeting, breakout, seat, person, rooms[seat.room_index], rooms)
    await updated(ctx.kv, meeting, breakout, everyone=True)


# ---- while open ------------------------------------------------------------------------------


async def update_room(
    ctx: Context, meeting: Meeting, breakout: BreakoutSession, room: Meeting, body: RoomUpdate
) -> None:
    """Rename a room, or move someone (to a room, or ``to: null`` back to the main room);
    while open, the person is told at once wherever they are."""
    if breakout.state == "closed":
        raise errors.breakouts_state("closed", "change")
    if body.name is not None:
        room.title = body.name
    await ctx.session.commit()
    if body.move is not None:
        rooms = await rooms_of(ctx.session, breakout)
        person = await _member(ctx.session, meeting, body.move.participant_id)
        target = body.move.to
        if target is not None:
            _check_index(len(rooms), target)
        seat = await _seat(ctx.session, breakout, person)
        seat.room_index = target
        await ctx.session.commit()
        if breakout.state == "open" and target is not None:
            await _send(ctx, meeting, breakout, seat, person, rooms[target], rooms)
        elif breakout.state in ("open", "closing"):
            for other, row_id in await _rows_in_rooms(ctx.session, seat, rooms):
                await _tell(ctx.kv, other, row_id, {"type": "breakout-return"})
    await updated(ctx.kv, meeting, breakout)


async def broadcast(ctx: Context, breakout: BreakoutSession, text: str, sender: str) -> None:
    """A host's message, shown in every breakout room."""
    if breakout.state not in ("open", "closing"):
        raise errors.breakouts_state(breakout.state, "take a message")
    frame = {"type": "breakout-broadcast", "text": text, "from": sender}
    for room in await rooms_of(ctx.session, breakout):
        await _tell(ctx.kv, room, "everyone", frame)


async def ask_help(
    ctx: Context,
    meeting: Meeting,
    breakout: BreakoutSession,
    caller: BreakoutCaller,
    room_id: uuid.UUID | None,
) -> Meeting:
    """A participant's call for help from their room: every host and cohost hears it, in the
    main room and in whichever breakout room they visit. Once per :data:`HELP_WINDOW_S`."""
    person = caller.row()
    if breakout.state not in ("open", "closing"):
        raise errors.not_in_breakout_room()
    seat = await seat_of(ctx.session, breakout, person)
    if room_id is None:
        if seat is None or seat.room_index is None:
            raise errors.not_in_breakout_room()
        room_id = uuid.UUID(breakout.rooms[seat.room_index])
    room = await room_of(ctx.session, breakout, room_id)
    if seat is None or (
        seat.room_index != room.breakout_index and str(room.breakout_index) not in seat.tickets
    ):
        raise errors.breakout_not_yours()
    window = await ratelimit.hit(
        ctx.kv, f"meetings:breakout-help:{breakout.id}:{person.id}", HELP_WINDOW_S
    )
    if window.count > 1:
        raise errors.help_rate_limited(window.retry_after_s)
    frame = {
        "type": "breakout-help",
        "room": {"id": str(room.id), "name": room.title},
        "from": person.display_name,
    }
    await _tell(ctx.kv, meeting, "moderators", frame)
    for each in await rooms_of(ctx.session, breakout):
        await _tell(ctx.kv, each, "moderators", frame)
    return room


async def enter(
    ctx: Context,
    meeting: Meeting,
    breakout: BreakoutSession,
    caller: BreakoutCaller,
    room: Meeting,
    avatar: str,
) -> JoinedOut:
    """The ticket into ``room``: hosts and cohosts visit any room while the session runs
    (keeping their role); a participant enters their own room, or any when they choose."""
    if meeting.status in FINISHED:
        raise errors.meeting_gone(meeting.status)
    person = caller.row()
    if caller.moderator:
        if breakout.state not in ("open", "closing"):
            raise errors.breakouts_state(breakout.state, "be visited")
        seat = await _seat(ctx.session, breakout, person)
    else:
        if breakout.state != "open":
            raise errors.breakouts_state(breakout.state, "be entered")
        found = await seat_of(ctx.session, breakout, person)
        if breakout.assignment != "self" and (
            found is None or found.room_index != room.breakout_index
        ):
            raise errors.breakout_not_yours()
        seat = found or await _seat(ctx.session, breakout, person)
        seat.room_index = room.breakout_index
    joined = await _ticket(ctx, seat, person, room, avatar=avatar)
    await _away(ctx.kv, meeting, person)
    await updated(ctx.kv, meeting, breakout)
    return joined


async def come_back(
    ctx: Context, meeting: Meeting, caller: BreakoutCaller, avatar: str
) -> JoinedOut:
    """The ticket back into the main meeting, as the same participant (a rejoin: no lobby, no
    password). Hosts and cohosts always; others when the session lets them go back early, is
    closing or closed, or a host moved them back (or never sent them anywhere)."""
    if meeting.status in FINISHED:
        raise errors.meeting_gone(meeting.status)
    person = caller.row()
    breakout = await current(ctx.session, meeting)
    seat = await seat_of(ctx.session, breakout, person)
    if seat is None and not caller.moderator:
        # Never in a breakout room of this session: the way in is /join (password and all).
        raise errors.breakout_return_refused()
    if seat is not None and breakout.state == "open":
        if seat.room_index is not None and not (caller.moderator or breakout.allow_return):
            raise errors.breakout_return_refused()
        seat.room_index = None
    if person.status != "joined":
        mark_joined(meeting, person, utcnow())
        person.left_at = None
    await ctx.session.commit()
    credential = await rejoining.issue(ctx.kv, person)
    if seat is not None and breakout.state == "open":
        await updated(ctx.kv, meeting, breakout)
    return tickets.joined_out(
        ctx.signer, ctx.settings, meeting, person, credential, avatar=avatar, rejoin=True
    )


# ---- closing ---------------------------------------------------------------------------------


async def close(
    ctx: Context, meeting: Meeting, breakout: BreakoutSession, *, now: bool = False
) -> None:
    """Start the countdown back (everyone in every room and the main room sees it), or with
    ``now`` end the rooms at once. A session never opened simply closes."""
    if breakout.state == "closed":
        raise errors.breakouts_state("closed", "be closed again")
    if breakout.state == "created":
        await finish(ctx.session, ctx.kv, meeting, breakout)
        return
    seconds = 0.0 if now else float(ctx.settings.breakout_countdown_s)
    moment = utcnow()
    closes_at = moment + timedelta(seconds=seconds)
    if breakout.state == "closing" and breakout.closes_at is not None:
        closes_at = min(closes_at, breakout.closes_at)  # "now" hurries a countdown, never waits
    breakout.state = "closing"
    breakout.closes_at = closes_at
    await ctx.session.commit()
    left = max((closes_at - moment).total_seconds(), 0.0)
    frame = {"type": "breakout-closing", "closes_at": _iso(closes_at), "seconds": math.ceil(left)}
    for room in [meeting, *await rooms_of(ctx.session, breakout)]:
        await _tell(ctx.kv, room, "everyone", frame)
    if left <= 0:
        await finish(ctx.session, ctx.kv, meeting, breakout)
    else:
        await updated(ctx.kv, meeting, breakout)


async def finish(
    session: AsyncSession, kv: Redis, meeting: Meeting, breakout: BreakoutSession
) -> bool:
    """The session is closed and its rooms end the way any meeting ends (whoever is still in
    one gets ``meeting-ended`` and comes back with ``return``). Exactly one caller does it
    (a timer, the sweep, a host); returns whether it was this one."""
    closed = await session.execute(
        update(BreakoutSession)
        .where(BreakoutSession.id == breakout.id, BreakoutSession.state != "closed")
        .values(state="closed", closes_at=utcnow())
    )
    if closed.rowcount != 1:  # type: ignore[attr-defined]
        await session.rollback()
        return False
    await session.commit()
    await session.refresh(breakout)
    for room in await rooms_of(session, breakout):
        await lifecycle.end_meeting(session, room)
        await rejoining.revoke_meeting(kv, room.id)
        await commands.tell_signaling(kv, "end", room)
    if meeting.status not in FINISHED:
        await updated(kv, meeting, breakout, everyone=True)
    return True


async def end_with(session: AsyncSession, kv: Redis, meeting: Meeting) -> None:
    """The main meeting ended: its breakout rooms end with it."""
    breakout = await latest(session, meeting)
    if breakout is not None and breakout.state in NOT_CLOSED:
        await finish(session, kv, meeting, breakout)


async def follow_removal(
    session: AsyncSession, kv: Redis, meeting: Meeting, removed: Participant
) -> int:
    """Someone removed from the main meeting is removed from its breakout rooms too (their
    socket there is closed, their rows there marked removed): removal is for good, wherever
    they are. Returns how many rows of theirs in rooms were removed."""
    breakout = await latest(session, meeting)
    if breakout is None or breakout.state == "closed":
        return 0
    same_person = (
        Participant.user_id == removed.user_id
        if removed.user_id is not None
        else Participant.id == removed.id
    )
    theirs = select(Participant.id).where(Participant.meeting_id == meeting.id, same_person)
    seats = (
        await session.scalars(
            select(BreakoutSeat).where(
                BreakoutSeat.session_id == breakout.id, BreakoutSeat.participant_id.in_(theirs)
            )
        )
    ).all()
    rooms = await rooms_of(session, breakout)
    done = 0
    for seat in seats:
        seat.room_index = None
        for room, row_id in await _rows_in_rooms(session, seat, rooms):
            row = await session.get(Participant, uuid.UUID(row_id))
            if row is None or row.status == "removed":
                continue
            row.status = "removed"
            row.left_at = row.left_at or utcnow()
            await session.commit()
            await rejoining.revoke(kv, [row.id])
            await commands.tell_signaling(kv, "remove", room, row)
            done += 1
    await session.commit()
    return done
