"""ai-inference-service HTTP and WebSocket API: /api/v1/ai."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import Iterator
from typing import Annotated, Any

import structlog
from fastapi import (
    APIRouter,
    File,
    Form,
    Query,
    Request,
    UploadFile,
    WebSocket,
    WebSocketDisconnect,
)
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from parley import __version__
from parley.ai import egress, errors, jobs, service
from parley.ai.dependencies import RuntimeDep, ensure_participant, ensure_scope
from parley.ai.models import AiJob
from parley.ai.schemas import (
    AnalyzeIn,
    AsrFields,
    AsrIn,
    AsrOut,
    AudioFormat,
    BatchIn,
    EmotionIn,
    EmotionOut,
    JobAccepted,
    JobOut,
    ResultOut,
    SetupIn,
    SynthesisIn,
    SynthesisOut,
    VoiceOut,
)
from parley.ai.service import Runtime
from parley.core.auth import Principal, principal_from_token
from parley.core.deps import AdminDep, KvDep, PrincipalDep, SessionDep
from parley.core.errors import ProblemError

router = APIRouter(prefix="/api/v1/ai", tags=["ai"])
log = structlog.get_logger("parley.ai")

UPLOAD_CHUNK = 1024 * 1024


async def _keep(
    request: Request,
    session: AsyncSession,
    principal: Principal,
    task: str,
    data: dict[str, Any],
    meeting_id: uuid.UUID | None,
    recording_id: uuid.UUID | None,
) -> uuid.UUID | None:
    """Store the result when it names a meeting or recording (access checked beforehand)."""
    if meeting_id is None:
        return None
    row = await service.store_result(
        session, task, principal.user_id, data, meeting_id, recording_id
    )
    return row.id


_ASR_OPENAPI: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": AsrIn.model_json_schema()},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        **{
                            name: {"type": "string"}
                            for name in ("format", "language", "engine", "model")
                        },
                        "meeting_id": {"type": "string", "format": "uuid"},
                        "recording_id": {"type": "string", "format": "uuid"},
                    },
                }
            },
        },
    }
}


def _validated(model: type[AsrFields], data: Any, raw: bytes | None = None) -> AsrFields:
    """Pydantic validation with the app's usual 422 (or 400 for broken JSON)."""
    try:
        if raw is not None:
            return model.model_validate_json(raw)
        return model.model_validate(data)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_url=False)) from exc


async def _read_upload(file: Any, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while chunk := await file.read(UPLOAD_CHUNK):
        size += len(chunk)
        if size > limit:
            raise errors.upload_too_large(limit)
        chunks.append(chunk)
    data = b"".join(chunks)
    if not data:
        raise errors.empty_upload()
    return data


async def _transcribe(
    request: Request,
    principal: Principal,
    session: AsyncSession,
    runtime: Runtime,
    data: bytes | None,
    fields: AsrFields,
) -> AsrOut:
    await ensure_scope(request, fields.meeting_id, fields.recording_id)
    if data is None:
        assert isinstance(fields, AsrIn)
        data = service.decode_base64(fields.audio)
    result = await service.asr(
        runtime,
        data,
        fields.format,
        fields.language,
        fields.engine,
        fields.model,
        runtime.settings.ai_max_sync_audio_s,
    )
    result["result_id"] = await _keep(
        request, session, principal, "asr", result, fields.meeting_id, fields.recording_id
    )
    return AsrOut(**result)


@router.post("/asr", openapi_extra=_ASR_OPENAPI)
async def asr(
    request: Request, principal: PrincipalDep, session: SessionDep, runtime: RuntimeDep
) -> AsrOut:
    """Speech to text: JSON with base64 ``audio``, or multipart with a ``file`` field (for
    files too large for the 1 MiB JSON limit). Any container/codec FFmpeg decodes."""
    content_type = request.headers.get("content-type", "").lower()
    if content_type.startswith("multipart/form-data"):
        async with request.form(max_files=1, max_fields=16) as form:
            upload = form.get("file")
            if upload is None or isinstance(upload, str):
                raise errors.file_part_required()
            data = await _read_upload(upload, runtime.settings.ai_max_upload_bytes)
            values = {key: value for key, value in form.items() if key != "file"}
        fields = _validated(AsrFields, values)
        return await _transcribe(request, principal, session, runtime, data, fields)
    if "json" not in content_type:
        raise errors.unsupported_media_type()
    body = _validated(AsrIn, None, await request.body())
    return await _transcribe(request, principal, session, runtime, None, body)


@router.post("/asr/upload")
async def asr_upload(
    request: Request,
    principal: PrincipalDep,
    session: SessionDep,
    runtime: RuntimeDep,
    file: Annotated[UploadFile, File(description="The audio file.")],
    format: Annotated[AudioFormat | None, Form()] = None,
    language: Annotated[str, Form(max_length=16)] = "en",
    engine: Annotated[str | None, Form()] = None,
    model: Annotated[str | None, Form()] = None,
    meeting_id: Annotated[uuid.UUID | None, Form()] = None,
    recording_id: Annotated[uuid.UUID | None, Form()] = None,
) -> AsrOut:
    """The multipart variant under its own path (same as multipart to ``/asr``)."""
    data = await _read_upload(file, runtime.settings.ai_max_upload_bytes)
    fields = _validated(
        AsrFields,
        {
            "format": format,
            "language": language,
            "engine": engine,
            "model": model,
            "meeting_id": meeting_id,
            "recording_id": recording_id,
        },
    )
    return await _transcribe(request, principal, session, runtime, data, fields)


@router.post("/emotion")
async def emotion(
    body: EmotionIn,
    request: Request,
    principal: PrincipalDep,
    session: SessionDep,
    runtime: RuntimeDep,
) -> EmotionOut:
    """Emotion of a text, of speech (transcribed first, plus the voice's prosody), or both."""
    await ensure_scope(request, body.meeting_id, body.recording_id)
    data = service.decode_base64(body.audio) if body.audio is not None else None
    result = await service.emotion(
        runtime, body.text, data, body.format, body.engine, runtime.settings.ai_max_sync_audio_s
    )
    result["result_id"] = await _keep(
        request, session, principal, "emotion", result, body.meeting_id, body.recording_id
    )
    return EmotionOut(**result)


@router.post("/synthesis")
async def synthesis(
    body: SynthesisIn, principal: PrincipalDep, runtime: RuntimeDep
) -> SynthesisOut:
    """Text to speech (WAV, or Ogg/Opus for the browser)."""
    result = await service.synthesize(
        runtime, body.text, body.voice, body.rate, body.format, body.engine
    )
    return SynthesisOut(**result)


@router.get("/voices")
async def voices(principal: PrincipalDep, runtime: RuntimeDep) -> list[VoiceOut]:
    return [VoiceOut(**voice) for voice in await service.voices(runtime)]


@router.post("/analyze")
async def analyze(
    body: AnalyzeIn,
    request: Request,
    principal: PrincipalDep,
    session: SessionDep,
    runtime: RuntimeDep,
) -> dict[str, Any]:
    """Extractive summary, key phrases, action items, questions, talk time, sentiment."""
    await ensure_scope(request, body.meeting_id, body.recording_id)
    segments = [segment.model_dump() for segment in body.segments]
    result = await service.analyze(runtime, segments)
    result_id = await _keep(
        request, session, principal, "analyze", result, body.meeting_id, body.recording_id
    )
    return {**result, "result_id": result_id}


@router.get("/results")
async def results(
    request: Request,
    principal: PrincipalDep,
    session: SessionDep,
    meeting_id: uuid.UUID | None = None,
    recording_id: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[ResultOut]:
    """Stored results of a meeting or a recording, for that meeting's participants only."""
    if meeting_id is None and recording_id is None:
        raise errors.scope_required()
    if meeting_id is not None:
        await ensure_participant(request, meeting_id)
    rows = await service.list_results(session, meeting_id, recording_id, limit)
    allowed: dict[uuid.UUID, bool] = {}
    visible = []
    for row in rows:
        if row.meeting_id is None:
            continue
        if row.meeting_id not in allowed:
            try:
                await ensure_participant(request, row.meeting_id)
                allowed[row.meeting_id] = True
            except ProblemError as exc:
                if exc.status != 404:
                    raise
                allowed[row.meeting_id] = False
        if allowed[row.meeting_id]:
            visible.append(ResultOut(**service.result_out(row)))
    return visible


def _uuid_field(item: dict[str, Any], name: str, index: int) -> uuid.UUID | None:
    value = item.get(name)
    if value in (None, ""):
        return None
    try:
        return uuid.UUID(str(value))
    except ValueError as exc:
        raise errors.not_a_uuid(index, name) from exc


async def _media_of(request: Request, runtime: Runtime, item: dict[str, Any], index: int) -> None:
    """An ``asr`` item's media, made safe to fetch later: a ``media_id`` becomes a content link
    media-service mints for the submitter; a ``media_url`` must be a link Parley signed."""
    media_id = _uuid_field(item, "media_id", index)
    if media_id is not None:
        authorization = request.headers.get("authorization", "")
        item["media_url"] = await egress.link_for_media(request.app, media_id, authorization)
    elif item.get("media_url") is not None:
        if not isinstance(item["media_url"], str):
            raise errors.media_url_refused()
        state = request.app.state
        item["media_url"] = egress.media_link(
            item["media_url"], runtime.settings.ai_media_url, state.signer
        )


@router.post("/batch", status_code=202)
async def submit_batch(
    body: BatchIn,
    request: Request,
    principal: PrincipalDep,
    session: SessionDep,
    kv: KvDep,
    runtime: RuntimeDep,
) -> JobAccepted:
    """Queue items for the workers; poll ``GET /batch/{job_id}`` for progress and results.

    Media comes as a ``media_id`` or a content link Parley issued, never an arbitrary URL; a
    ``callback_url`` must be on the operator's allow-list. Both are refused here with 422."""
    callback = str(body.callback_url) if body.callback_url else None
    if callback is not None:
        egress.check_callback(callback, runtime.callback_hosts)
    items = [item.model_dump() for item in body.items]
    checked: set[tuple[uuid.UUID | None, uuid.UUID | None]] = set()
    for index, item in enumerate(items):
        scope = item["input"]
        meeting = _uuid_field(scope, "meeting_id", index)
        recording = _uuid_field(scope, "recording_id", index)
        if (meeting, recording) != (None, None) and (meeting, recording) not in checked:
            await ensure_scope(request, meeting, recording)
            checked.add((meeting, recording))
        if item["task"] == "asr":
            await _media_of(request, runtime, scope, index)
    stream = jobs.stream_of(request.app.state.db)
    job = await jobs.submit(session, kv, stream, principal.user_id, items, callback)
    return JobAccepted(job_id=job.id, status=job.status)


@router.get("/batch/{job_id:uuid}")
async def batch_status(job_id: uuid.UUID, principal: PrincipalDep, session: SessionDep) -> JobOut:
    job = await session.get(AiJob, job_id)
    if job is None or (str(job.owner_id) != principal.user_id and not principal.is_admin):
        raise errors.job_not_found()
    return JobOut(**jobs.job_out(job))


@router.post("/setup")
async def setup(body: SetupIn, admin: AdminDep, runtime: RuntimeDep) -> dict[str, Any]:
    """Switch default engines and load, warm up or unload models at run time (admin)."""
    changes = await service.setup(runtime, body.model_dump(exclude_none=True))
    return {"changes": changes, "defaults": dict(runtime.registry.defaults)}


@router.get("/info")
async def info(runtime: RuntimeDep) -> dict[str, Any]:
    """Engines (available or why not), loaded models, Triton endpoints and their health."""
    triton: list[dict[str, Any]] = []
    if runtime.settings.triton_urls:
        triton = await runtime.registry.triton_pool().check()
    from parley.ai.engines.vad import VAD_MODEL

    return {
        "version": __version__,
        "defaults": dict(runtime.registry.defaults),
        "engines": runtime.registry.availability(),
        "models": runtime.registry.models(),
        "vad": VAD_MODEL,
        "triton": triton,
        "limits": {
            "max_sync_audio_s": runtime.settings.ai_max_sync_audio_s,
            "max_text_chars": 2000,
            "max_upload_bytes": runtime.settings.ai_max_upload_bytes,
        },
    }


@router.get("/health")
async def health(runtime: RuntimeDep) -> dict[str, Any]:
    """Whether the default engine of each task can run here."""
    available = runtime.registry.availability()
    checks = {
        task: available[task][runtime.registry.defaults[task]]["available"] for task in available
    }
    return {"status": "ok" if all(checks.values()) else "degraded", "engines": checks}


async def _stream_principal(
    websocket: WebSocket, token: str | None, wait_s: float
) -> Principal | None:
    """Who opened the stream: the ``auth`` frame (``{"type": "auth", "token": ...}``, the way
    to send it), else the deprecated ``?token=`` (tokens in URLs end up in access logs) or an
    ``Authorization`` header. Closes the socket with 4401 and returns ``None`` when refused."""
    state = websocket.app.state
    header = websocket.headers.get("authorization", "")
    token = token or (header[7:] if header.lower().startswith("bearer ") else None)
    try:
        if not token:
            token = await _auth_frame(websocket, wait_s)
        return await principal_from_token(token, state.signer, state.revocations)
    except ProblemError as exc:
        await websocket.close(code=4401, reason=exc.detail[:120])
        return None


async def _auth_frame(websocket: WebSocket, wait_s: float) -> str:
    refused = errors.auth_frame_required()
    try:
        async with asyncio.timeout(wait_s):
            message = await websocket.receive()
    except TimeoutError:
        raise refused from None
    frame: Any = None
    with contextlib.suppress(ValueError, TypeError):
        frame = json.loads(message.get("text") or "")
    if not isinstance(frame, dict) or frame.get("type") != "auth":
        raise refused
    token = frame.get("token")
    if not isinstance(token, str) or not token:
        raise refused
    return token


@contextlib.contextmanager
def _stream_slot(runtime: Runtime, user_id: str) -> Iterator[bool]:
    """Count the user's open streams in this process; ``False`` past the per-user limit."""
    open_now = runtime.open_streams.get(user_id, 0)
    if open_now >= runtime.limits.ai_streams_per_user:
        yield False
        return
    runtime.open_streams[user_id] = open_now + 1
    try:
        yield True
    finally:
        left = runtime.open_streams.get(user_id, 1) - 1
        if left > 0:
            runtime.open_streams[user_id] = left
        else:
            runtime.open_streams.pop(user_id, None)


@router.websocket("/asr/stream")
async def asr_stream(websocket: WebSocket, token: str | None = None, format: str = "pcm") -> None:
    """Live captions: binary frames in, ``partial``/``final`` results out.

    ``?format=pcm`` (default): 16 kHz mono s16le PCM frames. ``?format=webm`` or ``ogg``: the
    chunks a browser's MediaRecorder produces (WebM/Opus, Ogg/Opus), decoded as they come.
    Send the text frame ``{"type": "end"}`` to close the utterance and the stream.

    The access token comes in a first text frame ``{"type": "auth", "token": ...}`` (the
    ``ready`` frame answers it). ``?token=`` and an ``Authorization`` header still work;
    ``?token=`` is deprecated, since URLs end up in access logs.

    Limits (docs/ai.md): a user has at most ``PARLEY_AI_STREAMS_PER_USER`` streams open (4429
    past that); a stream that sends no audio for ``PARLEY_AI_STREAM_IDLE_S`` is closed (4408);
    a speech decoder is held only while an utterance is decoded, and when none frees up in
    time the stream gets an ``error`` frame and closes with 1013 (try again later).
    """
    from parley.ai.audio import AudioError, ContainerStream
    from parley.ai.engines.base import EngineBusy
    from parley.ai.engines.local_asr import StreamingSession

    runtime = service.runtime_of(websocket.app.state)
    limits = runtime.limits
    # Accepted first so that the client sees the close code (a refused handshake is a bare
    # HTTP 403 to a browser).
    await websocket.accept()
    principal = await _stream_principal(websocket, token, limits.ai_stream_auth_s)
    if principal is None:
        return
    with _stream_slot(runtime, principal.user_id) as admitted:
        if not admitted:
            await websocket.close(
                code=4429,
                reason=f"At most {limits.ai_streams_per_user} caption streams per user.",
            )
            return
        try:
            container = None if format == "pcm" else ContainerStream(format)
        except AudioError as exc:
            await websocket.close(code=4400, reason=str(exc)[:120])
            return
        try:
            engine = await service.engine_async(runtime, "asr", "local")
        except ProblemError as exc:
            await websocket.close(code=1011, reason=exc.detail[:120])
            return
        stream = StreamingSession(engine)

        def feed(data: bytes) -> list[dict[str, Any]]:
            return stream.feed(container.write(data) if container is not None else data)

        def finish() -> list[dict[str, Any]]:
            events = stream.feed(container.close()) if container is not None else []
            return events + stream.finish()

        loop = asyncio.get_running_loop()
        try:
            await websocket.send_json({"type": "ready", "sample_rate": 16_000, "format": format})
            last_audio = loop.time()
            while True:
                idle_left = last_audio + limits.ai_stream_idle_s - loop.time()
                try:
                    async with asyncio.timeout(max(0.0, idle_left)):
                        message = await websocket.receive()
                except TimeoutError:
                    await websocket.close(code=4408, reason="No audio for too long.")
                    return
                if message["type"] == "websocket.disconnect":
                    return
                events: list[dict[str, Any]] = []
                if message.get("bytes"):
                    last_audio = loop.time()
                    events = await asyncio.to_thread(feed, message["bytes"])
                elif message.get("text"):
                    with contextlib.suppress(ValueError, AttributeError):
                        if json.loads(message["text"]).get("type") == "end":
                            for event in await asyncio.to_thread(finish):
                                await websocket.send_json(event)
                            if container is not None and container.error:
                                await websocket.send_json(
                                    {"type": "error", "detail": container.error}
                                )
                            await websocket.send_json({"type": "end"})
                            await websocket.close()
                            return
                for event in events:
                    await websocket.send_json(event)
        except EngineBusy as exc:
            await websocket.send_json(
                {
                    "type": "error",
                    "status": 503,
                    "detail": exc.detail,
                    "retry_after": exc.retry_after_s,
                }
            )
            await websocket.close(code=1013, reason="Speech decoders are busy; retry later.")
        except WebSocketDisconnect:
            return
        finally:
            if container is not None:
                await asyncio.to_thread(container.close, 1.0)
            await asyncio.to_thread(stream.close)


routers = [router]
