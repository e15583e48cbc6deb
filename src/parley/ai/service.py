"""The AI service's business rules, usable without HTTP (the batch worker calls them too).

Every engine call leaves the event loop: local engines run in worker threads (they hold the
GIL only in Python glue; PocketSphinx, ONNX Runtime and the synthesizers run in C or in a child
process), Triton calls are awaited on its asyncio client.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import inspect
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from parley.ai import analysis, audio, errors
from parley.ai.audio import AudioError, Pcm
from parley.ai.engines.base import Emotion, EngineBusy, EngineUnavailable, Speech, Transcript
from parley.ai.engines.registry import ENGINES, EngineConfig, Registry
from parley.ai.engines.triton import TritonModelError
from parley.ai.models import AiResult
from parley.ai.schemas import MAX_TEXT_CHARS
from parley.config import Settings
from parley.core.errors import ProblemError

TASK_OF_ENDPOINT = {"asr": "asr", "synthesis": "tts", "emotion": "emotion"}


@dataclass
class Runtime:
    """Per-process AI state: the engine registry and the limits."""

    registry: Registry
    settings: Settings
    # Reads a media file named by URL (batch items with ``media_url``); set by the worker, which
    # knows how to reach media-service (in-process in the all-in-one app, else by URL).
    fetch: Callable[[str], Awaitable[bytes]] | None = None
    # The settings the AI service's limits come from (callback hosts, stream limits): this
    # runtime's own copy, so that tests can adjust them for one app without touching others.
    limits: Settings = field(default_factory=Settings)
    # Live caption streams open in this process, per user id.
    open_streams: dict[str, int] = field(default_factory=dict)

    @property
    def callback_hosts(self) -> frozenset[str]:
        return frozenset(host.strip().lower() for host in self.limits.ai_callback_hosts)

    @classmethod
    def from_settings(cls, settings: Settings) -> Runtime:
        config = EngineConfig(
            model_dir=settings.ai_model_dir,
            triton_urls=list(settings.triton_urls),
            defaults={
                "asr": settings.ai_asr_engine,
                "tts": settings.ai_tts_engine,
                "emotion": settings.ai_emotion_engine,
            },
            decoders=settings.ai_decoders,
        )
        config.decoder_wait_s = settings.ai_decoder_wait_s
        return cls(Registry(config), settings, limits=settings.model_copy())


def runtime_of(state: Any) -> Runtime:
    """The app's runtime, made on first use (``state`` is ``app.state``)."""
    runtime: Runtime | None = getattr(state, "ai", None)
    if runtime is None:
        runtime = Runtime.from_settings(state.settings)
        state.ai = runtime
    return runtime


# --- input checks -----------------------------------------------------------------------


def decode_base64(value: str, field: str = "audio") -> bytes:
    try:
        data = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise errors.invalid_base64(field, exc) from exc
    if not data:
        raise errors.empty_field(field)
    return data


def check_text(text: str) -> None:
    if len(text) > MAX_TEXT_CHARS:
        raise errors.text_too_long(len(text), MAX_TEXT_CHARS)


def _load_audio(data: bytes, fmt: str | None, max_s: float | None) -> Pcm:
    if max_s is not None:
        stated = audio.probe_duration(data, fmt or audio.sniff(data))
        if stated is not None and stated > max_s:
            raise errors.audio_too_long(stated, max_s)
    pcm = audio.decode(data, fmt)
    if max_s is not None and pcm.duration_s > max_s:
        raise errors.audio_too_long(pcm.duration_s, max_s)
    return pcm


async def load_audio(data: bytes, fmt: str | None, max_s: float | None) -> Pcm:
    """Decoded 16 kHz mono PCM; 400 for bytes that are not audio, 413 past ``max_s``."""
    try:
        return await asyncio.to_thread(_load_audio, data, fmt, max_s)
    except AudioError as exc:
        raise errors.invalid_audio(exc) from exc


# --- engines ----------------------------------------------------------------------------


def engine_for(runtime: Runtime, task: str, name: str | None, model: str | None = None) -> Any:
    """The engine, or the 4xx/503 that says why not."""
    try:
        return runtime.registry.get(task, name, model)
    except KeyError as exc:
        if name is not None and name not in ENGINES[task]:
            raise errors.unknown_engine(task, name, ENGINES[task]) from exc
        from parley.ai.engines.whisper import whisper_models

        valid_models = sorted(whisper_models(runtime.settings.ai_model_dir))
        raise errors.unknown_model(model, name, valid_models, "none installed") from exc
    except EngineUnavailable as exc:
        raise unavailable(exc) from exc


async def engine_async(
    runtime: Runtime, task: str, name: str | None, model: str | None = None
) -> Any:
    """:func:`engine_for`, loading (which can take a second) in a worker thread."""
    loaded = runtime.registry.loaded.get((task, name or runtime.registry.defaults[task]))
    if loaded is not None and model is None:
        return loaded.engine
    return await asyncio.to_thread(engine_for, runtime, task, name, model)


def unavailable(exc: EngineUnavailable) -> ProblemError:
    return errors.engine_unavailable(exc.engine, exc.detail, exc.endpoints)


def busy(exc: EngineBusy) -> ProblemError:
    return errors.engine_busy(exc.engine, exc.detail, exc.retry_after_s)


async def _run(method: Any, *args: Any) -> Any:
    """Call an engine method: awaited if it is async (Triton), else in a worker thread."""
    try:
        if inspect.iscoroutinefunction(method):
            return await method(*args)
        return await asyncio.to_thread(method, *args)
    except EngineUnavailable as exc:
        raise unavailable(exc) from exc
    except EngineBusy as exc:
        raise busy(exc) from exc
    except TritonModelError as exc:
        raise errors.triton_error(exc) from exc


async def transcribe(
    runtime: Runtime,
    pcm: Pcm,
    language: str = "en",
    engine: str | None = None,
    model: str | None = None,
) -> tuple[Transcript, str]:
    chosen = await engine_async(runtime, "asr", engine, model)
    fixed_models = getattr(chosen, "models", None)
    if model is not None and fixed_models is not None and model not in fixed_models:
        raise errors.unknown_model(model, chosen.name, fixed_models)
    languages = getattr(chosen, "languages", None)
    if languages is not None and language not in languages:
        raise errors.unsupported_language(chosen.name, language, languages)
    transcript: Transcript = await _run(chosen.transcribe, pcm, language)
    return transcript, chosen.name


async def asr(
    runtime: Runtime,
    data: bytes,
    fmt: str | None,
    language: str = "en",
    engine: str | None = None,
    model: str | None = None,
    max_s: float | None = None,
) -> dict[str, Any]:
    started = time.perf_counter()
    pcm = await load_audio(data, fmt, max_s)
    transcript, engine_name = await transcribe(runtime, pcm, language, engine, model)
    return {
        "text": transcript.text,
        "segments": [
            {"start": s.start, "end": s.end, "text": s.text, "confidence": s.confidence}
            for s in transcript.segments
        ],
        "language": transcript.language,
        "duration_s": round(pcm.duration_s, 3),
        "engine": engine_name,
        "model": transcript.model,
        "processing_ms": round((time.perf_counter() - started) * 1000, 1),
    }


def _emotion_dict(result: Emotion, transcript: str | None = None) -> dict[str, Any]:
    return {
        "label": result.label,
        "scores": result.scores,
        "valence": result.valence,
        "arousal": result.arousal,
        "engine": result.engine,
        "transcript": transcript,
        "details": result.details,
    }


async def emotion(
    runtime: Runtime,
    text: str | None,
    data: bytes | None,
    fmt: str | None = None,
    engine: str | None = None,
    max_s: float | None = None,
) -> dict[str, Any]:
    if text is None and data is None:
        raise errors.text_or_audio_required()
    if text is not None:
        check_text(text)
    chosen = await engine_async(runtime, "emotion", engine)
    if data is None:
        return _emotion_dict(await _run(chosen.from_text, text or ""))
    from parley.ai.engines.local_emotion import combine, prosody

    pcm = await load_audio(data, fmt, max_s)
    transcript_text = text
    speech_s: float | None = None
    if transcript_text is None:
        transcript, _ = await transcribe(runtime, pcm)
        transcript_text = transcript.text
        speech_s = sum(s.end - s.start for s in transcript.segments) or None
    words = len(transcript_text.split())
    voice = await asyncio.to_thread(prosody, pcm, words, speech_s)
    text_result: Emotion = await _run(chosen.from_text, transcript_text)
    return _emotion_dict(combine(text_result, voice), transcript_text)


async def synthesize(
    runtime: Runtime,
    text: str,
    voice: str | None = None,
    rate: float = 1.0,
    fmt: str = "wav",
    engine: str | None = None,
) -> dict[str, Any]:
    check_text(text)
    if not text.strip():
        raise errors.nothing_to_say()
    chosen = await engine_async(runtime, "tts", engine)
    if voice is not None and hasattr(chosen, "voice_ids") and voice not in chosen.voice_ids():
        raise errors.unknown_voice(voice, (v for v in chosen.voice_ids() if ":" not in v))
    speech: Speech = await _run(chosen.synthesize, text, voice, rate)
    encoded = await asyncio.to_thread(audio.encode, speech.pcm, fmt)
    return {
        "audio": base64.b64encode(encoded).decode(),
        "format": fmt,
        "sample_rate": 48_000 if fmt == "ogg" else speech.pcm.rate,
        "duration_s": round(speech.pcm.duration_s, 3),
        "voice": speech.voice,
        "engine": chosen.name,
    }


async def voices(runtime: Runtime) -> list[dict[str, Any]]:
    chosen = await engine_async(runtime, "tts", "local")
    found = await asyncio.to_thread(chosen.voices)
    return [vars(voice) for voice in found]


async def analyze(runtime: Runtime, segments: list[dict[str, Any]]) -> dict[str, Any]:
    emotion_engine = await engine_async(runtime, "emotion", "local")

    def valence(text: str) -> float:
        return float(emotion_engine.from_text(text).valence)

    return await asyncio.to_thread(analysis.analyze, segments, valence)


# --- results ----------------------------------------------------------------------------


async def store_result(
    session: AsyncSession,
    task: str,
    owner_id: str,
    data: dict[str, Any],
    meeting_id: uuid.UUID | None,
    recording_id: uuid.UUID | None,
    job_id: uuid.UUID | None = None,
) -> AiResult:
    row = AiResult(
        task=task,
        owner_id=uuid.UUID(owner_id),
        meeting_id=meeting_id,
        recording_id=recording_id,
        job_id=job_id,
        data=data,
    )
    session.add(row)
    await session.commit()
    return row


async def list_results(
    session: AsyncSession, meeting_id: uuid.UUID | None, recording_id: uuid.UUID | None, limit: int
) -> list[AiResult]:
    query = select(AiResult).order_by(AiResult.created_at, AiResult.id).limit(limit)
    if meeting_id is not None:
        query = query.where(AiResult.meeting_id == meeting_id)
    if recording_id is not None:
        query = query.where(AiResult.recording_id == recording_id)
    return list((await session.scalars(query)).all())


def result_out(row: AiResult) -> dict[str, Any]:
    return {
        "id": row.id,
        "task": row.task,
        "meeting_id": row.meeting_id,
        "recording_id": row.recording_id,
        "job_id": row.job_id,
        "data": row.data,
        "created_at": row.created_at.isoformat(),
    }


async def setup(runtime: Runtime, body: dict[str, Any]) -> dict[str, Any]:
    """Load, unload or switch the default engine (and model) of each task named."""
    changes: dict[str, Any] = {}
    for key, task in (("asr", "asr"), ("tts", "tts"), ("emotion", "emotion")):
        spec = body.get(key)
        if spec is None:
            continue
        name, model = spec["engine"], spec.get("model")
        if name not in ENGINES[task]:
            # Checked here, not left to the registry: an empty name would mean "the default"
            # there, and become the default's name (breaking every later request).
            raise errors.unknown_engine(task, name, ENGINES[task])
        if spec.get("unload"):
            changes[key] = {"engine": name, "unloaded": runtime.registry.unload(task, name)}
            continue
        # Loading now means a default that cannot run here is refused (503 with the reason)
        # instead of breaking every later request.
        engine = await asyncio.to_thread(engine_for, runtime, task, name, model)
        if body.get("warmup"):
            await warm_up(runtime, task, engine)
        runtime.registry.defaults[task] = name
        changes[key] = {"engine": name, "model": model, "default": True}
    return changes


async def warm_up(runtime: Runtime, task: str, engine: Any) -> None:
    """One small request so the first real one does not pay for lazy initialisation."""
    if task == "asr":
        import numpy as np

        await _run(engine.transcribe, Pcm(np.zeros(16_000, dtype=np.int16)), "en")
    elif task == "tts":
        await _run(engine.synthesize, "ready", None, 1.0)
    else:
        await _run(engine.from_text, "ready")
