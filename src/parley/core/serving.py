"""How every Parley process runs under uvicorn: one set of options for the CLI and the tests."""

from __future__ import annotations

from typing import Any

from parley.config import Settings


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for ``uvicorn.run`` / ``uvicorn.Config`` (besides app, host, port)."""
    return {
        "log_config": None,
        "access_log": False,
        "proxy_headers": True,
        # Forwarded headers only from the configured gateways; without this uvicorn trusts
        # them from its own host only, and every client behind nginx looks like nginx.
        "forwarded_allow_ips": settings.forwarded_allow_ips,
        "server_header": False,
        # uvicorn's sans-I/O WebSocket implementation (pings on timers, no per-connection
        # tasks or locks) with the prepared-frame extension signaling's fan-out uses.
        "ws": "parley.core.wsprotocol:PreparedFrameWebSocketProtocol",
        # Signaling answers oversized frames (> 64 KiB) with an error frame, so the transport
        # limit sits above that; pings find dead connections.
        "ws_max_size": 1024 * 1024,
        # Signaling frames are small JSON: compressing each one again for every recipient
        # costs more CPU than it saves, and each deflate context holds ~64 KiB per connection.
        "ws_per_message_deflate": False,
        "ws_ping_interval": settings.signaling_ping_interval_s,
        "ws_ping_timeout": settings.signaling_ping_interval_s,
    }
