"""Run the whole test session in a network namespace of its own, with only loopback.

Every server the suite starts (PostgreSQL, Redis, Parley, Chromium, coturn, Triton...) is a child
of this process and so lives in the same namespace. Nothing a test does can then reach another
machine, and WebRTC stacks that skip the loopback interface cannot wander onto the machine's real
addresses: the only interface there is ``lo``.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import sys

CLONE_NEWNET = 0x40000000


def isolated() -> bool:
    """Whether this process already sees no interface but loopback."""
    try:
        names = [name for _, name in __import__("socket").if_nameindex()]
    except OSError:
        return False
    return names == ["lo"]


def isolate() -> str | None:
    """Move this process into a fresh network namespace with ``lo`` up.

    Returns None on success, else why it could not be done (not Linux, not root, no `ip`).
    Must run before any thread or server is started: a namespace is per task, and only the
    tasks created after the switch follow it.
    """
    if isolated():
        return None
    if not sys.platform.startswith("linux"):
        return "network namespaces need Linux"
    if os.geteuid() != 0:
        return "making a network namespace needs root"
    ip = shutil.which("ip") or "/usr/sbin/ip"
    if not os.path.exists(ip):
        return "the `ip` command (iproute2) is missing"
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNET) != 0:
        return f"unshare(CLONE_NEWNET) failed: {os.strerror(ctypes.get_errno())}"
    subprocess.run([ip, "link", "set", "lo", "up"], check=True)
    return None


session_problem: str | None = None
"""Why this test session could not be isolated (set by the root conftest), or None if it is."""
