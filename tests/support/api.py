"""The HTTP steps most tests take on a running app: register, sign in, promote, and the cast."""

from __future__ import annotations

import contextlib
import itertools
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import FastAPI

from parley.allinone import create_allinone_app
from parley.config import Settings

PASSWORD = "tangerine-Sky-42"
JWT_SECRET = "test-secret-" + "x" * 40
_numbers = itertools.count(1)


def next_number() -> int:
    """A number no other caller in this session gets (names of users, databases, data dirs)."""
    return next(_numbers)


def fresh_address() -> str:
    """A client address no other test uses (198.18.0.0/15, set aside for testing), for tests
    of what per-address limits count."""
    n = next_number()
    return f"198.18.{n // 256 % 256}.{n % 256}"


def unique(prefix: str = "user") -> str:
    return f"{prefix}{next_number()}{uuid.uuid4().hex[:6]}"


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


@dataclass
class Cast:
    """Accounts that play the roles around a meeting (made once per backend)."""

    host: Account
    participant: Account
    cohost: Account
    other: Account
    admin: Account


@contextlib.asynccontextmanager
async def client_for(app: FastAPI, address: str = "127.0.0.1") -> AsyncIterator[httpx.AsyncClient]:
    """A client of ``app`` in this process; ``address`` is the client address the app sees
    (per-address rate limits count by it)."""
    transport = httpx.ASGITransport(app=app, client=(address, 123))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


@contextlib.asynccontextmanager
async def running_app(settings: Settings) -> AsyncIterator[FastAPI]:
    app = create_allinone_app(settings)
    async with app.router.lifespan_context(app):
        yield app
