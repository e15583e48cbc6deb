"""The ``whisper`` engine: faster-whisper (CTranslate2) with weights the user placed under
``PARLEY_AI_MODEL_DIR``; nothing is ever downloaded.

A model is a directory in CTranslate2 format (``model.bin``, ``config.json``, ``tokenizer.json``,
``vocabulary.*``), e.g. ``$PARLEY_AI_MODEL_DIR/whisper/small.en/``; its name is the folder's.
``faster-whisper``'s converter or a copy of a ``Systran/faster-whisper-*`` repository gives one.
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path
from typing import Any

from parley.ai.audio import Pcm
from parley.ai.engines.base import EngineUnavailable, Segment, Transcript


def whisper_models(model_dir: Path | None) -> dict[str, Path]:
    """Every complete CTranslate2 Whisper model under ``model_dir`` (or its ``whisper/``)."""
    if model_dir is None or not model_dir.is_dir():
        return {}
    found: dict[str, Path] = {}
    for root in (model_dir, model_dir / "whisper"):
        if not root.is_dir():
            continue
        for candidate in sorted(root.iterdir()):
            if (candidate / "model.bin").is_file() and (candidate / "config.json").is_file():
                found[candidate.name] = candidate
    return found


class WhisperAsr:
    name = "whisper"

    def __init__(self, model_dir: Path | None, model: str | None = None, threads: int = 2) -> None:
        models = whisper_models(model_dir)
        if not models:
            raise EngineUnavailable(
                "whisper",
                f"no Whisper weights under PARLEY_AI_MODEL_DIR ({model_dir}); place a CTranslate2 "
                "model folder (model.bin, config.json, tokenizer.json) there",
            )
        name = model or next(iter(models))
        if name not in models:
            raise KeyError(name)
        try:
            from faster_whisper import WhisperModel
        except ImportError as exc:
            raise EngineUnavailable("whisper", "faster-whisper is not installed") from exc
        self.path = models[name]
        self.model = f"faster-whisper-{metadata.version('faster-whisper')}/{name}"
        self.model_name = name
        self._model: Any = WhisperModel(
            str(self.path),
            device="cpu",
            compute_type="int8",
            cpu_threads=threads,
            local_files_only=True,
        )

    def transcribe(self, pcm: Pcm, language: str = "en") -> Transcript:
        segments, info = self._model.transcribe(
            pcm.floats(), language=language or None, vad_filter=True, beam_size=1
        )
        result = [
            Segment(
                start=round(float(s.start), 2),
                end=round(float(s.end), 2),
                text=s.text.strip(),
                confidence=round(float(min(1.0, max(0.0, 1.0 - s.no_speech_prob))), 3),
            )
            for s in segments
        ]
        return Transcript(
            text=" ".join(s.text for s in result),
            segments=result,
            language=str(info.language),
            model=self.model,
        )
