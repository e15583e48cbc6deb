"""Fixtures shared by the whole suite (the helpers they use live in :mod:`tests.support`).

Real servers (PostgreSQL, Redis) start once per session. Every service test runs on both
backends: ``sqlite`` (the embedded default: SQLite + in-process store) and ``postgres``
(PostgreSQL + Redis).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio
from fastapi import FastAPI

from tests.support import netns
from tests.support.api import PASSWORD, Account, Api, Cast, client_for, running_app, unique
from tests.support.backends import Backend
from tests.support.servers import PostgresServer, RedisServer, postgres_server, redis_server


def pytest_configure(config: pytest.Config) -> None:
    """Before anything starts: move the session into a loopback-only network namespace."""
    netns.session_problem = netns.isolate()


@pytest.fixture(scope="session")
def pg() -> Iterator[PostgresServer]:
    with postgres_server() as server:
        yield server


@pytest.fixture(scope="session")
def redis_srv() -> Iterator[RedisServer]:
    with redis_server() as server:
        yield server


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Backend:
    tmp = tmp_path_factory.mktemp(request.param)
    if request.param == "postgres":
        return Backend(
            "postgres",
            tmp,
            request.getfixturevalue("pg"),
            request.getfixturevalue("redis_srv"),
        )
    return Backend("sqlite", tmp)


@pytest_asyncio.fixture(scope="session")
async def shared_app(backend: Backend) -> AsyncIterator[tuple[FastAPI, Account]]:
    """One app per backend for the whole session; its first user ``root`` is the admin."""
    async with running_app(backend.settings()) as app, client_for(app) as client:
        bootstrap = Api(app, client)
        response = await bootstrap.register("root")
        assert response.status_code == 201, response.text
        assert response.json()["role"] == "admin"
        root = Account(response.json(), PASSWORD)
        root.tokens = (await bootstrap.login("root")).json()
        yield app, root


@pytest_asyncio.fixture
async def api(shared_app: tuple[FastAPI, Account]) -> AsyncIterator[Api]:
    """A client with an empty cookie jar on the session's app."""
    app, root = shared_app
    async with client_for(app) as client:
        running = Api(app, client)
        running.root = root
        yield running


@pytest_asyncio.fixture
async def fresh_api(backend: Backend) -> AsyncIterator[Api]:
    """An app on an empty database, for tests about first-ever or last-remaining things."""
    async with running_app(backend.settings()) as app, client_for(app) as client:
        yield Api(app, client)


@pytest_asyncio.fixture(scope="session")
async def cast(shared_app: tuple[FastAPI, Account]) -> AsyncIterator[Cast]:
    app, root = shared_app
    async with client_for(app) as client:
        api = Api(app, client)
        api.root = root
        yield Cast(
            host=await api.account(unique("host")),
            participant=await api.account(unique("part")),
            cohost=await api.account(unique("cohost")),
            other=await api.account(unique("other")),
            admin=await api.admin(),
        )
