"""Fixtures for the deployment tests: the split cluster behind Debian's nginx (started once per
session on ephemeral ports, with the suite's PostgreSQL and Redis), etcd and Prometheus."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.api import JWT_SECRET
from tests.support.servers import PostgresServer, RedisServer, free_port, wait_for_port

PARLEY = [sys.executable, "-m", "parley"]
REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"


def nginx_path() -> str | None:
    return shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )


needs_nginx = pytest.mark.skipif(
    nginx_path() is None, reason="nginx is not installed (scripts/bootstrap.sh --test)"
)
needs_etcd = pytest.mark.skipif(
    shutil.which("etcd") is None, reason="etcd is not installed (apt-get install etcd-server)"
)
needs_prometheus = pytest.mark.skipif(
    shutil.which("prometheus") is None or shutil.which("promtool") is None,
    reason="prometheus/promtool are not installed (apt-get install prometheus)",
)


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without any Parley or seed settings of the machine, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PARLEY_", "OTEL_"))}
    for name in ("JWT_SECRET", "DATABASE_URL", "REDIS_URL", "ALLOWED_ORIGINS", "ETCD_ENDPOINTS"):
        env.pop(name, None)
    env.update(extra)
    return env


def tail(path: Path, lines: int = 60) -> str:
    with contextlib.suppress(OSError):
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    return ""


@dataclass
class RunningCluster:
    """`parley cluster up` as a user runs it, and where to reach it."""

    process: subprocess.Popen[bytes]
    run_dir: Path
    log: Path
    gateway: str
    ports: dict[str, list[int]]
    tls: str
    certificate: Path
    state: dict[str, Any] = field(default_factory=dict)

    def pid_of(self, name: str) -> int:
        for entry in self.state["processes"]:
            if entry["name"] == name:
                return int(entry["pid"])
        raise KeyError(name)

    def interrupt(self, timeout_s: float = 40) -> int:
        """Ctrl-C, as a terminal sends it; returns the runner's exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)
        return int(self.process.returncode)


@pytest.fixture(scope="session")
def cluster(pg: PostgresServer, redis_srv: RedisServer) -> Iterator[RunningCluster]:
    """The split deployment: five services (two AI nodes) + nginx, started once per session."""
    if nginx_path() is None:
        pytest.skip("nginx is not installed (scripts/bootstrap.sh --test)")
    # nginx's workers run as www-data: the run dir must be reachable by them (pytest's own temp
    # root is private to root).
    run_dir = Path(tempfile.mkdtemp(prefix="parley-cluster-test-"))
    run_dir.chmod(0o755)
    data_dir = run_dir / "data"
    ports = {
        "users": [free_port()],
        "signaling": [free_port()],
        "meetings": [free_port()],
        "media": [free_port()],
        "ai": [free_port(), free_port()],
    }
    gateway_port, tls_port = free_port(), free_port()
    ssl_dir = run_dir / "ssl"
    subprocess.run(
        [str(DEPLOY / "nginx" / "ssl" / "make-dev-cert.sh"), str(ssl_dir)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    worker_port = free_port()
    argv = [*PARLEY, "cluster", "up", "--gateway-port", str(gateway_port)]
    argv += ["--ai-worker-port", str(worker_port)]
    argv += ["--tls-port", str(tls_port), "--ssl-cert", str(ssl_dir / "parley.crt")]
    argv += ["--ssl-key", str(ssl_dir / "parley.key")]
    argv += ["--run-dir", str(run_dir), "--data-dir", str(data_dir)]
    for name, numbers in ports.items():
        argv += [arg for port in numbers for arg in ("--service-port", f"{name}={port}")]
    env = clean_env(
        JWT_SECRET=JWT_SECRET,
        DATABASE_URL=pg.create_database("parley_cluster"),
        REDIS_URL=redis_srv.url(15),
        PARLEY_ENV="test",
        PARLEY_LOG_LEVEL="info",
        PARLEY_AI_DECODERS="1",
        PARLEY_AI_WORKERS="0",  # batch jobs run in the standalone `ai-worker` only
    )
    log = run_dir / "cluster.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            argv, env=env, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
        )
    running = RunningCluster(
        process,
        run_dir,
        log,
        f"http://127.0.0.1:{gateway_port}",
        ports,
        tls=f"https://127.0.0.1:{tls_port}",
        certificate=ssl_dir / "parley.crt",
    )
    try:
        deadline = time.monotonic() + 150
        state_file = run_dir / "cluster.json"
        while not state_file.exists():
            if process.poll() is not None:
                raise AssertionError(f"cluster exited with {process.returncode}:\n{tail(log)}")
            if time.monotonic() > deadline:
                raise AssertionError(f"cluster did not come up:\n{tail(log)}")
            time.sleep(0.2)
        running.state = json.loads(state_file.read_text())
        wait_for_port(gateway_port, 10)
        yield running
    finally:
        running.interrupt()
        shutil.rmtree(run_dir, ignore_errors=True)


def wait_http(
    url: str, timeout_s: float = 30, process: subprocess.Popen[bytes] | None = None
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise AssertionError(f"{url}: the server exited with {process.returncode}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(url, timeout=1).status_code < 500:
                return
        time.sleep(0.1)
    raise AssertionError(f"{url} did not answer within {timeout_s} s")
