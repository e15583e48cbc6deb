"""The ``triton`` engine: the same three tasks served by one or more Triton Inference Servers.

Client-side load balancing over ``PARLEY_TRITON_URLS`` (``host:port`` or ``http://host:port``
for HTTP, ``grpc://host:port`` for gRPC): requests go round robin over the endpoints believed
healthy; an endpoint that fails to connect is marked down, the request moves on to the next one,
and a down endpoint is tried again after ``RETRY_DOWN_S`` (or when :meth:`TritonPool.check`
finds it ready). Only when every endpoint fails does the caller get
:class:`EngineUnavailable`, naming each endpoint and its error.

Tensor signatures (deploy/triton/model_repository/ has the models; a GPU model with the same
names and tensors drops in):

- ``parley_asr``: ``AUDIO`` INT16 [-1] (16 kHz mono) → ``TRANSCRIPT`` BYTES [1] (JSON)
- ``parley_tts``: ``TEXT`` BYTES [1], ``VOICE`` BYTES [1], ``RATE`` FP32 [1] →
  ``AUDIO`` INT16 [-1], ``SAMPLE_RATE`` INT32 [1], ``VOICE`` BYTES [1]
- ``parley_emotion``: ``TEXT`` BYTES [1] → ``SCORES`` FP32 [7] (in ``EMOTIONS`` order),
  ``VALENCE`` FP32 [1], ``AROUSAL`` FP32 [1]
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
from numpy.typing import NDArray

from parley.ai.audio import Pcm
from parley.ai.engines.base import (
    EMOTIONS,
    Emotion,
    EngineUnavailable,
    Speech,
    Transcript,
    normalise,
)

T = TypeVar("T")
RETRY_DOWN_S = 5.0
REQUEST_TIMEOUT_S = 60.0
MODELS = ("parley_asr", "parley_tts", "parley_emotion")
_UNAVAILABLE = ("503", "StatusCode.UNAVAILABLE", "StatusCode.DEADLINE_EXCEEDED", "None", "")


class TritonModelError(RuntimeError):
    """The server answered, but the model refused the request (not a reason to fail over)."""


@dataclass
class Endpoint:
    url: str  # as configured
    address: str  # host:port
    protocol: str  # "http" or "grpc"
    healthy: bool = True
    down_since: float = 0.0
    last_error: str = ""
    client: Any = None
    loop: asyncio.AbstractEventLoop | None = None

    def describe(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "protocol": self.protocol,
            "healthy": self.healthy,
            "last_error": self.last_error or None,
        }


def parse_endpoint(url: str) -> Endpoint:
    url = url.strip()
    if url.startswith("grpc://"):
        return Endpoint(url, url.removeprefix("grpc://").rstrip("/"), "grpc")
    address = url.removeprefix("http://").rstrip("/")
    return Endpoint(url, address, "http")


def _client_module(protocol: str) -> Any:
    if protocol == "grpc":
        import tritonclient.grpc.aio as grpc_aio

        return grpc_aio
    import tritonclient.http.aio as http_aio

    return http_aio


class TritonPool:
    """Round robin with passive (on error) and active (:meth:`check`) health tracking."""

    def __init__(self, urls: list[str]) -> None:
        if not urls:
            raise EngineUnavailable("triton", "no Triton endpoint configured (PARLEY_TRITON_URLS)")
        self.endpoints = [parse_endpoint(url) for url in urls]
        self._turn = itertools.count()

    def _client(self, endpoint: Endpoint) -> Any:
        loop = asyncio.get_running_loop()
        if endpoint.client is None or endpoint.loop is not loop:
            endpoint.client = _client_module(endpoint.protocol).InferenceServerClient(
                endpoint.address
            )
            endpoint.loop = loop
        return endpoint.client

    def _order(self) -> list[Endpoint]:
        start = next(self._turn) % len(self.endpoints)
        rotated = self.endpoints[start:] + self.endpoints[:start]
        now = time.monotonic()
        up = [e for e in rotated if e.healthy]
        retry = [e for e in rotated if not e.healthy and now - e.down_since >= RETRY_DOWN_S]
        return up + retry

    def _mark_down(self, endpoint: Endpoint, error: BaseException) -> None:
        endpoint.healthy = False
        endpoint.down_since = time.monotonic()
        endpoint.last_error = f"{type(error).__name__}: {error}".strip()[:300]

    async def call(self, action: Callable[[Any], Awaitable[T]]) -> T:
        from tritonclient.utils import InferenceServerException

        errors: list[str] = []
        for endpoint in self._order():
            try:
                result = await asyncio.wait_for(action(self._client(endpoint)), REQUEST_TIMEOUT_S)
            except InferenceServerException as exc:
                # The server answered: only "unavailable" (not ready, shutting down, or gRPC's
                # connection failure) means another endpoint may do better; anything else is
                # the model's answer to this request.
                status = str(exc.status() or "")
                message = exc.message() or str(exc)
                if status not in _UNAVAILABLE:
                    raise TritonModelError(f"{endpoint.url}: {message}") from exc
                self._mark_down(endpoint, exc)
                errors.append(f"{endpoint.url} ({endpoint.last_error})")
            except (OSError, TimeoutError, ConnectionError) as exc:
                self._mark_down(endpoint, exc)
                errors.append(f"{endpoint.url} ({endpoint.last_error})")
            except Exception as exc:  # aiohttp/grpc transport errors have no common base
                if type(exc).__module__.split(".")[0] not in ("aiohttp", "grpc"):
                    raise
                self._mark_down(endpoint, exc)
                errors.append(f"{endpoint.url} ({endpoint.last_error})")
            else:
                endpoint.healthy = True
                endpoint.last_error = ""
                return result
        down = [e.url for e in self.endpoints if not e.healthy]
        tried = "; ".join(errors) or ", ".join(
            f"{u} (down, retried in {RETRY_DOWN_S:.0f} s)" for u in down
        )
        raise EngineUnavailable(
            "triton", f"No Triton endpoint answered: {tried}", [e.url for e in self.endpoints]
        )

    async def check(self) -> list[dict[str, Any]]:
        """Ask every endpoint whether it is ready (the info endpoint and the health loop)."""

        async def probe(endpoint: Endpoint) -> None:
            try:
                client = self._client(endpoint)
                ready = await asyncio.wait_for(client.is_server_ready(), 3.0)
            except Exception as exc:
                self._mark_down(endpoint, exc)
                return
            if ready:
                endpoint.healthy = True
                endpoint.last_error = ""
            else:
                self._mark_down(endpoint, RuntimeError("server not ready"))

        await asyncio.gather(*(probe(endpoint) for endpoint in self.endpoints))
        return [endpoint.describe() for endpoint in self.endpoints]

    async def close(self) -> None:
        for endpoint in self.endpoints:
            if endpoint.client is not None and endpoint.loop is asyncio.get_running_loop():
                with contextlib.suppress(Exception):  # closing a broken connection: best effort
                    await endpoint.client.close()
            endpoint.client = None


def _inputs(module: Any, tensors: dict[str, NDArray[Any]]) -> list[Any]:
    inputs = []
    for name, array in tensors.items():
        datatype = {np.dtype(np.int16): "INT16", np.dtype(np.float32): "FP32"}.get(
            array.dtype, "BYTES"
        )
        tensor = module.InferInput(name, list(array.shape), datatype)
        tensor.set_data_from_numpy(array)
        inputs.append(tensor)
    return inputs


async def _infer(
    client: Any, model: str, tensors: dict[str, NDArray[Any]], outputs: list[str]
) -> dict[str, NDArray[Any]]:
    module = _client_module("grpc" if "grpc" in type(client).__module__ else "http")
    requested = [module.InferRequestedOutput(name) for name in outputs]
    result = await client.infer(model, _inputs(module, tensors), outputs=requested)
    return {name: result.as_numpy(name) for name in outputs}


def _bytes(value: str) -> NDArray[Any]:
    return np.array([value.encode()], dtype=np.object_)


class TritonAsr:
    name = "triton"

    def __init__(self, pool: TritonPool) -> None:
        self.pool = pool
        self.model = "parley_asr"

    async def transcribe(self, pcm: Pcm, language: str = "en") -> Transcript:
        async def run(client: Any) -> dict[str, NDArray[Any]]:
            return await _infer(
                client, "parley_asr", {"AUDIO": pcm.samples.astype(np.int16)}, ["TRANSCRIPT"]
            )

        out = await self.pool.call(run)
        data = json.loads(out["TRANSCRIPT"].reshape(-1)[0])
        transcript = Transcript.from_dict(data)
        transcript.model = f"triton:parley_asr ({transcript.model})"
        return transcript


class TritonTts:
    name = "triton"

    def __init__(self, pool: TritonPool) -> None:
        self.pool = pool

    async def synthesize(self, text: str, voice: str | None, rate: float) -> Speech:
        async def run(client: Any) -> dict[str, NDArray[Any]]:
            tensors = {
                "TEXT": _bytes(text),
                "VOICE": _bytes(voice or ""),
                "RATE": np.array([rate], dtype=np.float32),
            }
            return await _infer(client, "parley_tts", tensors, ["AUDIO", "SAMPLE_RATE", "VOICE"])

        out = await self.pool.call(run)
        voice_used = out["VOICE"].reshape(-1)[0]
        return Speech(
            Pcm(out["AUDIO"].astype(np.int16), int(out["SAMPLE_RATE"].reshape(-1)[0])),
            voice_used.decode() if isinstance(voice_used, bytes) else str(voice_used),
        )


class TritonEmotion:
    name = "triton"

    def __init__(self, pool: TritonPool) -> None:
        self.pool = pool

    async def from_text(self, text: str) -> Emotion:
        async def run(client: Any) -> dict[str, NDArray[Any]]:
            return await _infer(
                client, "parley_emotion", {"TEXT": _bytes(text)}, ["SCORES", "VALENCE", "AROUSAL"]
            )

        out = await self.pool.call(run)
        scores = normalise(
            dict(zip(EMOTIONS, (float(v) for v in out["SCORES"].reshape(-1)), strict=True))
        )
        return Emotion(
            label=max(scores, key=lambda label: scores[label]),
            scores=scores,
            valence=round(float(out["VALENCE"].reshape(-1)[0]), 4),
            arousal=round(float(out["AROUSAL"].reshape(-1)[0]), 4),
            engine=self.name,
        )
