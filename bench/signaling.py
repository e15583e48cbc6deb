"""Benchmark: the signaling WebSocket (`parley serve signaling`, one process), clients in another.

- fan-out: a room of 50 clients taking turns to chat, at increasing total rates; every client
  measures end-to-end latency (send → receive, same clock). Prints delivered messages/s, p50/p99,
  and the server's CPU time per delivered message (from /proc), which says how many deliveries
  one core of this machine sustains when the load generator is not competing for it.
  The same harness against a bare broadcast WebSocket endpoint on the same stack (Starlette on
  uvicorn) gives the ceiling; our figure is quoted as a fraction of it.
- relay: offer → target latency p50/p99, one node, and two nodes through Redis.
- idle: N connected clients (rooms of 10) held by one process; server memory (RSS) per connection.

Every figure is the median of ``--runs`` runs.

    python bench/signaling.py [--rates 100,240,400] [--seconds 5] [--idle 5000] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import jwt
from websockets.asyncio.client import connect

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import JWT_SECRET, pinned, service, service_process
from tests.support.servers import free_port, redis_server

ROOM = 50

BARE_APP = """
import asyncio, json
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
clients = set()
async def endpoint(ws):
    await ws.accept()
    clients.add(ws)
    try:
        while True:
            text = await ws.receive_text()
            for c in list(clients):
                await c.send_text(text)
    except Exception:
        pass
    finally:
        clients.discard(ws)
app = Starlette(routes=[WebSocketRoute("/ws/signaling", endpoint)])
"""


def ticket(meeting: str, name: str, role: str = "participant") -> str:
    now = int(time.time())
    claims = {
        "sub": str(uuid.uuid4()),
        "mid": meeting,
        "uid": None,
        "role": role,
        "name": name,
        "status": "joined",
        "settings": {},
        "aud": "signaling",
        "iat": now,
        "exp": now + 3600,
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, JWT_SECRET, algorithm="HS256")


def bare(port: int) -> subprocess.Popen[bytes]:
    script = Path(tempfile.mkdtemp()) / "bare.py"
    script.write_text(BARE_APP + "\nasync def health(r):\n    pass\n")
    process = subprocess.Popen(
        [
            *pinned(1),
            sys.executable,
            "-m",
            "uvicorn",
            "--app-dir",
            str(script.parent),
            "bare:app",
            "--port",
            str(port),
            "--log-level",
            "warning",
            # The same transport settings as Parley's (cli._serve): no per-message deflate.
            "--ws",
            "websockets-sansio",
            "--ws-per-message-deflate",
            "False",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1.5)
    return process


async def fanout(
    url: str, rate: int, seconds: float, parley_mode: bool, pid: int
) -> dict[str, float]:
    meeting = str(uuid.uuid4())
    clients = []
    for i in range(ROOM):
        target = f"{url}?token={ticket(meeting, f'c{i}')}" if parley_mode else url
        clients.append(await connect(target, max_size=2**20))
    if parley_mode:
        for ws in clients:
            while json.loads(await ws.recv())["type"] != "welcome":
                pass
    latencies: list[float] = []
    received = 0

    async def reader(ws) -> None:  # type: ignore[no-untyped-def]
        nonlocal received
        async for raw in ws:
            frame = json.loads(raw)
            text = frame.get("text") if parley_mode else frame.get("t")
            if text and text.startswith("bench:"):
                latencies.append((time.perf_counter() - float(text[6:])) * 1000)
                received += 1

    readers = [asyncio.create_task(reader(ws)) for ws in clients]
    await asyncio.sleep(0.5)
    received = 0
    latencies.clear()
    cpu_before = cpu_s(pid)
    started = time.perf_counter()
    sent = 0
    while time.perf_counter() - started < seconds:
        stamp = f"bench:{time.perf_counter()}"
        frame = {"type": "chat", "text": stamp} if parley_mode else {"t": stamp}
        # Senders take turns: each stays under the per-connection limit (50 frames/s).
        await clients[sent % ROOM].send(json.dumps(frame))
        sent += 1
        await asyncio.sleep(max(0.0, started + sent / rate - time.perf_counter()))
    await asyncio.sleep(1.0)
    elapsed = time.perf_counter() - started
    cpu_used = cpu_s(pid) - cpu_before
    for task in readers:
        task.cancel()
    for ws in clients:
        await ws.close()
    ordered = sorted(latencies) or [float("nan")]
    return {
        "sent_per_s": sent / seconds,
        "delivered_per_s": received / elapsed,
        "p50_ms": ordered[len(ordered) // 2],
        "p99_ms": ordered[int(len(ordered) * 0.99)],
        "expected": sent * ROOM,
        "received": received,
        "cpu_us_per_delivery": cpu_used / max(received, 1) * 1e6,
    }


async def relay(url_a: str, url_b: str, samples: int = 200) -> dict[str, float]:
    meeting = str(uuid.uuid4())
    a = await connect(f"{url_a}?token={ticket(meeting, 'a')}")
    welcome_a = json.loads(await a.recv())
    b = await connect(f"{url_b}?token={ticket(meeting, 'b')}")
    welcome_b = json.loads(await b.recv())
    target = welcome_b["self"]["id"]
    del welcome_a
    latencies = []
    for _ in range(samples):
        started = time.perf_counter()
        await a.send(json.dumps({"type": "offer", "to": target, "sdp": {"sdp": "v=0"}}))
        while json.loads(await asyncio.wait_for(b.recv(), 5))["type"] != "offer":
            pass
        latencies.append((time.perf_counter() - started) * 1000)
        await asyncio.sleep(0.025)  # under the per-connection limit of 50 frames/s
    await a.close()
    await b.close()
    ordered = sorted(latencies)
    return {"p50_ms": statistics.median(ordered), "p99_ms": ordered[int(len(ordered) * 0.99)]}


def cpu_s(pid: int) -> float:
    """User + system CPU seconds the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def idle(url: str, pid: int, count: int, parley_mode: bool = True) -> dict[str, float]:
    def address(room: str, name: str, role: str = "participant") -> str:
        return f"{url}?token={ticket(room, name, role)}" if parley_mode else url

    meeting = str(uuid.uuid4())
    host = await connect(address(meeting, "h", "host"))
    if parley_mode:
        await host.recv()
    await asyncio.sleep(1)
    before = rss_kib(pid)
    clients = []
    room = meeting
    for i in range(count):
        if i % 10 == 0:  # rooms of ten
            room = str(uuid.uuid4())
        ws = await connect(address(room, f"i{i}"), max_queue=1)
        clients.append(ws)
    await asyncio.sleep(2)
    after = rss_kib(pid)
    for ws in clients:
        await ws.close()
    await host.close()
    return {
        "connections": count,
        "rss_before_mib": before / 1024,
        "rss_after_mib": after / 1024,
        "kib_per_connection": (after - before) / count,
    }


def ws_url(base: str) -> str:
    return base.replace("http://", "ws://", 1) + "/ws/signaling"


def median_of(runs: list[dict[str, float]]) -> dict[str, float]:
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


def fanout_line(label: str, rate: int, r: dict[str, float]) -> str:
    per_core = 1e6 / r["cpu_us_per_delivery"]
    return (
        f"fan-out {label:6s} {rate:4d} msg/s x {ROOM}: delivered {r['delivered_per_s']:8.0f}/s"
        f"  p50 {r['p50_ms']:.2f} ms  p99 {r['p99_ms']:.2f} ms"
        f"  server CPU {r['cpu_us_per_delivery']:.1f} µs/delivery (one core: {per_core:,.0f}/s)"
        f"  ({r['received']:.0f}/{r['expected']:.0f})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rates", default="100,240,400")
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--idle", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    rates = [int(r) for r in args.rates.split(",")]
    runs = range(args.runs)
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) >= 2:
        os.sched_setaffinity(0, {0})  # the clients on core 0, each server on core 1
    ours: dict[int, dict[str, float]] = {}
    with redis_server() as redis:
        env = {"REDIS_URL": redis.url(0), "PARLEY_LOG_LEVEL": "warning"}
        with service_process("signaling", env) as (base, server):
            url = ws_url(base)
            for rate in rates:
                ours[rate] = median_of(
                    [asyncio.run(fanout(url, rate, args.seconds, True, server.pid)) for _ in runs]
                )
                print(fanout_line("parley", rate, ours[rate]), flush=True)
            r = median_of([asyncio.run(relay(url, url)) for _ in runs])
            print(f"relay one node: p50 {r['p50_ms']:.2f} ms  p99 {r['p99_ms']:.2f} ms", flush=True)
            with service("signaling", env) as second:
                r = median_of([asyncio.run(relay(url, ws_url(second))) for _ in runs])
            print(
                f"relay two nodes (Redis): p50 {r['p50_ms']:.2f} ms  p99 {r['p99_ms']:.2f} ms",
                flush=True,
            )
        # Memory on a fresh process each run: one that has served the fan-out has freed memory
        # that new connections would reuse without growing, flattering the figure.
        figures = []
        for _ in runs:
            with service_process("signaling", env) as (base, server):
                figures.append(asyncio.run(idle(ws_url(base), server.pid, args.idle)))
        r = median_of(figures)
        print(
            f"idle: {r['connections']:.0f} connections, RSS {r['rss_before_mib']:.1f} → "
            f"{r['rss_after_mib']:.1f} MiB, {r['kib_per_connection']:.1f} KiB each",
            flush=True,
        )
    figures = []
    for _ in runs:
        port = free_port()
        ceiling = bare(port)
        try:
            url = f"ws://127.0.0.1:{port}/ws/signaling"
            figures.append(asyncio.run(idle(url, ceiling.pid, args.idle, False)))
        finally:
            ceiling.terminate()
            ceiling.wait(timeout=20)
    print(f"idle bare: {median_of(figures)['kib_per_connection']:.1f} KiB each", flush=True)
    port = free_port()
    ceiling = bare(port)
    try:
        for rate in rates:
            url = f"ws://127.0.0.1:{port}/ws/signaling"
            r = median_of(
                [asyncio.run(fanout(url, rate, args.seconds, False, ceiling.pid)) for _ in runs]
            )
            print(fanout_line("bare", rate, r), flush=True)
            delivered = ours[rate]["delivered_per_s"] / r["delivered_per_s"]
            efficiency = r["cpu_us_per_delivery"] / ours[rate]["cpu_us_per_delivery"]
            print(
                f"  parley/bare: delivered {delivered:.0%}, deliveries per CPU second "
                f"{efficiency:.0%} of the ceiling's",
                flush=True,
            )
    finally:
        ceiling.terminate()


if __name__ == "__main__":
    main()
