"""A real signaling server on a loopback port, and a WebSocket client that keeps every frame."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
from fastapi import FastAPI
from websockets.asyncio.client import ClientConnection, connect

from parley.allinone import create_allinone_app
from parley.config import Settings
from parley.core.serving import uvicorn_options
from tests.support.api import unique
from tests.support.servers import serve_app

RESUME_GRACE_S = 1.5
"""The resume window the signaling tests run with (short, so drops are seen quickly)."""
BREAKOUT_COUNTDOWN_S = 1.0
"""The breakout rooms' countdown back to the main room in the signaling tests."""


@contextlib.asynccontextmanager
async def live_server(settings: Settings) -> AsyncIterator[tuple[FastAPI, str]]:
    """The all-in-one app under uvicorn on 127.0.0.1:<ephemeral>; yields (app, base URL)."""
    app = create_allinone_app(settings)
    options = {**uvicorn_options(settings), "ws_ping_interval": 0.5, "ws_ping_timeout": 0.5}
    async with serve_app(app, **options) as base:
        for _ in range(200):  # the signaling hub is set up by a background task
            if getattr(app.state, "signaling", None) is not None:
                break
            await asyncio.sleep(0.01)
        yield app, base


class Client:
    """A signaling client: every frame it receives is kept, in order."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.frames: list[dict[str, Any]] = []
        self.closed: asyncio.Future[tuple[int, str]] = asyncio.get_running_loop().create_future()
        self._arrived = asyncio.Condition()
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                async with self._arrived:
                    self.frames.append(json.loads(raw))
                    self._arrived.notify_all()
        except Exception:
            pass
        finally:
            code = self.ws.close_code if self.ws.close_code is not None else 1006
            if not self.closed.done():
                self.closed.set_result((code, self.ws.close_reason or ""))
            async with self._arrived:
                self._arrived.notify_all()

    async def send(self, frame: dict[str, Any] | str) -> None:
        await self.ws.send(frame if isinstance(frame, str) else json.dumps(frame))

    async def expect(
        self,
        type_: str,
        where: Callable[[dict[str, Any]], bool] = lambda f: True,
        timeout: float = 3.0,
    ) -> dict[str, Any]:
        """The first frame of this type (and condition) received so far or within ``timeout``."""

        async def find() -> dict[str, Any]:
            async with self._arrived:
                while True:
                    for frame in self.frames:
                        if frame.get("type") == type_ and where(frame):
                            return frame
                    if self.closed.done():
                        raise AssertionError(f"closed {self.closed.result()} before {type_}")
                    await self._arrived.wait()

        return await asyncio.wait_for(find(), timeout)

    async def never(self, type_: str, wait: float = 0.3) -> None:
        await asyncio.sleep(wait)
        assert not [f for f in self.frames if f.get("type") == type_], self.frames

    async def close_code(self, timeout: float = 3.0) -> tuple[int, str]:
        return await asyncio.wait_for(asyncio.shield(self.closed), timeout)

    async def close(self) -> None:
        await self.ws.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._reader, 3)

    def vanish(self) -> None:
        """Drop the TCP connection without a closing handshake."""
        self.ws.transport.abort()


def ws_url(base: str) -> str:
    return base.replace("http://", "ws://") + "/ws/signaling"


async def open_client(base: str, token: str | None = None) -> Client:
    url = ws_url(base) + (f"?token={token}" if token else "")
    return Client(await connect(url, max_size=2 * 1024 * 1024))


class Site:
    """REST steps against the live server."""

    def __init__(self, base: str, app: FastAPI | None = None) -> None:
        self.base = base
        self.app = app  # the server's app, when the test runs it in-process
        self.http = httpx.AsyncClient(base_url=base, timeout=10)

    async def user(self, name: str, password: str = "tangerine-Sky-42") -> dict[str, str]:
        await self.http.post(
            "/api/v1/auth/register",
            json={
                "username": name,
                "email": f"{name}@example.com",
                "password": password,
                "display_name": name.title(),
            },
        )
        login = await self.http.post(
            "/api/v1/auth/login", json={"username": name, "password": password}
        )
        assert login.status_code == 200, login.text
        return {"Authorization": f"Bearer {login.json()['access_token']}"}

    async def meeting(self, host: dict[str, str], **fields: Any) -> dict[str, Any]:
        response = await self.http.post(
            "/api/v1/meetings", json={"title": "Standup", **fields}, headers=host
        )
        assert response.status_code == 201, response.text
        return response.json()

    async def ticket(
        self, meeting: dict[str, Any], who: dict[str, str] | None = None, name: str = "Guest"
    ) -> dict[str, Any]:
        body = {} if who else {"display_name": name}
        response = await self.http.post(
            f"/api/v1/meetings/{meeting['id']}/join", json=body, headers=who or {}
        )
        assert response.status_code == 200, response.text
        return response.json()

    async def enter(
        self, meeting: dict[str, Any], who: dict[str, str] | None = None, name: str = "Guest"
    ) -> tuple[Client, dict[str, Any]]:
        """Join over REST, connect, and wait for the welcome (or lobby-wait)."""
        ticket = await self.ticket(meeting, who, name)
        client = await open_client(self.base, ticket["signaling"]["token"])
        if ticket["participant"]["status"] == "waiting":
            await client.expect("lobby-wait")
            return client, ticket["participant"]
        welcome = await client.expect("welcome")
        assert welcome["self"]["id"] == ticket["participant"]["id"]
        return client, ticket["participant"]

    async def user_id(self, who: dict[str, str]) -> str:
        me = await self.http.get("/api/v1/users/me", headers=who)
        assert me.status_code == 200, me.text
        return str(me.json()["id"])

    async def history(self, meeting: dict[str, Any], who: dict[str, str]) -> httpx.Response:
        """``GET .../messages`` for this user: the chat history they may read."""
        return await self.http.get(
            f"/api/v1/signaling/meetings/{meeting['id']}/messages", headers=who
        )

    async def aclose(self) -> None:
        await self.http.aclose()


async def eventually(check: Callable[[], Any], timeout: float = 5.0) -> Any:
    """Poll an async check until it returns something truthy (and return that)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await check()
        if result or asyncio.get_running_loop().time() > deadline:
            return result
        await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def room_of(site: Site, **settings: Any) -> AsyncIterator[dict[str, Any]]:
    """A live meeting (with these meeting ``settings``) with its host and a participant (alice)
    inside; their connections are closed at the end."""
    host = await site.user(unique("host"))
    alice = await site.user(unique("alice"))
    meeting = await site.meeting(host, settings=settings) if settings else await site.meeting(host)
    host_client, host_row = await site.enter(meeting, host)
    alice_client, alice_row = await site.enter(meeting, alice)
    clients: list[Client] = [host_client, alice_client]
    try:
        yield {
            "site": site,
            "meeting": meeting,
            "host": host,
            "alice": alice,
            "host_client": host_client,
            "host_row": host_row,
            "alice_client": alice_client,
            "alice_row": alice_row,
            "clients": clients,
        }
    finally:
        for client in clients:
            if not client.closed.done():
                await client.close()
