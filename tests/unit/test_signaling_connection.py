"""A signaling connection's send path: in order, no task while idle, slow readers dropped,
prepared frames written at once when the server offers it.

The WebSocket here is a stand-in that records frames (or never finishes writing, like a client
that stopped reading); the real socket path is covered by tests/signaling/test_signaling.py.
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

from starlette.websockets import WebSocket

from parley.core.wsprotocol import PREPARED_FRAMES
from parley.signaling.hub import SEND_QUEUE, Connection, Outgoing


class RecordingSocket:
    def __init__(self, stalled: bool = False) -> None:
        self.scope: dict[str, Any] = {"type": "websocket", "extensions": {}}
        self.sent: list[str] = []
        self.closed_with: tuple[int, str] | None = None
        self.stalled = asyncio.Event() if stalled else None

    async def send_text(self, text: str) -> None:
        if self.stalled is not None:
            await self.stalled.wait()  # the client's buffer is full and stays full
        self.sent.append(text)

    async def close(self, code: int, reason: str) -> None:
        self.closed_with = (code, reason)


def connection(socket: RecordingSocket) -> Connection:
    return Connection(cast(WebSocket, socket), "meeting", "peer")


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_frames_are_written_in_the_order_they_were_sent() -> None:
    socket = RecordingSocket()
    conn = connection(socket)
    for i in range(5):
        conn.send({"type": "chat", "n": i})
    await settle()
    assert socket.sent == [f'{{"type": "chat", "n": {i}}}' for i in range(5)]


async def test_an_idle_connection_holds_no_writer_task_or_backlog() -> None:
    conn = connection(RecordingSocket())
    conn.send("one")
    assert conn.writer is not None
    await settle()
    assert conn.writer is None
    assert conn.backlog is None


async def test_close_sends_what_was_queued_first_then_nothing_more() -> None:
    socket = RecordingSocket()
    conn = connection(socket)
    conn.send("last words")
    conn.close(4403, "removed")
    conn.send("too late")
    await settle()
    assert socket.sent == ["last words"]
    assert socket.closed_with == (4403, "removed")


async def test_a_client_that_stops_reading_is_dropped_without_holding_up_others() -> None:
    slow_socket, quick_socket = RecordingSocket(stalled=True), RecordingSocket()
    slow, quick = connection(slow_socket), connection(quick_socket)
    frames: list[Any] = [f"frame {i}" for i in range(SEND_QUEUE + 10)]
    for frame in frames:  # one fan-out per loop turn, as inbound frames arrive
        slow.send(frame)
        quick.send(frame)
        await asyncio.sleep(0)
    await settle()
    assert quick_socket.sent == frames
    assert slow.closed
    assert slow_socket.sent == []
    slow_socket.stalled.set()  # type: ignore[union-attr]
    await settle()
    assert slow_socket.closed_with == (1008, "too slow")


class PreparedSocket(RecordingSocket):
    """A socket whose server offers the prepared-frame extension; it can be made to refuse."""

    def __init__(self) -> None:
        super().__init__()
        self.wire: list[bytes] = []
        self.accepting = True
        self.scope["extensions"][PREPARED_FRAMES] = {"write": self.write}

    def write(self, wire: bytes) -> bool:
        if self.accepting:
            self.wire.append(wire)
        return self.accepting


async def test_a_prepared_frame_is_written_at_once_as_an_unmasked_text_frame() -> None:
    socket = PreparedSocket()
    conn = connection(socket)
    assert conn.send(Outgoing('{"type":"pong"}'))
    assert conn.writer is None
    assert socket.wire == [b"\x81\x0f" + b'{"type":"pong"}']


async def test_a_socket_that_cannot_take_a_frame_now_gets_it_in_order_later() -> None:
    socket = PreparedSocket()
    conn = connection(socket)
    socket.accepting = False
    assert not conn.send(Outgoing("first"))
    socket.accepting = True
    assert not conn.send(Outgoing("second"))  # behind "first": it waits its turn
    await settle()
    assert socket.sent == ["first", "second"]
    assert conn.send(Outgoing("third"))  # nothing waiting any more
    assert socket.wire == [b"\x81\x05third"]
