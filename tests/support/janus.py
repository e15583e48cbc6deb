"""Real Janus servers for the tests, with ICE that works inside the session's namespace.

Janus never gathers ICE candidates on an interface flagged loopback, and the session's network
namespace (:mod:`tests.support.netns`) has nothing else. So the namespace gets a veth pair
``v0``/``v1`` with ``127.0.0.2/32`` on ``v0`` (not a loopback interface, yet an address nothing
outside can route to), and every test Janus gathers on ``v0`` only. Browsers and coturn then
reach it on 127.0.0.2 (see /work/shared/notes/janus-sfu.md).
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import secrets
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from parley.rtc.process import JanusConfig, JanusProcess, janus_binary
from tests.support import netns
from tests.support.servers import free_port

VETH = "v0"
VETH_PEER = "v1"
JANUS_ADDRESS = "127.0.0.2"  # where a test Janus's ICE candidates are
RTP_BASE = 20000
RTP_SPAN = 200  # ports per test Janus: instances of one session never share a range

_veth_lock = threading.Lock()
_instances = itertools.count()


class NotIsolated(RuntimeError):
    """The process is not in the test session's own network namespace: hands off the host's."""


def _interfaces() -> set[str]:
    return {name for _, name in socket.if_nameindex()}


def ensure_veth() -> None:
    """Give the session's namespace the veth pair with 127.0.0.2 (idempotent).

    Raises :class:`NotIsolated` unless this process is in the namespace the root conftest
    made: it never touches the machine's real network.
    """
    with _veth_lock:
        if netns.session_problem is not None:
            raise NotIsolated(f"no network namespace of the session's: {netns.session_problem}")
        names = _interfaces()
        if not names <= {"lo", VETH, VETH_PEER}:
            raise NotIsolated(f"not the session's namespace (interfaces: {sorted(names)})")
        if VETH in names:
            return
        ip = shutil.which("ip") or "/usr/sbin/ip"
        for command in (
            ["link", "add", VETH, "type", "veth", "peer", "name", VETH_PEER],
            ["addr", "add", f"{JANUS_ADDRESS}/32", "dev", VETH],
            ["link", "set", VETH_PEER, "up"],
            ["link", "set", VETH, "up"],
        ):
            subprocess.run([ip, *command], check=True, capture_output=True)
        for name in (VETH, VETH_PEER):
            # Per namespace: /proc/sys/net shows the namespace of whoever reads it.
            flag = Path(f"/proc/sys/net/ipv6/conf/{name}/disable_ipv6")
            if flag.exists():
                flag.write_text("1\n")


def require_janus() -> None:
    """Skip the test (saying why) where a test Janus cannot run: not installed, or no netns."""
    if janus_binary() is None:
        pytest.skip("janus is not installed (scripts/bootstrap.sh --test: apt janus janus-tools)")
    try:
        ensure_veth()
    except NotIsolated as exc:
        pytest.skip(f"a test Janus needs the session's network namespace: {exc}")


def janus_config(tmp: Path, **overrides: Any) -> JanusConfig:
    """A config on free ports, fresh secrets and a range of RTP ports of its own."""
    low = RTP_BASE + RTP_SPAN * next(_instances)
    if low + RTP_SPAN > 65536:
        raise RuntimeError("the session started too many Janus servers for their RTP ranges")
    cfg = JanusConfig(
        http_port=free_port(),
        admin_port=free_port(),
        api_secret=secrets.token_urlsafe(16),
        admin_secret=secrets.token_urlsafe(16),
        admin_key=secrets.token_urlsafe(16),
        rtp_ports=f"{low}-{low + RTP_SPAN - 1}",
        ice_interfaces=VETH,
        rec_dir=tmp / "recordings",
    )
    return dataclasses.replace(cfg, **overrides)


@contextlib.contextmanager
def janus_server(
    tmp: Path, name: str = "janus", *, supervise: bool = False, **overrides: Any
) -> Iterator[JanusProcess]:
    """A running Janus (config and log in ``tmp/name``), stopped on exit.

    ``proc.url`` / ``proc.admin_url`` and ``proc.cfg`` (secrets, admin_key, rec_dir) are what a
    client needs. ``supervise``: restarted when it dies (``proc.restarts`` counts).
    ``overrides``: :class:`JanusConfig` fields (``session_timeout=5``...).
    """
    if janus_binary() is None:
        raise RuntimeError("janus is not installed: run scripts/bootstrap.sh --test")
    ensure_veth()
    root = tmp / name
    proc = JanusProcess(janus_config(root, **overrides), root / "conf", log_path=root / "janus.log")
    proc.start()
    try:
        if supervise:
            proc.supervise()
        yield proc
    finally:
        proc.stop()


async def room_participants(conf_dir: Path, room: str) -> list[str]:
    """Who Janus (configured in ``conf_dir``, as ``parley up`` renders it) has in ``room``:
    the feed ids, i.e. Parley's participant ids. The server's own view, not a page's."""
    import re

    from parley.rtc.janus import JanusSession

    general = (conf_dir / "janus.jcfg").read_text()
    http = (conf_dir / "janus.transport.http.jcfg").read_text()
    secret = re.search(r'api_secret = "([^"]*)"', general)
    port = re.search(r"\bport = (\d+)", http)
    assert secret and port, "not a Janus configuration rendered by parley"
    session = JanusSession(f"http://127.0.0.1:{port.group(1)}/janus", secret.group(1))
    await session.create()
    try:
        handle = await session.attach()
        reply = await session.message(handle, {"request": "listparticipants", "room": room})
        return sorted(str(p["id"]) for p in reply.data.get("participants", []))
    finally:
        await session.destroy()
