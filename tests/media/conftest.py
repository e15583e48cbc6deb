"""media-service fixtures: a real HTTP server per storage, a real S3 server, and an outage switch.

The media app runs under uvicorn on 127.0.0.1 (tus clients such as tuspy speak real HTTP, and
a cut connection needs a real socket). It is run twice per session:

* ``local``: SQLite + in-process store + objects in a local directory (the embedded default);
* ``s3``: PostgreSQL + Redis + moto's standalone S3 server (``moto_server``), reached through a
  TCP relay that a test can switch off to take the object store away mid-upload.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from parley.allinone import create_allinone_app
from tests.support.api import Api, unique
from tests.support.media_env import (
    S3_KEY,
    S3_SECRET,
    MediaEnv,
    People,
    Relay,
    S3Server,
    ServerThread,
    bootstrap_root,
    free_port,
    media_settings,
    wait_for_port,
)
from tests.support.servers import PostgresServer, RedisServer


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """moto's standalone S3-protocol server (HTTP, SigV4, multipart), once per session."""
    port = free_port()
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    binary = shutil.which("moto_server", path=str(Path(sys.executable).parent))
    assert binary, "moto_server not installed (pip install 'moto[server]')"
    env = {**os.environ, "AWS_ACCESS_KEY_ID": S3_KEY, "AWS_SECRET_ACCESS_KEY": S3_SECRET}
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [binary, "-H", "127.0.0.1", "-p", str(port)], stdout=out, stderr=out, env=env
        )
    try:
        wait_for_port(port, process=process)
        yield S3Server(f"http://127.0.0.1:{port}", process)
    finally:
        process.terminate()
        process.wait(10)


@pytest.fixture(scope="session", params=["local", "s3"])
def media_env(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[MediaEnv]:
    tmp = tmp_path_factory.mktemp(f"media-{request.param}")
    relay = None
    if request.param == "s3":
        pg: PostgresServer = request.getfixturevalue("pg")
        redis: RedisServer = request.getfixturevalue("redis_srv")
        s3: S3Server = request.getfixturevalue("s3_server")
        relay = Relay(int(s3.url.rsplit(":", 1)[1]))
        settings = media_settings(
            "s3",
            tmp,
            database_url=pg.create_database(f"parley_media_{uuid.uuid4().hex[:8]}"),
            redis_url=redis.fresh_url(),
            s3_bucket=f"parley-{uuid.uuid4().hex[:8]}",
            s3_endpoint_url=relay.url,
            s3_access_key=S3_KEY,
            s3_secret_key=S3_SECRET,
        )
    else:
        settings = media_settings("local", tmp)
    app = create_allinone_app(settings)
    with ServerThread(app) as server:
        root = bootstrap_root(server.url)
        yield MediaEnv(request.param, server, settings, root, relay)
    if relay is not None:
        relay.down()


@pytest_asyncio.fixture
async def media_api(media_env: MediaEnv) -> AsyncIterator[Api]:
    """An HTTP client on the running media app (the usual ``Api`` helpers)."""
    async with httpx.AsyncClient(base_url=media_env.url, timeout=60) as client:
        api = Api(media_env.app, client)
        api.root = media_env.root
        yield api


@pytest_asyncio.fixture(scope="session")
async def people(media_env: MediaEnv) -> People:
    """The same cast for every test of one app (accounts are slow to make: password hashing).
    Tests that count bytes against a quota make their own user."""
    async with httpx.AsyncClient(base_url=media_env.url, timeout=60) as client:
        api = Api(media_env.app, client)
        api.root = media_env.root
        return People(
            owner=await api.account(unique("owner")),
            participant=await api.account(unique("part")),
            other=await api.account(unique("other")),
            admin=await api.admin(),
            host=await api.account(unique("host")),
        )
