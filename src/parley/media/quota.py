"""The storage quota: what one user stores, plus what is on its way, stays within the limit.

The database counts stored files and uploads in progress; bytes received but not saved yet
are reserved in Redis (:class:`QuotaMeter`), so that concurrent requests of one user, on any
node, see each other. A check before the bytes flow (:func:`check_quota`) is advisory; what
binds is the reservation taken as they arrive, and the count after an upload's row is in
(:func:`admit_new_upload`).

Bytes move from Redis to the database as they are saved: the row is committed first, the
reservation dropped after. Whoever adds the two up (:func:`charged_bytes`) therefore reads
Redis first and the database after, in one statement: a move that lands between the two reads
is then counted twice (its reservation was still there, its row is already in), never not at
all, as it would be the other way round (the row read before the commit, the reservation after
it was dropped), which let two requests pass the quota together. No lock is needed for that.
"""

from __future__ import annotations

import uuid

from sqlalchemy import case, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from parley.core.db import utcnow
from parley.core.errors import ProblemError
from parley.media import errors
from parley.media.models import MediaFile, MediaUpload
from parley.media.runtime import MediaService

# Quota reserved per check while bytes stream in (one database query per block).
QUOTA_GRANT_BYTES = 1024 * 1024
# How long reservations of a request that died without releasing them can linger.
IN_FLIGHT_TTL_S = 3600


async def used_bytes(session: AsyncSession, owner: uuid.UUID) -> int:
    """What the database counts for ``owner``: stored files, and uploads in progress at their
    declared size (or what arrived so far when the size is not declared yet).

    One statement, so one snapshot: an upload admitted as a file (its upload row deleted and
    its file row added in one commit) is counted once, where two queries could miss it."""
    stored = (
        select(func.coalesce(func.sum(MediaFile.size_bytes), 0))
        .where(MediaFile.owner_id == owner)
        .scalar_subquery()
    )
    declared = case((MediaUpload.length < 0, MediaUpload.offset), else_=MediaUpload.length)
    pending = (
        select(func.coalesce(func.sum(declared), 0))
        .where(MediaUpload.owner_id == owner)
        .scalar_subquery()
    )
    row = (await session.execute(select(stored, pending))).one()
    return int(row[0] or 0) + int(row[1] or 0)


async def charged_bytes(svc: MediaService, owner: uuid.UUID) -> int:
    """Everything charged to ``owner``: bytes in flight (Redis), then what the database counts.
    In this order, so that bytes moving from one to the other meanwhile are never missed (see
    the module)."""
    in_flight = await in_flight_bytes(svc, owner)
    async with svc.db.sessionmaker() as session:
        return in_flight + await used_bytes(session, owner)


async def check_quota(svc: MediaService, owner: uuid.UUID, adding: int) -> None:
    """An early, advisory refusal (a declared size that cannot fit). What binds is what is
    recorded or charged: rows in the database, and bytes in flight (:class:`QuotaMeter`)."""
    settings = svc.settings
    used = await charged_bytes(svc, owner)
    if used + adding > settings.media_user_quota_bytes:
        raise errors.quota_exceeded(settings.media_user_quota_bytes, used)


def in_flight_key(owner: uuid.UUID) -> str:
    return f"media:quota-in-flight:{owner}"


async def in_flight_bytes(svc: MediaService, owner: uuid.UUID) -> int:
    values = await svc.kv.hvals(in_flight_key(owner))
    return sum(int(v) for v in values)


class QuotaMeter:
    """Charges one request's bytes against its owner's quota as they arrive.

    The database counts stored files and uploads in progress (their declared length, or for
    a deferred length the offset saved so far). Bytes on their way (received, not yet saved)
    are reserved in a Redis hash, one field per request target (an upload id, or the id of a
    multipart file), so that concurrent requests of one user, on any node, see each other:
    database + every reservation must stay within the quota. A reservation is taken first
    and checked after, so two racing requests may both be refused but never both pass.
    Reservations are made a :data:`QUOTA_GRANT_BYTES` block at a time (one query per block),
    then exactly what is needed when a block no longer fits, so uploads stop at the quota.
    A crashed request's field is cleared by the next request of the same upload (which holds
    the upload lock), or with the hash's expiry.
    """

    def __init__(self, svc: MediaService, owner: uuid.UUID, target: uuid.UUID) -> None:
        self.svc = svc
        self.owner = owner
        self.key = in_flight_key(owner)
        self.field = str(target)
        self.granted = 0  # reserved in Redis, beyond what the database counts
        self.used = 0  # received of that

    async def begin(self) -> None:
        await self.svc.kv.hdel(self.key, self.field)

    async def charge(self, size: int) -> None:
        """Count ``size`` more bytes; 413 (nothing charged) when they do not fit."""
        need = self.used + size - self.granted
        if need > 0:
            for grant in dict.fromkeys((max(need, QUOTA_GRANT_BYTES), need)):
                if await self._reserve(grant):
                    break
            else:
                settings = self.svc.settings
                async with self.svc.db.sessionmaker() as session:
                    used = await used_bytes(session, self.owner)
                raise errors.quota_exceeded(settings.media_user_quota_bytes, used + self.used)
        self.used += size

    async def _reserve(self, grant: int) -> bool:
        settings = self.svc.settings
        kv = self.svc.kv
        await kv.hincrby(self.key, self.field, grant)
        await kv.expire(self.key, IN_FLIGHT_TTL_S)
        if await charged_bytes(self.svc, self.owner) > settings.media_user_quota_bytes:
            await kv.hincrby(self.key, self.field, -grant)
            return False
        self.granted += grant
        return True

    async def settled(self, size: int) -> None:
        """``size`` charged bytes are now counted by the database: call only after their commit
        (the order :func:`charged_bytes` relies on)."""
        if size <= 0:
            return
        self.used -= size
        self.granted -= size
        await self.svc.kv.hincrby(self.key, self.field, -size)

    async def release(self) -> None:
        """The request is over: what it stored is in the database (or was thrown away)."""
        self.granted = self.used = 0
        await self.svc.kv.hdel(self.key, self.field)


async def admit_new_upload(svc: MediaService, upload: MediaUpload) -> None:
    """Checked after the upload's row is in: its declared length (reserved whole) must fit the
    quota with everything else, and the owner may hold only ``media_max_open_uploads``
    uploads in progress (each holds a row, a partial object and, with a declared length, part
    of the quota: several files sent side by side fit, a client that opens uploads without end
    does not). Counting after the insert means two racing creations cannot both slip in."""
    settings = svc.settings
    now = utcnow()
    used = await charged_bytes(svc, upload.owner_id)
    async with svc.db.sessionmaker() as session:
        open_uploads = await session.scalar(
            select(func.count())
            .select_from(MediaUpload)
            .where(MediaUpload.owner_id == upload.owner_id, MediaUpload.expires_at > now)
        )
    problem: ProblemError | None = None
    if int(open_uploads or 0) > settings.media_max_open_uploads:
        problem = errors.too_many_uploads(settings.media_max_open_uploads)
    elif used > settings.media_user_quota_bytes:
        problem = errors.quota_exceeded(
            settings.media_user_quota_bytes, used - max(upload.length, 0)
        )
    if problem is not None:
        async with svc.db.sessionmaker() as session:
            await session.execute(delete(MediaUpload).where(MediaUpload.id == upload.id))
            await session.commit()
        raise problem


async def forget_reservation(svc: MediaService, owner: uuid.UUID, target: uuid.UUID) -> None:
    """Drop what a request for ``target`` (an upload) had reserved, e.g. when it is discarded."""
    await svc.kv.hdel(in_flight_key(owner), str(target))


async def forget_reservations(svc: MediaService, owner: uuid.UUID) -> None:
    """Drop every reservation of ``owner`` (their account is gone)."""
    await svc.kv.delete(in_flight_key(owner))
