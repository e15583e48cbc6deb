"""`parley serve ai-worker`: a separate process runs the jobs the ai service queues (shared
PostgreSQL and Redis), and refuses to start without Redis."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from tests.support.ai import finished
from tests.support.api import Api, client_for, running_app
from tests.support.backends import Backend
from tests.support.servers import PostgresServer, RedisServer, free_port

PARLEY = [sys.executable, "-m", "parley"]


def _env(settings_env: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARLEY_")}
    env.update(settings_env)
    return env


def test_ai_worker_needs_redis(tmp_path: Path) -> None:
    done = subprocess.run(
        [*PARLEY, "serve", "ai-worker", "--data-dir", str(tmp_path)],
        env=_env({"JWT_SECRET": "s" * 40, "PARLEY_ENV": "test"}),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "needs REDIS_URL" in done.stderr


async def test_ai_worker_process_runs_queued_jobs(
    pg: PostgresServer, redis_srv: RedisServer, tmp_path: Path
) -> None:
    settings = Backend("postgres", tmp_path, pg, redis_srv).settings(ai_workers=0)
    assert settings.database_url and settings.redis_url
    env = _env(
        {
            "DATABASE_URL": settings.database_url,
            "REDIS_URL": settings.redis_url,
            "JWT_SECRET": settings.secret(),
            "PARLEY_ENV": "test",
            "PARLEY_LOG_LEVEL": "warning",
        }
    )
    async with running_app(settings) as app, client_for(app) as client:
        api = Api(app, client)
        account = await api.account()
        submitted = await api.http.post(
            "/api/v1/ai/batch",
            json={"items": [{"task": "emotion", "input": {"text": "Wonderful, thank you!"}}]},
            headers=account.headers,
        )
        job_id = submitted.json()["job_id"]
        worker = await asyncio.create_subprocess_exec(
            *PARLEY, "serve", "ai-worker", "--port", str(free_port()), "--data-dir",
            str(tmp_path / "worker"),
            env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        try:
            job = await finished(api, job_id, account.headers)
        finally:
            worker.terminate()
            await asyncio.wait_for(worker.wait(), 30)
        assert job["status"] == "completed"
        assert job["results"][0]["output"]["label"] == "happy"
