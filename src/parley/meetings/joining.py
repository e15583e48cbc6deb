"""Joining a meeting: the password gate, guests' browser keys, the capacity lock, the waiting
room, and the signaling ticket a join hands out.

Every ``POST /join`` makes a new participant row (one per browser tab or guest), because each
connection is its own WebRTC peer. A signed-in user who was admitted once skips the waiting
room later; a removed user (or a removed guest's browser) cannot join again.
"""

from __future__ import annotations

import hmac
import uuid
from datetime import datetime
from typing import Any

from redis.asyncio import Redis
from sqlalchemy import Uuid, and_, bindparam, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from parley.config import Settings
from parley.core import ratelimit
from parley.core.auth import Principal, TokenSigner
from parley.core.contracts import AVATAR_VERSION_CLAIM, SIGNALING_AUDIENCE
from parley.core.db import utcnow
from parley.core.hashing import verify_secret
from parley.meetings import errors
from parley.meetings.access import ADMITTED
from parley.meetings.lifecycle import FINISHED
from parley.meetings.models import Meeting, Participant
from parley.meetings.schemas import JoinIn, ParticipantRole
from parley.meetings.views import settings_of

SIGNALING_URL = "/ws/signaling"
MAX_PASSWORD_FAILURES = 10
PASSWORD_WINDOW_S = 15 * 60
GUEST_COOKIE = "parley_guest"
GUEST_MEMORY_S = 30 * 24 * 3600

# ---- the password gate ---------------------------------------------------------------------


async def _password_gate(kv: Redis, meeting: Meeting, password: str | None, client_ip: str) -> None:
    """Wrong passwords are counted per (meeting, address); past the limit the answer is 429
    until the window ends, even for the right password."""
    key = f"meetings:password-fail:{meeting.id}:{client_ip}"
    window = await ratelimit.current(kv, key)
    if window.count >= MAX_PASSWORD_FAILURES:
        raise errors.password_rate_limited(window.retry_after_s)
    if not password:
        raise errors.password_required()
    if not await verify_secret(meeting.password_hash, password):
        await ratelimit.hit(kv, key, PASSWORD_WINDOW_S)
        raise errors.wrong_password()


# ---- guests' browser keys ------------------------------------------------------------------


def _removed_guests_key(meeting_id: uuid.UUID) -> str:
    return f"meetings:{meeting_id}:removed-guests"


def _guest_of_key(participant_id: uuid.UUID) -> str:
    return f"meetings:guest-of:{participant_id}"


async def guest_key_of(kv: Redis, participant_id: uuid.UUID) -> str | None:
    """The browser key of the guest who made this participant row (``None`` for users)."""
    value = await kv.get(_guest_of_key(participant_id))
    return str(value) if value else None


async def proven_guest(
    session: AsyncSession, kv: Redis, meeting: Meeting, participant_id: uuid.UUID, cookie: str
) -> Participant:
    """The guest row ``participant_id`` names, when the browser's guest cookie is the key that
    made it: how a guest (no access token) proves who they are to polls and breakout rooms.
    Anything else (not this meeting's, a user's, never admitted, removed, another browser) is
    404, as for an outsider."""
    row = await session.get(Participant, participant_id)
    if (
        row is None
        or row.meeting_id != meeting.id
        or row.user_id is not None
        or row.joined_at is None
        or row.status == "removed"
    ):
        raise errors.meeting_not_found()
    stored = await guest_key_of(kv, participant_id) or ""
    if not cookie or not hmac.compare_digest(stored.encode(), cookie.encode()):
        raise errors.meeting_not_found()
    return row


async def is_removed_guest(kv: Redis, meeting_id: uuid.UUID, guest_key: str) -> bool:
    return bool(await kv.sismember(_removed_guests_key(meeting_id), guest_key))


async def forget_removed_guest(kv: Redis, meeting: Meeting, participant: Participant) -> None:
    """A removed guest's browser key goes on the meeting's deny list.

    Guests have no account, so "cannot come back" is kept by the key their browser got on
    joining (an HttpOnly cookie). Someone who clears cookies gets a new key: hosts who need a
    firm door use a password, the waiting room or sign-in only.
    """
    if participant.user_id is not None:
        return
    guest_key = await kv.get(_guest_of_key(participant.id))
    if guest_key:
        await kv.sadd(_removed_guests_key(meeting.id), guest_key)
        await kv.expire(_removed_guests_key(meeting.id), GUEST_MEMORY_S)


# ---- capacity --------------------------------------------------------------------------------

_LOCK_MEETING = (
    select(Meeting.id).where(Meeting.id == bindparam("meeting_id", type_=Uuid())).with_for_update()
)


async def lock_meeting(session: AsyncSession, meeting: Meeting) -> None:
    """Serialise joins (and admissions, and recording starts) of one meeting so that a check
    of who is in cannot be raced (PostgreSQL row lock; SQLite serialises writers anyway)."""
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        await session.execute(_LOCK_MEETING, {"meeting_id": meeting.id})


async def joined_count(session: AsyncSession, meeting_id: uuid.UUID) -> int:
    """How many rows are in the room now (what ``max_participants`` limits)."""
    return (
        await session.scalar(
            select(func.count()).where(
                Participant.meeting_id == meeting_id, Participant.status == "joined"
            )
        )
        or 0
    )


def mark_joined(meeting: Meeting, participant: Participant, now: datetime) -> None:
    """Let a row in: the only place that sets ``joined_at``, the "was admitted" fact. The
    first person in makes a scheduled meeting live."""
    participant.status = "joined"
    participant.joined_at = participant.joined_at or now
    meeting.empty_since = None
    if meeting.status == "scheduled":
        meeting.status = "live"
        meeting.started_at = now


# ---- the join --------------------------------------------------------------------------------


def _count_where(condition: Any) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


_me = bindparam("user_id", type_=Uuid())
# What a join needs to know, in one round trip (built once: this runs on every join).
_JOIN_FACTS = select(
    _count_where(Participant.status == "joined").label("joined"),
    _count_where(and_(Participant.user_id == _me, Participant.status == "removed")).label(
        "removed"
    ),
    _count_where(and_(Participant.user_id == _me, ADMITTED)).label("admitted"),
    _count_where(and_(Participant.user_id == _me, Participant.role == "cohost")).label("cohost"),
).where(Participant.meeting_id == bindparam("meeting_id", type_=Uuid()))


async def join(
    session: AsyncSession,
    kv: Redis,
    meeting: Meeting,
    principal: Principal | None,
    data: JoinIn,
    client_ip: str,
    guest_key: str | None = None,
) -> Participant:
    """A new participant row: in the room, or in the lobby when the waiting room holds it."""
    if meeting.parent_id is not None:  # a breakout room: its tickets come from breakouts.py
        raise errors.breakout_room_join()
    if meeting.status in FINISHED:
        raise errors.meeting_gone(meeting.status)
    settings = settings_of(meeting)
    if principal is None:
        if not settings.allow_guests:
            raise errors.sign_in_required()
        if not data.display_name:
            raise errors.guest_name_required()
        if guest_key and await kv.sismember(_removed_guests_key(meeting.id), guest_key):
            raise errors.removed_from_meeting()
    is_host = principal is not None and principal.user_id == str(meeting.host_id)
    if meeting.password_hash is not None and not is_host:
        # Before taking the lock: argon2 takes tens of milliseconds.
        await _password_gate(kv, meeting, data.password, client_ip)
    user_id = uuid.UUID(principal.user_id) if principal else None
    await lock_meeting(session, meeting)
    facts = (
        await session.execute(_JOIN_FACTS, {"meeting_id": meeting.id, "user_id": user_id})
    ).one()
    if facts.removed:
        await session.rollback()
        raise errors.removed_from_meeting()
    role: ParticipantRole
    if is_host:
        role = "host"
    elif principal is None:
        role = "guest"
    elif facts.cohost:
        role = "cohost"
    else:
        role = "participant"
    waits = settings.waiting_room and role in ("participant", "guest") and not facts.admitted
    participant = Participant(
        meeting_id=meeting.id,
        user_id=user_id,
        display_name=data.display_name
        or (principal.display_name if principal else "")
        or "Participant",
        role=role,
        status="waiting",
    )
    if not waits:
        if not is_host and facts.joined >= settings.max_participants:
            await session.rollback()
            raise errors.meeting_full()
        mark_joined(meeting, participant, utcnow())
    session.add(participant)
    await session.commit()
    if principal is None and guest_key:
        await kv.set(_guest_of_key(participant.id), guest_key, ex=GUEST_MEMORY_S)
    return participant


# ---- the signaling ticket --------------------------------------------------------------------


def signaling_token(
    signer: TokenSigner,
    settings: Settings,
    meeting: Meeting,
    participant: Participant,
    *,
    rejoin: bool = False,
    avatar: str = "",
) -> str:
    """A short-lived ticket signaling-service verifies on its own: who, where, as what.

    ``rejoin``: the same participant comes back (``rejoining.py``), already admitted: signaling
    replaces their old entry in the room and does not hold them in the lobby of a locked room.
    ``avatar``: the version of a signed-in user's avatar, from their access token, so the others
    see their picture while the camera is off (never for a guest)."""
    claims: dict[str, Any] = {
        "sub": str(participant.id),
        "mid": str(meeting.id),
        "uid": str(participant.user_id) if participant.user_id else None,
        "role": participant.role,
        "name": participant.display_name,
        "status": participant.status,
        "settings": meeting.settings,
        "rejoin": rejoin and participant.status == "joined",
    }
    if avatar and participant.user_id:
        claims[AVATAR_VERSION_CLAIM] = avatar
    return signer.issue(claims, SIGNALING_AUDIENCE, settings.signaling_token_ttl_s)
