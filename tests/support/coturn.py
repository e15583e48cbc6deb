"""A real coturn (Debian ``coturn``) for the tests: TURN REST credentials (``use-auth-secret``),
UDP and TCP on one loopback port, no TLS, relay ports 49160-49200, loopback peers allowed."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

TURN_SECRET = "turn-test-secret-" + "z" * 20


class CoturnMissing(RuntimeError):
    """``turnserver`` is not installed."""


@dataclass
class Coturn:
    host: str
    port: int
    secret: str

    @property
    def url(self) -> str:
        return f"turn:{self.host}:{self.port}?transport=udp"


def _udp_port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = "127.0.0.1") -> int:
    """A port free for both TCP and UDP on ``host`` (coturn listens on both)."""
    while True:
        with socket.socket() as sock:
            sock.bind((host, 0))
            port = int(sock.getsockname()[1])
        if _udp_port_free(host, port):
            return port


@contextlib.contextmanager
def coturn(tmp: Path, host: str = "127.0.0.1", secret: str = TURN_SECRET) -> Iterator[Coturn]:
    """coturn listening on ``host`` (logs in ``tmp``) until the block ends."""
    binary = shutil.which("turnserver") or "/usr/bin/turnserver"
    if not Path(binary).exists():
        raise CoturnMissing("coturn is not installed (scripts/bootstrap.sh --test installs it)")
    port = free_port(host)
    process = subprocess.Popen(
        [
            binary,
            "-n",
            f"--listening-ip={host}",
            f"--relay-ip={host}",
            f"--listening-port={port}",
            "--use-auth-secret",
            f"--static-auth-secret={secret}",
            "--realm=parley.test",
            "--fingerprint",
            "--no-tls",
            "--no-dtls",
            "--no-cli",
            "--allow-loopback-peers",
            "--min-port=49160",
            "--max-port=49200",
            f"--userdb={tmp / 'turndb'}",
            f"--log-file={tmp / 'turn.log'}",
            "--simple-log",
            f"--pidfile={tmp / 'turnserver.pid'}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 15
        while _udp_port_free(host, port):  # coturn binds its UDP port once it is ready
            if process.poll() is not None or time.monotonic() > deadline:
                log = (tmp / "turn.log").read_text() if (tmp / "turn.log").exists() else ""
                raise RuntimeError(f"turnserver did not start: {log[-2000:]}")
            time.sleep(0.05)
        yield Coturn(host, port, secret)
    finally:
        process.terminate()
        process.wait(10)
