"""media-service business rules: who may see what, limits, and the life of an upload.

An upload (tus or multipart) streams to storage; once complete its bytes are sniffed, and only a
file of an accepted type that matches what the client claimed becomes a :class:`MediaFile`
(otherwise the object is deleted: nothing is kept). Probing, thumbnails and recording durations
are the worker's job (:mod:`parley.media.worker`).

Database sessions are opened per step rather than per request: an upload can stream for
minutes, and no transaction (or SQLite write lock) may stay open meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import re
import tempfile
import time
import unicodedata
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import structlog
from fastapi import FastAPI
from sqlalchemy import case, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.concurrency import run_in_threadpool

from parley.config import Settings
from parley.core.auth import Principal
from parley.core.db import Database, utcnow
from parley.core.errors import ProblemError
from parley.core.storage import ObjectNotFound, Storage, StorageUnavailable, create_storage
from parley.media import sniffing, tus
from parley.media.meetings_client import MeetingsClient
from parley.media.models import MediaFile, MediaUpload
from parley.media.schemas import KINDS

log = structlog.get_logger("parley.media")
LOCK_TTL_MS = 60_000
# ``MediaUpload.length`` of an upload whose size is not known yet (tus creation-defer-length:
# a recording streamed while it is being made).
DEFERRED = -1
MAX_TRACKED_HASHES = 1000
SPOOL_BYTES = 4 * 1024 * 1024


# --------------------------------------------------------------------------------------------
# Runtime state shared by the routes and the worker of one app


@dataclass
class MediaRuntime:
    storage: Storage
    meetings: MeetingsClient
    wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    # Running SHA-256 of uploads in progress: upload id → (bytes hashed, hasher). When it does
    # not line up with the stored offset (a restart, another node, bytes lost in a failure),
    # the digest is recomputed from storage at the end instead.
    hashes: OrderedDict[uuid.UUID, tuple[int, Any]] = field(default_factory=OrderedDict)


def runtime(app: FastAPI) -> MediaRuntime:
    """The media runtime of ``app``, made on first use (storage client, meetings client)."""
    media: MediaRuntime | None = getattr(app.state, "media", None)
    if media is None:
        settings: Settings = app.state.settings
        media = MediaRuntime(
            storage=create_storage(settings),
            meetings=MeetingsClient(app, settings.media_meetings_url),
        )
        app.state.media = media
    return media


def db(app: FastAPI) -> Database:
    database: Database = app.state.db
    return database


def object_key(media_id: uuid.UUID) -> str:
    return f"media/{media_id}"


def thumbnail_key(media_id: uuid.UUID) -> str:
    return f"thumbnails/{media_id}.webp"


def _not_found() -> ProblemError:
    return ProblemError(404, "No such media.", type="media-not-found")


def _upload_not_found() -> ProblemError:
    return tus.problem(404, "No such upload.", "upload-not-found")


# --------------------------------------------------------------------------------------------
# What an upload declares


_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\]")


def safe_filename(name: str | None) -> str:
    """A display name only (storage keys never use it): the last path component, no control
    characters or separators, at most 255 characters."""
    name = unicodedata.normalize("NFC", name or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = _UNSAFE.sub("_", name).strip().lstrip(".")
    return name[:255] or "upload"


@dataclass(frozen=True)
class UploadSpec:
    filename: str
    claimed_type: str | None
    kind: str
    meeting_id: uuid.UUID | None
    recording_id: uuid.UUID | None


def _uuid_field(name: str, value: str | None) -> uuid.UUID | None:
    if not value:
        return None
    try:
        return uuid.UUID(value)
    except ValueError as exc:
        raise ProblemError(400, f"{name} is not a valid id.", type="bad-metadata") from exc


def upload_spec(fields: dict[str, str]) -> UploadSpec:
    """Validate what the client says about its file (tus metadata or form fields)."""
    kind = fields.get("kind") or "file"
    if kind not in KINDS:
        raise ProblemError(400, f"kind must be one of {', '.join(KINDS)}.", type="bad-metadata")
    filename = safe_filename(fields.get("filename") or fields.get("name"))
    content_type = fields.get("content_type") or fields.get("filetype") or fields.get("type")
    spec = UploadSpec(
        filename=filename,
        claimed_type=sniffing.claimed_type(content_type, filename),
        kind=kind,
        meeting_id=_uuid_field("meeting_id", fields.get("meeting_id")),
        recording_id=_uuid_field("recording_id", fields.get("recording_id")),
    )
    if spec.kind == "recording" and spec.meeting_id is None:
        raise ProblemError(400, "A recording needs its meeting_id.", type="bad-metadata")
    if spec.recording_id is not None and spec.kind != "recording":
        raise ProblemError(400, "recording_id is only for kind=recording.", type="bad-metadata")
    if spec.claimed_type is not None and spec.claimed_type not in sniffing.ALLOWED_TYPES:
        raise _unsupported(f"Files of type {spec.claimed_type} are not accepted.")
    return spec


def _unsupported(detail: str) -> ProblemError:
    return ProblemError(
        415,
        f"{detail} Accepted: {', '.join(sorted(sniffing.ALLOWED_TYPES))}.",
        type="unsupported-media-type",
        headers=tus.headers(),
    )


def _too_large(settings: Settings) -> ProblemError:
    return ProblemError(
        413,
        f"The file is larger than the limit of {settings.media_max_file_bytes} bytes.",
        type="file-too-large",
        headers=tus.headers(),
    )


async def _used_bytes(session: AsyncSession, owner: uuid.UUID) -> int:
    stored = await session.scalar(
        select(func.coalesce(func.sum(MediaFile.size_bytes), 0)).where(MediaFile.owner_id == owner)
    )
    # Uploads in progress count with their declared size, or what arrived so far when the
    # size is not declared yet.
    declared = case((MediaUpload.length < 0, MediaUpload.offset), else_=MediaUpload.length)
    pending = await session.scalar(
        select(func.coalesce(func.sum(declared), 0)).where(MediaUpload.owner_id == owner)
    )
    return int(stored or 0) + int(pending or 0)


async def check_quota(app: FastAPI, owner: uuid.UUID, adding: int) -> None:
    settings: Settings = app.state.settings
    async with db(app).sessionmaker() as session:
        used = await _used_bytes(session, owner)
    if used + adding > settings.media_user_quota_bytes:
        raise ProblemError(
            413,
            f"This would exceed your storage quota of {settings.media_user_quota_bytes} bytes "
            f"({used} in use).",
            type="quota-exceeded",
            headers=tus.headers(),
        )


async def check_meeting_links(
    app: FastAPI, spec: UploadSpec, auth: dict[str, str]
) -> dict[str, Any] | None:
    """The caller must belong to the meeting a file is for (and the recording to it)."""
    if spec.meeting_id is None:
        return None
    meetings = runtime(app).meetings
    meeting = await meetings.meeting(spec.meeting_id, auth)
    if meeting is None:
        raise ProblemError(404, "No such meeting.", type="meeting-not-found")
    if spec.recording_id is not None:
        recordings = await meetings.recordings(spec.meeting_id, auth) or []
        if not any(r.get("id") == str(spec.recording_id) for r in recordings):
            raise ProblemError(
                404, "No such recording in this meeting.", type="recording-not-found"
            )
    return meeting


# --------------------------------------------------------------------------------------------
# Access


async def can_view(
    app: FastAPI, media: MediaFile, principal: Principal, auth: dict[str, str]
) -> bool:
    if principal.is_admin or str(media.owner_id) == principal.user_id:
        return True
    if media.meeting_id is None:
        return False
    return await runtime(app).meetings.meeting(media.meeting_id, auth) is not None


async def get_media_row(app: FastAPI, media_id: uuid.UUID) -> MediaFile | None:
    async with db(app).sessionmaker() as session:
        return await session.get(MediaFile, media_id)


async def visible_media(
    app: FastAPI, media_id: uuid.UUID, principal: Principal, auth: dict[str, str]
) -> MediaFile:
    """The file, if the caller may see it; 404 otherwise (ids cannot be probed)."""
    async with db(app).sessionmaker() as session:
        media = await session.get(MediaFile, media_id)
    if media is None or not await can_view(app, media, principal, auth):
        raise _not_found()
    return media


async def list_media(
    app: FastAPI,
    principal: Principal,
    auth: dict[str, str],
    *,
    meeting_id: uuid.UUID | None,
    kind: str | None,
    limit: int,
    offset: int,
) -> tuple[list[MediaFile], int]:
    """With ``meeting_id``: that meeting's files, for the people who belong to it. Without:
    the caller's own files."""
    query = select(MediaFile)
    if meeting_id is not None:
        if not principal.is_admin and await runtime(app).meetings.meeting(meeting_id, auth) is None:
            raise ProblemError(404, "No such meeting.", type="meeting-not-found")
        query = query.where(MediaFile.meeting_id == meeting_id)
    else:
        query = query.where(MediaFile.owner_id == uuid.UUID(principal.user_id))
    if kind is not None:
        query = query.where(MediaFile.kind == kind)
    async with db(app).sessionmaker() as session:
        total = await session.scalar(select(func.count()).select_from(query.subquery()))
        rows = await session.scalars(
            query.order_by(MediaFile.created_at.desc(), MediaFile.id).limit(limit).offset(offset)
        )
        return list(rows.all()), int(total or 0)


async def delete_media(
    app: FastAPI, media_id: uuid.UUID, principal: Principal, auth: dict[str, str]
) -> None:
    """The owner, the meeting's host or an admin removes the object and its thumbnail."""
    media = await visible_media(app, media_id, principal, auth)
    allowed = principal.is_admin or str(media.owner_id) == principal.user_id
    if not allowed and media.meeting_id is not None:
        meeting = await runtime(app).meetings.meeting(media.meeting_id, auth)
        allowed = meeting is not None and meeting.get("host_id") == principal.user_id
    if not allowed:
        raise ProblemError(
            403, "Only the owner, the meeting's host or an admin can delete this.", type="forbidden"
        )
    await remove_media(app, media)


async def remove_media(app: FastAPI, media: MediaFile) -> None:
    storage = runtime(app).storage
    await storage.delete(media.storage_key)
    if media.thumbnail_key:
        await storage.delete(media.thumbnail_key)
    async with db(app).sessionmaker() as session:
        await session.execute(delete(MediaFile).where(MediaFile.id == media.id))
        await session.commit()


# --------------------------------------------------------------------------------------------
# Admitting a complete object as a media file


def _sniff_key(storage: Storage, key: str) -> str:
    with storage.open_reader(key) as reader:
        return sniffing.sniff(reader)


def _sha256_key(storage: Storage, key: str) -> str:
    digest = hashlib.sha256()
    with storage.open_reader(key) as reader:
        while chunk := reader.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


async def admit(
    app: FastAPI,
    *,
    media_id: uuid.UUID,
    owner: Principal,
    auth: dict[str, str],
    spec: UploadSpec,
    size: int,
    sha256: str | None,
    upload_id: uuid.UUID | None = None,
) -> MediaFile:
    """Sniff the stored object; keep it as a media file, or delete it and answer 415."""
    media_runtime = runtime(app)
    storage = media_runtime.storage
    key = object_key(media_id)
    try:
        if size == 0:
            raise sniffing.SniffError("The file is empty.")
        actual = await run_in_threadpool(_sniff_key, storage, key)
        if not sniffing.consistent(spec.claimed_type, actual):
            raise sniffing.SniffError(
                f"The file's bytes are {actual}, not {spec.claimed_type} as claimed."
            )
        if sha256 is None:
            sha256 = await run_in_threadpool(_sha256_key, storage, key)
    except sniffing.SniffError as exc:
        # A store that went away while we read looks like unreadable bytes: make sure it is
        # there (StorageUnavailable → 503, retried later) before throwing anything away.
        await storage.stat(key)
        await storage.delete(key)
        await _drop_upload(app, upload_id)
        raise _unsupported(str(exc)) from exc
    media = MediaFile(
        id=media_id,
        owner_id=uuid.UUID(owner.user_id),
        meeting_id=spec.meeting_id,
        recording_id=spec.recording_id,
        kind=spec.kind,
        filename=spec.filename,
        content_type=actual,
        size_bytes=size,
        sha256=sha256,
        storage_key=key,
        codecs=[],
        thumbnail_status="none" if actual == "application/pdf" else "pending",
        processing_attempts=0,
        created_at=utcnow(),
    )
    async with db(app).sessionmaker() as session:
        session.add(media)
        if upload_id is not None:
            await session.execute(delete(MediaUpload).where(MediaUpload.id == upload_id))
        await session.commit()
    media_runtime.wakeup.set()
    if spec.kind == "recording" and spec.meeting_id and spec.recording_id:
        await media_runtime.meetings.update_recording(
            spec.meeting_id,
            spec.recording_id,
            {"media_id": str(media.id), "size_bytes": size, "status": "processing"},
            auth,
        )
    log.info("media_stored", media_id=str(media.id), kind=media.kind, size=size, type=actual)
    return media


async def _drop_upload(app: FastAPI, upload_id: uuid.UUID | None) -> None:
    if upload_id is None:
        return
    runtime(app).hashes.pop(upload_id, None)
    async with db(app).sessionmaker() as session:
        await session.execute(delete(MediaUpload).where(MediaUpload.id == upload_id))
        await session.commit()


# --------------------------------------------------------------------------------------------
# tus uploads


def _spec_of(upload: MediaUpload) -> UploadSpec:
    return UploadSpec(
        filename=upload.filename,
        claimed_type=upload.content_type,
        kind=upload.kind,
        meeting_id=upload.meeting_id,
        recording_id=upload.recording_id,
    )


async def create_upload(
    app: FastAPI,
    principal: Principal,
    auth: dict[str, str],
    length: int | None,
    metadata_header: str | None,
) -> MediaUpload:
    """A new upload of ``length`` bytes (``None``: declared later, by a PATCH)."""
    settings: Settings = app.state.settings
    if length is not None and length > settings.media_max_file_bytes:
        raise _too_large(settings)
    spec = upload_spec(tus.parse_metadata(metadata_header))
    await check_meeting_links(app, spec, auth)
    owner = uuid.UUID(principal.user_id)
    await check_quota(app, owner, length or 0)
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
    async with db(app).sessionmaker() as session:
        session.add(upload)
        await session.commit()
    return upload


async def get_upload(app: FastAPI, upload_id: uuid.UUID, principal: Principal) -> MediaUpload:
    """The caller's own upload in progress; expired ones are cleaned up and answer 410."""
    async with db(app).sessionmaker() as session:
        upload = await session.get(MediaUpload, upload_id)
    if upload is None or str(upload.owner_id) != principal.user_id:
        raise _upload_not_found()
    if upload.expires_at <= utcnow():
        await discard_upload(app, upload)
        raise tus.problem(410, "The upload expired and was removed.", "upload-expired")
    return upload


async def finished_media(
    app: FastAPI, upload_id: uuid.UUID, principal: Principal
) -> MediaFile | None:
    """The media an upload became, so that a client asking after completion sees it done."""
    async with db(app).sessionmaker() as session:
        media = await session.get(MediaFile, upload_id)
    if media is None or str(media.owner_id) != principal.user_id:
        return None
    return media


async def discard_upload(app: FastAPI, upload: MediaUpload) -> None:
    storage = runtime(app).storage
    with contextlib.suppress(StorageUnavailable):
        await storage.abort_append(object_key(upload.id), upload.storage_state)
    await _drop_upload(app, upload.id)


@contextlib.asynccontextmanager
async def upload_lock(
    app: FastAPI, upload_id: uuid.UUID
) -> AsyncIterator[Callable[[], Awaitable[Any]]]:
    """One request at a time per upload, across processes (Redis): a second concurrent PATCH
    gets 423 instead of interleaving bytes."""
    kv = app.state.kv
    key = f"media:upload-lock:{upload_id}"
    token = uuid.uuid4().hex
    if not await kv.set(key, token, nx=True, px=LOCK_TTL_MS):
        raise ProblemError(
            423,
            "Another request is writing to this upload; retry after it ends.",
            type="upload-locked",
            title="Locked",
            headers=tus.headers(),
        )

    async def refresh() -> Any:
        return await kv.pexpire(key, LOCK_TTL_MS)

    try:
        yield refresh
    finally:
        if await kv.get(key) == token:
            await kv.delete(key)


async def _save_progress(
    app: FastAPI, upload: MediaUpload, offset: int, state: dict[str, Any]
) -> None:
    settings: Settings = app.state.settings
    now = utcnow()
    upload.offset = offset
    upload.storage_state = state
    upload.updated_at = now
    upload.expires_at = now + timedelta(seconds=settings.media_upload_expiry_s)
    async with db(app).sessionmaker() as session:
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
            raise tus.checksum_mismatch()
        await run_in_threadpool(spool.seek, 0)
        while chunk := await run_in_threadpool(spool.read, 1024 * 1024):
            yield chunk
    finally:
        spool.close()


async def append(
    app: FastAPI,
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
    ``declared_length`` is the ``Upload-Length`` of an upload created with a deferred length."""
    settings: Settings = app.state.settings
    async with upload_lock(app, upload_id) as refresh_lock:
        upload = await get_upload(app, upload_id, principal)
        if offset != upload.offset:
            raise tus.problem(
                409,
                f"Upload-Offset {offset} does not match the upload's offset {upload.offset}.",
                "upload-offset-mismatch",
            )
        await _declare_length(app, upload, declared_length)
        limit = upload.length if upload.length != DEFERRED else settings.media_max_file_bytes
        if content_length is not None and offset + content_length > limit:
            raise tus.problem(413, "The chunk goes past Upload-Length.", "upload-length-exceeded")
        if upload.length == DEFERRED and content_length:
            await check_quota(app, upload.owner_id, content_length)
        media_runtime = runtime(app)
        hashed = media_runtime.hashes.pop(upload.id, None)
        digest = hashed[1] if hashed and hashed[0] == upload.offset else None
        if digest is None and upload.offset == 0:
            digest = hashlib.sha256()
        body = _verified_body(chunks, checksum) if checksum else chunks
        appender = await media_runtime.storage.open_append(
            object_key(upload.id), upload.offset, upload.storage_state
        )
        hash_here = digest is not None and not appender.hashes_in_thread
        if digest is not None and appender.hashes_in_thread:
            appender.digest = digest
        received = upload.offset
        overflow = completed = False
        refreshed = time.monotonic()
        try:
            try:
                async for chunk in body:
                    if received + len(chunk) > limit:
                        chunk = chunk[: limit - received]
                        overflow = True
                    received += len(chunk)
                    if hash_here:
                        digest.update(chunk)  # type: ignore[union-attr]
                    await appender.write(chunk)
                    if overflow:
                        break
                    if time.monotonic() - refreshed > LOCK_TTL_MS / 4000:
                        await refresh_lock()
                        refreshed = time.monotonic()
            except disconnect:
                log.info("upload_interrupted", upload_id=str(upload.id), received=received)
            if received == upload.length:
                await appender.finish()
                completed = True
            else:
                await appender.checkpoint()
        finally:
            # Whatever happened, record what is durably stored so the client can resume there.
            await appender.close()
            state = {"completed": True} if completed else appender.state
            await _save_progress(app, upload, appender.offset, state)
            if digest is not None and appender.offset == received:
                media_runtime.hashes[upload.id] = (received, digest)
                while len(media_runtime.hashes) > MAX_TRACKED_HASHES:
                    media_runtime.hashes.popitem(last=False)
        if overflow:
            raise tus.problem(413, "The chunk goes past Upload-Length.", "upload-length-exceeded")
        media = None
        if upload.offset == upload.length:
            media = await finalize(app, upload, principal, auth)
        return upload, media


async def _declare_length(app: FastAPI, upload: MediaUpload, declared: int | None) -> None:
    if declared is None:
        return
    if upload.length != DEFERRED:
        if declared != upload.length:
            raise tus.problem(400, "Upload-Length cannot change.", "upload-length-fixed")
        return
    settings: Settings = app.state.settings
    if declared < upload.offset:
        raise tus.problem(400, "Upload-Length is below the bytes already sent.", "tus-header")
    if declared > settings.media_max_file_bytes:
        raise _too_large(settings)
    await check_quota(app, upload.owner_id, declared - upload.offset)
    upload.length = declared
    await _save_progress(app, upload, upload.offset, upload.storage_state)


async def finalize(
    app: FastAPI, upload: MediaUpload, principal: Principal, auth: dict[str, str]
) -> MediaFile:
    """Complete the stored object and admit it. Safe to retry after a storage outage: the
    state remembers whether the object was already completed."""
    media_runtime = runtime(app)
    if not upload.storage_state.get("completed"):
        appender = await media_runtime.storage.open_append(
            object_key(upload.id), upload.offset, upload.storage_state
        )
        await appender.finish()
        await _save_progress(app, upload, upload.offset, {"completed": True})
    hashed = media_runtime.hashes.pop(upload.id, None)
    sha256 = hashed[1].hexdigest() if hashed and hashed[0] == upload.length else None
    return await admit(
        app,
        media_id=upload.id,
        owner=principal,
        auth=auth,
        spec=_spec_of(upload),
        size=upload.length,
        sha256=sha256,
        upload_id=upload.id,
    )


async def expire_uploads(app: FastAPI, now: datetime | None = None) -> int:
    """Remove uploads past their expiry (and their stored parts)."""
    now = now or utcnow()
    async with db(app).sessionmaker() as session:
        rows = list(
            (await session.scalars(select(MediaUpload).where(MediaUpload.expires_at <= now))).all()
        )
    for upload in rows:
        await discard_upload(app, upload)
    return len(rows)


# --------------------------------------------------------------------------------------------
# Multipart uploads


async def store_stream(
    app: FastAPI,
    media_id: uuid.UUID,
    chunks: AsyncIterator[bytes],
) -> tuple[int, str]:
    """Stream ``chunks`` to the media's object, within the size limit; ``(size, sha256)``."""
    settings: Settings = app.state.settings
    digest = hashlib.sha256()
    size = 0

    async def limited() -> AsyncIterator[bytes]:
        nonlocal size
        async for chunk in chunks:
            size += len(chunk)
            if size > settings.media_max_file_bytes:
                raise _too_large(settings)
            digest.update(chunk)
            yield chunk

    await runtime(app).storage.write_stream(object_key(media_id), limited())
    return size, digest.hexdigest()


# --------------------------------------------------------------------------------------------
# Retention


async def apply_retention(app: FastAPI, now: datetime | None = None) -> int:
    """Delete recordings older than ``PARLEY_RECORDING_RETENTION_DAYS`` (when set)."""
    settings: Settings = app.state.settings
    if not settings.recording_retention_days:
        return 0
    cutoff = (now or utcnow()) - timedelta(days=settings.recording_retention_days)
    async with db(app).sessionmaker() as session:
        rows = list(
            (
                await session.scalars(
                    select(MediaFile).where(
                        MediaFile.kind == "recording", MediaFile.created_at < cutoff
                    )
                )
            ).all()
        )
    for media in rows:
        with contextlib.suppress(ObjectNotFound):
            await remove_media(app, media)
    if rows:
        log.info("recordings_expired", count=len(rows), cutoff=cutoff.isoformat())
    return len(rows)
