"""One ``parley up`` on PostgreSQL + Redis (where NUL bytes and overflowing integers used to
surface as 500s), with a signed-in admin, for the OpenAPI contract tests."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.support.api import JWT_SECRET, PASSWORD
from tests.support.contract import RunningParley
from tests.support.servers import PostgresServer, RedisServer, free_port

START_TIMEOUT_S = 120


@pytest.fixture(scope="session")
def parley_on_postgres(
    pg: PostgresServer, redis_srv: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningParley]:
    data = tmp_path_factory.mktemp("contract")
    port = free_port()
    env = {
        **os.environ,
        "PARLEY_ENV": "test",
        "JWT_SECRET": JWT_SECRET,
        "PARLEY_LOG_LEVEL": "warning",
        "DATABASE_URL": pg.create_database("parley_contract"),
        "REDIS_URL": redis_srv.fresh_url(),
    }
    log_path = data / "server.log"
    command = [sys.executable, "-m", "parley.cli", "up", "--port", str(port)]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [*command, "--data-dir", str(data / "data")], env=env, stdout=log, stderr=log
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + START_TIMEOUT_S
            while True:
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(f"{url}/health/ready", timeout=2).status_code == 200:
                        break
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("parley up did not start:\n" + log_path.read_text()[-3000:])
                time.sleep(0.2)
            admin = {
                "username": "contractadmin",
                "email": "contract-admin@example.org",
                "password": PASSWORD,
                "display_name": "Contract Admin",
            }
            httpx.post(f"{url}/api/v1/auth/register", json=admin).raise_for_status()
            login = httpx.post(
                f"{url}/api/v1/auth/login",
                json={"username": admin["username"], "password": PASSWORD},
            )
            login.raise_for_status()
            yield RunningParley(url, login.json()["access_token"], log_path)
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
