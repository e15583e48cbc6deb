"""media-service's background work: probe + thumbnail new files, compose server-side
recordings (:mod:`parley.media.recording_jobs`), expire uploads, retention.

Jobs are rows with ``thumbnail_status = "pending"``: each worker claims one with a conditional
UPDATE (so several processes can run workers without doing a file twice), decodes it in a
worker thread (PyAV/Pillow release the GIL; the event loop keeps serving), and records the
result. A file that cannot be decoded ends ``failed`` with the reason, never an error loop.
Recordings are then reported to meeting-service (duration, ``ready``/``failed``).

Beside it runs a consumer of users-service's account events: a deleted account's files and
uploads are removed (see :func:`parley.media.housekeeping.remove_user_media`).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from typing import Any

import httpx
import structlog
from fastapi import FastAPI
from sqlalchemy import select, update
from starlette.concurrency import run_in_threadpool

from parley.core import streams
from parley.core.contracts import USER_EVENTS_STREAM
from parley.core.storage import Storage, StorageUnavailable
from parley.core.tasks import stopping
from parley.media import files, housekeeping, links, recording_jobs, sniffing, uploads
from parley.media.models import MediaFile
from parley.media.runtime import MediaService, media_service

log = structlog.get_logger("parley.media.worker")
MAX_ATTEMPTS = 3
HOUSEKEEPING_INTERVAL_S = 60.0
WORKER_TOKEN_TTL_S = 120
# media-service's consumer group on users-service's account events.
USER_EVENTS_GROUP = "media"
# Tries (with a growing pause) to remove a deleted account's objects while the store is down.
REMOVE_ATTEMPTS = 5


def _probe_key(storage: Storage, key: str, content_type: str) -> sniffing.Probe:
    with storage.open_reader(key) as reader:
        return sniffing.probe(reader, content_type)


async def _claim(svc: MediaService) -> MediaFile | None:
    async with svc.db.sessionmaker() as session:
        candidates = (
            await session.scalars(
                select(MediaFile.id)
                .where(MediaFile.thumbnail_status == "pending")
                .order_by(MediaFile.created_at)
                .limit(5)
            )
        ).all()
        for media_id in candidates:
            result = await session.execute(
                update(MediaFile)
                .where(MediaFile.id == media_id, MediaFile.thumbnail_status == "pending")
                .values(
                    thumbnail_status="processing",
                    processing_attempts=MediaFile.processing_attempts + 1,
                )
            )
            await session.commit()
            if result.rowcount == 1:  # type: ignore[attr-defined]
                return await session.get(MediaFile, media_id)
    return None


def _service_auth(svc: MediaService, media: MediaFile) -> dict[str, str]:
    """A short-lived access token of the file's owner, so that meeting-service applies its
    usual rules to the update the owner's upload started (the worker has no request)."""
    token = svc.signer.issue(
        {
            "sub": str(media.owner_id),
            "role": "user",
            "sid": f"media-worker-{uuid.uuid4().hex}",
            "name": "media-worker",
        },
        "parley",
        WORKER_TOKEN_TTL_S,
    )
    return {"Authorization": f"Bearer {token}"}


async def process_one(svc: MediaService) -> bool:
    """Probe and thumbnail one pending file; ``False`` when there was none."""
    media = await _claim(svc)
    if media is None:
        return False
    storage = svc.storage
    values: dict[str, object]
    try:
        probe = await run_in_threadpool(_probe_key, storage, media.storage_key, media.content_type)
    except StorageUnavailable as exc:
        status = "pending" if media.processing_attempts < MAX_ATTEMPTS else "failed"
        values = {"thumbnail_status": status, "thumbnail_error": f"storage unavailable: {exc}"}
        probe = None
    except sniffing.SniffError as exc:
        values = {"thumbnail_status": "failed", "thumbnail_error": str(exc)}
        probe = None
    except Exception as exc:  # a decoder bug must not kill the worker or loop on one file
        log.exception("probe_crashed", media_id=str(media.id))
        values = {"thumbnail_status": "failed", "thumbnail_error": f"{type(exc).__name__}"}
        probe = None
    if probe is not None:
        values = {
            "duration_s": probe.duration_s,
            "width": probe.width,
            "height": probe.height,
            "codecs": probe.codecs,
            "thumbnail_status": "none",
            "thumbnail_error": probe.thumbnail_note,
        }
        if probe.thumbnail is not None:
            key = files.thumbnail_key(media.id)
            try:
                await storage.put(key, probe.thumbnail)
                values.update(thumbnail_status="ready", thumbnail_key=key)
            except StorageUnavailable as exc:
                retry = media.processing_attempts < MAX_ATTEMPTS
                values.update(
                    thumbnail_status="pending" if retry else "failed",
                    thumbnail_error=f"storage unavailable: {exc}",
                )
    async with svc.db.sessionmaker() as session:
        await session.execute(update(MediaFile).where(MediaFile.id == media.id).values(**values))
        await session.commit()
    log.info("media_processed", media_id=str(media.id), status=values["thumbnail_status"])
    if media.kind == "recording" and media.meeting_id and media.recording_id:
        final = values["thumbnail_status"]
        if final != "pending":
            body: dict[str, object] = {"status": "failed" if final == "failed" else "ready"}
            if values.get("duration_s") is not None:
                body["duration_s"] = values["duration_s"]
            await svc.meetings.update_recording(
                media.meeting_id, media.recording_id, body, _service_auth(svc, media)
            )
            if body["status"] == "ready" and media.content_type.startswith(("audio/", "video/")):
                await submit_transcription(svc, media)
    return True


async def submit_transcription(svc: MediaService, media: MediaFile) -> None:
    """Ask ai-inference-service to transcribe and analyse a finished recording (a batch job:
    the results are stored against the recording and shown on its page). The job fetches the
    file through a short-lived content link, so no audio travels in the request."""
    settings = svc.settings
    if not settings.media_transcribe_recordings:
        return
    access = links.issue(svc.signer, str(media.owner_id), media.id)
    item = {
        "task": "asr",
        "input": {
            "media_url": links.content_url(media.id, access),
            "meeting_id": str(media.meeting_id),
            "recording_id": str(media.recording_id),
            "analyze": True,
        },
    }
    if settings.media_ai_url:
        client = httpx.AsyncClient(base_url=settings.media_ai_url.rstrip("/"), timeout=30)
    else:
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=svc.local_app),
            base_url="http://ai.internal",
            timeout=30,
        )
    async with client:
        try:
            response = await client.post(
                "/api/v1/ai/batch", json={"items": [item]}, headers=_service_auth(svc, media)
            )
        except httpx.HTTPError as exc:
            log.warning("transcription_not_submitted", media_id=str(media.id), error=str(exc))
            return
    if response.status_code == 202:
        log.info("transcription_submitted", media_id=str(media.id), job=response.json()["job_id"])
    else:
        log.warning(
            "transcription_not_submitted", media_id=str(media.id), status=response.status_code
        )


async def requeue_interrupted(svc: MediaService) -> None:
    """Jobs left ``processing`` by a worker that stopped (crash, restart) go back to the queue;
    after ``MAX_ATTEMPTS`` they fail instead of looping. (Another node may still be working on
    one: doing it twice is harmless, the result is the same.)"""
    async with svc.db.sessionmaker() as session:
        stuck = MediaFile.thumbnail_status == "processing"
        await session.execute(
            update(MediaFile)
            .where(stuck, MediaFile.processing_attempts < MAX_ATTEMPTS)
            .values(thumbnail_status="pending")
        )
        await session.execute(
            update(MediaFile)
            .where(stuck, MediaFile.processing_attempts >= MAX_ATTEMPTS)
            .values(thumbnail_status="failed", thumbnail_error="processing was interrupted")
        )
        await session.commit()


async def handle_user_event(svc: MediaService, fields: dict[str, Any]) -> None:
    """One entry of ``USER_EVENTS_STREAM``: a deleted account's media goes with it. The store
    being down is waited out a few times here, since the stream reader does not come back to
    an entry that failed."""
    if fields.get("event") != "deleted":
        return
    user_id = uuid.UUID(str(fields.get("user_id")))
    for attempt in range(REMOVE_ATTEMPTS):
        try:
            await housekeeping.remove_user_media(svc, user_id)
            return
        except StorageUnavailable:
            if attempt == REMOVE_ATTEMPTS - 1:
                raise
            log.warning("user_media_removal_retry", user_id=str(user_id), attempt=attempt + 1)
            await asyncio.sleep(2**attempt)


async def consume_user_events(svc: MediaService) -> None:
    """Read users-service's account events as the ``media`` consumer group (entries written
    while media-service was down wait for it)."""
    await streams.consume(
        svc.kv,
        USER_EVENTS_STREAM,
        USER_EVENTS_GROUP,
        uuid.uuid4().hex[:12],
        lambda fields: handle_user_event(svc, fields),
        expected=(ValueError,),
    )


async def run_media_worker(app: FastAPI) -> None:
    """Background task: process files as they arrive, clean up now and then, and remove the
    media of deleted accounts."""
    svc = media_service(app)
    events = asyncio.create_task(consume_user_events(svc))
    try:
        await _process_files(svc)
    finally:
        events.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await events


async def _process_files(svc: MediaService) -> None:
    settings = svc.settings
    last_housekeeping = 0.0
    node = recording_jobs.recording_node(settings)
    try:
        await requeue_interrupted(svc)
        await recording_jobs.requeue_interrupted(svc, node)
    except Exception:
        log.exception("media_requeue_failed")
    while not stopping():
        svc.wakeup.clear()
        try:
            # Probes first (they are quick), then one recording's composition at a time.
            while await process_one(svc) or await recording_jobs.process_one(svc, node):
                if stopping():
                    return
            if time.monotonic() - last_housekeeping > HOUSEKEEPING_INTERVAL_S:
                last_housekeeping = time.monotonic()
                await uploads.expire_uploads(svc)
                await housekeeping.apply_retention(svc)
        except asyncio.CancelledError:
            raise
        except Exception:
            if stopping():
                return
            log.exception("media_worker_error")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(svc.wakeup.wait(), timeout=settings.media_worker_interval_s)
