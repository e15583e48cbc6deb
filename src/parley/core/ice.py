"""ICE servers for WebRTC clients, with time-limited TURN credentials.

TURN credentials follow the TURN REST API convention that coturn's ``use-auth-secret`` checks:
``username = "<expiry unix time>:<user id>"`` and ``credential = base64(HMAC-SHA1(secret,
username))``. Nothing is stored: the TURN server recomputes the HMAC with the shared secret and
refuses a username whose expiry has passed. Pure functions, so that meeting-service (join
response), signaling-service (``welcome``) and media-service (``/ice-servers``) give the same.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any

from parley.config import Settings


def turn_credentials(
    secret: str, user_id: str, ttl_s: int, now: float | None = None
) -> tuple[str, str]:
    """``(username, credential)`` valid for ``ttl_s`` seconds from ``now``."""
    expiry = int(now if now is not None else time.time()) + ttl_s
    username = f"{expiry}:{user_id}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


def ice_servers(settings: Settings, user_id: str, now: float | None = None) -> list[dict[str, Any]]:
    """What a client passes as ``RTCPeerConnection({iceServers})``: the static list from
    ``PARLEY_ICE_SERVERS``, then STUN URLs, then TURN URLs with fresh credentials."""
    servers: list[dict[str, Any]] = [dict(server) for server in settings.ice_servers]
    if settings.stun_urls:
        servers.append({"urls": list(settings.stun_urls)})
    if settings.turn_urls and settings.turn_secret is not None:
        username, credential = turn_credentials(
            settings.turn_secret.get_secret_value(),
            user_id,
            settings.turn_credential_ttl_s,
            now,
        )
        servers.append(
            {"urls": list(settings.turn_urls), "username": username, "credential": credential}
        )
    return servers


CHECK_USERNAME = "connection-check"
"""The username (and password) of every TURN server in :func:`check_servers`: not valid, so a
TURN server answers "401 Unauthorized" and allocates nothing."""


def check_servers(settings: Settings) -> list[dict[str, Any]]:
    """The same STUN and TURN addresses as :func:`ice_servers`, for anyone: the join page's
    connection check before joining (a guest has no credentials yet). TURN servers get a
    username no TURN server accepts, so they can be reached (the browser sees a 401 from them)
    but never relay anything; static credentials from ``PARLEY_ICE_SERVERS`` are not given out."""
    servers: list[dict[str, Any]] = []
    for server in [*settings.ice_servers, {"urls": list(settings.stun_urls)}]:
        urls = server.get("urls") or []
        for url in [urls] if isinstance(urls, str) else list(urls):
            if str(url).lower().startswith(("stun:", "stuns:")):
                servers.append({"urls": [url]})
            elif str(url).lower().startswith(("turn:", "turns:")):
                servers.append(
                    {"urls": [url], "username": CHECK_USERNAME, "credential": CHECK_USERNAME}
                )
    if settings.turn_urls:
        servers.append(
            {
                "urls": list(settings.turn_urls),
                "username": CHECK_USERNAME,
                "credential": CHECK_USERNAME,
            }
        )
    return servers
