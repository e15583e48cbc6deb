"""Fixed-window counters in the key-value store, shared by every node."""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis


@dataclass(frozen=True, slots=True)
class Window:
    count: int
    retry_after_s: int


async def current(kv: Redis, key: str) -> Window:
    """How many hits the window holds now and how long until it empties."""
    async with kv.pipeline(transaction=False) as pipe:
        pipe.get(key)
        pipe.ttl(key)
        raw, ttl = await pipe.execute()
    return Window(int(raw or 0), max(int(ttl), 0))


async def hit(kv: Redis, key: str, window_s: int) -> Window:
    """Count one hit; the window starts at the first hit and lasts ``window_s``."""
    async with kv.pipeline(transaction=True) as pipe:
        pipe.incr(key)
        pipe.expire(key, window_s, nx=True)
        pipe.ttl(key)
        count, _, ttl = await pipe.execute()
    return Window(int(count), max(int(ttl), 0))


async def reset(kv: Redis, key: str) -> None:
    await kv.delete(key)
