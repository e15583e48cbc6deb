"""media-service's rtc API as signaling-service calls it (``/internal/rtc/...``).

In the all-in-one app the requests go in-process through the same ASGI app; when the services
run apart, ``PARLEY_SIGNALING_MEDIA_URL`` names media-service. Each request carries a
short-lived service token (audience ``RTC_AUDIENCE``). Every failure (no SFU, Janus refusing,
media-service down) is one :class:`RtcUnavailable`: the room then stays, or goes back to, peer
to peer.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import structlog
from starlette.types import ASGIApp

from parley.core.auth import TokenSigner
from parley.core.contracts import RTC_AUDIENCE

log = structlog.get_logger("parley.core.rtc")

TIMEOUT_S = 20.0
"""Negotiation with Janus takes well under a second; a join may create the room first."""
TOKEN_TTL_S = 300
_INTERNAL_BASE = "http://media.internal"


class RtcUnavailable(Exception):
    """The SFU could not do it; the message says why."""


class RtcClient:
    """One per signaling app: a pooled client and a service token renewed as it ages."""

    def __init__(self, app: ASGIApp, base_url: str | None, signer: TokenSigner) -> None:
        self.signer = signer
        if base_url:
            self.http = httpx.AsyncClient(base_url=base_url.rstrip("/"), timeout=TIMEOUT_S)
        else:
            self.http = httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url=_INTERNAL_BASE, timeout=TIMEOUT_S
            )
        self._token = ""
        self._token_until = 0.0

    def _auth(self) -> dict[str, str]:
        now = time.monotonic()
        if now >= self._token_until:
            self._token = self.signer.issue({"sub": "signaling"}, RTC_AUDIENCE, TOKEN_TTL_S)
            self._token_until = now + TOKEN_TTL_S / 2
        return {"Authorization": f"Bearer {self._token}"}

    async def call(self, method: str, path: str, json: Any = None) -> Any:
        """The JSON answer (``None`` for 204); :class:`RtcUnavailable` for anything else."""
        try:
            response = await self.http.request(
                method, f"/internal/rtc{path}", json=json, headers=self._auth()
            )
        except httpx.HTTPError as exc:
            raise RtcUnavailable(f"media-service unreachable: {type(exc).__name__}") from exc
        if response.status_code == 204:
            return None
        if response.status_code != 200:
            try:
                detail = response.json().get("detail", response.text)
            except ValueError:
                detail = response.text[:200]
            raise RtcUnavailable(f"{response.status_code}: {detail}")
        return response.json()

    async def close(self) -> None:
        await self.http.aclose()
