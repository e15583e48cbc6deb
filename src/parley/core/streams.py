"""Commands between services on a Redis stream, read as a consumer group.

Each entry is handled once by one consumer of the group, and entries written while the reader
was down wait for it. The stream is polled rather than read with BLOCK: the embedded store
(fakeredis) runs in the event loop, where a blocking read would stall everything else.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from parley.core.tasks import stopping

log = structlog.get_logger("parley.streams")
POLL_S = 0.1

Handler = Callable[[dict[str, Any]], Awaitable[None]]


async def consume(
    kv: Redis,
    stream: str,
    group: str,
    consumer: str,
    handle: Handler,
    expected: tuple[type[Exception], ...] = (),
) -> None:
    """Handle the stream's entries until cancelled. An ``expected`` error drops the entry with
    a log line (the command no longer applies); any other error is logged and reading
    resumes a second later (the entry stays pending)."""
    while True:
        try:
            try:
                await kv.xgroup_create(stream, group, id="0", mkstream=True)
            except ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise
            while True:
                batches: Any = await kv.xreadgroup(group, consumer, {stream: ">"}, count=50)
                if not batches:
                    await asyncio.sleep(POLL_S)
                for _, entries in batches or []:
                    for entry_id, fields in entries:
                        try:
                            await handle(fields)
                        except expected as exc:
                            log.info(
                                "stream_entry_skipped",
                                stream=stream,
                                fields=fields,
                                reason=str(exc),
                            )
                        await kv.xack(stream, group, entry_id)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("stream_consumer_failed", stream=stream)
            if stopping():
                raise asyncio.CancelledError from None
            await asyncio.sleep(1)
