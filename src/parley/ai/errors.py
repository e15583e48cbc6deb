"""Every problem ai-service answers with, declared once (like ``parley.meetings.errors``): the
``type`` a client branches on, the status and the words live here and only here, so a type
string cannot drift between two places that raise it, and this file is the list of what the
AI API can refuse with. It imports only ``parley.core`` so that every AI module may use it."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from parley.core.errors import ProblemError

MEDIA_URL_REFUSED = (
    "`media_url` must be a content link Parley issued (POST /api/v1/media/{id}/link); "
    "or give the file's `media_id`."
)

# ---- input -----------------------------------------------------------------------------------


def invalid_base64(field: str, reason: object) -> ProblemError:
    return ProblemError(400, f"`{field}` is not valid base64: {reason}", type="invalid-base64")


def empty_field(field: str) -> ProblemError:
    """400: a base64 field that decodes to nothing."""
    return ProblemError(400, f"`{field}` is empty.", type="empty-audio")


def empty_upload() -> ProblemError:
    return ProblemError(400, "The uploaded file is empty.", type="empty-audio")


def upload_too_large(limit: int) -> ProblemError:
    return ProblemError(413, f"The file is over {limit} bytes.", type="too-large")


def invalid_audio(reason: object) -> ProblemError:
    """400: bytes FFmpeg could not decode; the reason is the decoder's."""
    return ProblemError(400, str(reason), type="invalid-audio")


def audio_too_long(duration_s: float, limit_s: float) -> ProblemError:
    """413 past the synchronous limit, pointing at the batch endpoint that takes long audio."""
    return ProblemError(
        413,
        f"The audio lasts {duration_s:.0f} s; the synchronous endpoint takes at most "
        f"{limit_s:.0f} s. Submit it as a job: POST /api/v1/ai/batch.",
        type="audio-too-long",
        extra={"max_duration_s": limit_s, "batch_endpoint": "/api/v1/ai/batch"},
    )


def text_too_long(chars: int, max_chars: int) -> ProblemError:
    return ProblemError(
        413,
        f"The text has {chars} characters; at most {max_chars} are accepted.",
        type="text-too-long",
        extra={"max_chars": max_chars},
    )


def text_or_audio_required() -> ProblemError:
    return ProblemError(422, "Give `text`, `audio`, or both.", type="validation")


def nothing_to_say() -> ProblemError:
    return ProblemError(422, "`text` has nothing to say.", type="validation")


def file_part_required() -> ProblemError:
    return ProblemError(422, "The multipart body needs a `file` part.", type="validation")


def unsupported_media_type() -> ProblemError:
    return ProblemError(
        415, "Send application/json or multipart/form-data.", type="unsupported-media-type"
    )


def scope_required() -> ProblemError:
    return ProblemError(422, "Give `meeting_id` or `recording_id`.", type="validation")


def meeting_id_required() -> ProblemError:
    """422: a recording is checked against its meeting, so it needs the meeting named too."""
    return ProblemError(
        422, "`recording_id` needs the recording's `meeting_id` as well.", type="validation"
    )


def not_a_uuid(index: int, name: str) -> ProblemError:
    return ProblemError(422, f"items[{index}]: `{name}` must be a UUID.", type="validation")


def segments_required() -> ProblemError:
    return ProblemError(422, "`segments` must be a non-empty list.", type="validation")


def unknown_task(task: Any) -> ProblemError:
    return ProblemError(422, f"Unknown task {task!r}.", type="validation")


# ---- engines ---------------------------------------------------------------------------------


def unknown_engine(task: str, name: str, valid: Sequence[str]) -> ProblemError:
    return ProblemError(
        400,
        f"Unknown {task} engine {name!r}; valid engines: {', '.join(valid)}.",
        type="unknown-engine",
        extra={"valid": list(valid)},
    )


def unknown_model(
    model: str | None, engine: Any, valid: Sequence[str], none_text: str = ""
) -> ProblemError:
    """400 naming the models that would do; ``none_text`` is said when there are none."""
    return ProblemError(
        400,
        f"Unknown model {model!r} for engine {engine!r}; valid models: "
        f"{', '.join(valid) or none_text}.",
        type="unknown-model",
        extra={"valid": list(valid)},
    )


def unsupported_language(engine: Any, language: str, valid: Sequence[str]) -> ProblemError:
    return ProblemError(
        400,
        f"The {engine} engine recognizes {', '.join(valid)} only, not {language!r}.",
        type="unsupported-language",
        extra={"valid": list(valid)},
    )


def unknown_voice(voice: str, english: Iterable[str]) -> ProblemError:
    """400 naming the English voices (all of them are listed by ``GET /voices``)."""
    return ProblemError(
        400,
        f"Unknown voice {voice!r}; GET /api/v1/ai/voices lists the valid ones "
        f"(English: {', '.join(sorted(english))}).",
        type="unknown-voice",
    )


def engine_unavailable(engine: str, detail: str, endpoints: list[str]) -> ProblemError:
    """503: the engine cannot run here (missing binary or model, server down)."""
    return ProblemError(
        503,
        f"The {engine} engine is unavailable: {detail}",
        type="engine-unavailable",
        headers={"Retry-After": "5"},
        extra={"engine": engine, "endpoints": endpoints},
    )


def engine_busy(engine: str, detail: str, retry_after_s: int) -> ProblemError:
    """503: every pooled instance stayed busy; retrying shortly will do."""
    return ProblemError(
        503,
        detail,
        type="engine-busy",
        headers={"Retry-After": str(retry_after_s)},
        extra={"engine": engine},
    )


def triton_error(reason: object) -> ProblemError:
    return ProblemError(502, f"Triton refused the request: {reason}", type="triton-error")


# ---- access ----------------------------------------------------------------------------------


def token_required() -> ProblemError:
    return ProblemError(401, "A bearer access token is required.", type="invalid-token")


def auth_frame_required() -> ProblemError:
    """401 for a caption stream whose first frame is not the auth frame."""
    return ProblemError(401, 'Send {"type": "auth", "token": ...} first.', type="invalid-token")


def token_refused() -> ProblemError:
    return ProblemError(401, "The access token was not accepted.", type="invalid-token")


def meeting_not_found() -> ProblemError:
    """404 for a meeting the caller does not take part in too (never 403)."""
    return ProblemError(404, "No such meeting.", type="meeting-not-found")


def recording_not_found() -> ProblemError:
    return ProblemError(404, "The meeting has no such recording.", type="recording-not-found")


def job_not_found() -> ProblemError:
    """404 for another user's job too, so job ids cannot be probed."""
    return ProblemError(404, "No such job.", type="job-not-found")


# ---- callbacks and media ---------------------------------------------------------------------


def callback_refused() -> ProblemError:
    """422, the same for every refused URL, so a refusal says nothing about any host."""
    return ProblemError(
        422,
        "`callback_url` must point at a host this server allows for callbacks "
        "(PARLEY_AI_CALLBACK_HOSTS; none by default). Poll GET /api/v1/ai/batch/{job_id} "
        "instead.",
        type="callback-refused",
    )


def media_url_refused() -> ProblemError:
    """422, the same for every refused link, so a refusal says nothing about any host."""
    return ProblemError(422, MEDIA_URL_REFUSED, type="media-url-refused")


def media_not_found(media_id: uuid.UUID) -> ProblemError:
    return ProblemError(422, f"No media {media_id} that you can read.", type="media-not-found")


def cannot_fetch_media() -> ProblemError:
    return ProblemError(503, "This worker cannot fetch media.", type="media-unreachable")


def media_unreachable() -> ProblemError:
    return ProblemError(
        503,
        "media-service could not be reached; the item can be submitted again.",
        type="media-unreachable",
        headers={"Retry-After": "5"},
    )


def media_fetch_failed(status: int) -> ProblemError:
    return ProblemError(
        422, f"media-service answered {status} for the media link.", type="media-unreadable"
    )


def media_redirected_too_often() -> ProblemError:
    return ProblemError(422, "The media link redirected too often.", type="media-unreadable")


def media_redirect_refused() -> ProblemError:
    return ProblemError(
        422,
        "media-service redirected the media link to a host this service does not fetch from.",
        type="media-unreadable",
    )


def media_too_large(limit: int) -> ProblemError:
    return ProblemError(
        413, f"The media file is over {limit} bytes, too large to transcribe.", type="too-large"
    )


def media_link_unavailable() -> ProblemError:
    """503 when media-service cannot be asked for a content link."""
    return ProblemError(
        503,
        "media-service could not be asked for the file.",
        type="dependency-unavailable",
        headers={"Retry-After": "5"},
    )


def media_service_failed(status: int) -> ProblemError:
    return ProblemError(
        503,
        f"media-service answered {status} for the file.",
        type="dependency-unavailable",
        headers={"Retry-After": "5"},
    )
