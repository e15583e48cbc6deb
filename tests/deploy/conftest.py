"""Fixtures for the deployment tests: the split cluster behind Debian's nginx (started once per
session on ephemeral ports, with the suite's PostgreSQL and Redis, and its own Janus where Janus
is installed). Helpers live in ``tests.support.deploy``."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.api import JWT_SECRET
from tests.support.deploy import DEPLOY, PARLEY, RunningCluster, clean_env, nginx_path, tail
from tests.support.janus import VETH, NotIsolated, ensure_veth, janus_config
from tests.support.servers import PostgresServer, RedisServer, free_port, wait_for_port


@pytest.fixture(scope="session")
def cluster(pg: PostgresServer, redis_srv: RedisServer) -> Iterator[RunningCluster]:
    """The split deployment: five services (two AI nodes) + nginx, started once per session;
    `cluster up` starts its own Janus too when the `janus` binary is installed."""
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
        REDIS_URL=redis_srv.fresh_url(),
        PARLEY_ENV="test",
        PARLEY_LOG_LEVEL="info",
        PARLEY_AI_DECODERS="1",
        PARLEY_AI_WORKERS="0",  # batch jobs run in the standalone `ai-worker` only
    )
    # The cluster's Janus (if installed): RTP ports of its own among the session's Janus
    # servers, ICE on the session namespace's veth (the way tests/rtc run theirs).
    env["PARLEY_JANUS_RTP_PORTS"] = janus_config(run_dir / "janus-ports").rtp_ports
    try:
        ensure_veth()
        env["PARLEY_JANUS_ICE_INTERFACES"] = VETH
    except NotIsolated:
        pass  # outside the session's namespace: Janus gathers on every interface
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
