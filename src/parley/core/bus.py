"""A process's subscription to the key-value store's pub/sub: in-memory state kept in step
across nodes.

Nodes keep hot, rarely-changing state in memory (revoked tokens, later room fan-out) and learn
of changes through Redis pub/sub. Pub/sub drops messages while a connection is down, so the bus
says whether it is *in step*: subscribed, with every subscriber re-synchronised from the store
since the last (re)connect. Readers fall back to asking the store while it is not.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import structlog
from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

from parley.core.tasks import stopping

Handler = Callable[[str], None]
Resync = Callable[[], Awaitable[None]]

log = structlog.get_logger("parley.bus")
LISTEN_S = 0.25
"""How long the listener waits for a message before it looks for channels added meanwhile."""


@dataclass
class _Subscription:
    handler: Handler
    resync: Resync | None


class Bus:
    RETRY_S = 0.5

    def __init__(self, kv: Redis) -> None:
        self._kv = kv
        # Several parts of one process may follow the same channel (in the all-in-one process,
        # every service that cares about an account going away): each gets every message.
        self._subscriptions: dict[str, list[_Subscription]] = {}
        self._in_step = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._pubsub: PubSub | None = None
        self._has_subscriptions = asyncio.Event()
        self._late: set[str] = set()
        """Channels added while running, for the listener to subscribe to."""

    @property
    def in_step(self) -> bool:
        return self._in_step.is_set()

    def subscribe(self, channel: str, handler: Handler, resync: Resync | None = None) -> None:
        """Register before :meth:`start`; ``resync`` reloads what messages may have been missed."""
        self._subscriptions.setdefault(channel, []).append(_Subscription(handler, resync))
        self._has_subscriptions.set()

    async def add_subscription(
        self, channel: str, handler: Handler, resync: Resync | None = None
    ) -> None:
        """Subscribe while running (services that set up after start-up). The listener
        subscribes to the channel itself, within ``LISTEN_S``: a connection's pub/sub is one
        task's to use (a second task subscribing while it reads can wait for ever)."""
        self.subscribe(channel, handler, resync)
        self._late.add(channel)

    async def publish(self, channel: str, message: str) -> None:
        await self._kv.publish(channel, message)

    async def start(self, wait_s: float = 2.0) -> None:
        self._task = asyncio.create_task(self._run(), name="parley-bus")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._in_step.wait(), wait_s)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            done, _ = await asyncio.wait([self._task], timeout=5)
            if not done:
                log.warning("bus_did_not_stop")

    async def _run(self) -> None:
        while True:
            try:
                await self._listen()
            except (RedisError, OSError) as exc:
                if stopping():  # a cancellation the client library turned into its own error
                    raise asyncio.CancelledError from None
                log.warning("bus_disconnected", error=str(exc))
            finally:
                self._in_step.clear()
            await asyncio.sleep(self.RETRY_S)

    async def _listen(self) -> None:
        pubsub = self._kv.pubsub()
        self._pubsub = pubsub
        try:
            if not self._subscriptions:
                # Nothing to listen to yet: idle until a late subscription arrives.
                self._in_step.set()
                await self._has_subscriptions.wait()
            self._late.clear()
            await pubsub.subscribe(*self._subscriptions)
            while True:
                if self._late:
                    late, self._late = list(self._late), set()
                    await pubsub.subscribe(*late)
                message = await pubsub.get_message(timeout=LISTEN_S)
                if message is None:
                    continue
                if message["type"] == "subscribe":
                    # Our first subscription, or redis-py's silent re-subscription after a
                    # reconnect: either way messages may have been missed, so reload. Being
                    # subscribed before reloading means a change made meanwhile is seen.
                    self._in_step.clear()
                    for subscriptions in self._subscriptions.values():
                        for each in subscriptions:
                            if each.resync is not None:
                                await each.resync()
                    self._in_step.set()
                    continue
                if message["type"] != "message":
                    continue
                for subscription in self._subscriptions.get(message["channel"], ()):
                    subscription.handler(message["data"])
        finally:
            self._pubsub = None
            with contextlib.suppress(Exception):
                # redis-py leaves ``aclose`` unannotated; called through a typed name.
                close: Callable[[], Awaitable[None]] = pubsub.aclose
                await close()
