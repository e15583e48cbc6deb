"""Helpers the deployment tests share (conftest.py files hold fixtures only): where the repository
and its deploy/ tree are, the tools a test needs (nginx, etcd, Prometheus), a clean environment
for a child process, the running split cluster's handle and nginx's location matching."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.servers import free_port, wait_for_port

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


@contextlib.contextmanager
def etcd_server(data: Path) -> Iterator[str]:
    """Debian's etcd on ephemeral loopback ports, its data in ``data``; yields its client URL."""
    client, peer = free_port(), free_port()
    process = subprocess.Popen(
        [
            shutil.which("etcd") or "etcd",
            "--name=parley-test",
            f"--data-dir={data / 'member'}",
            f"--listen-client-urls=http://127.0.0.1:{client}",
            f"--advertise-client-urls=http://127.0.0.1:{client}",
            f"--listen-peer-urls=http://127.0.0.1:{peer}",
            f"--initial-advertise-peer-urls=http://127.0.0.1:{peer}",
            f"--initial-cluster=parley-test=http://127.0.0.1:{peer}",
            "--log-level=warn",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(client, 30)
        wait_http(f"http://127.0.0.1:{client}/health", 30, process)
        yield f"http://127.0.0.1:{client}"
    finally:
        process.terminate()
        process.wait(20)


_LOCATION = re.compile(r"^location\s+(=|~|\^~)?\s*(\S+)\s*\{")
_PROXY = re.compile(r"proxy_pass\s+http://(\w+)")


def locations(conf: Path) -> list[tuple[str, str, str | None]]:
    """(modifier, pattern, upstream or None) for each location, in order."""
    found: list[tuple[str, str, str | None]] = []
    depth = 0
    current: list[object] | None = None
    for line in conf.read_text().splitlines():
        stripped = line.strip()
        match = _LOCATION.match(stripped) if depth == 0 else None
        if match:
            current = [match.group(1) or "", match.group(2), None]
        if current is not None:
            proxy = _PROXY.search(stripped)
            if proxy:
                current[2] = proxy.group(1)
        depth += stripped.count("{") - stripped.count("}")
        if depth == 0 and current is not None:
            found.append((str(current[0]), str(current[1]), current[2]))  # type: ignore[arg-type]
            current = None
    return found


def nginx_choice(table: list[tuple[str, str, str | None]], path: str) -> str | None:
    """nginx's rule: exact match; else the longest prefix, unless a regex (in order) matches."""
    for modifier, pattern, upstream in table:
        if modifier == "=" and pattern == path:
            return upstream
    prefixes = [(p, u, m) for m, p, u in table if m in ("", "^~") and path.startswith(p)]
    longest = max(prefixes, key=lambda item: len(item[0]), default=None)
    if longest is None or longest[2] != "^~":
        for modifier, pattern, upstream in table:
            if modifier == "~" and re.search(pattern, path):
                return upstream
    return longest[1] if longest else None
