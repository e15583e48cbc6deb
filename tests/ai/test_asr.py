"""Speech to text on the local engine: formats, segmentation and bad input."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from tests.support.ai import (
    AI,
    OTHER_SENTENCE,
    SENTENCE,
    b64,
    encode_as,
    pcm_of,
    problem,
    wav_of,
    words,
)
from tests.support.api import Account, Api

Speech = Callable[..., bytes]


async def test_transcribes_flite_speech_from_base64_wav(
    ai_api: Api, user: Account, speech: Speech
) -> None:
    response = await ai_api.http.post(
        f"{AI}/asr", json={"audio": b64(speech())}, headers=user.headers
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert len(words(body["text"]) & words(SENTENCE)) >= 7, body["text"]
    assert body["engine"] == "local"
    assert body["model"].startswith("pocketsphinx")
    assert body["language"] == "en"
    assert 3.0 < body["duration_s"] < 4.5
    assert body["segments"] and 0 <= body["segments"][0]["start"] < body["segments"][-1]["end"]
    assert 0 < body["segments"][0]["confidence"] <= 1


@pytest.mark.parametrize(
    ("container", "codec", "rate"),
    [("ogg", "libopus", 48_000), ("flac", "flac", 44_100), ("webm", "libopus", 48_000)],
)
async def test_decodes_other_containers_and_resamples(
    ai_api: Api, user: Account, speech: Speech, container: str, codec: str, rate: int
) -> None:
    data = encode_as(speech(), container, codec, rate)
    response = await ai_api.http.post(f"{AI}/asr", json={"audio": b64(data)}, headers=user.headers)
    assert response.status_code == 200, response.text
    assert len(words(response.json()["text"]) & words(SENTENCE)) >= 6


async def test_multipart_upload_is_transcribed(ai_api: Api, user: Account, speech: Speech) -> None:
    response = await ai_api.http.post(
        f"{AI}/asr/upload",
        files={"file": ("clip.wav", speech(), "audio/wav")},
        data={"language": "en"},
        headers=user.headers,
    )
    assert response.status_code == 200, response.text
    assert len(words(response.json()["text"]) & words(SENTENCE)) >= 7


async def test_long_audio_is_cut_at_pauses_into_timed_segments(
    ai_api: Api, user: Account, speech: Speech
) -> None:
    silence = np.zeros(16_000 * 2, dtype=np.int16)
    joined = np.concatenate([pcm_of(speech()), silence, pcm_of(speech(OTHER_SENTENCE))])
    response = await ai_api.http.post(
        f"{AI}/asr", json={"audio": b64(wav_of(joined))}, headers=user.headers
    )
    segments = response.json()["segments"]
    assert len(segments) == 2, segments
    assert segments[0]["end"] < segments[1]["start"]
    assert segments[1]["start"] > 4.0
    assert words(segments[1]["text"]) & {"budget", "report", "meeting"}


async def test_silent_audio_gives_empty_text(ai_api: Api, user: Account) -> None:
    silence = wav_of(np.zeros(16_000 * 3, dtype=np.int16))
    response = await ai_api.http.post(
        f"{AI}/asr", json={"audio": b64(silence)}, headers=user.headers
    )
    assert response.status_code == 200, response.text
    assert response.json()["text"] == ""
    assert response.json()["segments"] == []


async def test_invalid_base64_is_a_400(ai_api: Api, user: Account) -> None:
    response = await ai_api.http.post(
        f"{AI}/asr", json={"audio": "not base64 at all!"}, headers=user.headers
    )
    problem(response, 400, "invalid-base64")


async def test_bytes_that_are_not_audio_are_a_400(ai_api: Api, user: Account) -> None:
    response = await ai_api.http.post(
        f"{AI}/asr", json={"audio": b64(b"%PDF-1.4 this is a document" * 50)}, headers=user.headers
    )
    problem(response, 400, "invalid-audio")


async def test_empty_audio_is_a_400(ai_api: Api, user: Account) -> None:
    response = await ai_api.http.post(f"{AI}/asr", json={"audio": ""}, headers=user.headers)
    problem(response, 400, "empty-audio")


async def test_audio_over_the_limit_is_a_413_pointing_to_batch(
    ai_api: Api, user: Account, speech: Speech
) -> None:
    settings = ai_api.app.state.settings
    before = settings.ai_max_sync_audio_s
    settings.ai_max_sync_audio_s = 2.0
    try:
        response = await ai_api.http.post(
            f"{AI}/asr", json={"audio": b64(speech())}, headers=user.headers
        )
    finally:
        settings.ai_max_sync_audio_s = before
    body = problem(response, 413, "audio-too-long")
    assert body["batch_endpoint"] == "/api/v1/ai/batch"


async def test_unknown_engine_is_a_400_listing_the_valid_ones(
    ai_api: Api, user: Account, speech: Speech
) -> None:
    response = await ai_api.http.post(
        f"{AI}/asr", json={"audio": b64(speech()), "engine": "nope"}, headers=user.headers
    )
    body = problem(response, 400, "unknown-engine")
    assert body["valid"] == ["local", "whisper", "triton"]


async def test_unknown_model_is_a_400_listing_the_valid_ones(
    ai_api: Api, user: Account, speech: Speech
) -> None:
    response = await ai_api.http.post(
        f"{AI}/asr", json={"audio": b64(speech()), "model": "large-v9"}, headers=user.headers
    )
    body = problem(response, 400, "unknown-model")
    assert body["valid"] == ["en-us"]


async def test_whisper_without_weights_is_a_503_saying_why(
    ai_api: Api, user: Account, speech: Speech
) -> None:
    response = await ai_api.http.post(
        f"{AI}/asr", json={"audio": b64(speech()), "engine": "whisper"}, headers=user.headers
    )
    body = problem(response, 503, "engine-unavailable")
    assert "PARLEY_AI_MODEL_DIR" in body["detail"]


async def test_unsupported_language_is_a_400(ai_api: Api, user: Account, speech: Speech) -> None:
    response = await ai_api.http.post(
        f"{AI}/asr", json={"audio": b64(speech()), "language": "de"}, headers=user.headers
    )
    problem(response, 400, "unsupported-language")


async def test_asr_needs_a_token(ai_api: Api, speech: Speech) -> None:
    response = await ai_api.http.post(f"{AI}/asr", json={"audio": b64(speech())})
    problem(response, 401)


async def test_multipart_to_the_asr_path_itself_is_transcribed(
    ai_api: Api, user: Account, speech: Speech
) -> None:
    response = await ai_api.http.post(
        f"{AI}/asr",
        files={"file": ("clip.ogg", encode_as(speech(), "ogg", "libopus", 48_000), "audio/ogg")},
        data={"format": "ogg"},
        headers=user.headers,
    )
    assert response.status_code == 200, response.text
    assert len(words(response.json()["text"]) & words(SENTENCE)) >= 6


async def test_multipart_without_a_file_is_a_422(ai_api: Api, user: Account) -> None:
    response = await ai_api.http.post(
        f"{AI}/asr", files={"other": ("x.txt", b"x")}, headers=user.headers
    )
    problem(response, 422)


async def test_malformed_json_is_a_400(ai_api: Api, user: Account) -> None:
    response = await ai_api.http.post(
        f"{AI}/asr",
        content=b"{not json",
        headers={**user.headers, "content-type": "application/json"},
    )
    problem(response, 400, "malformed-json")
