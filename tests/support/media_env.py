"""The media tests' running app and its surroundings: an app served from a thread, a TCP
relay that can cut the object store off, the S3 server, and the cast of accounts."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI

from parley.config import Settings
from parley.media.runtime import MediaService, media_service
from tests.support.api import JWT_SECRET, PASSWORD, Account

MAX_FILE = 24 * 1024 * 1024
QUOTA = 160 * 1024 * 1024
S3_KEY = "parley-test"
S3_SECRET = "parley-test-secret"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float = 20.0, process: Any = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port}")


@dataclass
class S3Server:
    url: str
    process: subprocess.Popen[bytes]


class Relay:
    """A TCP relay in front of a server; ``down()`` refuses and cuts every connection (the
    server is unreachable), ``up()`` serves again on the same port."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self._listener: socket.socket | None = None
        self._connections: list[socket.socket] = []
        self._lock = threading.Lock()
        self.up()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def up(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def down(self) -> None:
        if self._listener is not None:
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
            self._listener = None
        with self._lock:
            for conn in self._connections:
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
                conn.close()
            self._connections.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                client.close()
                continue
            with self._lock:
                self._connections += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(256 * 1024):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


class ServerThread:
    """uvicorn serving one app from its own thread and event loop."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.port = int(self.sock.getsockname()[1])
        config = uvicorn.Config(
            app, log_level="warning", lifespan="on", timeout_graceful_shutdown=2
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=lambda: asyncio.run(self._serve()), daemon=True)
        self.loop: asyncio.AbstractEventLoop | None = None

    async def _serve(self) -> None:
        self.loop = asyncio.get_running_loop()
        await self.server.serve(sockets=[self.sock])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("media test server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(30)

    def run(self, coro: Any, timeout: float = 30) -> Any:
        """Run a coroutine on the server's event loop (for service functions and checks)."""
        assert self.loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)


@dataclass
class MediaEnv:
    """One running media app: its URL, settings, storage kind, and the S3 relay when any."""

    name: str
    server: ServerThread
    settings: Settings
    root: Account
    relay: Relay | None = None

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def app(self) -> FastAPI:
        return self.server.app

    @property
    def service(self) -> MediaService:
        """The app's media service (what media-service's functions take)."""
        return media_service(self.server.app)

    def call(self, coro: Any) -> Any:
        return self.server.run(coro)

    async def acall(self, coro: Any) -> Any:
        return await asyncio.to_thread(self.server.run, coro)


def media_settings(name: str, tmp: Path, **values: Any) -> Settings:
    return Settings(
        env="test",
        data_dir=tmp / f"{name}-{uuid.uuid4().hex[:6]}",
        jwt_secret=JWT_SECRET,
        log_level="warning",
        media_max_file_bytes=MAX_FILE,
        media_user_quota_bytes=QUOTA,
        media_worker_interval_s=0.5,
        **values,
    )


def bootstrap_root(url: str) -> Account:
    with httpx.Client(base_url=url) as client:
        body = {
            "username": "root",
            "email": "root@example.com",
            "password": PASSWORD,
            "display_name": "Root",
        }
        response = client.post("/api/v1/auth/register", json=body)
        assert response.status_code == 201, response.text
        root = Account(response.json(), PASSWORD)
        login = client.post("/api/v1/auth/login", json={"username": "root", "password": PASSWORD})
        root.tokens = login.json()
        return root


@dataclass
class People:
    owner: Account
    participant: Account
    other: Account
    admin: Account
    host: Account
