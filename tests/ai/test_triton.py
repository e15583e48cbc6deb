"""The ``triton`` engine against a real Triton Inference Server (the binary nvidia-pytriton
ships, on the CPU, serving deploy/triton/model_repository), started once for the session."""

from __future__ import annotations

import base64
import contextlib
import io
import socket
import subprocess
import time
import urllib.request
import wave
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
import pytest_asyncio

from tests.support.ai import AI, SENTENCE, b64, problem, words
from tests.support.api import Account, Api, client_for, running_app
from tests.support.backends import Backend

START_TIMEOUT_S = 90.0
Speech = Callable[..., bytes]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def triton(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A running tritonserver: its HTTP and gRPC URLs, and a port where nothing listens."""
    from parley.ai.tritonserver import TritonNotInstalled, launch

    workdir: Path = tmp_path_factory.mktemp("triton")
    http, grpc, metrics = free_port(), free_port(), free_port()
    try:
        command = launch(workdir, http, grpc, metrics)
    except TritonNotInstalled as exc:
        pytest.skip(str(exc))
    log = (workdir / "tritonserver.log").open("wb")
    process = subprocess.Popen(command.argv, env=command.env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if process.poll() is not None:
                pytest.fail(
                    f"tritonserver exited: {(workdir / 'tritonserver.log').read_text()[-3000:]}"
                )
            ready_url = f"http://127.0.0.1:{http}/v2/health/ready"
            with contextlib.suppress(OSError), urllib.request.urlopen(ready_url, timeout=1):
                break
            if time.monotonic() > deadline:
                pytest.fail("tritonserver did not become ready in time")
            time.sleep(0.3)
        yield {
            "http": f"http://127.0.0.1:{http}",
            "grpc": f"grpc://127.0.0.1:{grpc}",
            "dead": f"http://127.0.0.1:{free_port()}",
        }
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@contextlib.asynccontextmanager
async def app_with(backend: Backend, urls: list[str]) -> AsyncIterator[tuple[Api, Account]]:
    settings = backend.settings(triton_urls=urls, ai_workers=0)
    async with running_app(settings) as app, client_for(app) as client:
        api = Api(app, client)
        yield api, await api.account()


@pytest_asyncio.fixture(scope="session")
async def via_triton(
    ai_backend: Backend, triton: dict[str, str]
) -> AsyncIterator[tuple[Api, Account]]:
    async with app_with(ai_backend, [triton["http"]]) as running:
        yield running


async def test_asr_runs_through_triton(via_triton: tuple[Api, Account], speech: Speech) -> None:
    api, user = via_triton
    response = await api.http.post(
        f"{AI}/asr", json={"audio": b64(speech()), "engine": "triton"}, headers=user.headers
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["engine"] == "triton"
    assert body["model"].startswith("triton:parley_asr")
    assert len(words(body["text"]) & words(SENTENCE)) >= 7
    assert body["segments"][0]["end"] > body["segments"][0]["start"]


async def test_synthesis_runs_through_triton(via_triton: tuple[Api, Account]) -> None:
    api, user = via_triton
    response = await api.http.post(
        f"{AI}/synthesis",
        json={"text": "Hello from Triton.", "voice": "slt", "engine": "triton"},
        headers=user.headers,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["engine"], body["voice"], body["sample_rate"]) == ("triton", "slt", 16_000)
    with wave.open(io.BytesIO(base64.b64decode(body["audio"]))) as clip:
        assert clip.getnframes() > 8_000


async def test_emotion_runs_through_triton(via_triton: tuple[Api, Account]) -> None:
    api, user = via_triton
    response = await api.http.post(
        f"{AI}/emotion",
        json={"text": "I am so happy with this, great work!", "engine": "triton"},
        headers=user.headers,
    )
    body = response.json()
    assert (body["engine"], body["label"]) == ("triton", "happy")
    assert abs(sum(body["scores"].values()) - 1) < 1e-6


async def test_info_reports_the_triton_endpoint_healthy(via_triton: tuple[Api, Account]) -> None:
    api, _ = via_triton
    info = (await api.http.get(f"{AI}/info")).json()
    assert [(e["protocol"], e["healthy"]) for e in info["triton"]] == [("http", True)]
    assert info["engines"]["asr"]["triton"]["available"] is True


async def test_grpc_endpoint_serves_the_same_models(
    ai_backend: Backend, triton: dict[str, str]
) -> None:
    async with app_with(ai_backend, [triton["grpc"]]) as (api, user):
        response = await api.http.post(
            f"{AI}/emotion",
            json={"text": "This is awful.", "engine": "triton"},
            headers=user.headers,
        )
        assert response.status_code == 200, response.text
        assert response.json()["valence"] < 0


async def test_triton_down_is_a_503_naming_the_endpoint(
    ai_backend: Backend, triton: dict[str, str]
) -> None:
    async with app_with(ai_backend, [triton["dead"]]) as (api, user):
        response = await api.http.post(
            f"{AI}/emotion", json={"text": "hi", "engine": "triton"}, headers=user.headers
        )
        body = problem(response, 503, "engine-unavailable")
        assert triton["dead"] in body["detail"]
        assert body["endpoints"] == [triton["dead"]]


async def test_requests_fail_over_from_a_dead_endpoint_to_a_live_one(
    ai_backend: Backend, triton: dict[str, str]
) -> None:
    async with app_with(ai_backend, [triton["dead"], triton["http"]]) as (api, user):
        for _ in range(4):
            response = await api.http.post(
                f"{AI}/emotion", json={"text": "Nice!", "engine": "triton"}, headers=user.headers
            )
            assert response.status_code == 200, response.text
        endpoints = (await api.http.get(f"{AI}/info")).json()["triton"]
        health = {endpoint["url"]: endpoint["healthy"] for endpoint in endpoints}
        assert health == {triton["dead"]: False, triton["http"]: True}
