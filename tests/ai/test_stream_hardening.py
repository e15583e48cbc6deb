"""Issue 13, items 6 and 16 (AI side): live caption streams cannot lock the speech decoders
(a decoder is held only while an utterance is decoded; waiting is bounded and answered 503),
one user has a bounded number of streams, idle streams are closed, and the token can come in a
first ``auth`` frame instead of the URL.

Timing: the limits that matter (idle time, decoder wait) are set per test on the running app,
and every wait is bounded generously (a loaded 2-core machine is slow, never a reason to fail).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import numpy as np
import pytest
import pytest_asyncio
from fastapi import FastAPI
from websockets.asyncio.client import ClientConnection, connect

from parley.ai.engines.local_asr import DecoderPool
from parley.ai.service import runtime_of
from tests.support.ai import AI, CHUNK, SENTENCE, b64, live_server, pcm_of, problem, words
from tests.support.api import PASSWORD, Account, Api, unique
from tests.support.backends import Backend

Speech = Callable[..., bytes]
GENEROUS_S = 120.0


class Live:
    def __init__(self, app: FastAPI, base: str) -> None:
        self.app = app
        self.base = base
        self.ws_url = base.replace("http://", "ws://") + f"{AI}/asr/stream"

    async def token(self) -> str:
        name = unique("cap")
        async with httpx.AsyncClient(base_url=self.base) as client:
            body = {
                "username": name,
                "email": f"{name}@example.com",
                "password": PASSWORD,
                "display_name": name,
            }
            registered = await client.post("/api/v1/auth/register", json=body)
            assert registered.status_code == 201, registered.text
            login = await client.post(
                "/api/v1/auth/login", json={"username": name, "password": PASSWORD}
            )
            return str(login.json()["access_token"])

    def pool(self) -> DecoderPool:
        pool: DecoderPool = runtime_of(self.app.state).registry.get("asr", "local").pool
        return pool


@pytest_asyncio.fixture(scope="session")
async def live(ai_backend: Backend) -> AsyncIterator[Live]:
    async with live_server(ai_backend.settings(ai_workers=0)) as (app, base):
        yield Live(app, base)


@contextlib.asynccontextmanager
async def stream(live: Live, token: str) -> AsyncIterator[ClientConnection]:
    """A caption stream authenticated by its first frame; yields it once ``ready``."""
    async with connect(live.ws_url) as ws:
        await ws.send(json.dumps({"type": "auth", "token": token}))
        ready = json.loads(await asyncio.wait_for(ws.recv(), GENEROUS_S))
        assert ready["type"] == "ready", ready
        yield ws


async def closed(ws: ClientConnection) -> list[dict[str, Any]]:
    """Frames until the server closes the socket (bounded)."""
    frames = []
    async with asyncio.timeout(GENEROUS_S):
        with contextlib.suppress(Exception):
            async for message in ws:
                frames.append(json.loads(message))
        await ws.wait_closed()
    return frames


@contextlib.contextmanager
def limits(live: Live, **values: Any) -> Iterator[None]:
    settings = runtime_of(live.app.state).limits
    before = {name: getattr(settings, name) for name in values}
    for name, value in values.items():
        setattr(settings, name, value)
    try:
        yield
    finally:
        for name, value in before.items():
            setattr(settings, name, value)


@contextlib.contextmanager
def all_decoders_taken(pool: DecoderPool, wait_s: float) -> Iterator[None]:
    """Every decoder lent out (as if to busy transcriptions), and waiters give up quickly."""
    before = pool.wait_s
    taken = [pool.acquire() for _ in range(pool.size)]
    pool.wait_s = wait_s
    try:
        yield
    finally:
        pool.wait_s = before
        for decoder in taken:
            pool.release(decoder)


def silence(seconds: float) -> bytes:
    return np.zeros(int(16_000 * seconds), dtype="<i2").tobytes()


async def test_idle_streams_hold_no_decoder_and_others_still_transcribe(
    live: Live, speech: Speech
) -> None:
    hog = await live.token()
    async with stream(live, hog) as first, stream(live, hog) as second:
        for ws in (first, second):
            await ws.send(silence(0.5))
        await asyncio.sleep(0.2)
        assert live.pool().in_use == 0
        async with httpx.AsyncClient(base_url=live.base, timeout=GENEROUS_S) as client:
            response = await client.post(
                f"{AI}/asr",
                json={"audio": b64(speech())},
                headers={"Authorization": f"Bearer {await live.token()}"},
            )
        assert response.status_code == 200, response.text
        assert len(words(response.json()["text"]) & words(SENTENCE)) >= 7


async def test_a_decoder_is_given_back_when_the_utterance_ends(live: Live, speech: Speech) -> None:
    raw = silence(0.5) + pcm_of(speech()).astype("<i2").tobytes() + silence(1.5)
    async with stream(live, await live.token()) as ws:
        for start in range(0, len(raw), CHUNK):
            await ws.send(raw[start : start + CHUNK])
        async with asyncio.timeout(GENEROUS_S):
            while (event := json.loads(await ws.recv()))["type"] != "final":
                pass
        assert len(words(event["text"]) & words(SENTENCE)) >= 6
        await asyncio.sleep(0.2)
        assert live.pool().in_use == 0  # the stream is still open, its decoder is back


async def test_a_user_has_at_most_two_streams(live: Live) -> None:
    token = await live.token()
    async with stream(live, token), stream(live, token):
        async with connect(live.ws_url) as third:
            await third.send(json.dumps({"type": "auth", "token": token}))
            await closed(third)
        assert third.close_code == 4429
        assert third.close_reason
    async with asyncio.timeout(GENEROUS_S):  # the server lets go of the closed streams
        for _ in range(int(GENEROUS_S / 0.05)):
            if not runtime_of(live.app.state).open_streams:
                break
            await asyncio.sleep(0.05)
    async with stream(live, token):  # and the user may open streams again
        pass


async def test_an_idle_stream_is_closed(live: Live) -> None:
    with limits(live, ai_stream_idle_s=1.0):
        async with stream(live, await live.token()) as ws:
            await closed(ws)
    assert ws.close_code == 4408


async def test_a_stream_that_gets_no_decoder_in_time_is_told_to_retry(
    live: Live, speech: Speech
) -> None:
    raw = silence(0.3) + pcm_of(speech()).astype("<i2").tobytes()
    with all_decoders_taken(live.pool(), wait_s=0.5):
        async with stream(live, await live.token()) as ws:
            with contextlib.suppress(Exception):
                for start in range(0, len(raw), CHUNK):
                    await ws.send(raw[start : start + CHUNK])
            frames = await closed(ws)
    assert ws.close_code == 1013
    errors = [frame for frame in frames if frame["type"] == "error"]
    assert errors and errors[0]["status"] == 503 and errors[0]["retry_after"] > 0


async def test_waiting_for_a_decoder_is_bounded_and_answered_503(
    ai_api: Api, user: Account, speech: Speech
) -> None:
    pool: DecoderPool = runtime_of(ai_api.app.state).registry.get("asr", "local").pool
    with all_decoders_taken(pool, wait_s=0.5):
        async with asyncio.timeout(GENEROUS_S):
            response = await ai_api.http.post(
                f"{AI}/asr", json={"audio": b64(speech())}, headers=user.headers
            )
    problem(response, 503, "engine-busy")
    assert int(response.headers["retry-after"]) > 0


def test_a_released_decoder_goes_to_the_longest_waiter() -> None:
    made = iter(range(10))
    pool = DecoderPool(lambda: next(made), size=1, wait_s=GENEROUS_S)
    held = pool.acquire()
    got: list[Any] = []

    import threading

    waiter = threading.Thread(target=lambda: got.append(pool.acquire()))
    waiter.start()
    while not pool._waiters:  # the waiter is queued
        threading.Event().wait(0.01)
    pool.release(held)
    waiter.join(GENEROUS_S)
    assert got == [held]
    assert pool.created == 1


# --- the token in a first frame (item 16) ---------------------------------------------------


async def test_the_token_can_come_in_a_first_auth_frame(live: Live, speech: Speech) -> None:
    raw = silence(0.5) + pcm_of(speech()).astype("<i2").tobytes() + silence(0.5)
    async with stream(live, await live.token()) as ws:
        for start in range(0, len(raw), CHUNK):
            await ws.send(raw[start : start + CHUNK])
        await ws.send(json.dumps({"type": "end"}))
        frames = await closed(ws)
    finals = " ".join(frame["text"] for frame in frames if frame["type"] == "final")
    assert len(words(finals) & words(SENTENCE)) >= 6


@pytest.mark.parametrize(
    "first",
    [
        json.dumps({"type": "auth", "token": "not-a-token"}),
        json.dumps({"type": "hello"}),
        "not json",
    ],
)
async def test_a_first_frame_that_is_not_a_valid_auth_is_4401(live: Live, first: str) -> None:
    async with connect(live.ws_url) as ws:
        await ws.send(first)
        await closed(ws)
    assert ws.close_code == 4401


async def test_a_stream_that_never_authenticates_is_closed(live: Live) -> None:
    with limits(live, ai_stream_auth_s=0.5):
        async with connect(live.ws_url) as ws:
            await closed(ws)
    assert ws.close_code == 4401
