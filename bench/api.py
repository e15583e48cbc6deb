"""Benchmark: GET /api/v1/users/me on `parley serve users`, one uvicorn worker, loopback.

The loader is wrk (C, another process). With two or more cores, the server is pinned to one core
and wrk to another (taskset), so that the figures measure one worker on one core rather than the
scheduler shuffling both across the two.
Runs on SQLite (embedded default) and on PostgreSQL + Redis (throwaway servers on ephemeral ports),
prints requests/s and p50/p99 latency for each run and the medians.

    python bench/api.py [--runs 3] [--duration 10] [--connections 8] [--backend sqlite|postgres]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import repeat, require_wrk, run_wrk, service
from tests.support.servers import postgres_server, redis_server

PASSWORD = "bench-password-42"


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
    with service("users", env) as base:
        headers = {"Authorization": f"Bearer {token_for(base)}"}
        url = f"{base}/api/v1/users/me"
        run_wrk(url, 2, args.connections, headers)  # warm-up
        return repeat(
            name, args.runs, lambda: run_wrk(url, args.duration, args.connections, headers)
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    args = parser.parse_args()
    require_wrk()
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
