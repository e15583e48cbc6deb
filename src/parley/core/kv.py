"""The key-value store: redis-py's asyncio client, one code path.

With ``REDIS_URL`` it talks to a real Redis; without, to fakeredis's in-process server, which
speaks the same commands, so services never branch on which one they have.
"""

from __future__ import annotations

from fastapi import Request
from redis.asyncio import Redis


def create_kv(redis_url: str | None) -> Redis:
    if redis_url:
        return Redis.from_url(redis_url, decode_responses=True)
    import fakeredis

    return fakeredis.FakeAsyncRedis(server=fakeredis.FakeServer(), decode_responses=True)


async def get_kv(request: Request) -> Redis:
    kv: Redis = request.app.state.kv
    return kv
