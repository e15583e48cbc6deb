"""meeting-service business rules, testable without HTTP.

Joining rule: every ``POST /join`` makes a new participant row (one per browser tab or guest),
because each connection is its own WebRTC peer. A signed-in user's *role* in a meeting is the
best role of their rows; promoting or removing a user applies to all their rows, and a removed
user cannot join again. A signed-in user who was admitted once skips the waiting room later.

"Was admitted" is one explicit fact: ``Participant.joined_at``, set only when a row is let in
(by admission, or by a join past no waiting room) and never by any other transition. Statuses
are not that fact: a denied knocker and one still waiting when the meeting ends both become
``left`` without ever having been in, and must stay outsiders (404 for everything of the
meeting, the lobby again if they knock again).
"""

from __future__ import annotations

import functools
import secrets
import string
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from redis.asyncio import Redis
from sqlalchemy import Select, Uuid, and_, bindparam, case, exists, func, or_, select, union, update
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from parley.config import Settings
from parley.core import ratelimit
from parley.core.auth import Principal, TokenSigner
from parley.core.db import UTCDateTime, utcnow
from parley.core.errors import ProblemError
from parley.core.hashing import hash_secret, verify_secret
from parley.meetings.models import Meeting, Participant, Recording
from parley.meetings.schemas import (
    JoinIn,
    MeetingCreate,
    MeetingOut,
    MeetingSettings,
    MeetingStatus,
    MeetingUpdate,
    ParticipantRole,
    PlatformStats,
    PublicMeetingOut,
    RecordingUpdate,
    StatsOut,
)

SIGNALING_AUDIENCE = "signaling"
SIGNALING_URL = "/ws/signaling"
ACTIVE = ("scheduled", "live")
FINISHED = ("ended", "cancelled")
# The one test of "was let in at some point" (see the module docstring); never a status.
ADMITTED = Participant.joined_at.is_not(None)
ROLE_RANK = {"host": 3, "cohost": 2, "participant": 1, "guest": 0}
CODE_ALPHABET = "bcdfghjkmnpqrstvwxz"  # no vowels (no words), no look-alikes (l)
MAX_PASSWORD_FAILURES = 10
PASSWORD_WINDOW_S = 15 * 60


def new_code() -> str:
    """``xkq-mdwp-rtz``: 19^10 ≈ 6e12 codes, looked up under a per-address rate limit."""
    parts = (3, 4, 3)
    return "-".join("".join(secrets.choice(CODE_ALPHABET) for _ in range(n)) for n in parts)


# Wider than what new_code draws from, so that any code ever issued still resolves.
_CODE_CHARACTERS = frozenset(string.ascii_lowercase + string.digits + "-")
CODE_MAX_LENGTH = 16  # the column's width


def plausible_code(code: str) -> bool:
    """Could this be a meeting code at all? Anything else is a 404 without a query (a NUL or
    other control character would not even reach PostgreSQL)."""
    return 0 < len(code) <= CODE_MAX_LENGTH and _CODE_CHARACTERS.issuperset(code)


def settings_of(meeting: Meeting | Row[Any]) -> MeetingSettings:
    return MeetingSettings.model_validate(meeting.settings or {})


def to_out(meeting: Meeting | Row[Any]) -> MeetingOut:
    """The API view of a meeting (an ORM object, or a row of the list query).

    Built without validation: every value comes from our own table, written through validated
    models, and a list page makes twenty of these."""
    return MeetingOut.model_construct(
        id=meeting.id,
        code=meeting.code,
        title=meeting.title,
        description=meeting.description,
        host_id=meeting.host_id,
        host_display_name=meeting.host_display_name,
        status=meeting.status,
        start_time=meeting.start_time,
        duration_minutes=meeting.duration_minutes,
        timezone=meeting.timezone,
        has_password=meeting.password_hash is not None,
        settings=MeetingSettings.model_construct(**(meeting.settings or {})),
        created_at=meeting.created_at,
        updated_at=meeting.updated_at,
        started_at=meeting.started_at,
        ended_at=meeting.ended_at,
        join_url=f"/m/{meeting.code}",
    )


def to_public(meeting: Meeting) -> PublicMeetingOut:
    settings = settings_of(meeting)
    return PublicMeetingOut(
        id=meeting.id,
        title=meeting.title,
        host_display_name=meeting.host_display_name,
        status=meeting.status,
        has_password=meeting.password_hash is not None,
        allow_guests=settings.allow_guests,
        waiting_room=settings.waiting_room,
    )


# Meetings start and end inside this range (UTC). Anything outside is a typo or a probe, and
# the edges of Python's calendar overflow when converted (a 500 on create, or an ``.ics`` that
# could never be rendered again).
EARLIEST_START = datetime(1970, 1, 1, tzinfo=UTC)
LATEST_END = datetime(9000, 1, 1, tzinfo=UTC)


def _out_of_range(what: str) -> ProblemError:
    return ProblemError(
        422,
        f"{what} must lie between {EARLIEST_START:%Y-%m-%d} and {LATEST_END:%Y-%m-%d} (UTC).",
        type="time-out-of-range",
    )


def in_utc(moment: datetime, timezone: str) -> datetime:
    """A time without an offset is a wall-clock time in the meeting's time zone; 422 when the
    conversion leaves the calendar (``9999-12-31T23:00`` in Honolulu)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(timezone))
    try:
        return moment.astimezone(UTC)
    except (OverflowError, ValueError):
        raise _out_of_range("The start time") from None


def utc_bound(moment: datetime) -> datetime:
    """A list filter in UTC; 422 when it leaves the calendar (``9999-12-31T23:59:59-23:59``)."""
    try:
        return moment.astimezone(UTC)
    except (OverflowError, ValueError):
        raise _out_of_range("`from` and `to`") from None


def check_schedule(start: datetime, duration_minutes: int) -> None:
    """A scheduled meeting starts and ends inside [EARLIEST_START, LATEST_END]."""
    if not EARLIEST_START <= start <= LATEST_END - timedelta(minutes=duration_minutes):
        raise _out_of_range("A meeting")


async def create_meeting(
    session: AsyncSession, principal: Principal, data: MeetingCreate
) -> Meeting:
    start_time = in_utc(data.start_time, data.timezone) if data.start_time else None
    if start_time is not None:
        check_schedule(start_time, data.duration_minutes)
    password_hash = await hash_secret(data.password) if data.password else None
    for _ in range(5):
        meeting = Meeting(
            code=new_code(),
            title=data.title,
            description=data.description,
            host_id=uuid.UUID(principal.user_id),
            host_display_name=principal.display_name or "Host",
            start_time=start_time,
            duration_minutes=data.duration_minutes,
            timezone=data.timezone,
            password_hash=password_hash,
            settings=data.settings.model_dump(),
        )
        session.add(meeting)
        try:
            await session.commit()
            return meeting
        except IntegrityError:  # a code collision: draw again
            await session.rollback()
    raise ProblemError(503, "Could not allocate a meeting code; try again.")


@dataclass(frozen=True, slots=True)
class MeetingAccess:
    """A meeting and what the caller may do in it."""

    meeting: Meeting
    principal: Principal
    role: str  # host | cohost | participant | guest | admin

    @property
    def is_moderator(self) -> bool:
        return self.role in ("host", "cohost", "admin")

    @property
    def is_host(self) -> bool:
        return self.role in ("host", "admin")


async def role_in(session: AsyncSession, meeting: Meeting, principal: Principal) -> str | None:
    """The caller's role in this meeting, or ``None`` when it is none of their business."""
    if str(meeting.host_id) == principal.user_id:
        return "host"
    rows = (
        await session.execute(
            select(Participant.role, Participant.status, Participant.joined_at).where(
                Participant.meeting_id == meeting.id,
                Participant.user_id == uuid.UUID(principal.user_id),
            )
        )
    ).all()
    if any(status == "removed" for _, status, _ in rows):
        return "admin" if principal.is_admin else None
    admitted = [role for role, _, joined_at in rows if joined_at is not None]
    if admitted:
        return max(admitted, key=lambda role: ROLE_RANK.get(role, 0))
    return "admin" if principal.is_admin else None


def meetings_query(
    user_id: Any,
    *,
    dialect: str = "postgresql",
    status: Any = None,
    start_from: Any = None,
    start_to: Any = None,
    title_like: Any = None,
    role: str | None = None,
) -> Select[Any]:
    """The caller's meetings (hosted, or attended once admitted), filtered, unordered, with
    ``total`` (the count before paging) on every row. Values may be bind parameters, so that
    :func:`list_statement` can build each shape of the query once."""
    hosted = select(Meeting.id).where(Meeting.host_id == user_id)
    attended = select(Participant.meeting_id).where(Participant.user_id == user_id, ADMITTED)
    # One id set from two index scans. An OR across the two tables, or a plain IN, makes
    # PostgreSQL scan every meeting; ``= ANY(ARRAY(...))`` makes it fetch the few by primary key.
    if role == "host":
        mine = Meeting.host_id == user_id
    else:
        ids = union(hosted, attended) if role is None else attended
        if dialect == "postgresql":
            mine = Meeting.id == func.any(func.array(ids.scalar_subquery()))
        else:
            mine = Meeting.id.in_(ids)
        if role == "attendee":
            mine = and_(Meeting.host_id != user_id, mine)
    query = select(Meeting.__table__, func.count().over().label("total")).where(mine)
    start_key = func.coalesce(Meeting.start_time, Meeting.created_at)
    if status is not None:
        query = query.where(Meeting.status == status)
    if start_from is not None:
        query = query.where(start_key >= start_from)
    if start_to is not None:
        query = query.where(start_key < start_to)
    if title_like is not None:
        query = query.where(func.lower(Meeting.title).like(title_like, escape="/"))
    return query


def ordered(query: Select[Any]) -> Select[Any]:
    """Live first, then upcoming (soonest first), then past (newest first)."""
    start_key = func.coalesce(Meeting.start_time, Meeting.created_at)
    group = case((Meeting.status == "live", 0), (Meeting.status == "scheduled", 1), else_=2)
    return query.order_by(
        group,
        case((group < 2, start_key)).asc().nulls_last(),
        case((group == 2, start_key)).desc().nulls_last(),
        Meeting.id,
    )


@functools.lru_cache(maxsize=128)
def list_statement(
    dialect: str, role: str | None, status: bool, start_from: bool, start_to: bool, title: bool
) -> Select[Any]:
    """The list query for one combination of filters, built once: building a statement costs
    more than running this one."""
    stamp = UTCDateTime()
    query = meetings_query(
        bindparam("user_id", type_=Uuid()),
        dialect=dialect,
        status=bindparam("status") if status else None,
        start_from=bindparam("start_from", type_=stamp) if start_from else None,
        start_to=bindparam("start_to", type_=stamp) if start_to else None,
        title_like=bindparam("title_like") if title else None,
        role=role,
    )
    return ordered(query).limit(bindparam("limit")).offset(bindparam("offset"))


def _like_pattern(text: str) -> str:
    escaped = text.lower().replace("/", "//").replace("%", "/%").replace("_", "/_")
    return f"%{escaped}%"


async def list_meetings(
    session: AsyncSession,
    user_id: uuid.UUID,
    *,
    page: int,
    page_size: int,
    status: str | None = None,
    start_from: datetime | None = None,
    start_to: datetime | None = None,
    q: str | None = None,
    role: str | None = None,
) -> tuple[list[Any], int]:
    """One page of the caller's meetings (rows with the meeting's columns) and the total."""
    dialect = session.bind.dialect.name if session.bind is not None else "postgresql"
    statement = list_statement(
        dialect, role, status is not None, start_from is not None, start_to is not None, bool(q)
    )
    params: dict[str, Any] = {
        "user_id": user_id,
        "limit": page_size,
        "offset": (page - 1) * page_size,
        "status": status,
        "start_from": start_from,
        "start_to": start_to,
        "title_like": _like_pattern(q) if q else None,
    }
    rows = list((await session.execute(statement, params)).all())
    if rows:
        return rows, int(rows[0].total)
    if page == 1:
        return [], 0
    # Past the last page: the window count came with no row, so count apart.
    counted = list((await session.execute(statement, {**params, "limit": 1, "offset": 0})).all())
    return [], int(counted[0].total) if counted else 0


def _ensure_editable(meeting: Meeting) -> None:
    if meeting.status in FINISHED:
        raise ProblemError(409, f"The meeting is {meeting.status}.", type="meeting-finished")


async def update_meeting(session: AsyncSession, meeting: Meeting, data: MeetingUpdate) -> Meeting:
    _ensure_editable(meeting)
    if data.password is not None and data.clear_password:
        raise ProblemError(422, "Give either a new password or clear_password, not both.")
    timezone = data.timezone or meeting.timezone
    if data.start_time is not None or data.duration_minutes is not None:
        start = in_utc(data.start_time, timezone) if data.start_time else meeting.start_time
        if start is not None:
            check_schedule(start, data.duration_minutes or meeting.duration_minutes)
    for name, value in data.model_dump(
        exclude_none=True, include={"title", "description", "timezone", "duration_minutes"}
    ).items():
        setattr(meeting, name, value)
    if data.start_time is not None:
        meeting.start_time = in_utc(data.start_time, timezone)
    if data.password is not None:
        meeting.password_hash = await hash_secret(data.password)
    if data.clear_password:
        meeting.password_hash = None
    if data.settings is not None:
        merged = settings_of(meeting).model_dump()
        merged.update(data.settings.model_dump(exclude_none=True))
        meeting.settings = MeetingSettings.model_validate(merged).model_dump()
    await session.commit()
    return meeting


async def _close_meeting(session: AsyncSession, meeting: Meeting, status: MeetingStatus) -> None:
    """Everyone goes: rows in the room and in the lobby become ``left``. A lobby row keeps no
    ``joined_at``, so ending a meeting lets nobody in after the fact."""
    now = utcnow()
    meeting.status = status
    meeting.ended_at = now
    meeting.empty_since = None
    await session.execute(
        update(Participant)
        .where(Participant.meeting_id == meeting.id, Participant.status.in_(("joined", "waiting")))
        .values(status="left", left_at=now)
    )
    await session.execute(
        update(Recording)
        .where(Recording.meeting_id == meeting.id, Recording.status == "recording")
        .values(status="processing", ended_at=now)
    )


async def end_meeting(session: AsyncSession, meeting: Meeting) -> Meeting:
    """Everyone leaves; the meeting is over (a scheduled one that never started is cancelled)."""
    if meeting.status in FINISHED:
        return meeting
    await _close_meeting(session, meeting, "ended" if meeting.status == "live" else "cancelled")
    await session.commit()
    return meeting


async def _password_gate(kv: Redis, meeting: Meeting, password: str | None, client_ip: str) -> None:
    key = f"meetings:password-fail:{meeting.id}:{client_ip}"
    window = await ratelimit.current(kv, key)
    if window.count >= MAX_PASSWORD_FAILURES:
        raise ProblemError(
            429,
            "Too many wrong meeting passwords; try again later.",
            type="password-rate-limited",
            headers={"Retry-After": str(max(window.retry_after_s, 1))},
        )
    if not password:
        raise ProblemError(403, "This meeting needs a password.", type="password-required")
    if not await verify_secret(meeting.password_hash, password):
        await ratelimit.hit(kv, key, PASSWORD_WINDOW_S)
        raise ProblemError(403, "The meeting password is wrong.", type="wrong-password")


async def _joined_count(session: AsyncSession, meeting_id: uuid.UUID) -> int:
    return (
        await session.scalar(
            select(func.count()).where(
                Participant.meeting_id == meeting_id, Participant.status == "joined"
            )
        )
        or 0
    )


async def _lock(session: AsyncSession, meeting: Meeting) -> None:
    """Serialise joins of one meeting so the capacity check cannot be raced (PostgreSQL row
    lock; SQLite serialises writers anyway)."""
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        await session.execute(select(Meeting.id).where(Meeting.id == meeting.id).with_for_update())


def _full() -> ProblemError:
    return ProblemError(409, "The meeting is full.", type="meeting-full")


def _mark_joined(meeting: Meeting, participant: Participant, now: datetime) -> None:
    """Let a row in: the only place that sets ``joined_at``, the "was admitted" fact."""
    participant.status = "joined"
    participant.joined_at = participant.joined_at or now
    meeting.empty_since = None
    if meeting.status == "scheduled":
        meeting.status = "live"
        meeting.started_at = now


def signaling_token(
    signer: TokenSigner, settings: Settings, meeting: Meeting, participant: Participant
) -> str:
    """A short-lived ticket signaling-service verifies on its own: who, where, as what."""
    return signer.issue(
        {
            "sub": str(participant.id),
            "mid": str(meeting.id),
            "uid": str(participant.user_id) if participant.user_id else None,
            "role": participant.role,
            "name": participant.display_name,
            "status": participant.status,
            "settings": meeting.settings,
        },
        SIGNALING_AUDIENCE,
        settings.signaling_token_ttl_s,
    )


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
_LOCK_MEETING = (
    select(Meeting.id).where(Meeting.id == bindparam("meeting_id", type_=Uuid())).with_for_update()
)


SIGNALING_COMMANDS = "parley:signaling:commands"


async def tell_signaling(
    kv: Redis, command: str, meeting: Meeting, participant: Participant | None = None, **extra: str
) -> None:
    """Pass what a host did over REST to the live room. signaling-service reads this stream;
    every entry has ``cmd`` and ``meeting_id``, and per command:

    - ``remove`` | ``admit`` | ``deny``: ``participant_id``, ``user_id`` ("" for a guest);
    - ``role``: ``participant_id``, ``user_id``, ``role`` (cohost | participant);
    - ``end``: nothing more (everyone leaves the room);
    - ``settings``: ``settings``, the JSON of the meeting's complete settings object after a
      change (``waiting_room``, ``allow_guests``, ``mute_on_join``, ``video_off_on_join``,
      ``allow_screen_share``, ``allow_chat``, ``max_participants``), for the room to enforce on
      the people already in it, not only on those who join with a new ticket.
    """
    fields: dict[Any, Any] = {"cmd": command, "meeting_id": str(meeting.id), **extra}
    if participant is not None:
        fields["participant_id"] = str(participant.id)
        fields["user_id"] = str(participant.user_id) if participant.user_id else ""
    await kv.xadd(SIGNALING_COMMANDS, fields, maxlen=100_000, approximate=True)


GUEST_COOKIE = "parley_guest"
GUEST_MEMORY_S = 30 * 24 * 3600


def _removed_guests_key(meeting_id: uuid.UUID) -> str:
    return f"meetings:{meeting_id}:removed-guests"


def _guest_of_key(participant_id: uuid.UUID) -> str:
    return f"meetings:guest-of:{participant_id}"


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


async def join(
    session: AsyncSession,
    kv: Redis,
    meeting: Meeting,
    principal: Principal | None,
    data: JoinIn,
    client_ip: str,
    guest_key: str | None = None,
) -> Participant:
    if meeting.status in FINISHED:
        raise ProblemError(
            410,
            f"The meeting has {meeting.status.replace('cancelled', 'been cancelled')}.",
            type="meeting-finished",
        )
    settings = settings_of(meeting)
    if principal is None:
        if not settings.allow_guests:
            raise ProblemError(401, "Sign in to join this meeting.", type="sign-in-required")
        if not data.display_name:
            raise ProblemError(422, "Guests need a display_name.", type="validation")
        if guest_key and await kv.sismember(_removed_guests_key(meeting.id), guest_key):
            raise ProblemError(403, "You were removed from this meeting.", type="removed")
    is_host = principal is not None and principal.user_id == str(meeting.host_id)
    if meeting.password_hash is not None and not is_host:
        # Before taking the lock: argon2 takes tens of milliseconds.
        await _password_gate(kv, meeting, data.password, client_ip)
    user_id = uuid.UUID(principal.user_id) if principal else None
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        # Serialise joins of one meeting so that the capacity check cannot be raced.
        await session.execute(_LOCK_MEETING, {"meeting_id": meeting.id})
    facts = (
        await session.execute(_JOIN_FACTS, {"meeting_id": meeting.id, "user_id": user_id})
    ).one()
    if facts.removed:
        await session.rollback()
        raise ProblemError(403, "You were removed from this meeting.", type="removed")
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
            raise _full()
        _mark_joined(meeting, participant, utcnow())
    session.add(participant)
    await session.commit()
    if principal is None and guest_key:
        await kv.set(_guest_of_key(participant.id), guest_key, ex=GUEST_MEMORY_S)
    return participant


async def _emptied(session: AsyncSession, meeting: Meeting) -> None:
    if meeting.status == "live" and await _joined_count(session, meeting.id) == 0:
        meeting.empty_since = utcnow()


async def leave(
    session: AsyncSession, meeting: Meeting, user_id: uuid.UUID, participant_id: uuid.UUID | None
) -> int:
    """The caller's joins (or the one named) leave; returns how many rows changed."""
    conditions = [
        Participant.meeting_id == meeting.id,
        Participant.user_id == user_id,
        Participant.status.in_(("joined", "waiting")),
    ]
    if participant_id is not None:
        conditions.append(Participant.id == participant_id)
    result = await session.execute(
        update(Participant).where(*conditions).values(status="left", left_at=utcnow())
    )
    await _emptied(session, meeting)
    await session.commit()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def participant_left(
    session: AsyncSession, meeting: Meeting, participant: Participant
) -> None:
    """signaling-service saw this participant go (closed, or never came back in time)."""
    if participant.status in ("joined", "waiting"):
        participant.status = "left"
        participant.left_at = utcnow()
        await session.flush()
        await _emptied(session, meeting)
    await session.commit()


async def participant_connected(
    session: AsyncSession, meeting: Meeting, participant: Participant
) -> None:
    """signaling-service authenticated this participant's socket (the ``connected`` command):
    the join was real, so the ghost sweep leaves it alone. The first connection counts."""
    if participant.connected_at is None and participant.status in ("waiting", "joined"):
        participant.connected_at = utcnow()
    await session.commit()


async def release_ghosts(session: AsyncSession, grace_s: float, now: datetime | None = None) -> int:
    """Joined rows whose socket never connected within ``grace_s`` of being let in leave.

    A join hands out a signaling ticket that expires (``signaling_token_ttl_s``); a row that
    has not connected by then never will, yet it would count towards ``max_participants`` and
    keep the meeting from ending idle. Returns how many rows were released."""
    now = now or utcnow()
    ghosts = (
        await session.scalars(
            select(Participant).where(
                Participant.status == "joined",
                Participant.connected_at.is_(None),
                Participant.joined_at < now - timedelta(seconds=grace_s),
            )
        )
    ).all()
    for ghost in ghosts:
        ghost.status = "left"
        ghost.left_at = now
    await session.flush()
    for meeting_id in {ghost.meeting_id for ghost in ghosts}:
        meeting = await session.get(Meeting, meeting_id)
        if meeting is not None:
            await _emptied(session, meeting)
    await session.commit()
    return len(ghosts)


async def participant_of(
    session: AsyncSession, meeting: Meeting, participant_id: uuid.UUID
) -> Participant:
    participant = await session.get(Participant, participant_id)
    if participant is None or participant.meeting_id != meeting.id:
        raise ProblemError(
            404, "No such participant in this meeting.", type="participant-not-found"
        )
    return participant


async def participants(session: AsyncSession, meeting: Meeting) -> list[Participant]:
    rows = await session.scalars(
        select(Participant)
        .where(Participant.meeting_id == meeting.id)
        .order_by(Participant.created_at, Participant.id)
    )
    return list(rows.all())


async def admit(session: AsyncSession, meeting: Meeting, participant: Participant) -> Participant:
    _ensure_editable(meeting)
    if participant.status != "waiting":
        raise ProblemError(409, "Only a waiting participant can be admitted.", type="not-waiting")
    await _lock(session, meeting)
    if await _joined_count(session, meeting.id) >= settings_of(meeting).max_participants:
        raise _full()
    _mark_joined(meeting, participant, utcnow())
    await session.commit()
    return participant


async def deny(session: AsyncSession, meeting: Meeting, participant: Participant) -> Participant:
    """Out of the lobby, not in: the row becomes ``left`` with no ``joined_at``, so the person
    stays an outsider and waits in the lobby again if they knock again."""
    if participant.status != "waiting":
        raise ProblemError(409, "Only a waiting participant can be denied.", type="not-waiting")
    participant.status = "left"
    participant.left_at = utcnow()
    await session.commit()
    return participant


async def remove(session: AsyncSession, meeting: Meeting, participant: Participant) -> Participant:
    """Out, and not back: every row of a signed-in user is marked removed."""
    if participant.role == "host":
        raise ProblemError(409, "The host cannot be removed.", type="host-immovable")
    now = utcnow()
    same_person = (
        Participant.user_id == participant.user_id
        if participant.user_id is not None
        else Participant.id == participant.id
    )
    await session.execute(
        update(Participant)
        .where(Participant.meeting_id == meeting.id, same_person)
        .values(
            status="removed",
            left_at=case(
                (Participant.status.in_(("joined", "waiting")), now), else_=Participant.left_at
            ),
        )
    )
    await session.refresh(participant)
    await _emptied(session, meeting)
    await session.commit()
    return participant


async def set_role(
    session: AsyncSession, meeting: Meeting, participant: Participant, role: str
) -> Participant:
    if participant.role == "host":
        raise ProblemError(409, "The host's role cannot change.", type="host-immovable")
    if participant.user_id is None:
        raise ProblemError(409, "Guests cannot be made cohosts.", type="guest-role")
    if participant.status == "removed":
        raise ProblemError(409, "The participant was removed.", type="removed")
    await session.execute(
        update(Participant)
        .where(Participant.meeting_id == meeting.id, Participant.user_id == participant.user_id)
        .values(role=role)
    )
    await session.refresh(participant)
    await session.commit()
    return participant


RECORDING_TRANSITIONS = {
    "recording": {"recording", "processing", "ready", "failed"},
    "processing": {"processing", "ready", "failed"},
    "ready": {"ready"},
    "failed": {"failed"},
}


async def start_recording(
    session: AsyncSession, meeting: Meeting, principal: Principal
) -> Recording:
    if meeting.status != "live":
        raise ProblemError(409, "Only a live meeting can be recorded.", type="meeting-not-live")
    await _lock(session, meeting)
    active = await session.scalar(
        select(Recording.id).where(
            Recording.meeting_id == meeting.id, Recording.status == "recording"
        )
    )
    if active is not None:
        raise ProblemError(409, "A recording is already running.", type="recording-active")
    recording = Recording(meeting_id=meeting.id, started_by=uuid.UUID(principal.user_id))
    session.add(recording)
    await session.commit()
    return recording


async def recording_of(
    session: AsyncSession, meeting: Meeting, recording_id: uuid.UUID
) -> Recording:
    recording = await session.get(Recording, recording_id)
    if recording is None or recording.meeting_id != meeting.id:
        raise ProblemError(404, "No such recording in this meeting.", type="recording-not-found")
    return recording


# What only the recording's starter may set: the media behind it and what it measures.
# media-service attaches an upload by PATCHing these with the uploader's own token, so this is
# the rule that keeps anyone else's file from becoming the host's recording.
STARTER_ONLY_FIELDS = ("media_id", "duration_s", "size_bytes")


async def update_recording(
    session: AsyncSession, recording: Recording, data: RecordingUpdate, principal: Principal
) -> Recording:
    """Moderators move a recording through its states; its media fields are the starter's."""
    touched = data.model_dump(exclude_none=True, include=set(STARTER_ONLY_FIELDS))
    if touched and str(recording.started_by) != principal.user_id:
        raise ProblemError(
            403,
            "Only the person who started this recording can attach its media.",
            type="recording-starter-only",
        )
    if data.status is not None:
        if data.status not in RECORDING_TRANSITIONS[recording.status]:
            raise ProblemError(
                409,
                f"A recording cannot go from {recording.status} to {data.status}.",
                type="recording-transition",
            )
        if recording.status == "recording" and data.status != "recording":
            recording.ended_at = utcnow()
        recording.status = data.status
    for name, value in touched.items():
        setattr(recording, name, value)
    await session.commit()
    return recording


async def recordings(session: AsyncSession, meeting: Meeting) -> list[Recording]:
    rows = await session.scalars(
        select(Recording).where(Recording.meeting_id == meeting.id).order_by(Recording.started_at)
    )
    return list(rows.all())


def _minutes(started: datetime | None, ended: datetime | None, now: datetime) -> float:
    """How long a meeting ran (so far, for a live one); 0 for one that never started."""
    if started is None:
        return 0.0
    return max(((ended or now) - started).total_seconds(), 0.0) / 60


async def stats(
    session: AsyncSession, user_id: uuid.UUID, platform: bool, now: datetime | None = None
) -> StatsOut:
    """The caller's figures; ``platform`` adds the whole platform's (admins only)."""
    now = now or utcnow()
    attended_ids = select(Participant.meeting_id).where(
        Participant.user_id == user_id, Participant.joined_at.is_not(None)
    )
    mine = (
        await session.execute(
            select(
                Meeting.id,
                Meeting.host_id,
                Meeting.status,
                Meeting.started_at,
                Meeting.ended_at,
                func.coalesce(Meeting.started_at, Meeting.start_time, Meeting.created_at),
            ).where(
                Meeting.status != "cancelled",
                or_(Meeting.host_id == user_id, Meeting.id.in_(attended_ids)),
            )
        )
    ).all()
    hosted = [m for m in mine if m.host_id == user_id]
    attended = [m for m in mine if m.host_id != user_id]
    started_hosted = [m.id for m in hosted if m.started_at is not None]
    average = 0.0
    if started_hosted:
        people = func.count(func.distinct(func.coalesce(Participant.user_id, Participant.id)))
        counts = (
            await session.execute(
                select(Participant.meeting_id, people)
                .where(
                    Participant.meeting_id.in_(started_hosted), Participant.joined_at.is_not(None)
                )
                .group_by(Participant.meeting_id)
            )
        ).all()
        by_meeting = dict((mid, int(n)) for mid, n in counts)
        average = sum(by_meeting.get(mid, 0) for mid in started_hosted) / len(started_hosted)
    week_start = (now - timedelta(days=now.weekday())).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    month_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    anchors = [m[5] if m[5].tzinfo else m[5].replace(tzinfo=UTC) for m in mine]
    result = StatsOut(
        meetings_hosted=len(hosted),
        meetings_attended=len(attended),
        total_meeting_minutes=round(sum(_minutes(m.started_at, m.ended_at, now) for m in mine), 2),
        average_participants=round(average, 2),
        meetings_this_week=sum(
            1 for a in anchors if week_start <= a < week_start + timedelta(days=7)
        ),
        meetings_this_month=sum(
            1
            for a in anchors
            if month_start <= a and a.month == month_start.month and a.year == month_start.year
        ),
    )
    if platform:
        result.platform = await platform_stats(session)
    return result


async def platform_stats(session: AsyncSession) -> PlatformStats:
    by_status: dict[str, int] = dict(
        (status, int(n))
        for status, n in (
            await session.execute(select(Meeting.status, func.count()).group_by(Meeting.status))
        ).all()
    )
    live_participants = await session.scalar(
        select(func.count())
        .select_from(Participant)
        .join(Meeting, Meeting.id == Participant.meeting_id)
        .where(Meeting.status == "live", Participant.status == "joined")
    )
    participants_total = await session.scalar(
        select(func.count()).where(Participant.joined_at.is_not(None))
    )
    hosts = await session.scalar(select(func.count(func.distinct(Meeting.host_id))))
    return PlatformStats(
        meetings_total=sum(by_status.values()),
        meetings_by_status=by_status,
        live_meetings=by_status.get("live", 0),
        live_participants=int(live_participants or 0),
        participants_total=int(participants_total or 0),
        hosts_total=int(hosts or 0),
    )


async def end_idle_meetings(session: AsyncSession, idle_s: int, now: datetime | None = None) -> int:
    """End live meetings nobody has been in for ``idle_s`` seconds; returns how many."""
    now = now or utcnow()
    cutoff = now - timedelta(seconds=idle_s)
    someone_in = exists().where(
        Participant.meeting_id == Meeting.id, Participant.status == "joined"
    )
    idle = (
        await session.scalars(
            select(Meeting).where(
                Meeting.status == "live",
                func.coalesce(Meeting.empty_since, Meeting.started_at) < cutoff,
                ~someone_in,
            )
        )
    ).all()
    for meeting in idle:
        await _close_meeting(session, meeting, "ended")
    await session.commit()
    return len(idle)
