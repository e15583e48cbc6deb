"""Housekeeping the worker runs: the media of deleted accounts, and recording retention.

(Uploads past their expiry are the upload lifecycle's: :func:`parley.media.uploads.expire_uploads`.)
"""

from __future__ import annotations

import contextlib
import uuid
from datetime import datetime, timedelta

import structlog
from sqlalchemy import select

from parley.core.db import utcnow
from parley.core.storage import ObjectNotFound
from parley.media import files, quota, uploads
from parley.media.models import MediaFile, MediaUpload
from parley.media.runtime import MediaService

log = structlog.get_logger("parley.media")


async def remove_user_media(svc: MediaService, user_id: uuid.UUID) -> int:
    """Everything a deleted account owned: its files (objects, thumbnails, rows) and its
    uploads in progress. Recordings it uploaded of other hosts' meetings go too: a file goes
    with its owner (docs/media.md). Returns how many files were removed."""
    async with svc.db.sessionmaker() as session:
        owned_files = list(
            (await session.scalars(select(MediaFile).where(MediaFile.owner_id == user_id))).all()
        )
        owned_uploads = list(
            (
                await session.scalars(select(MediaUpload).where(MediaUpload.owner_id == user_id))
            ).all()
        )
    for media in owned_files:
        await files.remove_media(svc, media)
    for upload in owned_uploads:
        await uploads.discard_upload(svc, upload)
    await quota.forget_reservations(svc, user_id)
    if owned_files or owned_uploads:
        log.info("user_media_removed", user_id=str(user_id), files=len(owned_files))
    return len(owned_files)


async def apply_retention(svc: MediaService, now: datetime | None = None) -> int:
    """Delete recordings older than ``PARLEY_RECORDING_RETENTION_DAYS`` (when set)."""
    settings = svc.settings
    if not settings.recording_retention_days:
        return 0
    cutoff = (now or utcnow()) - timedelta(days=settings.recording_retention_days)
    async with svc.db.sessionmaker() as session:
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
            await files.remove_media(svc, media)
    if rows:
        log.info("recordings_expired", count=len(rows), cutoff=cutoff.isoformat())
    return len(rows)
