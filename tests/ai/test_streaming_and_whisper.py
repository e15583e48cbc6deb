"""Live captions over WebSocket (a real uvicorn server), and the whisper engine's loading code."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import pytest_asyncio
from websockets.asyncio.client import connect

from parley.ai.engines.whisper import WhisperAsr, whisper_models
from parley.config import Settings
from tests.support.ai import (
    CHUNK,
    OTHER_SENTENCE,
    SENTENCE,
    encode_as,
    live_server,
    pcm_of,
    wav_of,
    words,
)
from tests.support.api import PASSWORD, client_for
from tests.support.backends import Backend

Speech = Callable[..., bytes]


@pytest.fixture(scope="session")
def live_settings(ai_backend: Backend) -> Settings:
    return ai_backend.settings(ai_workers=0)


@pytest_asyncio.fixture(scope="session")
async def live(live_settings: Settings) -> AsyncIterator[tuple[str, str]]:
    """The all-in-one app under uvicorn; its base URL and an access token."""
    settings = live_settings
    async with live_server(settings) as (_, base), httpx.AsyncClient(base_url=base) as client:
        body = {
            "username": "caption",
            "email": "caption@example.com",
            "password": PASSWORD,
            "display_name": "Caption",
        }
        registered = await client.post("/api/v1/auth/register", json=body)
        assert registered.status_code == 201, registered.text
        login = await client.post(
            "/api/v1/auth/login", json={"username": "caption", "password": PASSWORD}
        )
        yield base, login.json()["access_token"]


async def caption(
    base: str, token: str, raw: bytes, fmt: str = "pcm", chunk: int = CHUNK
) -> list[dict[str, Any]]:
    url = base.replace("http://", "ws://") + f"/api/v1/ai/asr/stream?token={token}&format={fmt}"
    events = []
    async with connect(url) as ws:
        ready = json.loads(await ws.recv())
        assert ready == {"type": "ready", "sample_rate": 16_000, "format": fmt}
        for start in range(0, len(raw), chunk):
            await ws.send(raw[start : start + chunk])
        await ws.send(json.dumps({"type": "end"}))
        async for message in ws:
            event = json.loads(message)
            events.append(event)
            if event["type"] == "end":
                break
    return events


async def test_stream_gives_partials_then_timed_finals(
    live: tuple[str, str], speech: Speech
) -> None:
    base, token = live
    silence = np.zeros(16_000, dtype=np.int16)
    pcm = np.concatenate(
        [silence, pcm_of(speech()), silence, pcm_of(speech(OTHER_SENTENCE)), silence]
    )
    events = await caption(base, token, pcm.astype("<i2").tobytes())
    finals = [event for event in events if event["type"] == "final"]
    assert [event["type"] for event in events if event["type"] == "partial"], events
    assert len(finals) == 2, events
    assert len(words(finals[0]["text"]) & words(SENTENCE)) >= 6
    assert len(words(finals[1]["text"]) & words(OTHER_SENTENCE)) >= 5
    assert 0.5 < finals[0]["start"] < finals[0]["end"] < finals[1]["start"]
    assert events[-1] == {"type": "end"}


async def test_stream_takes_webm_opus_chunks_as_a_browser_sends_them(
    live: tuple[str, str], speech: Speech
) -> None:
    base, token = live
    silence = np.zeros(8_000, dtype=np.int16)
    pcm = np.concatenate([silence, pcm_of(speech()), silence])
    webm = encode_as(wav_of(pcm), "webm", "libopus", 48_000)
    events = await caption(base, token, webm, fmt="webm", chunk=2_000)
    finals = [event for event in events if event["type"] == "final"]
    assert finals, events
    assert len(words(" ".join(f["text"] for f in finals)) & words(SENTENCE)) >= 6


async def test_stream_without_a_token_is_refused(live: tuple[str, str]) -> None:
    base, _ = live
    url = base.replace("http://", "ws://") + "/api/v1/ai/asr/stream"
    async with connect(url) as ws:
        await ws.wait_closed()
    assert ws.close_code == 4401


def test_whisper_models_are_found_only_when_complete(tmp_path: Path) -> None:
    complete = tmp_path / "whisper" / "tiny.en"
    complete.mkdir(parents=True)
    (complete / "model.bin").write_bytes(b"")
    (complete / "config.json").write_text("{}")
    (tmp_path / "whisper" / "half").mkdir()
    assert list(whisper_models(tmp_path)) == ["tiny.en"]
    assert whisper_models(tmp_path / "absent") == {}


WEIGHTS = Path(os.environ.get("PARLEY_AI_MODEL_DIR", "/nonexistent"))


@pytest.mark.skipif(
    not whisper_models(WEIGHTS),
    reason="no Whisper weights: set PARLEY_AI_MODEL_DIR to a folder holding a CTranslate2 "
    "Whisper model (e.g. whisper/tiny.en/model.bin); weights are never downloaded",
)
def test_whisper_transcribes_flite_speech(speech: Speech) -> None:
    from parley.ai.audio import decode

    engine = WhisperAsr(WEIGHTS)
    transcript = engine.transcribe(decode(speech()), "en")
    assert len(words(transcript.text.replace(".", "")) & words(SENTENCE)) >= 6


async def test_split_ai_service_asks_meeting_service_over_http(
    live: tuple[str, str], live_settings: Settings
) -> None:
    """`parley serve ai` alone: participation is checked against a real meeting-service URL
    with the caller's token; without the URL it says what to configure."""
    from parley.services import SERVICES

    base, token = live
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base) as gateway:
        meeting = await gateway.post("/api/v1/meetings", json={"title": "Split"}, headers=headers)
        assert meeting.status_code == 201, meeting.text
    meeting_id = meeting.json()["id"]
    body = {
        "meeting_id": meeting_id,
        "segments": [{"speaker": "a", "start": 0, "end": 1, "text": "Hello there."}],
    }
    for meetings_url, expected in ((base, 200), (None, 503)):
        # A split deployment: its own process, the platform's one database (where the
        # caller's sign-in session lives).
        settings = live_settings.model_copy(update={"ai_meetings_url": meetings_url})
        app = SERVICES["ai"].create_app(settings)
        async with app.router.lifespan_context(app), client_for(app) as client:
            response = await client.post("/api/v1/ai/analyze", json=body, headers=headers)
            assert response.status_code == expected, response.text
            if expected == 200:
                other = {**body, "meeting_id": str(uuid.uuid4())}
                missing = await client.post("/api/v1/ai/analyze", json=other, headers=headers)
                assert missing.status_code == 404
