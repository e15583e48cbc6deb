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
from parley.core.contracts import user_gone_key
from parley.core.db import Database, utcnow
from parley.core.errors import ProblemError
from parley.core.storage import ObjectNotFound, Storage, StorageUnavailable, create_storage
from parley.core.text import strip_bidi_controls
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
# Uploads in progress one user may hold (each holds a row, a partial object and, with a
# declared length, part of the quota): several files sent side by side fit, a client that
# opens uploads without end does not. A setting would be better:
# PARLEY_MEDIA_MAX_OPEN_UPLOADS (config.py belongs to the platform).
MAX_OPEN_UPLOADS = 20
# Quota reserved per check while bytes stream in (one database query per block).
QUOTA_GRANT_BYTES = 1024 * 1024
# How long reservations of a request that died without releasing them can linger.
IN_FLIGHT_TTL_S = 3600


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


# C0, DEL and C1 controls, and path separators.
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f/\\]")


def safe_filename(name: str | None) -> str:
    """A display name only (storage keys never use it): the last path component, no control
    characters or separators, at most 255 characters. Bidi controls are dropped: in
    ``\u202egnp.exe.png`` the override makes an ``.exe`` read as ``…exe.png``."""
    name = strip_bidi_controls(unicodedata.normalize("NFC", name or ""))
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


def _quota_exceeded(settings: Settings, used: int) -> ProblemError:
    return ProblemError(
        413,
        f"This would exceed your storage quota of {settings.media_user_quota_bytes} bytes "
        f"({used} in use).",
        type="quota-exceeded",
        headers=tus.headers(),
    )


async def check_quota(app: FastAPI, owner: uuid.UUID, adding: int) -> None:
    """An early, advisory refusal (a declared size that cannot fit). What binds is what is
    recorded or charged: rows in the database, and bytes in flight (:class:`QuotaMeter`)."""
    settings: Settings = app.state.settings
    async with db(app).sessionmaker() as session:
        used = await _used_bytes(session, owner)
    used += await _in_flight_bytes(app, owner)
    if used + adding > settings.media_user_quota_bytes:
        raise _quota_exceeded(settings, used)


def _in_flight_key(owner: uuid.UUID) -> str:
    return f"media:quota-in-flight:{owner}"


async def _in_flight_bytes(app: FastAPI, owner: uuid.UUID) -> int:
    values = await app.state.kv.hvals(_in_flight_key(owner))
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

    def __init__(self, app: FastAPI, owner: uuid.UUID, target: uuid.UUID) -> None:
        self.app = app
        self.owner = owner
        self.key = _in_flight_key(owner)
        self.field = str(target)
        self.granted = 0  # reserved in Redis, beyond what the database counts
        self.used = 0  # received of that

    async def begin(self) -> None:
        await self.app.state.kv.hdel(self.key, self.field)

    async def charge(self, size: int) -> None:
        """Count ``size`` more bytes; 413 (nothing charged) when they do not fit."""
        need = self.used + size - self.granted
        if need > 0:
            for grant in dict.fromkeys((max(need, QUOTA_GRANT_BYTES), need)):
                if await self._reserve(grant):
                    break
            else:
                settings: Settings = self.app.state.settings
                async with db(self.app).sessionmaker() as session:
                    used = await _used_bytes(session, self.owner)
                raise _quota_exceeded(settings, used + self.used)
        self.used += size

    async def _reserve(self, grant: int) -> bool:
        settings: Settings = self.app.state.settings
        kv = self.app.state.kv
        await kv.hincrby(self.key, self.field, grant)
        await kv.expire(self.key, IN_FLIGHT_TTL_S)
        async with db(self.app).sessionmaker() as session:
            used = await _used_bytes(session, self.owner)
        if used + await _in_flight_bytes(self.app, self.owner) > settings.media_user_quota_bytes:
            await kv.hincrby(self.key, self.field, -grant)
            return False
        self.granted += grant
        return True

    async def settled(self, size: int) -> None:
        """``size`` charged bytes are now counted by the database (call after the commit)."""
        if size <= 0:
            return
        self.used -= size
        self.granted -= size
        await self.app.state.kv.hincrby(self.key, self.field, -size)

    async def release(self) -> None:
        """The request is over: what it stored is in the database (or was thrown away)."""
        self.granted = self.used = 0
        await self.app.state.kv.hdel(self.key, self.field)


async def _admit_new_upload(app: FastAPI, upload: MediaUpload) -> None:
    """Checked after the upload's row is in: its declared length (reserved whole) must fit the
    quota with everything else, and the owner may hold only :data:`MAX_OPEN_UPLOADS` uploads
    in progress. Counting after the insert means two racing creations cannot both slip in."""
    settings: Settings = app.state.settings
    now = utcnow()
    async with db(app).sessionmaker() as session:
        used = await _used_bytes(session, upload.owner_id)
        open_uploads = await session.scalar(
            select(func.count())
            .select_from(MediaUpload)
            .where(MediaUpload.owner_id == upload.owner_id, MediaUpload.expires_at > now)
        )
    used += await _in_flight_bytes(app, upload.owner_id)
    problem: ProblemError | None = None
    if int(open_uploads or 0) > MAX_OPEN_UPLOADS:
        problem = ProblemError(
            429,
            f"You have {MAX_OPEN_UPLOADS} uploads in progress; finish or cancel one first.",
            type="too-many-uploads",
            title="Too Many Uploads",
            headers=tus.headers(),
        )
    elif used > settings.media_user_quota_bytes:
        problem = _quota_exceeded(settings, used - max(upload.length, 0))
    if problem is not None:
        async with db(app).sessionmaker() as session:
            await session.execute(delete(MediaUpload).where(MediaUpload.id == upload.id))
            await session.commit()
        raise problem


async def check_meeting_links(
    app: FastAPI, spec: UploadSpec, auth: dict[str, str], caller: str
) -> dict[str, Any] | None:
    """The caller must belong to the meeting a file is for; a recording's media comes only
    from the person who started that recording (``started_by`` in meeting-service's list), so
    a participant cannot attach a file of their own to the host's recording id."""
    if spec.meeting_id is None:
        return None
    meetings = runtime(app).meetings
    meeting = await meetings.meeting(spec.meeting_id, auth)
    if meeting is None:
        raise ProblemError(404, "No such meeting.", type="meeting-not-found")
    if spec.recording_id is not None:
        recordings = await meetings.recordings(spec.meeting_id, auth) or []
        recording = next((r for r in recordings if r.get("id") == str(spec.recording_id)), None)
        if recording is None:
            raise ProblemError(
                404, "No such recording in this meeting.", type="recording-not-found"
            )
        if recording.get("started_by") != caller:
            raise ProblemError(
                403,
                "Only the person who started this recording uploads its media.",
                type="not-recording-starter",
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
    await check_meeting_links(app, spec, auth, principal.user_id)
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
    await _admit_new_upload(app, upload)
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
    await app.state.kv.hdel(_in_flight_key(upload.owner_id), str(upload.id))


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
    ``declared_length`` is the ``Upload-Length`` of an upload created with a deferred length.

    Progress is saved each time the store makes more bytes durable (not only at the end), so
    a crash in a long PATCH resumes from there. A body that goes past the declared length is
    refused: the chunk that crosses it is not stored and the upload is not completed (the
    upload's last byte is held back until the body has ended, so that it never completes
    early). Bytes of a deferred-length upload are charged to the quota as they arrive."""
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
        deferred = upload.length == DEFERRED
        limit = settings.media_max_file_bytes if deferred else upload.length
        too_long = _too_large(settings) if deferred else _past_length()
        if content_length is not None and offset + content_length > limit:
            raise too_long
        # A declared length was reserved whole when it was declared; a deferred one is
        # charged byte by byte.
        meter = QuotaMeter(app, upload.owner_id, upload.id) if deferred else None
        if meter is not None:
            await meter.begin()
            if content_length:
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
                await _save_progress(app, upload, appender.offset, appender.state)
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
            await _save_progress(app, upload, appender.offset, state)
            if meter is not None:
                await meter.release()
            if digest is not None and appender.offset == written:
                media_runtime.hashes[upload.id] = (written, digest)
                while len(media_runtime.hashes) > MAX_TRACKED_HASHES:
                    media_runtime.hashes.popitem(last=False)
        if refusal is not None:
            raise refusal
        media = None
        if upload.offset == upload.length:
            media = await finalize(app, upload, principal, auth)
        return upload, media


def _past_length() -> ProblemError:
    return tus.problem(413, "The body goes past Upload-Length.", "upload-length-exceeded")


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
    # Checked again now that the length is recorded (reserved whole): a racing upload of the
    # same owner may have taken the room meanwhile.
    async with db(app).sessionmaker() as session:
        used = await _used_bytes(session, upload.owner_id)
    used += await _in_flight_bytes(app, upload.owner_id)
    if used > settings.media_user_quota_bytes:
        upload.length = DEFERRED
        await _save_progress(app, upload, upload.offset, upload.storage_state)
        raise _quota_exceeded(settings, used - (declared - upload.offset))


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
    meter: QuotaMeter,
) -> tuple[int, str]:
    """Stream ``chunks`` to the media's object, within the size limit and the owner's quota
    (charged to ``meter`` as they come); ``(size, sha256)``."""
    settings: Settings = app.state.settings
    digest = hashlib.sha256()
    size = 0

    async def limited() -> AsyncIterator[bytes]:
        nonlocal size
        async for chunk in chunks:
            size += len(chunk)
            if size > settings.media_max_file_bytes:
                raise _too_large(settings)
            await meter.charge(len(chunk))
            digest.update(chunk)
            yield chunk

    await runtime(app).storage.write_stream(object_key(media_id), limited())
    return size, digest.hexdigest()


# --------------------------------------------------------------------------------------------
# Accounts that are gone (disabled or deleted in users-service)


async def gone_state(app: FastAPI, user_id: str) -> str | None:
    """``"disabled"`` or ``"deleted"`` while users-service marks the account gone
    (``user_gone_key``), else ``None``."""
    value = await app.state.kv.get(user_gone_key(user_id))
    return str(value) if value else None


async def user_is_gone(app: FastAPI, user_id: str) -> bool:
    return await gone_state(app, user_id) is not None


async def remove_user_media(app: FastAPI, user_id: uuid.UUID) -> int:
    """Everything a deleted account owned: its files (objects, thumbnails, rows) and its
    uploads in progress. Recordings it uploaded of other hosts' meetings go too: a file goes
    with its owner (docs/media.md). Returns how many files were removed."""
    async with db(app).sessionmaker() as session:
        files = list(
            (await session.scalars(select(MediaFile).where(MediaFile.owner_id == user_id))).all()
        )
        uploads = list(
            (
                await session.scalars(select(MediaUpload).where(MediaUpload.owner_id == user_id))
            ).all()
        )
    for media in files:
        await remove_media(app, media)
    for upload in uploads:
        await discard_upload(app, upload)
    await app.state.kv.delete(_in_flight_key(user_id))
    if files or uploads:
        log.info("user_media_removed", user_id=str(user_id), files=len(files))
    return len(files)


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
