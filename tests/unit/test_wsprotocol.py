"""The WebSocket protocol's receive queue and writable flag: the asyncio behaviour uvicorn
relies on."""

from __future__ import annotations

import asyncio
from typing import Any

from parley.core.wsprotocol import ReceiveQueue, WritableFlag


async def test_items_come_out_in_the_order_they_went_in() -> None:
    queue: ReceiveQueue[int] = ReceiveQueue()
    for i in range(3):
        queue.put_nowait(i)
    assert [await queue.get() for _ in range(3)] == [0, 1, 2]
    assert queue.empty()


async def test_a_waiting_getter_is_woken_by_the_next_item() -> None:
    queue: ReceiveQueue[str] = ReceiveQueue()
    getter = asyncio.create_task(queue.get())
    await asyncio.sleep(0)
    assert not getter.done()
    queue.put_nowait("connect")
    assert await asyncio.wait_for(getter, 1) == "connect"


async def test_a_cancelled_getter_leaves_the_item_for_the_next_one() -> None:
    queue: ReceiveQueue[str] = ReceiveQueue()
    first = asyncio.create_task(queue.get())
    second = asyncio.create_task(queue.get())
    await asyncio.sleep(0)
    queue.put_nowait("message")  # wakes the first getter...
    first.cancel()  # ...which is cancelled before it runs
    assert await asyncio.wait_for(second, 1) == "message"


async def test_the_writable_flag_holds_writers_until_the_socket_drains() -> None:
    flag = WritableFlag()
    assert flag.is_set()
    flag.clear()  # the transport's buffer went over its high-water mark
    writer = asyncio.create_task(flag.wait())
    await asyncio.sleep(0)
    assert not writer.done()
    flag.set()
    assert await asyncio.wait_for(writer, 1) is True


async def test_a_pong_behind_messages_the_app_has_not_taken_yet_does_not_time_out() -> None:
    """uvicorn stops reading a socket while the app has messages it has not taken (flow
    control), so a pong can wait unread behind them: a slow app (live captions decoding audio
    sent faster than real time on a busy machine) must not drop a live peer for that."""
    import contextlib
    import socket

    import uvicorn
    from websockets.asyncio.client import connect

    from parley.core.wsprotocol import PreparedFrameWebSocketProtocol

    async def app(scope: dict[str, object], receive: object, send: object) -> None:
        assert callable(receive) and callable(send)
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        await receive()  # websocket.connect
        await send({"type": "websocket.accept"})
        taken = 0
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                return
            await asyncio.sleep(0.02)  # the app is slower than the peer sends
            taken += 1
            if message.get("text") == "end":
                await send({"type": "websocket.send", "text": f"took {taken}"})

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_config=None,
        ws=PreparedFrameWebSocketProtocol,
        ws_ping_interval=0.2,
        ws_ping_timeout=0.2,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:  # noqa: ASYNC110 (uvicorn offers no event)
            await asyncio.sleep(0.01)
        async with connect(f"ws://127.0.0.1:{port}", ping_interval=None) as ws:
            for _ in range(100):  # two seconds of work for the app, read in one go
                await ws.send(b"\0" * 1000)
            await ws.send("end")
            assert await asyncio.wait_for(ws.recv(), 30) == "took 101"
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(task, 10)


class _Transport:
    closed = False

    def is_closing(self) -> bool:
        return self.closed

    def write(self, data: bytes) -> None:
        pass

    def close(self) -> None:
        self.closed = True


def _waiting_for_a_pong(now: float, sent_at: float, read_paused: bool) -> Any:
    """A protocol whose ping (sent at ``sent_at``, 0.2 s timeout) is unanswered at ``now``."""
    from unittest import mock

    from parley.core.wsprotocol import PreparedFrameWebSocketProtocol

    protocol: Any = object.__new__(PreparedFrameWebSocketProtocol)
    protocol.loop = mock.Mock(time=mock.Mock(return_value=now))
    protocol.ping_timeout = 0.2
    protocol.ping_sent_at = sent_at
    protocol.pong_due = None
    protocol.read_paused = read_paused
    protocol.close_sent = False
    protocol.transport = _Transport()
    protocol.conn = mock.Mock(data_to_send=mock.Mock(return_value=[]))
    protocol.logger = mock.Mock(level=100)
    return protocol


def test_a_pong_timer_that_fires_after_the_loop_was_blocked_gives_the_peer_time() -> None:
    blocked = _waiting_for_a_pong(now=12.0, sent_at=10.0, read_paused=False)
    blocked.keepalive_timeout()  # due at 10.2, run at 12.0: the loop was blocked
    assert not blocked.transport.closed
    assert blocked.pong_due == 12.2
    blocked.loop.time.return_value = 12.25  # the re-armed timer, on time: the peer is dead
    blocked.keepalive_timeout()
    assert blocked.transport.closed
    on_time = _waiting_for_a_pong(now=10.21, sent_at=10.0, read_paused=False)
    on_time.keepalive_timeout()
    assert on_time.transport.closed
    unread = _waiting_for_a_pong(now=10.21, sent_at=10.0, read_paused=True)
    unread.keepalive_timeout()
    assert not unread.transport.closed
