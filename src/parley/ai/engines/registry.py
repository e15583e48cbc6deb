"""Which engines this process has, which are loaded, and which serve by default.

Loading is lazy and guarded: an engine whose binary, package or weights are missing is listed
as unavailable with the reason, and the rest of the service keeps working (``parley up`` never
fails because, say, ``flite`` is not installed).
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from parley.ai.engines.base import EngineUnavailable

TASKS = ("asr", "tts", "emotion")
ENGINES: dict[str, tuple[str, ...]] = {
    "asr": ("local", "whisper", "triton"),
    "tts": ("local", "triton"),
    "emotion": ("local", "triton"),
}


@dataclass
class Loaded:
    engine: Any
    task: str
    name: str
    model: str
    loaded_at: float
    load_s: float


@dataclass
class EngineConfig:
    model_dir: Path | None
    triton_urls: list[str]
    defaults: dict[str, str]
    decoders: int = 2
    decoder_wait_s: float = 10.0  # how long a transcription waits for a free decoder


@dataclass
class Registry:
    config: EngineConfig
    loaded: dict[tuple[str, str], Loaded] = field(default_factory=dict)
    failures: dict[tuple[str, str], str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _pool: Any = None

    @property
    def defaults(self) -> dict[str, str]:
        return self.config.defaults

    def triton_pool(self) -> Any:
        from parley.ai.engines.triton import TritonPool

        if self._pool is None:
            self._pool = TritonPool(self.config.triton_urls)
        return self._pool

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()

    def _build(self, task: str, name: str, model: str | None) -> Any:
        if name == "triton":
            from parley.ai.engines import triton

            pool = self.triton_pool()
            return {
                "asr": triton.TritonAsr,
                "tts": triton.TritonTts,
                "emotion": triton.TritonEmotion,
            }[task](pool)
        if task == "asr" and name == "local":
            from parley.ai.engines.local_asr import PocketSphinxAsr

            return PocketSphinxAsr(self.config.decoders, self.config.decoder_wait_s)
        if task == "asr" and name == "whisper":
            from parley.ai.engines.whisper import WhisperAsr

            return WhisperAsr(self.config.model_dir, model)
        if task == "tts":
            from parley.ai.engines.local_tts import CommandLineTts

            return CommandLineTts()
        from parley.ai.engines.local_emotion import LexiconEmotion

        return LexiconEmotion()

    def get(self, task: str, name: str | None = None, model: str | None = None) -> Any:
        """The engine for a task (loading it on first use). Raises :class:`KeyError` for an
        unknown engine name and :class:`EngineUnavailable` when it cannot run here."""
        name = name or self.defaults[task]
        if name not in ENGINES[task]:
            raise KeyError(name)
        key = (task, name)
        with self._lock:
            current = self.loaded.get(key)
            if current is not None and (
                model is None or model == getattr(current.engine, "model_name", model)
            ):
                return current.engine
            started = time.perf_counter()
            try:
                engine = self._build(task, name, model)
            except EngineUnavailable as exc:
                self.failures[key] = exc.detail
                raise
            self.failures.pop(key, None)
            self.loaded[key] = Loaded(
                engine,
                task,
                name,
                str(getattr(engine, "model", name)),
                time.time(),
                time.perf_counter() - started,
            )
            return engine

    def unload(self, task: str, name: str) -> bool:
        with self._lock:
            return self.loaded.pop((task, name), None) is not None

    def availability(self) -> dict[str, dict[str, dict[str, Any]]]:
        """For each task and engine: can it run here, and if not, why."""
        import shutil

        from parley.ai.engines.local_asr import pocketsphinx_version
        from parley.ai.engines.whisper import whisper_models

        def entry(ok: bool, reason: str | None) -> dict[str, Any]:
            return {"available": ok, "reason": None if ok else reason}

        triton = entry(bool(self.config.triton_urls), "PARLEY_TRITON_URLS is not set")
        flite, espeak = shutil.which("flite"), shutil.which("espeak-ng")
        tts_missing = [n for n, p in (("flite", flite), ("espeak-ng", espeak)) if not p]
        local_tts = entry(bool(flite or espeak), "neither flite nor espeak-ng is installed")
        if tts_missing and (flite or espeak):
            local_tts["degraded"] = f"{' and '.join(tts_missing)} not installed"
        result = {
            "asr": {
                "local": entry(pocketsphinx_version() is not None, "pocketsphinx is not installed"),
                "whisper": entry(
                    bool(whisper_models(self.config.model_dir)),
                    f"no Whisper weights under PARLEY_AI_MODEL_DIR ({self.config.model_dir})",
                ),
                "triton": dict(triton),
            },
            "tts": {"local": local_tts, "triton": dict(triton)},
            "emotion": {"local": entry(True, None), "triton": dict(triton)},
        }
        for (task, name), reason in self.failures.items():
            result[task][name] = entry(False, reason)
        return result

    def models(self) -> list[dict[str, Any]]:
        return [
            {
                "task": item.task,
                "engine": item.name,
                "name": item.model,
                "version": item.model.split("/")[0],
                "device": "triton" if item.name == "triton" else "cpu",
                "memory_bytes": _model_bytes(item),
                "load_s": round(item.load_s, 3),
            }
            for item in self.loaded.values()
        ]


def _model_bytes(item: Loaded) -> int | None:
    """Size of the model's files on disk: what a CPU engine maps into memory."""
    path: Path | None = getattr(item.engine, "path", None)
    if item.task == "asr" and item.name == "local":
        import pocketsphinx

        path = Path(pocketsphinx.__file__).parent / "model" / "en-us"
    if path is None or not path.exists():
        return None
    return (
        sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
        if path.is_dir()
        else os.path.getsize(path)
    )
