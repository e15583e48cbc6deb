"""Batch jobs: stored in the database, queued on a Redis stream, run by workers.

- A job's items, per-item results and errors, and progress live in ``ai_jobs`` (the database
  is the record; the stream only says "job X needs running").
- The queue is the Redis stream ``parley:ai:jobs`` with the consumer group ``ai-workers``
  (redis-py through core/kv, so the embedded fakeredis serves too). A worker acknowledges a job
  only when it has finished, so a job whose worker died stays pending: on start a worker first
  re-reads its own pending entries (same consumer name after a restart), and any worker claims
  entries another consumer left idle for ``CLAIM_IDLE_MS`` (XAUTOCLAIM).
- The embedded store is in memory and empties on restart; the database does not. When the
  stream is empty at start-up, unfinished jobs in the database are queued again.
- Items already done are skipped when a job resumes; an item that raises records an error
  for that item and the job goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import socket
import uuid
from datetime import UTC, datetime
from typing import Any

import fakeredis
import httpx
import structlog
from fastapi import FastAPI
from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from parley.ai import egress, errors, service
from parley.ai.models import AiJob
from parley.ai.service import Runtime, runtime_of
from parley.core import tracing
from parley.core.db import Database
from parley.core.errors import ProblemError
from parley.core.tasks import stopping

STREAM = "parley:ai:jobs"  # + ":" + a digest of the database URL (see ``stream_of``)
GROUP = "ai-workers"
CLAIM_IDLE_MS = 5 * 60 * 1000
BLOCK_MS = 1000
POLL_S = 0.2
UNFINISHED = ("queued", "running")

log = structlog.get_logger("parley.ai.jobs")


def stream_of(database: Database) -> str:
    """The job stream of one database: the jobs' records and their queue must match, and two
    deployments (or test apps) sharing a Redis must not take each other's jobs."""
    digest = hashlib.sha256(database.url.encode()).hexdigest()[:12]
    return f"{STREAM}:{digest}"


async def ensure_group(kv: Redis, stream: str) -> None:
    try:
        await kv.xgroup_create(stream, GROUP, id="0", mkstream=True)
    except ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


async def enqueue(kv: Redis, stream: str, job_id: uuid.UUID) -> None:
    # The trace that submitted the job goes with it: the worker continues it.
    fields: dict[Any, Any] = {"job_id": str(job_id), **tracing.inject()}
    await kv.xadd(stream, fields)


async def submit(
    session: AsyncSession,
    kv: Redis,
    stream: str,
    owner_id: str,
    items: list[dict[str, Any]],
    callback_url: str | None,
) -> AiJob:
    job = AiJob(
        owner_id=uuid.UUID(owner_id),
        status="queued",
        total=len(items),
        done=0,
        items=items,
        results=[],
        errors=[],
        callback_url=callback_url,
    )
    session.add(job)
    await session.commit()
    await enqueue(kv, stream, job.id)
    return job


def job_out(job: AiJob) -> dict[str, Any]:
    return {
        "job_id": job.id,
        "status": job.status,
        "progress": {"done": job.done, "total": job.total},
        "results": sorted(job.results, key=lambda r: r["index"]),
        "errors": sorted(job.errors, key=lambda r: r["index"]),
        "created_at": job.created_at.isoformat(),
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
    }


async def requeue_orphans(database: Database, kv: Redis) -> int:
    """Queue unfinished jobs again when the stream has nothing (a fresh embedded store)."""
    stream = stream_of(database)
    if await kv.xlen(stream) > 0:
        return 0
    async with database.sessionmaker() as session:
        ids = (await session.scalars(select(AiJob.id).where(AiJob.status.in_(UNFINISHED)))).all()
    for job_id in ids:
        await enqueue(kv, stream, job_id)
    if ids:
        log.info("jobs_requeued", count=len(ids))
    return len(ids)


async def run_item(runtime: Runtime, item: dict[str, Any]) -> dict[str, Any]:
    """One item, as the synchronous endpoint would run it (no duration limit here)."""
    task, data = item["task"], item.get("input") or {}
    if task == "asr":
        if data.get("media_url") and not data.get("audio"):
            if runtime.fetch is None:
                raise errors.cannot_fetch_media()
            audio_bytes = await runtime.fetch(str(data["media_url"]))
        else:
            audio_bytes = service.decode_base64(str(data.get("audio", "")))
        return await service.asr(
            runtime,
            audio_bytes,
            data.get("format"),
            data.get("language", "en"),
            data.get("engine"),
            data.get("model"),
        )
    if task == "emotion":
        voice = service.decode_base64(str(data["audio"])) if data.get("audio") else None
        return await service.emotion(
            runtime, data.get("text"), voice, data.get("format"), data.get("engine")
        )
    if task == "synthesis":
        return await service.synthesize(
            runtime,
            str(data.get("text", "")),
            data.get("voice"),
            float(data.get("rate", 1.0)),
            str(data.get("format", "wav")),
            data.get("engine"),
        )
    if task == "analyze":
        segments = data.get("segments") or []
        if not isinstance(segments, list) or not segments:
            raise errors.segments_required()
        return await service.analyze(runtime, segments)
    raise errors.unknown_task(task)


def _error_of(exc: BaseException) -> dict[str, Any]:
    if isinstance(exc, ProblemError):
        return {"status": exc.status, "type": exc.type, "detail": exc.detail}
    return {"status": 500, "type": "internal", "detail": f"{type(exc).__name__}: {exc}"}


async def process(database: Database, runtime: Runtime, job_id: uuid.UUID) -> str | None:
    """Run the job's remaining items, saving after each; the job's final status."""
    async with database.sessionmaker() as session:
        job = await session.get(AiJob, job_id)
        if job is None or job.status not in UNFINISHED:
            return None if job is None else job.status
        job.status = "running"
        job.updated_at = datetime.now(UTC)
        await session.commit()
        finished = {r["index"] for r in job.results} | {e["index"] for e in job.errors}
        for index, item in enumerate(job.items):
            if index in finished:
                continue
            try:
                output = await run_item(runtime, item)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if not isinstance(exc, ProblemError):
                    log.exception("job_item_failed", job_id=str(job_id), index=index)
                job.errors = [*job.errors, {"index": index, "task": item["task"], **_error_of(exc)}]
            else:
                job.results = [
                    *job.results,
                    {"index": index, "task": item["task"], "output": output},
                ]
                scope = item.get("input") or {}
                stored = [(item["task"], output)]
                if item["task"] == "asr" and scope.get("analyze") and output.get("segments"):
                    # A recording's transcript is analysed as it comes: summary, actions, ...
                    speaker = str(scope.get("speaker") or "Meeting")
                    segments = [{**seg, "speaker": speaker} for seg in output["segments"]]
                    stored.append(("analyze", await service.analyze(runtime, segments)))
                if scope.get("meeting_id"):
                    for task, data in stored:
                        await service.store_result(
                            session,
                            task,
                            str(job.owner_id),
                            data,
                            uuid.UUID(str(scope["meeting_id"])),
                            uuid.UUID(str(scope["recording_id"]))
                            if scope.get("recording_id")
                            else None,
                            job.id,
                        )
            job.done = len(job.results) + len(job.errors)
            job.updated_at = datetime.now(UTC)
            await session.commit()
        job.status = "failed" if job.total and not job.results else "completed"
        job.finished_at = datetime.now(UTC)
        await session.commit()
        if job.callback_url:
            await _notify(job.callback_url, job_out(job), runtime.callback_hosts)
        return job.status


async def _notify(url: str, body: dict[str, Any], allowed: frozenset[str]) -> None:
    """Tell the submitter the job ended (best effort; the status endpoint is the record). Only
    to a host the operator allows, checked again now: the list may have changed since."""
    payload = {**body, "job_id": str(body["job_id"])}
    try:
        status = await egress.post_callback(url, payload, allowed)
    except httpx.HTTPError as exc:
        log.warning("job_callback_failed", url=url, error=type(exc).__name__)
        return
    if status is None:
        log.warning("job_callback_refused", url=url)


class Worker:
    """One consumer of the job stream."""

    def __init__(self, database: Database, kv: Redis, runtime: Runtime, name: str) -> None:
        self.database = database
        self.kv = kv
        self.runtime = runtime
        self.name = name
        self.stream = stream_of(database)

    async def _handle(self, entry_id: str, fields: dict[str, str]) -> None:
        try:
            job_id = uuid.UUID(fields.get("job_id", ""))
        except ValueError:
            await self.kv.xack(self.stream, GROUP, entry_id)
            return
        with tracing.traced("ai.batch.job", fields, job_id=str(job_id)):
            status = await process(self.database, self.runtime, job_id)
        await self.kv.xack(self.stream, GROUP, entry_id)
        log.info("job_finished", job_id=str(job_id), status=status, worker=self.name)

    async def _backlog(self) -> None:
        """Own pending entries (a restart) first, then entries other consumers abandoned."""
        pending: Any = await self.kv.xreadgroup(GROUP, self.name, {self.stream: "0"}, count=100)
        for _, entries in pending or []:
            for entry_id, fields in entries:
                if fields:
                    await self._handle(entry_id, fields)
        with contextlib.suppress(ResponseError):
            claimed: Any = await self.kv.xautoclaim(
                self.stream, GROUP, self.name, CLAIM_IDLE_MS, count=100
            )
            for entry_id, fields in claimed[1] if len(claimed) > 1 else []:
                if fields:
                    await self._handle(entry_id, fields)

    async def run(self) -> None:
        while True:
            try:
                await ensure_group(self.kv, self.stream)
                await self._backlog()
                # The embedded store (fakeredis) runs in this event loop: a BLOCKing read
                # would stall every other user of it, so it is polled instead.
                embedded = isinstance(self.kv, fakeredis.FakeAsyncRedis)
                while True:
                    batch: Any = await self.kv.xreadgroup(
                        GROUP,
                        self.name,
                        {self.stream: ">"},
                        count=1,
                        block=None if embedded else BLOCK_MS,
                    )
                    if embedded and not batch:
                        await asyncio.sleep(POLL_S)
                    for _, entries in batch or []:
                        for entry_id, fields in entries:
                            await self._handle(entry_id, fields)
            except (RedisError, OSError) as exc:
                if stopping():
                    raise asyncio.CancelledError from None
                log.warning("ai_worker_store_error", error=str(exc), worker=self.name)
                await asyncio.sleep(1.0)


async def run_workers(app: FastAPI, count: int, prefix: str) -> None:
    """Run ``count`` workers until cancelled (the app's background task); on the way out,
    close the engines' network clients (Triton connections)."""
    state = app.state
    runtime = runtime_of(state)
    runtime.fetch = egress.media_fetcher(app)
    report_engines(runtime)
    try:
        if count <= 0:
            await asyncio.Event().wait()  # nothing to run; stay until shutdown to clean up
        await ensure_group(state.kv, stream_of(state.db))
        await requeue_orphans(state.db, state.kv)
        workers = [
            Worker(state.db, state.kv, runtime, f"{prefix}-{socket.gethostname()}-{index}")
            for index in range(count)
        ]
        await asyncio.gather(*(worker.run() for worker in workers))
    finally:
        await runtime.registry.close()


def report_engines(runtime: Runtime) -> None:
    """Say at start-up which engines cannot run here (the service runs on without them)."""
    for task, engines in runtime.registry.availability().items():
        for name, state in engines.items():
            if not state["available"] and name == runtime.registry.defaults[task]:
                log.warning("ai_engine_unavailable", task=task, engine=name, reason=state["reason"])
            elif state.get("degraded"):
                log.warning("ai_engine_degraded", task=task, engine=name, reason=state["degraded"])


async def run_ai_workers(app: FastAPI) -> None:
    """The in-process workers of the ``ai`` service and the all-in-one app."""
    await run_workers(app, app.state.settings.ai_workers, "inproc")


async def run_standalone_workers(app: FastAPI) -> None:
    """``parley serve ai-worker``: at least one worker, whatever ``PARLEY_AI_WORKERS`` says."""
    await run_workers(app, max(1, app.state.settings.ai_workers), "worker")
