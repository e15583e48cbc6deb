"""uvicorn's WebSocket protocol, plus one ASGI extension (write a frame serialised once) and a
smaller footprint per connection.

Signaling fans one frame out to every peer of a room. Through plain ASGI each copy is a
``websocket.send`` message that the server frames again (and, to keep one slow reader from
stalling the room, each goes through the connection's own writer task): about 18 µs of CPU per
recipient, which caps one process near the target it was asked to meet. websockets' own server
solves this with ``broadcast()``: serialise the frame once and write the same bytes to every
socket that is open and not backed up. This class offers the same to the app, as an ASGI scope
extension (the mechanism ASGI has for server-specific features):

    scope["extensions"]["parley.websocket.prepared"] = {"write": write}

``write(wire: bytes) -> bool`` writes an unmasked server frame made with
``websockets.frames.Frame(...).serialize(mask=False)`` at once and returns True, or returns
False (writing nothing) when the socket is closing or its write buffer is above the high-water
mark; the app then sends that frame the ordinary way, which waits for the buffer to drain.
An app that does not look for the extension sees uvicorn's protocol unchanged.

Memory: a signaling connection sits idle for most of its life, so what each one holds counts.
uvicorn's protocol keeps the handshake's request and response (their headers) for the life of
the connection, an ``asyncio.Queue`` (four deques, ~3 KiB) for at most a message or two, and an
``asyncio.Event`` with its own deque: this class lets go of the handshake once it is answered
and uses ``ReceiveQueue`` and ``WritableFlag`` instead.

Keepalive: uvicorn stops reading a socket while the app has messages it has not taken yet
(flow control), and pings on timers. A pong then can wait, unread, behind messages the app is
still working through (live captions decoding audio sent faster than it can be decoded on a
busy machine), and uvicorn's verdict "no pong in time" would drop a live peer with 1011
mid-stream. :meth:`PreparedFrameWebSocketProtocol.keepalive_timeout` judges the peer only
for time the socket was being read and the event loop was running.

It is selected with uvicorn's ``ws`` setting (an import path is how uvicorn takes a protocol
class): see ``parley.core.serving``. It builds on uvicorn's sans-I/O implementation and reads
its state (``transport``, ``writable``, ``close_sent``, ``conn``); the uvicorn version is
pinned, and tests/signaling/test_signaling.py checks that the extension is used.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.http11 import Request
from websockets.protocol import State

if TYPE_CHECKING:
    from uvicorn._types import ASGISendEvent

PREPARED_FRAMES = "parley.websocket.prepared"
T = TypeVar("T")


class ReceiveQueue(Generic[T]):
    """The part of ``asyncio.Queue`` uvicorn's protocol uses (``put_nowait``, ``get``,
    ``empty``), unbounded, in two lists instead of four deques. It rarely holds more than one
    event: the protocol stops reading the socket while an event waits."""

    __slots__ = ("_getters", "_items")

    def __init__(self) -> None:
        self._items: list[T] = []
        self._getters: list[asyncio.Future[None]] = []

    def empty(self) -> bool:
        return not self._items

    def put_nowait(self, item: T) -> None:
        self._items.append(item)
        self._wake_one()

    def _wake_one(self) -> None:
        while self._getters:
            getter = self._getters.pop(0)
            if not getter.done():
                getter.set_result(None)
                return

    async def get(self) -> T:
        while not self._items:
            getter = asyncio.get_running_loop().create_future()
            self._getters.append(getter)
            try:
                await getter
            except BaseException:
                if getter in self._getters:
                    self._getters.remove(getter)
                elif self._items:
                    self._wake_one()  # it was woken for an item it will not take
                raise
        return self._items.pop(0)


class WritableFlag:
    """The part of ``asyncio.Event`` uvicorn's protocol uses for "the socket can take more"
    (``set``, ``clear``, ``is_set``, ``wait``), without a deque of waiters allocated up front:
    almost every connection never waits on it."""

    __slots__ = ("_value", "_waiters")

    def __init__(self) -> None:
        self._value = True
        self._waiters: list[asyncio.Future[None]] | None = None

    def is_set(self) -> bool:
        return self._value

    def set(self) -> None:
        self._value = True
        waiters, self._waiters = self._waiters, None
        for waiter in waiters or ():
            if not waiter.done():
                waiter.set_result(None)

    def clear(self) -> None:
        self._value = False

    async def wait(self) -> bool:
        if self._value:
            return True
        waiter = asyncio.get_running_loop().create_future()
        if self._waiters is None:
            self._waiters = []
        self._waiters.append(waiter)
        try:
            await waiter
        finally:
            if self._waiters is not None and waiter in self._waiters:
                self._waiters.remove(waiter)
        return True


STALL_S = 1.0
"""A pong timer that fires this much late says the event loop was blocked: the peer had less
time to answer than it was given."""


class PreparedFrameWebSocketProtocol(WebSocketsSansIOProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.queue = ReceiveQueue()  # type: ignore[assignment]
        self.writable = WritableFlag()  # type: ignore[assignment]
        self.pong_due: float | None = None  # when the pong timer is meant to fire

    async def send(self, message: ASGISendEvent) -> None:
        await super().send(message)
        if message["type"] == "websocket.accept":
            # The handshake is answered: its request and response are not read again.
            self.request = None  # type: ignore[assignment]
            self.response = None  # type: ignore[assignment]

    def handle_connect(self, event: Request) -> None:
        super().handle_connect(event)
        scope: dict[str, Any] | None = getattr(self, "scope", None)  # absent when refused
        if scope is not None:
            scope["extensions"][PREPARED_FRAMES] = {"write": self.write_prepared}

    def keepalive_timeout(self) -> None:
        """No pong within ``ping_timeout``: close with 1011, unless the missing pong is ours.

        While reading is paused (the app has not taken the messages before it) the pong may
        be in the socket, unread; and a timer that fires well after its time means the loop
        itself was blocked. Either way the peer gets another ``ping_timeout`` counted from
        now; once we read again and the loop runs, a dead peer still times out."""
        timeout = self.ping_timeout
        due, self.pong_due = self.pong_due, None
        if timeout is not None and not (self.close_sent or self.transport.is_closing()):
            now = self.loop.time()
            late = now - (due if due is not None else self.ping_sent_at + timeout)
            if self.read_paused or late > STALL_S:
                self.pong_due = now + timeout
                self.pong_timer = self.loop.call_later(timeout, self.keepalive_timeout)
                return
        super().keepalive_timeout()

    def send_keepalive_ping(self) -> None:
        self.pong_due = None  # a new ping: its timer is uvicorn's, due ping_timeout from now
        super().send_keepalive_ping()

    def write_prepared(self, wire: bytes) -> bool:
        """Write a serialised server frame now; False when the socket cannot take it now."""
        if (
            not self.handshake_complete
            or self.close_sent
            or self.disconnected
            or self.conn.state is not State.OPEN
            or not self.writable.is_set()
            or self.transport.is_closing()
        ):
            return False
        self.transport.write(wire)
        return True
