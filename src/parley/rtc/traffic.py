"""How much this node's Janus forwards: the bitrate it sends to subscribers, from its admin API.

The VideoRoom API has no traffic figures; Janus's admin API does, per handle (``handle_info``:
bytes sent in the last second, per stream). Summing the subscriber handles of this node gives
what it forwards now — the figure capacity planning needs (``parley_sfu_forwarded_bitrate_bps``
and the node's registry record). One request per subscriber every few seconds; without the
admin API configured the figure is simply not reported.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from typing import Any

import httpx
import structlog

log = structlog.get_logger("parley.rtc")

TIMEOUT_S = 2.0


def sent_last_second(info: Any) -> int:
    """Bytes a handle sent in the last second: every stream's ``stats.out.bytes_lastsec`` in
    its info (``webrtc.media.<mid>.stats``, Janus 1.x)."""
    if isinstance(info, dict):
        total = 0
        for key, value in info.items():
            out = value.get("out") if key == "stats" and isinstance(value, dict) else None
            if isinstance(out, dict):
                total += int(out.get("bytes_lastsec", 0) or 0)
            else:
                total += sent_last_second(value)
        return total
    if isinstance(info, list):
        return sum(sent_last_second(item) for item in info)
    return 0


class Traffic:
    """Reads the forwarded bitrate of a set of handles from Janus's admin API."""

    def __init__(self, admin_url: str, admin_secret: str) -> None:
        self.admin_url = admin_url.rstrip("/")
        self.admin_secret = admin_secret
        self.http = httpx.AsyncClient(timeout=TIMEOUT_S)

    async def forwarded_bps(self, session_id: int, handles: Iterable[int]) -> float:
        """Bits per second sent to these handles (a handle gone meanwhile counts nothing)."""
        total = 0
        for handle in handles:
            body = {
                "janus": "handle_info",
                "transaction": secrets.token_hex(6),
                "admin_secret": self.admin_secret,
            }
            try:
                response = await self.http.post(
                    f"{self.admin_url}/{session_id}/{handle}", json=body
                )
                answer = response.json()
            except (httpx.HTTPError, ValueError) as exc:
                log.info("janus_admin_unreadable", error=str(exc))
                continue
            if answer.get("janus") == "success":
                total += sent_last_second(answer.get("info", {}))
        return total * 8.0

    async def close(self) -> None:
        await self.http.aclose()
