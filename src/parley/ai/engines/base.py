"""What every engine returns, and the errors engines raise.

Engines are plain synchronous objects: the service layer runs them in worker threads so the
event loop never waits on a recognizer or a synthesizer.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from parley.ai.audio import Pcm

EMOTIONS = ("neutral", "happy", "sad", "angry", "fearful", "surprised", "disgusted")


class EngineUnavailable(RuntimeError):
    """The engine cannot run here (a binary or model is missing, or a server is down)."""

    def __init__(self, engine: str, detail: str, endpoints: list[str] | None = None) -> None:
        super().__init__(detail)
        self.engine = engine
        self.detail = detail
        self.endpoints = endpoints or []


class EngineBusy(RuntimeError):
    """Every instance of a pooled engine (a speech decoder) stayed busy for the whole wait:
    the caller should retry shortly (503 with ``Retry-After``)."""

    def __init__(self, engine: str, detail: str, retry_after_s: int = 5) -> None:
        super().__init__(detail)
        self.engine = engine
        self.detail = detail
        self.retry_after_s = retry_after_s


@dataclass
class Segment:
    start: float
    end: float
    text: str
    confidence: float


@dataclass
class Transcript:
    text: str
    segments: list[Segment]
    language: str
    model: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Transcript:
        return cls(
            text=str(data.get("text", "")),
            segments=[Segment(**segment) for segment in data.get("segments", [])],
            language=str(data.get("language", "en")),
            model=str(data.get("model", "")),
        )


@dataclass
class Voice:
    id: str
    name: str
    language: str
    engine: str
    gender: str | None = None
    default: bool = False


@dataclass
class Speech:
    pcm: Pcm
    voice: str


@dataclass
class Emotion:
    label: str
    scores: dict[str, float]
    valence: float
    arousal: float
    engine: str
    details: dict[str, Any] = field(default_factory=dict)


class AsrEngine(Protocol):
    name: str
    model: str

    def transcribe(self, pcm: Pcm, language: str) -> Transcript: ...


class TtsEngine(Protocol):
    name: str

    def voices(self) -> list[Voice]: ...

    def synthesize(self, text: str, voice: str | None, rate: float) -> Speech: ...


class EmotionEngine(Protocol):
    name: str

    def from_text(self, text: str) -> Emotion: ...


def normalise(scores: dict[str, float]) -> dict[str, float]:
    """Scores over the seven labels that sum to 1 (rounded to 4 places, the rest on the top)."""
    total = sum(max(0.0, value) for value in scores.values())
    if total <= 0:
        return {label: (1.0 if label == "neutral" else 0.0) for label in EMOTIONS}
    result = {label: round(max(0.0, scores.get(label, 0.0)) / total, 4) for label in EMOTIONS}
    top = max(result, key=lambda label: result[label])
    result[top] = round(result[top] + 1.0 - sum(result.values()), 4)
    return result
