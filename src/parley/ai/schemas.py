"""Request and response bodies of the AI API."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    StrictBool,
    StringConstraints,
)

from parley.core.text import (
    MultiLineText,
    SingleLineText,
    refuse_control_characters,
    refuse_control_characters_but_newlines,
)

MAX_TEXT_CHARS = 2_000
AudioFormat = Literal["wav", "webm", "ogg", "mp3", "flac"]
# Names of engines, models, voices and languages: one short line.
Name = Annotated[SingleLineText, StringConstraints(max_length=200)]


class AsrFields(BaseModel):
    """What an ASR request says besides the audio (the multipart form's fields)."""

    model_config = ConfigDict(extra="forbid")

    format: AudioFormat | None = Field(default=None, description="Sniffed when absent.")
    language: Annotated[SingleLineText, StringConstraints(max_length=16)] = "en"
    engine: Name | None = None
    model: Name | None = None
    meeting_id: uuid.UUID | None = None
    recording_id: uuid.UUID | None = None


class AsrIn(AsrFields):
    audio: str = Field(description="The audio file, base64-encoded.")


class SegmentOut(BaseModel):
    start: float
    end: float
    text: str
    confidence: float


class AsrOut(BaseModel):
    text: str
    segments: list[SegmentOut]
    language: str
    duration_s: float
    engine: str
    model: str
    processing_ms: float
    result_id: uuid.UUID | None = None


class EmotionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # The length limit is checked in the service so that it answers 413, as the issue asks.
    text: MultiLineText | None = None
    audio: str | None = Field(default=None, description="base64 audio; transcribed first.")
    format: AudioFormat | None = None
    engine: Name | None = None
    meeting_id: uuid.UUID | None = None
    recording_id: uuid.UUID | None = None


class EmotionOut(BaseModel):
    label: str
    scores: dict[str, float]
    valence: float
    arousal: float
    engine: str
    transcript: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)
    result_id: uuid.UUID | None = None


class SynthesisIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: Annotated[MultiLineText, StringConstraints(min_length=1)]
    voice: Name | None = None
    rate: float = Field(default=1.0, ge=0.5, le=2.0)
    format: Literal["wav", "ogg"] = "wav"
    engine: Name | None = None


class SynthesisOut(BaseModel):
    audio: str
    format: str
    sample_rate: int
    duration_s: float
    voice: str
    engine: str


class VoiceOut(BaseModel):
    id: str
    name: str
    language: str
    engine: str
    gender: str | None
    default: bool


class TaskSetup(BaseModel):
    model_config = ConfigDict(extra="forbid")

    engine: Annotated[Name, StringConstraints(min_length=1)]
    model: Name | None = None
    unload: StrictBool = False


class SetupIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    asr: TaskSetup | None = None
    tts: TaskSetup | None = None
    emotion: TaskSetup | None = None
    warmup: StrictBool = False


class AnalyzeSegment(BaseModel):
    speaker: Annotated[SingleLineText, StringConstraints(min_length=1, max_length=200)]
    start: float = Field(ge=0)
    end: float = Field(ge=0)
    text: Annotated[MultiLineText, StringConstraints(max_length=20_000)]


class AnalyzeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    meeting_id: uuid.UUID | None = None
    recording_id: uuid.UUID | None = None
    segments: list[AnalyzeSegment] = Field(min_length=1, max_length=20_000)


def refuse_control_characters_inside(value: dict[str, Any]) -> dict[str, Any]:
    """Every key and string inside a batch item's input: no NUL or other control characters
    (newlines and tabs aside). The input is stored as JSON, and PostgreSQL cannot store NUL."""
    pending: list[Any] = [value]
    while pending:
        current = pending.pop()
        if isinstance(current, str):
            refuse_control_characters_but_newlines(current)
        elif isinstance(current, dict):
            for key, item in current.items():
                refuse_control_characters(str(key))
                pending.append(item)
        elif isinstance(current, list):
            pending.extend(current)
    return value


class BatchItem(BaseModel):
    """One item: ``input`` is what the task's synchronous endpoint takes. An ``asr`` item reads
    its audio from ``audio`` (base64), ``media_id`` (a file in media-service the submitter can
    read) or ``media_url`` (a content link Parley issued); ``meeting_id``/``recording_id`` file
    the result under that meeting (and recording)."""

    model_config = ConfigDict(extra="forbid")

    task: Literal["asr", "emotion", "synthesis", "analyze"]
    input: Annotated[dict[str, Any], AfterValidator(refuse_control_characters_inside)]


class BatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[BatchItem] = Field(min_length=1, max_length=1_000)
    callback_url: HttpUrl | None = Field(
        default=None,
        description="POSTed the job's status when it ends; only hosts the operator allows "
        "(PARLEY_AI_CALLBACK_HOSTS, none by default).",
    )


class JobAccepted(BaseModel):
    job_id: uuid.UUID
    status: str


class JobOut(BaseModel):
    job_id: uuid.UUID
    status: str
    progress: dict[str, int]
    results: list[dict[str, Any]]
    errors: list[dict[str, Any]]
    created_at: str
    finished_at: str | None


class ResultOut(BaseModel):
    id: uuid.UUID
    task: str
    meeting_id: uuid.UUID | None
    recording_id: uuid.UUID | None
    job_id: uuid.UUID | None
    data: dict[str, Any]
    created_at: str
