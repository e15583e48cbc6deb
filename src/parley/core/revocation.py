"""Revoked access tokens, checked on every request without a round trip.

A revocation is written to the key-value store (``auth:deny:jti:<jti>`` or ``auth:deny:sid:<sid>``
with the remaining token lifetime as TTL, so new nodes and restarts see it) and published on the
bus; every node keeps the live set in memory. While the bus is not in step (just started, or its
connection dropped) checks go to the store instead, so a revocation is never missed.

The store may forget (the embedded one lives in memory): ``sessions`` then answers from the
database, which records every ended session (:mod:`parley.core.sessions`).
"""

from __future__ import annotations

import time

from redis.asyncio import Redis

from parley.core.bus import Bus
from parley.core.sessions import LoginSessions

CHANNEL = "parley:auth:revoked"
PREFIX = "auth:deny:"


def jti_key(jti: str) -> str:
    return f"{PREFIX}jti:{jti}"


def sid_key(sid: str) -> str:
    return f"{PREFIX}sid:{sid}"


class RevocationList:
    def __init__(self, kv: Redis, bus: Bus, sessions: LoginSessions | None = None) -> None:
        self._kv = kv
        self.sessions = sessions
        self._bus = bus
        self._denied: dict[str, float] = {}
        self._next_prune = 0.0
        bus.subscribe(CHANNEL, self._on_message, self._resync)

    async def deny(self, keys: dict[str, int]) -> None:
        """Deny each key for its TTL in seconds (tokens it covers expire by then)."""
        if not keys:
            return
        now = time.time()
        async with self._kv.pipeline(transaction=False) as pipe:
            for key, ttl in keys.items():
                ttl = max(int(ttl), 1)
                pipe.set(key, "1", ex=ttl)
                pipe.publish(CHANNEL, f"{key} {now + ttl}")
                self._denied[key] = now + ttl
            await pipe.execute()

    async def is_denied(self, jti: str, sid: str) -> bool:
        if not self._bus.in_step:
            return bool(await self._kv.exists(jti_key(jti), sid_key(sid)))
        now = time.time()
        if now >= self._next_prune:
            self._prune(now)
        for key in (jti_key(jti), sid_key(sid)):
            expires = self._denied.get(key)
            if expires is not None and expires > now:
                return True
        return False

    def _prune(self, now: float) -> None:
        self._denied = {k: exp for k, exp in self._denied.items() if exp > now}
        self._next_prune = now + 60

    def _on_message(self, data: str) -> None:
        key, _, expires = data.partition(" ")
        try:
            self._denied[key] = float(expires)
        except ValueError:
            return

    async def _resync(self) -> None:
        keys = [key async for key in self._kv.scan_iter(match=f"{PREFIX}*", count=1000)]
        if not keys:
            return
        async with self._kv.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.ttl(key)
            ttls = await pipe.execute()
        now = time.time()
        for key, ttl in zip(keys, ttls, strict=True):
            if ttl > 0:
                self._denied[key] = now + ttl
