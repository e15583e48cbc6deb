"""Fixtures for the AI service tests: speech made by flite at test time (never committed), an
app on the embedded backend for the engine tests, and helpers for audio bytes."""

from __future__ import annotations

import base64
import io
import shutil
import subprocess
from collections.abc import AsyncIterator, Callable
from typing import Any

import av
import numpy as np
import pytest
import pytest_asyncio
from av.audio.resampler import AudioResampler

from tests.support.api import Api, client_for, running_app
from tests.support.backends import Backend

AI = "/api/v1/ai"
SENTENCE = "we should schedule the design review for next tuesday"
OTHER_SENTENCE = "please send the budget report before the meeting"

needs_flite = pytest.mark.skipif(
    shutil.which("flite") is None, reason="flite is not installed (scripts/bootstrap.sh --test)"
)


def flite_wav(text: str, voice: str = "rms") -> bytes:
    done = subprocess.run(
        ["flite", "-voice", voice, "-t", text, "-o", "/dev/stdout"],
        capture_output=True,
        check=True,
        timeout=30,
    )
    return done.stdout


def pcm_of(wav: bytes) -> np.ndarray:
    from parley.ai.audio import decode

    return decode(wav).samples


def wav_of(samples: np.ndarray, rate: int = 16_000) -> bytes:
    from parley.ai.audio import Pcm, to_wav

    return to_wav(Pcm(samples.astype(np.int16), rate))


def encode_as(wav: bytes, container: str, codec: str, rate: int) -> bytes:
    """Re-encode a WAV with PyAV (Ogg/Opus, FLAC, MP3, WebM/Opus...)."""
    samples = pcm_of(wav)
    out = io.BytesIO()
    with av.open(out, mode="w", format=container) as target:
        stream = target.add_stream(codec, rate=rate, layout="mono")
        resampler = AudioResampler(
            format=stream.codec_context.format.name, layout="mono", rate=rate
        )
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = 16_000
        for resampled in resampler.resample(frame) + resampler.resample(None):
            for packet in stream.encode(resampled):
                target.mux(packet)
        for packet in stream.encode(None):
            target.mux(packet)
    return out.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def words(text: str) -> set[str]:
    return set(text.lower().split())


@pytest.fixture(scope="session")
def speech() -> Callable[..., bytes]:
    """flite speech as WAV bytes, made once per (text, voice)."""
    if shutil.which("flite") is None:
        pytest.skip("flite is not installed (scripts/bootstrap.sh --test installs it)")
    cache: dict[tuple[str, str], bytes] = {}

    def make(text: str = SENTENCE, voice: str = "rms") -> bytes:
        if (text, voice) not in cache:
            cache[(text, voice)] = flite_wav(text, voice)
        return cache[(text, voice)]

    return make


@pytest.fixture(scope="session")
def ai_backend(tmp_path_factory: pytest.TempPathFactory) -> Backend:
    return Backend("sqlite", tmp_path_factory.mktemp("ai"))


@pytest_asyncio.fixture(scope="session")
async def ai_api(ai_backend: Backend) -> AsyncIterator[Api]:
    """One embedded app (SQLite + in-process store) for the engine tests; ``root`` is admin."""
    from tests.support.api import PASSWORD, Account

    async with running_app(ai_backend.settings()) as app, client_for(app) as client:
        api = Api(app, client)
        response = await api.register("root")
        assert response.status_code == 201, response.text
        root = Account(response.json(), PASSWORD)
        root.tokens = (await api.login("root")).json()
        api.root = root
        yield api


@pytest_asyncio.fixture(scope="session")
async def user(ai_api: Api) -> Any:
    return await ai_api.account()


def problem(response: Any, status: int, type_suffix: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    if type_suffix is not None:
        assert body["type"].endswith(type_suffix), body
    return body


async def live_recording(api: Api, host: Any) -> tuple[dict[str, Any], str]:
    """A live meeting of ``host`` with a recording started: the meeting and the recording id."""
    from tests.support.meetings import create_meeting

    meeting = await create_meeting(api, host)
    joined = await api.http.post(
        f"/api/v1/meetings/{meeting['id']}/join", json={}, headers=host.headers
    )
    assert joined.status_code == 200, joined.text
    started = await api.http.post(
        f"/api/v1/meetings/{meeting['id']}/recordings", headers=host.headers
    )
    assert started.status_code == 201, started.text
    return meeting, str(started.json()["id"])
