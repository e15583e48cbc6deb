"""Coming back as the same participant: a reload of the meeting page, or a drop longer than the
signaling resume window.

Every join (and every rejoin) hands the tab a *rejoin credential*: a random token bound to that
one participant row, kept by the page in its tab's session storage (never in local storage or a
URL). ``POST /rejoin`` with it gives a new signaling ticket for the SAME participant id, so
signaling replaces the old entry in the room instead of adding a second one, and the private
chat of that participant stays theirs. The credential

- works once: a rejoin spends it and answers with a new one (rotation: a copied credential
  is useless once the tab used it, and the tab's copy is useless once a thief used it);
- is bound to its participant and to the browser: a signed-in user's needs the same user's
  access token, a guest's the guest cookie that guest's join set;
- is revoked when the participant leaves for good (closed the room, ``POST /leave``), is
  removed or denied, and when the meeting ends; checked again on use against the participant
  row and the meeting (removed, denied, ended: refused whatever the store says);
- expires after :data:`REJOIN_TTL_S` without use.

Only a digest of the token is stored (``meetings:rejoin:<sha256>`` → meeting and participant),
with ``meetings:rejoin-of:<participant>`` naming the current digest (for revocation) and
``meetings:<meeting>:rejoiners`` the participants holding one (for the end of the meeting).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Iterable

from redis.asyncio import Redis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from parley.core.auth import Principal
from parley.core.db import utcnow
from parley.meetings import errors
from parley.meetings.joining import (
    guest_key_of,
    is_removed_guest,
    joined_count,
    lock_meeting,
    mark_joined,
)
from parley.meetings.lifecycle import FINISHED
from parley.meetings.models import Meeting, Participant
from parley.meetings.views import settings_of

REJOIN_TTL_S = 8 * 3600
"""How long an unused credential lasts (a working day's meeting; each use renews it)."""


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _token_key(digest: str) -> str:
    return f"meetings:rejoin:{digest}"


def _holder_key(participant_id: uuid.UUID | str) -> str:
    return f"meetings:rejoin-of:{participant_id}"


def _meeting_key(meeting_id: uuid.UUID | str) -> str:
    return f"meetings:{meeting_id}:rejoiners"


async def issue(kv: Redis, participant: Participant) -> str:
    """A new credential for this participant; the one it replaces stops working."""
    token = secrets.token_urlsafe(32)
    digest = _digest(token)
    holder = _holder_key(participant.id)
    previous = await kv.get(holder)
    async with kv.pipeline(transaction=True) as pipe:
        if previous:
            pipe.delete(_token_key(str(previous)))
        pipe.set(_token_key(digest), f"{participant.meeting_id} {participant.id}", ex=REJOIN_TTL_S)
        pipe.set(holder, digest, ex=REJOIN_TTL_S)
        pipe.sadd(_meeting_key(participant.meeting_id), str(participant.id))
        pipe.expire(_meeting_key(participant.meeting_id), REJOIN_TTL_S)
        await pipe.execute()
    return token


async def revoke(kv: Redis, participant_ids: Iterable[uuid.UUID | str]) -> None:
    """These participants' credentials stop working (left for good, removed, denied)."""
    for participant_id in participant_ids:
        holder = _holder_key(participant_id)
        digest = await kv.get(holder)
        keys = [holder] + ([_token_key(str(digest))] if digest else [])
        await kv.delete(*keys)


async def revoke_meeting(kv: Redis, meeting_id: uuid.UUID | str) -> None:
    """The meeting ended: nobody comes back into it."""
    key = _meeting_key(meeting_id)
    await revoke(kv, [str(p) for p in await kv.smembers(key)])
    await kv.delete(key)


async def revoke_user(
    session: AsyncSession, kv: Redis, meeting: Meeting, user_id: uuid.UUID
) -> None:
    """A signed-in user left the meeting (``POST /leave``): every tab of theirs."""
    rows = await session.scalars(
        select(Participant.id).where(
            Participant.meeting_id == meeting.id, Participant.user_id == user_id
        )
    )
    await revoke(kv, rows.all())


async def _spend(kv: Redis, token: str, meeting_id: uuid.UUID, participant_id: uuid.UUID) -> bool:
    """Take the credential out of the store if it is this participant's: exactly one caller
    gets True for a credential, however many present it at once."""
    key = _token_key(_digest(token))
    async with kv.pipeline(transaction=True) as pipe:
        pipe.get(key)
        pipe.delete(key)
        raw, deleted = await pipe.execute()
    return bool(raw) and bool(deleted) and str(raw) == f"{meeting_id} {participant_id}"


async def _check(kv: Redis, token: str, meeting_id: uuid.UUID, participant_id: uuid.UUID) -> bool:
    raw = await kv.get(_token_key(_digest(token)))
    return raw is not None and str(raw) == f"{meeting_id} {participant_id}"


def _same_browser(
    participant: Participant,
    principal: Principal | None,
    guest_key: str | None,
    stored_guest_key: str | None,
) -> bool:
    """A signed-in user's credential needs that user's token; a guest's, that guest's cookie."""
    if participant.user_id is not None:
        return principal is not None and principal.user_id == str(participant.user_id)
    if not guest_key or not stored_guest_key:
        return False
    return hmac.compare_digest(guest_key.encode(), stored_guest_key.encode())


async def rejoin(
    session: AsyncSession,
    kv: Redis,
    meeting: Meeting,
    principal: Principal | None,
    participant_id: uuid.UUID,
    token: str,
    guest_key: str | None,
) -> tuple[Participant, str]:
    """The same participant back in (or back in the lobby, if they were waiting there), and
    their next credential. Refused (403 ``rejoin-refused``) unless the credential is this
    participant's and the caller is the same browser; 403 ``removed`` for someone removed;
    410 once the meeting is over; 409 when a place must be found in a full meeting."""
    if meeting.status in FINISHED:
        raise errors.meeting_gone(meeting.status)
    if not await _check(kv, token, meeting.id, participant_id):
        raise errors.rejoin_refused()
    participant = await session.get(Participant, participant_id)
    if participant is None or participant.meeting_id != meeting.id:
        raise errors.rejoin_refused()
    if participant.status == "removed":
        await revoke(kv, [participant.id])
        raise errors.removed_from_meeting()
    stored_guest_key = None
    if participant.user_id is None:
        stored = await guest_key_of(kv, participant.id)
        stored_guest_key = str(stored) if stored else None
        if guest_key and await is_removed_guest(kv, meeting.id, guest_key):
            await revoke(kv, [participant.id])
            raise errors.removed_from_meeting()
    if not _same_browser(participant, principal, guest_key, stored_guest_key):
        raise errors.rejoin_refused()
    if participant.status == "left":
        if participant.joined_at is None:  # denied at the door, or gave up waiting
            await revoke(kv, [participant.id])
            raise errors.rejoin_refused()
        # Back after the resume window ran out: in again, if there is room.
        await lock_meeting(session, meeting)
        full = await joined_count(session, meeting.id) >= settings_of(meeting).max_participants
        if full and participant.role != "host":
            await session.rollback()
            raise errors.meeting_full()
        mark_joined(meeting, participant, utcnow())
        participant.left_at = None
    if not await _spend(kv, token, meeting.id, participant.id):
        await session.rollback()
        raise errors.rejoin_refused()
    await session.commit()
    return participant, await issue(kv, participant)
