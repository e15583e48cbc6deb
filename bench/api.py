"""Benchmark: GET /api/v1/users/me on `parley serve users`, one uvicorn worker, loopback.

The loader is wrk (C, another process). With two or more cores, the server is pinned to one core
and wrk to another (taskset), so that the figures measure one worker on one core rather than the
scheduler shuffling both across the two.
Runs on SQLite (embedded default) and on PostgreSQL + Redis (throwaway servers on ephemeral ports),
prints requests/s and p50/p99 latency for each run and the medians.

    python bench/api.py [--runs 3] [--duration 10] [--connections 16] [--backend sqlite|postgres]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.servers import free_port, postgres_server, redis_server

PASSWORD = "bench-password-42"


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def run_wrk(url: str, token: str, duration: int, connections: int) -> dict[str, float]:
    out = subprocess.run(
        [
            "wrk",
            "-t",
            "2",
            "-c",
            str(connections),
            "-d",
            f"{duration}s",
            "--latency",
            "-H",
            f"Authorization: Bearer {token}",
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    latency = {
        pct: _ms(value, unit)
        for pct, value, unit in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    }
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise RuntimeError(f"{errors.group(1)} failed responses:\n{out}")
    return {"rps": rps, "p50_ms": latency["50"], "p99_ms": latency["99"]}


@contextlib.contextmanager
def users_service(env: dict[str, str]) -> Iterator[str]:
    port = free_port()
    data_dir = tempfile.mkdtemp(prefix="parley-bench-")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "parley",
            "serve",
            "users",
            "--port",
            str(port),
            "--data-dir",
            data_dir,
        ],
        env={**os.environ, "JWT_SECRET": "b" * 48, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=20)
        shutil.rmtree(data_dir, ignore_errors=True)


def token_for(base: str) -> str:
    httpx.post(
        f"{base}/api/v1/auth/register",
        json={
            "username": "bench",
            "email": "bench@example.com",
            "password": PASSWORD,
            "display_name": "Bench",
        },
        timeout=10,
    ).raise_for_status()
    response = httpx.post(
        f"{base}/api/v1/auth/login", json={"username": "bench", "password": PASSWORD}, timeout=10
    )
    response.raise_for_status()
    return str(response.json()["access_token"])


def bench(name: str, env: dict[str, str], args: argparse.Namespace) -> dict[str, float]:
    with users_service(env) as base:
        token = token_for(base)
        url = f"{base}/api/v1/users/me"
        run_wrk(url, token, 2, args.connections)  # warm-up
        runs = []
        for i in range(args.runs):
            result = run_wrk(url, token, args.duration, args.connections)
            runs.append(result)
            print(
                f"  {name} run {i + 1}: {result['rps']:8.0f} req/s  "
                f"p50 {result['p50_ms']:.2f} ms  p99 {result['p99_ms']:.2f} ms",
                flush=True,
            )
    median = {key: statistics.median(r[key] for r in runs) for key in runs[0]}
    print(
        f"{name} median of {args.runs}: {median['rps']:.0f} req/s  p50 {median['p50_ms']:.2f} ms"
        f"  p99 {median['p99_ms']:.2f} ms",
        flush=True,
    )
    return median


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt-get install wrk")
    print(
        f"GET /api/v1/users/me, one uvicorn worker, wrk -c {args.connections}, "
        f"{args.duration} s x {args.runs} runs, {os.cpu_count()} cores"
    )
    if args.backend in ("sqlite", "both"):
        bench("sqlite", {}, args)
    if args.backend in ("postgres", "both"):
        with postgres_server() as pg, redis_server() as redis:
            pg.create_database("bench")
            bench("postgres", {"DATABASE_URL": pg.url("bench"), "REDIS_URL": redis.url(0)}, args)


if __name__ == "__main__":
    main()
