"""Benchmark: what the nginx gateway of the split deployment costs.

Starts `parley cluster up` (PostgreSQL + Redis on ephemeral ports, every service its own
process, Debian's nginx in front) and measures with wrk: ``GET /api/v1/meetings`` on
meeting-service directly and through the gateway, and a static file of the web client served by
nginx. Prints requests/s and p50/p99 for each run and the medians.

    python bench/gateway.py [--runs 3] [--duration 5] [--connections 8]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import JWT_SECRET, repeat, require_wrk, run_wrk
from tests.support.servers import free_port, postgres_server, redis_server

PASSWORD = "bench-password-42"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args()
    require_wrk()
    with postgres_server() as pg, redis_server() as redis:
        run_dir = Path(tempfile.mkdtemp(prefix="parley-bench-cluster-"))
        run_dir.chmod(0o755)
        ports = {name: free_port() for name in ("users", "signaling", "meetings", "media", "ai")}
        gateway_port = free_port()
        command = [sys.executable, "-m", "parley", "cluster", "up", "--no-ai-worker"]
        command += ["--gateway-port", str(gateway_port), "--run-dir", str(run_dir)]
        command += ["--data-dir", str(run_dir / "data")]
        for name, port in ports.items():
            command += ["--service-port", f"{name}={port}"]
        env = {
            **os.environ,
            "JWT_SECRET": JWT_SECRET,
            "DATABASE_URL": pg.create_database("parley_bench_gateway"),
            "REDIS_URL": redis.url(3),
            "PARLEY_LOG_LEVEL": "warning",
        }
        cluster = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            for _ in range(1200):
                if (run_dir / "cluster.json").exists():
                    break
                if cluster.poll() is not None:
                    raise RuntimeError("parley cluster up exited")
                time.sleep(0.1)
            print(json.loads((run_dir / "cluster.json").read_text())["gateway"], flush=True)
            gateway = f"http://127.0.0.1:{gateway_port}"
            body = {
                "username": "bench",
                "email": "bench@example.com",
                "password": PASSWORD,
                "display_name": "Bench",
            }
            httpx.post(f"{gateway}/api/v1/auth/register", json=body, timeout=30)
            login = httpx.post(
                f"{gateway}/api/v1/auth/login",
                json={"username": "bench", "password": PASSWORD},
                timeout=30,
            )
            login.raise_for_status()
            auth = {"Authorization": f"Bearer {login.json()['access_token']}"}
            for _ in range(5):
                httpx.post(f"{gateway}/api/v1/meetings", json={"title": "B"}, headers=auth)
            direct = f"http://127.0.0.1:{ports['meetings']}/api/v1/meetings"
            d, c = args.duration, args.connections
            repeat("meetings direct ", args.runs, lambda: run_wrk(direct, d, c, auth))
            through = f"{gateway}/api/v1/meetings"
            repeat("meetings gateway", args.runs, lambda: run_wrk(through, d, c, auth))
            static = f"{gateway}/static/js/main.js"
            repeat("static file     ", args.runs, lambda: run_wrk(static, d, c, {}))
        finally:
            cluster.send_signal(signal.SIGINT)
            cluster.wait(60)
            shutil.rmtree(run_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
