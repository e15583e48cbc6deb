"""Commands between services on a Redis stream, read as a consumer group.

Each entry is handled once by one consumer of the group, and entries written while the reader
was down wait for it. The stream is polled rather than read with BLOCK: the embedded store
(fakeredis) runs in the event loop, where a blocking read would stall everything else.

An entry stays pending (delivered, not acknowledged) until it is handled: when handling fails,
or the process stops between reading and acknowledging, only re-reading this consumer's
pending entries (``XREADGROUP`` from id ``0``) delivers it again, since a plain read (``>``)
gives new entries only. So the pending entries are read first at start, again after every
failure and every :data:`PENDING_EVERY_S`; an entry that keeps failing is given up after
:data:`MAX_ATTEMPTS` (logged with its fields, then acknowledged) so that it cannot block the
stream for ever. Entries are handled in stream order: after a failure nothing newer is read
until the pending ones are through.
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
BATCH = 50
RETRY_S = 1.0
"""The pause after a failure, before the pending entries are read again."""
PENDING_EVERY_S = 30.0
"""How often the pending entries are read again even without a failure seen here (an
acknowledgement lost to a Redis hiccup, say)."""
MAX_ATTEMPTS = 5
"""Attempts at one entry (per process) before it is logged and dropped."""

Handler = Callable[[dict[str, Any]], Awaitable[None]]


async def _ensure_group(kv: Redis, stream: str, group: str) -> None:
    try:
        await kv.xgroup_create(stream, group, id="0", mkstream=True)
    except ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


async def consume(
    kv: Redis,
    stream: str,
    group: str,
    consumer: str,
    handle: Handler,
    expected: tuple[type[Exception], ...] = (),
) -> None:
    """Handle the stream's entries until cancelled. An ``expected`` error drops the entry with
    a log line (the command no longer applies); any other error is logged and the entry is
    tried again a second later, up to :data:`MAX_ATTEMPTS` times."""
    loop = asyncio.get_running_loop()
    attempts: dict[str, int] = {}
    pending = True  # at start: what this consumer left unacknowledged last time
    last_pending_read = loop.time()
    while True:
        try:
            await _ensure_group(kv, stream, group)
            while True:
                if stopping():  # a client library swallowed the cancellation
                    raise asyncio.CancelledError
                if loop.time() - last_pending_read >= PENDING_EVERY_S:
                    pending = True
                start = "0" if pending else ">"
                batches: Any = await kv.xreadgroup(group, consumer, {stream: start}, count=BATCH)
                entries = [entry for _, found in batches or [] for entry in found]
                if pending:
                    last_pending_read = loop.time()
                    if not entries:
                        pending = False
                        continue
                elif not entries:
                    await asyncio.sleep(POLL_S)
                    continue
                for entry_id, fields in entries:
                    if not await _handle_one(
                        kv, stream, group, entry_id, fields, handle, expected, attempts
                    ):
                        pending = True
                        await asyncio.sleep(RETRY_S)
                        break
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("stream_consumer_failed", stream=stream)
            if stopping():
                raise asyncio.CancelledError from None
            pending = True
            await asyncio.sleep(RETRY_S)


async def _handle_one(
    kv: Redis,
    stream: str,
    group: str,
    entry_id: Any,
    fields: dict[str, Any] | None,
    handle: Handler,
    expected: tuple[type[Exception], ...],
    attempts: dict[str, int],
) -> bool:
    """Handle one entry and acknowledge it; ``False`` when it failed and stays pending."""
    key = entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)
    if fields:  # a pending entry deleted from the stream meanwhile comes back without fields
        try:
            await handle(fields)
        except expected as exc:
            log.info("stream_entry_skipped", stream=stream, fields=fields, reason=str(exc))
        except asyncio.CancelledError:
            raise
        except Exception:
            tries = attempts[key] = attempts.get(key, 0) + 1
            if tries < MAX_ATTEMPTS:
                log.exception("stream_entry_failed", stream=stream, entry=key, attempt=tries)
                return False
            log.exception(
                "stream_entry_dropped", stream=stream, entry=key, attempts=tries, fields=fields
            )
    attempts.pop(key, None)
    await kv.xack(stream, group, entry_id)
    return True
