"""The ``parley`` command as a user runs it: a real process on a temporary port."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support.servers import free_port

PARLEY = [sys.executable, "-m", "parley"]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARLEY_")}
    for name in ("JWT_SECRET", "DATABASE_URL", "REDIS_URL", "ALLOWED_ORIGINS"):
        env.pop(name, None)
    env.update(extra)
    return env


def _wait_healthy(url: str, process: subprocess.Popen, timeout_s: float = 30) -> httpx.Response:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited with {process.returncode}")
        try:
            return httpx.get(url, timeout=1)
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError(f"{url} did not answer within {timeout_s} s")


@pytest.fixture
def run_server(tmp_path: Path):
    processes: list[subprocess.Popen] = []

    def start(*args: str, **env: str) -> subprocess.Popen:
        process = subprocess.Popen(
            [*PARLEY, *args],
            env=_env(**env),
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        processes.append(process)
        return process

    yield start
    for process in processes:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


def test_parley_up_answers_health_on_a_temporary_port(run_server, tmp_path: Path) -> None:
    port = free_port()
    process = run_server("up", "--port", str(port), "--data-dir", str(tmp_path / "data"))
    response = _wait_healthy(f"http://127.0.0.1:{port}/health", process)
    assert response.status_code == 200
    assert response.json()["service"] == "all-in-one"
    ready = httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=5)
    assert ready.status_code == 200
    assert (tmp_path / "data" / "parley.db").is_file()
    assert (tmp_path / "data" / "jwt_secret").stat().st_mode & 0o077 == 0


def test_parley_serve_users_runs_the_user_service_alone(run_server, tmp_path: Path) -> None:
    port = free_port()
    process = run_server("serve", "users", "--port", str(port), "--data-dir", str(tmp_path / "d"))
    response = _wait_healthy(f"http://127.0.0.1:{port}/health", process)
    assert response.json()["service"] == "users"
    register = httpx.post(
        f"http://127.0.0.1:{port}/api/v1/auth/register",
        json={
            "username": "solo",
            "email": "solo@example.com",
            "password": "solo-password-1",
            "display_name": "Solo",
        },
        timeout=10,
    )
    assert register.status_code == 201


def test_parley_serve_meetings_runs_the_meeting_service_alone(run_server, tmp_path: Path) -> None:
    port = free_port()
    process = run_server(
        "serve",
        "meetings",
        "--port",
        str(port),
        "--data-dir",
        str(tmp_path / "d"),
        JWT_SECRET="s" * 40,
    )
    response = _wait_healthy(f"http://127.0.0.1:{port}/health", process)
    assert response.json()["service"] == "meetings"
    lookup = httpx.get(f"http://127.0.0.1:{port}/api/v1/meetings/by-code/bbb-bbbb-bbb", timeout=5)
    assert lookup.status_code == 404
    assert lookup.headers["content-type"].startswith("application/problem+json")
    assert httpx.get(f"http://127.0.0.1:{port}/api/v1/meetings", timeout=5).status_code == 401


def test_serve_an_unknown_service_fails_with_a_message(tmp_path: Path) -> None:
    result = subprocess.run(
        [*PARLEY, "serve", "nonsense"],
        env=_env(),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "Unknown service" in result.stderr


def test_production_refuses_to_start_without_jwt_secret(tmp_path: Path) -> None:
    result = subprocess.run(
        [*PARLEY, "up", "--port", str(free_port()), "--data-dir", str(tmp_path)],
        env=_env(PARLEY_ENV="production"),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "JWT_SECRET" in result.stderr
    assert not (tmp_path / "jwt_secret").exists()


def test_production_refuses_a_short_jwt_secret(tmp_path: Path) -> None:
    result = subprocess.run(
        [*PARLEY, "up", "--port", str(free_port()), "--data-dir", str(tmp_path)],
        env=_env(PARLEY_ENV="production", JWT_SECRET="too-short"),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "at least 32 bytes" in result.stderr


def test_user_create_makes_an_admin_from_stdin_password(tmp_path: Path) -> None:
    env = _env(PARLEY_DATA_DIR=str(tmp_path / "data"))
    result = subprocess.run(
        [
            *PARLEY,
            "user",
            "create",
            "bob",
            "--email",
            "bob@example.com",
            "--admin",
            "--password-stdin",
        ],
        input="a-good-long-password\n",
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "(admin)" in result.stderr
    weak = subprocess.run(
        [*PARLEY, "user", "create", "carol", "--email", "carol@example.com", "--password-stdin"],
        input="password1\n",
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert weak.returncode == 1
    assert "too common" in weak.stderr


def test_migrate_command_and_yaml_config(tmp_path: Path) -> None:
    config = tmp_path / "parley.yaml"
    config.write_text(f"data_dir: {tmp_path / 'from-yaml'}\n")
    result = subprocess.run(
        [*PARLEY, "--config", str(config), "migrate"],
        env=_env(),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "from-yaml" / "parley.db").is_file()
