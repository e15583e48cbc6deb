"""Server-side recordings as media worker jobs: the SFU's raw tracks → a verified MP4.

rtc (:mod:`parley.rtc.recording`) stops a recording and :func:`submit` records a job: which
meeting-service recording, whose (the starter: the files are theirs and count against their
quota), which ``.mjr`` files on which media node, the recorded window and the speakers'
names. The worker of that node (the raw tracks are on its disk) claims it with a conditional
UPDATE, composes in a worker thread (:mod:`parley.media.composition`), telling meeting-service
its progress (``progress``, percent) as it goes, then stores through the storage layer, in
this order: each speaker's audio (kind ``track``, with the recording's id), then the MP4
(kind ``recording``: admitting it gives the recording its ``media_id``, and the usual probe,
thumbnail and transcription follow, which make it ``ready``). Only then are the raw tracks
removed. A job whose worker died goes back to ``pending`` when the worker starts again (up to
:data:`MAX_ATTEMPTS`); tracks that cannot be composed fail the recording and are kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import tempfile
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import structlog
from sqlalchemy import select, update
from starlette.concurrency import run_in_threadpool

from parley.config import Settings
from parley.core.auth import Principal
from parley.media import files
from parley.media.composition import Composed, CompositionError, compose
from parley.media.models import MediaFile, RecordingJob
from parley.media.runtime import MediaService
from parley.media.specs import UploadSpec, safe_filename

log = structlog.get_logger("parley.media.recordings")

MAX_ATTEMPTS = 3
PROGRESS_EVERY_S = 1.0
TOKEN_TTL_S = 300
CHUNK = 1024 * 1024


def recording_node(settings: Settings) -> str:
    """Whose disk a job's raw tracks are on: the media node's id, or this host (stable across
    restarts, so that a restarted worker takes up its own jobs again)."""
    return settings.sfu_node_id or socket.gethostname()


def owner_auth(svc: MediaService, owner_id: uuid.UUID) -> dict[str, str]:
    """A short-lived access token of the recording's starter: meeting-service applies its
    usual rules (only the starter sets a recording's media) to what the worker reports."""
    claims = {"sub": str(owner_id), "role": "user", "sid": f"media-worker-{uuid.uuid4().hex}"}
    token = svc.signer.issue(claims | {"name": "media-worker"}, "parley", TOKEN_TTL_S)
    return {"Authorization": f"Bearer {token}"}


async def submit(
    svc: MediaService,
    *,
    node: str,
    raw_dir: Path,
    meeting_id: str,
    recording_id: str,
    owner_id: str,
    started_us: int,
    ended_us: int,
    file_names: list[str],
    names: dict[str, str],
) -> None:
    """A stopped recording becomes a job (once per recording)."""
    job_id = uuid.UUID(recording_id)
    async with svc.db.sessionmaker() as session:
        if await session.get(RecordingJob, job_id) is not None:
            return
        session.add(
            RecordingJob(
                id=job_id,
                meeting_id=uuid.UUID(meeting_id),
                owner_id=uuid.UUID(owner_id),
                node=node,
                raw_dir=str(raw_dir),
                files=file_names,
                names=names,
                started_us=started_us,
                ended_us=ended_us,
                status="pending",
                attempts=0,
                progress=0,
                created_at=datetime.now(UTC),
            )
        )
        await session.commit()
    await _tell(svc, job_id, uuid.UUID(meeting_id), uuid.UUID(owner_id), 0, "processing")
    svc.wakeup.set()
    log.info("recording_job_submitted", recording_id=recording_id, files=len(file_names))


async def _tell(
    svc: MediaService,
    recording_id: uuid.UUID,
    meeting_id: uuid.UUID,
    owner_id: uuid.UUID,
    progress: int,
    status: str | None = None,
) -> None:
    body: dict[str, object] = {"progress": progress}
    if status is not None:
        body["status"] = status
    await svc.meetings.update_recording(meeting_id, recording_id, body, owner_auth(svc, owner_id))


async def _claim(svc: MediaService, node: str) -> RecordingJob | None:
    async with svc.db.sessionmaker() as session:
        candidates = (
            await session.scalars(
                select(RecordingJob.id)
                .where(RecordingJob.status == "pending", RecordingJob.node == node)
                .order_by(RecordingJob.created_at)
                .limit(5)
            )
        ).all()
        for job_id in candidates:
            result = await session.execute(
                update(RecordingJob)
                .where(RecordingJob.id == job_id, RecordingJob.status == "pending")
                .values(status="processing", attempts=RecordingJob.attempts + 1)
            )
            await session.commit()
            if result.rowcount == 1:  # type: ignore[attr-defined]
                return await session.get(RecordingJob, job_id)
    return None


async def _set(svc: MediaService, job_id: uuid.UUID, **values: object) -> None:
    async with svc.db.sessionmaker() as session:
        await session.execute(
            update(RecordingJob).where(RecordingJob.id == job_id).values(**values)
        )
        await session.commit()


async def requeue_interrupted(svc: MediaService, node: str) -> None:
    """Jobs of this node left ``processing`` (its worker died) go back to the queue; after
    :data:`MAX_ATTEMPTS` they fail."""
    async with svc.db.sessionmaker() as session:
        mine = (RecordingJob.status == "processing") & (RecordingJob.node == node)
        await session.execute(
            update(RecordingJob)
            .where(mine, RecordingJob.attempts < MAX_ATTEMPTS)
            .values(status="pending")
        )
        failed = (
            await session.scalars(
                select(RecordingJob).where(mine, RecordingJob.attempts >= MAX_ATTEMPTS)
            )
        ).all()
        for job in failed:
            job.status, job.error = "failed", "composition was interrupted too often"
        await session.commit()
    for job in failed:
        await _tell(svc, job.id, job.meeting_id, job.owner_id, job.progress, "failed")


async def process_one(svc: MediaService, node: str) -> bool:
    """Compose one pending recording of this node; ``False`` when there was none."""
    job = await _claim(svc, node)
    if job is None:
        return False
    log.info("recording_job_started", recording_id=str(job.id), attempt=job.attempts)
    try:
        await _run(svc, job)
    except CompositionError as exc:
        log.warning("recording_job_failed", recording_id=str(job.id), error=str(exc))
        await _set(svc, job.id, status="failed", error=str(exc))
        await _tell(svc, job.id, job.meeting_id, job.owner_id, job.progress, "failed")
    except Exception as exc:
        log.exception("recording_job_crashed", recording_id=str(job.id))
        retry = job.attempts < MAX_ATTEMPTS
        await _set(
            svc, job.id, status="pending" if retry else "failed", error=f"{type(exc).__name__}"
        )
        if not retry:
            await _tell(svc, job.id, job.meeting_id, job.owner_id, job.progress, "failed")
    return True


async def _run(svc: MediaService, job: RecordingJob) -> None:
    raw = Path(job.raw_dir)
    paths = [raw / name for name in job.files]
    shares = {"done": 0.0}

    async def report() -> None:
        sent = -1
        while True:
            percent = min(99, int(shares["done"] * 90))  # storing the files is the last 10 %
            if percent != sent:
                sent = percent
                await _set(svc, job.id, progress=percent)
                await _tell(svc, job.id, job.meeting_id, job.owner_id, percent)
            await asyncio.sleep(PROGRESS_EVERY_S)

    def progress(share: float) -> None:
        shares["done"] = share

    with tempfile.TemporaryDirectory(prefix="parley-recording-") as tmp:
        reporter = asyncio.create_task(report())
        try:
            composed = await run_in_threadpool(
                compose, paths, job.names, job.started_us, job.ended_us, Path(tmp), progress
            )
        finally:
            reporter.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reporter
        await _tell(svc, job.id, job.meeting_id, job.owner_id, 95)
        media_id = await _store(svc, job, composed)
    await _set(svc, job.id, status="done", progress=100, media_id=media_id, error=None)
    for path in paths:  # verified and stored: the raw tracks go
        path.unlink(missing_ok=True)
    log.info("recording_job_done", recording_id=str(job.id), media_id=str(media_id))


async def _chunks(path: Path) -> AsyncIterator[bytes]:
    with path.open("rb") as f:
        while chunk := await run_in_threadpool(f.read, CHUNK):
            yield chunk


async def _keep(
    svc: MediaService,
    job: RecordingJob,
    media_id: uuid.UUID,
    path: Path,
    filename: str,
    claimed: str,
    kind: str,
) -> None:
    """Store ``path`` and admit it as a file of the recording's starter (once per id)."""
    async with svc.db.sessionmaker() as session:
        if await session.get(MediaFile, media_id) is not None:
            return  # stored by an earlier attempt
    size = await svc.storage.write_stream(files.object_key(media_id), _chunks(path))
    owner = Principal(str(job.owner_id), "user", "", "", 0)
    spec = UploadSpec(safe_filename(filename), claimed, kind, job.meeting_id, job.id)
    await files.admit(
        svc,
        media_id=media_id,
        owner=owner,
        auth=owner_auth(svc, job.owner_id),
        spec=spec,
        size=size,
        sha256=None,
    )


async def _store(svc: MediaService, job: RecordingJob, composed: Composed) -> uuid.UUID:
    stamp = datetime.fromtimestamp(job.started_us / 1e6, UTC).strftime("%Y-%m-%d-%H%M")
    for feed, path in composed.speakers.items():
        name = job.names.get(feed) or "speaker"
        track_id = uuid.uuid5(job.id, f"track:{feed}")
        await _keep(svc, job, track_id, path, f"{name}-{stamp}.ogg", "audio/ogg", "track")
    media_id = uuid.uuid5(job.id, "mp4")
    await _keep(
        svc, job, media_id, composed.mp4, f"recording-{stamp}.mp4", "video/mp4", "recording"
    )
    return media_id
