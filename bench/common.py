"""Shared by the benchmarks: wrk runs, pinned processes, a service on a free port."""

from __future__ import annotations

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
from tests.support.servers import free_port

JWT_SECRET = "b" * 48


def pinned(core: int) -> list[str]:
    """Server on one core, loader on the other: one worker measured on one core."""
    if shutil.which("taskset") and (os.cpu_count() or 1) >= 2:
        return ["taskset", "-c", str(core)]
    return []


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def run_wrk(
    url: str, duration: int, connections: int, headers: dict[str, str], script: str | None = None
) -> dict[str, float]:
    command = [
        *pinned(0),
        "wrk",
        "-t",
        "1",
        "-c",
        str(connections),
        "-d",
        f"{duration}s",
        "--latency",
    ]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    if script:
        command += ["-s", script]
    out = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise RuntimeError(f"{errors.group(1)} failed responses:\n{out}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    latency = {
        pct: _ms(value, unit)
        for pct, value, unit in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    }
    return {"rps": rps, "p50_ms": latency["50"], "p99_ms": latency["99"]}


def repeat(name: str, runs: int, measure) -> dict[str, float]:  # type: ignore[no-untyped-def]
    results = []
    for i in range(runs):
        result = measure()
        results.append(result)
        print(
            f"  {name} run {i + 1}: {result['rps']:8.0f} req/s  p50 {result['p50_ms']:.2f} ms"
            f"  p99 {result['p99_ms']:.2f} ms",
            flush=True,
        )
    median = {key: statistics.median(r[key] for r in results) for key in results[0]}
    print(
        f"{name} median of {runs}: {median['rps']:.0f} req/s  p50 {median['p50_ms']:.2f} ms"
        f"  p99 {median['p99_ms']:.2f} ms",
        flush=True,
    )
    return median


@contextlib.contextmanager
def service_process(
    name: str, env: dict[str, str], *, pin: bool = True
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``parley serve NAME`` (or ``parley up`` for NAME "up") on a free port, pinned to core 1
    unless ``pin`` is false; yields its base URL and the process (for its memory figures)."""
    port = free_port()
    data_dir = tempfile.mkdtemp(prefix="parley-bench-")
    command = ["up"] if name == "up" else ["serve", name]
    process = subprocess.Popen(
        [
            *(pinned(1) if pin else []),
            sys.executable,
            "-m",
            "parley",
            *command,
            "--port",
            str(port),
            "--data-dir",
            data_dir,
        ],
        env={**os.environ, "JWT_SECRET": JWT_SECRET, **env},
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
        else:
            raise RuntimeError(f"parley {' '.join(command)} did not start")
        yield base, process
    finally:
        process.terminate()
        process.wait(timeout=30)
        shutil.rmtree(data_dir, ignore_errors=True)


@contextlib.contextmanager
def service(name: str, env: dict[str, str], *, pin: bool = True) -> Iterator[str]:
    """Like :func:`service_process`, yielding only the base URL."""
    with service_process(name, env, pin=pin) as (base, _):
        yield base


def require_wrk() -> None:
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt-get install wrk")
