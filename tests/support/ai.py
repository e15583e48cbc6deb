"""Helpers the AI tests share (conftest.py files hold fixtures only): speech made by flite at test
time (never committed), audio bytes in the formats the service takes, the answers' problem
documents, a live recording, a batch job's end and the all-in-one app under uvicorn."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import io
import shutil
import subprocess
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, cast

import av
import numpy as np
import pytest
from av.audio.resampler import AudioResampler
from fastapi import FastAPI
from numpy.typing import NDArray

from parley.allinone import create_allinone_app
from parley.config import Settings
from parley.core.serving import uvicorn_options
from tests.support.api import Api
from tests.support.servers import serve_app

if TYPE_CHECKING:
    from av.audio.stream import AudioStream

AI = "/api/v1/ai"
WAIT_S = 120.0  # a worker process may take a while to start on a loaded machine
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


def pcm_of(wav: bytes) -> NDArray[Any]:
    from parley.ai.audio import decode

    return decode(wav).samples


def wav_of(samples: NDArray[Any], rate: int = 16_000) -> bytes:
    from parley.ai.audio import Pcm, to_wav

    return to_wav(Pcm(samples.astype(np.int16), rate))


def encode_as(wav: bytes, container: str, codec: str, rate: int) -> bytes:
    """Re-encode a WAV with PyAV (Ogg/Opus, FLAC, MP3, WebM/Opus...)."""
    samples = pcm_of(wav)
    out = io.BytesIO()
    with av.open(out, mode="w", format=container) as target:
        # an audio codec gives an audio stream; the stubs only know "some stream"
        stream = cast("AudioStream", target.add_stream(codec, rate=rate, layout="mono"))
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


async def finished(api: Api, job_id: str, headers: dict[str, str]) -> dict[str, Any]:
    """Poll the job until it leaves the queue (bounded)."""
    async with asyncio.timeout(WAIT_S):
        while True:
            response = await api.http.get(f"{AI}/batch/{job_id}", headers=headers)
            assert response.status_code == 200, response.text
            body: dict[str, Any] = response.json()
            if body["status"] not in ("queued", "running"):
                return body
            await asyncio.sleep(0.1)


CHUNK = 3_200  # 100 ms of 16 kHz s16


@contextlib.asynccontextmanager
async def live_server(settings: Settings) -> AsyncIterator[tuple[FastAPI, str]]:
    """The all-in-one app under uvicorn on an ephemeral port. Pings are relaxed (5 s) because
    the recognizer competes with the server for the GIL on a loaded 2-core machine."""
    app = create_allinone_app(settings)
    options = {**uvicorn_options(settings), "ws_ping_interval": 5.0, "ws_ping_timeout": 5.0}
    async with serve_app(app, **options) as base:
        yield app, base
