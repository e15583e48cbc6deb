"""The tus upload lifecycle: create, append (resumably), complete, terminate, expire.

An upload is a :class:`MediaUpload` row plus a partial object in storage. Each PATCH appends
at the recorded offset under a per-upload lock (one writer at a time, across nodes); progress
is saved whenever storage makes more bytes durable, so a client resumes after any failure from
what is really stored. Once the last byte is in, the object is completed and admitted as a
file (:func:`parley.media.files.admit`), or thrown away when its bytes are not acceptable.

The wire details of tus (headers, metadata, checksums) are in :mod:`parley.media.tus`; the
routes that speak it are in :mod:`parley.media.router`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import select, update
from starlette.concurrency import run_in_threadpool

from parley.core.auth import Principal
from parley.core.db import utcnow
from parley.core.errors import ProblemError
from parley.core.storage import StorageUnavailable
from parley.media import access, errors, files, quota, specs, tus
from parley.media.models import MediaFile, MediaUpload
from parley.media.runtime import MediaService

log = structlog.get_logger("parley.media.uploads")
LOCK_TTL_MS = 60_000
# How long a HEAD waits for the request writing to the upload to end (:func:`writer_done`).
# Long enough for a PATCH whose connection was cut to notice and save what it stored, even on
# a busy node; short enough that a HEAD beside a live, long PATCH still answers.
HEAD_WAIT_S = 10.0
LOCK_POLL_S = 0.05
# ``MediaUpload.length`` of an upload whose size is not known yet (tus creation-defer-length:
# a recording streamed while it is being made).
DEFERRED = -1
MAX_TRACKED_HASHES = 1000
SPOOL_BYTES = 4 * 1024 * 1024


async def create_upload(
    svc: MediaService,
    principal: Principal,
    auth: dict[str, str],
    length: int | None,
    metadata_header: str | None,
) -> MediaUpload:
    """A new upload of ``length`` bytes (``None``: declared later, by a PATCH)."""
    settings = svc.settings
    if length is not None and length > settings.media_max_file_bytes:
        raise errors.file_too_large(settings.media_max_file_bytes)
    spec = specs.upload_spec(tus.parse_metadata(metadata_header))
    await access.check_meeting_links(svc, spec, auth, principal.user_id)
    owner = uuid.UUID(principal.user_id)
    await quota.check_quota(svc, owner, length or 0)
    now = utcnow()
    upload = MediaUpload(
        owner_id=owner,
        meeting_id=spec.meeting_id,
        recording_id=spec.recording_id,
        kind=spec.kind,
        filename=spec.filename,
        content_type=spec.claimed_type,
        length=DEFERRED if length is None else length,
        offset=0,
        metadata_header=metadata_header or "",
        storage_state={},
        created_at=now,
        updated_at=now,
        expires_at=now + timedelta(seconds=settings.media_upload_expiry_s),
    )
    async with svc.db.sessionmaker() as session:
        session.add(upload)
        await session.commit()
    await quota.admit_new_upload(svc, upload)
    return upload


async def get_upload(svc: MediaService, upload_id: uuid.UUID, principal: Principal) -> MediaUpload:
    """The caller's own upload in progress; expired ones are cleaned up and answer 410."""
    async with svc.db.sessionmaker() as session:
        upload = await session.get(MediaUpload, upload_id)
    if upload is None or str(upload.owner_id) != principal.user_id:
        raise errors.upload_not_found()
    if upload.expires_at <= utcnow():
        await discard_upload(svc, upload)
        raise errors.upload_expired()
    return upload


async def finished_media(
    svc: MediaService, upload_id: uuid.UUID, principal: Principal
) -> MediaFile | None:
    """The media an upload became, so that a client asking after completion sees it done."""
    async with svc.db.sessionmaker() as session:
        media = await session.get(MediaFile, upload_id)
    if media is None or str(media.owner_id) != principal.user_id:
        return None
    return media


async def discard_upload(svc: MediaService, upload: MediaUpload) -> None:
    storage = svc.storage
    with contextlib.suppress(StorageUnavailable):
        await storage.abort_append(files.object_key(upload.id), upload.storage_state)
    await files.drop_upload(svc, upload.id)
    await quota.forget_reservation(svc, upload.owner_id, upload.id)


def _lock_key(upload_id: uuid.UUID) -> str:
    return f"media:upload-lock:{upload_id}"


@contextlib.asynccontextmanager
async def upload_lock(
    svc: MediaService, upload_id: uuid.UUID
) -> AsyncIterator[Callable[[], Awaitable[Any]]]:
    """One request at a time per upload, across processes (Redis): a second concurrent PATCH
    gets 423 instead of interleaving bytes."""
    kv = svc.kv
    key = _lock_key(upload_id)
    token = uuid.uuid4().hex
    if not await kv.set(key, token, nx=True, px=LOCK_TTL_MS):
        raise errors.upload_locked()

    async def refresh() -> Any:
        return await kv.pexpire(key, LOCK_TTL_MS)

    try:
        yield refresh
    finally:
        if await kv.get(key) == token:
            await kv.delete(key)


async def writer_done(svc: MediaService, upload_id: uuid.UUID, wait_s: float = HEAD_WAIT_S) -> bool:
    """Wait until the request that holds the upload's lock now (if any) has ended; ``False``
    when it still holds it after ``wait_s``.

    A PATCH saves progress while it runs and once more when it ends, after its bytes are made
    durable, which, when its connection was cut, happens only once it has noticed the cut. A
    client that resumes asks HEAD for the offset first: answered from the middle of that PATCH,
    the offset would be behind the one the PATCH saves at its end, and the resumed PATCH would
    get 409. So HEAD waits for the writer to finish and then reads the final offset. It does
    not take the lock itself (a PATCH beside it must not get 423); it waits until the lock is
    free or held by another request (the writer it saw has released it, after its last save).
    Bounded: beside a live PATCH that keeps going, HEAD answers the progress saved so far."""
    kv = svc.kv
    key = _lock_key(upload_id)
    holder = await kv.get(key)
    if holder is None:
        return True
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        await asyncio.sleep(LOCK_POLL_S)
        if await kv.get(key) != holder:
            return True
    return False


async def _save_progress(
    svc: MediaService, upload: MediaUpload, offset: int, state: dict[str, Any]
) -> None:
    settings = svc.settings
    now = utcnow()
    upload.offset = offset
    upload.storage_state = state
    upload.updated_at = now
    upload.expires_at = now + timedelta(seconds=settings.media_upload_expiry_s)
    async with svc.db.sessionmaker() as session:
        await session.execute(
            update(MediaUpload)
            .where(MediaUpload.id == upload.id)
            .values(
                offset=offset,
                length=upload.length,
                storage_state=state,
                updated_at=now,
                expires_at=upload.expires_at,
            )
        )
        await session.commit()


async def _verified_body(
    chunks: AsyncIterator[bytes], checksum: tuple[str, bytes]
) -> AsyncIterator[bytes]:
    """A body with ``Upload-Checksum`` is spooled (memory, then a temp file) and checked before
    any of it is stored: a mismatching chunk must leave no trace."""
    algorithm, expected = checksum
    digest = tus.hasher(algorithm)
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 - closed below
    try:
        async for chunk in chunks:
            digest.update(chunk)
            await run_in_threadpool(spool.write, chunk)
        if digest.digest() != expected:
            raise errors.tus_checksum_mismatch()
        await run_in_threadpool(spool.seek, 0)
        while chunk := await run_in_threadpool(spool.read, 1024 * 1024):
            yield chunk
    finally:
        spool.close()


async def append(
    svc: MediaService,
    upload_id: uuid.UUID,
    principal: Principal,
    auth: dict[str, str],
    *,
    offset: int,
    content_length: int | None,
    chunks: AsyncIterator[bytes],
    checksum: tuple[str, bytes] | None,
    disconnect: type[BaseException],
    declared_length: int | None = None,
) -> tuple[MediaUpload, MediaFile | None]:
    """Write a PATCH body at ``offset``; returns the upload and, once complete, its media.
    ``declared_length`` is the ``Upload-Length`` of an upload created with a deferred length.

    Progress is saved each time the store makes more bytes durable (not only at the end), so
    a crash in a long PATCH resumes from there. A body that goes past the declared length is
    refused: the chunk that crosses it is not stored and the upload is not completed (the
    upload's last byte is held back until the body has ended, so that it never completes
    early). Bytes of a deferred-length upload are charged to the quota as they arrive."""
    settings = svc.settings
    async with upload_lock(svc, upload_id) as refresh_lock:
        upload = await get_upload(svc, upload_id, principal)
        if offset != upload.offset:
            raise errors.upload_offset_mismatch(offset, upload.offset)
        await _declare_length(svc, upload, declared_length)
        deferred = upload.length == DEFERRED
        limit = settings.media_max_file_bytes if deferred else upload.length
        too_long = (
            errors.file_too_large(settings.media_max_file_bytes)
            if deferred
            else errors.upload_length_exceeded()
        )
        if content_length is not None and offset + content_length > limit:
            raise too_long
        # A declared length was reserved whole when it was declared; a deferred one is
        # charged byte by byte.
        meter = quota.QuotaMeter(svc, upload.owner_id, upload.id) if deferred else None
        if meter is not None:
            await meter.begin()
            if content_length:
                await quota.check_quota(svc, upload.owner_id, content_length)
        hashed = svc.hashes.pop(upload.id, None)
        digest = hashed[1] if hashed and hashed[0] == upload.offset else None
        if digest is None and upload.offset == 0:
            digest = hashlib.sha256()
        body = _verified_body(chunks, checksum) if checksum else chunks
        appender = await svc.storage.open_append(
            files.object_key(upload.id), upload.offset, upload.storage_state
        )
        hash_here = digest is not None and not appender.hashes_in_thread
        if digest is not None and appender.hashes_in_thread:
            appender.digest = digest
        received = written = saved = upload.offset
        held = b""
        refusal: ProblemError | None = None
        completed = False
        refreshed = time.monotonic()

        async def write(data: bytes) -> None:
            nonlocal written
            if hash_here:
                digest.update(data)  # type: ignore[union-attr]
            await appender.write(data)
            written += len(data)

        async def save_durable() -> None:
            nonlocal saved
            if appender.offset != saved:
                await _save_progress(svc, upload, appender.offset, appender.state)
                if meter is not None:
                    await meter.settled(appender.offset - saved)
                saved = appender.offset

        try:
            try:
                async for chunk in body:
                    if not chunk:
                        continue
                    if received + len(chunk) > limit:
                        refusal = too_long
                        break
                    if meter is not None:
                        try:
                            await meter.charge(len(chunk))
                        except ProblemError as exc:
                            refusal = exc
                            break
                    received += len(chunk)
                    if received == upload.length:
                        chunk, held = chunk[:-1], chunk[-1:]
                    if chunk:
                        await write(chunk)
                    await save_durable()
                    if time.monotonic() - refreshed > LOCK_TTL_MS / 4000:
                        await refresh_lock()
                        refreshed = time.monotonic()
            except disconnect:
                log.info("upload_interrupted", upload_id=str(upload.id), received=received)
            if refusal is too_long:
                pass  # refused whole: nothing of it is made durable or completed
            elif received == upload.length:
                await write(held)
                await appender.finish()
                completed = True
            else:
                await appender.checkpoint()
        finally:
            # Whatever happened, record what is durably stored so the client can resume there.
            await appender.close()
            state = {"completed": True} if completed else appender.state
            await _save_progress(svc, upload, appender.offset, state)
            if meter is not None:
                await meter.release()
            if digest is not None and appender.offset == written:
                svc.hashes[upload.id] = (written, digest)
                while len(svc.hashes) > MAX_TRACKED_HASHES:
                    svc.hashes.popitem(last=False)
        if refusal is not None:
            raise refusal
        media = None
        if upload.offset == upload.length:
            media = await finalize(svc, upload, principal, auth)
        return upload, media


async def _declare_length(svc: MediaService, upload: MediaUpload, declared: int | None) -> None:
    if declared is None:
        return
    if upload.length != DEFERRED:
        if declared != upload.length:
            raise errors.upload_length_fixed()
        return
    settings = svc.settings
    if declared < upload.offset:
        raise errors.tus_header("Upload-Length is below the bytes already sent.")
    if declared > settings.media_max_file_bytes:
        raise errors.file_too_large(settings.media_max_file_bytes)
    await quota.check_quota(svc, upload.owner_id, declared - upload.offset)
    upload.length = declared
    await _save_progress(svc, upload, upload.offset, upload.storage_state)
    # Checked again now that the length is recorded (reserved whole): a racing upload of the
    # same owner may have taken the room meanwhile.
    used = await quota.charged_bytes(svc, upload.owner_id)
    if used > settings.media_user_quota_bytes:
        upload.length = DEFERRED
        await _save_progress(svc, upload, upload.offset, upload.storage_state)
        raise errors.quota_exceeded(
            settings.media_user_quota_bytes, used - (declared - upload.offset)
        )


async def finalize(
    svc: MediaService, upload: MediaUpload, principal: Principal, auth: dict[str, str]
) -> MediaFile:
    """Complete the stored object and admit it. Safe to retry after a storage outage: the
    state remembers whether the object was already completed."""
    if not upload.storage_state.get("completed"):
        appender = await svc.storage.open_append(
            files.object_key(upload.id), upload.offset, upload.storage_state
        )
        await appender.finish()
        await _save_progress(svc, upload, upload.offset, {"completed": True})
    hashed = svc.hashes.pop(upload.id, None)
    sha256 = hashed[1].hexdigest() if hashed and hashed[0] == upload.length else None
    return await files.admit(
        svc,
        media_id=upload.id,
        owner=principal,
        auth=auth,
        spec=specs.spec_of(upload),
        size=upload.length,
        sha256=sha256,
        upload_id=upload.id,
    )


async def expire_uploads(svc: MediaService, now: datetime | None = None) -> int:
    """Remove uploads past their expiry (and their stored parts)."""
    now = now or utcnow()
    async with svc.db.sessionmaker() as session:
        rows = list(
            (await session.scalars(select(MediaUpload).where(MediaUpload.expires_at <= now))).all()
        )
    for upload in rows:
        await discard_upload(svc, upload)
    return len(rows)
