"""Fixtures shared by the whole suite.

Real servers (PostgreSQL, Redis) start once per session. Every service test runs on both
backends: ``sqlite`` (the embedded default: SQLite + in-process store) and ``postgres``
(PostgreSQL + Redis).
"""

from __future__ import annotations

import contextlib
import itertools
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI

from parley.allinone import create_allinone_app
from parley.config import Settings
from tests import netns
from tests.servers import PostgresServer, RedisServer, postgres_server, redis_server

PASSWORD = "tangerine-Sky-42"
JWT_SECRET = "test-secret-" + "x" * 40
_numbers = itertools.count(1)
NETNS_PROBLEM: str | None = None


def pytest_configure(config: pytest.Config) -> None:
    """Before anything starts: move the session into a loopback-only network namespace."""
    global NETNS_PROBLEM
    NETNS_PROBLEM = netns.isolate()


@pytest.fixture(scope="session")
def pg() -> Iterator[PostgresServer]:
    with postgres_server() as server:
        yield server


@pytest.fixture(scope="session")
def redis_srv() -> Iterator[RedisServer]:
    with redis_server() as server:
        yield server


def unique(prefix: str = "user") -> str:
    return f"{prefix}{next(_numbers)}{uuid.uuid4().hex[:6]}"


@dataclass
class Backend:
    """Makes settings for a fresh, empty database on one backend."""

    name: str
    tmp: Path
    pg: PostgresServer | None = None
    redis: RedisServer | None = None

    def settings(self, **overrides: Any) -> Settings:
        n = next(_numbers)
        data_dir = self.tmp / f"app{n}"
        values: dict[str, Any] = {
            "env": "test",
            "data_dir": data_dir,
            "jwt_secret": JWT_SECRET,
            "log_level": "warning",
        }
        if self.pg is not None and self.redis is not None:
            values["database_url"] = self.pg.create_database(f"parley_{n}")
            values["redis_url"] = self.redis.url(n % 16)
        values.update(overrides)
        return Settings(**values)


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


@dataclass
class Account:
    """A registered user and a signed-in session of theirs."""

    user: dict[str, Any]
    password: str
    tokens: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return str(self.user["id"])

    @property
    def username(self) -> str:
        return str(self.user["username"])

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens['access_token']}"}


class Api:
    """An HTTP client on one running app, with helpers for the common steps."""

    def __init__(self, app: FastAPI, client: httpx.AsyncClient) -> None:
        self.app = app
        self.http = client

    async def register(self, username: str | None = None, **fields: Any) -> httpx.Response:
        username = username or unique()
        body = {
            "username": username,
            "email": f"{username}@example.com",
            "password": PASSWORD,
            "display_name": username.title(),
            **fields,
        }
        return await self.http.post("/api/v1/auth/register", json=body)

    async def login(self, username: str, password: str = PASSWORD) -> httpx.Response:
        return await self.http.post(
            "/api/v1/auth/login", json={"username": username, "password": password}
        )

    async def account(self, username: str | None = None) -> Account:
        """A new user, signed in."""
        response = await self.register(username)
        assert response.status_code == 201, response.text
        account = Account(response.json(), PASSWORD)
        login = await self.login(account.username)
        assert login.status_code == 200, login.text
        account.tokens = login.json()
        self.http.cookies.clear()
        return account

    async def admin(self) -> Account:
        """A new admin account (promoted by the bootstrap admin)."""
        account = await self.account()
        response = await self.http.patch(
            f"/api/v1/admin/users/{account.id}", json={"role": "admin"}, headers=self.root.headers
        )
        assert response.status_code == 200, response.text
        login = await self.login(account.username)
        account.tokens = login.json()
        self.http.cookies.clear()
        return account

    root: Account


@contextlib.asynccontextmanager
async def client_for(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


@contextlib.asynccontextmanager
async def running_app(settings: Settings) -> AsyncIterator[FastAPI]:
    app = create_allinone_app(settings)
    async with app.router.lifespan_context(app):
        yield app


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


@dataclass
class Cast:
    """Accounts that play the roles around a meeting (made once per backend)."""

    host: Account
    participant: Account
    cohost: Account
    other: Account
    admin: Account


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
