"""Fixtures for the AI service tests: speech made by flite at test time (never committed) and
an app on the embedded backend for the engine tests. Helpers live in ``tests.support.ai``."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import pytest_asyncio

from tests.support.ai import SENTENCE, flite_wav
from tests.support.api import Api, client_for, running_app
from tests.support.backends import Backend


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
