"""Media files: a complete stored object admitted as a file, and files removed.

Only an object whose sniffed bytes are of an accepted type, and match the type the client
claimed, becomes a :class:`MediaFile`; anything else is deleted at once (nothing is kept).
Probing, thumbnails and recording durations come later, from the worker
(:mod:`parley.media.worker`), which :attr:`MediaService.wakeup` wakes.

Database sessions are opened per step rather than per request: an upload can stream for
minutes, and no transaction may stay open meanwhile.
"""

from __future__ import annotations

import hashlib
import uuid

import structlog
from sqlalchemy import delete
from starlette.concurrency import run_in_threadpool

from parley.core.auth import Principal
from parley.core.db import utcnow
from parley.core.storage import Storage
from parley.media import access, errors, sniffing, specs
from parley.media.models import MediaFile, MediaUpload
from parley.media.runtime import MediaService
from parley.media.specs import UploadSpec

log = structlog.get_logger("parley.media")


def object_key(media_id: uuid.UUID) -> str:
    return f"media/{media_id}"


def thumbnail_key(media_id: uuid.UUID) -> str:
    return f"thumbnails/{media_id}.webp"


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
    svc: MediaService,
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
    storage = svc.storage
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
        await drop_upload(svc, upload_id)
        raise specs.unsupported(str(exc)) from exc
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
    async with svc.db.sessionmaker() as session:
        session.add(media)
        if upload_id is not None:
            await session.execute(delete(MediaUpload).where(MediaUpload.id == upload_id))
        await session.commit()
    svc.wakeup.set()
    if spec.kind == "recording" and spec.meeting_id and spec.recording_id:
        await svc.meetings.update_recording(
            spec.meeting_id,
            spec.recording_id,
            {"media_id": str(media.id), "size_bytes": size, "status": "processing"},
            auth,
        )
    log.info("media_stored", media_id=str(media.id), kind=media.kind, size=size, type=actual)
    return media


async def drop_upload(svc: MediaService, upload_id: uuid.UUID | None) -> None:
    if upload_id is None:
        return
    svc.hashes.pop(upload_id, None)
    async with svc.db.sessionmaker() as session:
        await session.execute(delete(MediaUpload).where(MediaUpload.id == upload_id))
        await session.commit()


async def delete_media(
    svc: MediaService, media_id: uuid.UUID, principal: Principal, auth: dict[str, str]
) -> None:
    """The owner, the meeting's host or an admin removes the object and its thumbnail."""
    media = await access.visible_media(svc, media_id, principal, auth)
    allowed = principal.is_admin or str(media.owner_id) == principal.user_id
    if not allowed and media.meeting_id is not None:
        meeting = await svc.meetings.meeting(media.meeting_id, auth)
        allowed = meeting is not None and meeting.get("host_id") == principal.user_id
    if not allowed:
        raise errors.delete_forbidden()
    await remove_media(svc, media)


async def remove_media(svc: MediaService, media: MediaFile) -> None:
    storage = svc.storage
    await storage.delete(media.storage_key)
    if media.thumbnail_key:
        await storage.delete(media.thumbnail_key)
    async with svc.db.sessionmaker() as session:
        await session.execute(delete(MediaFile).where(MediaFile.id == media.id))
        await session.commit()
