"""The WebSocket protocol's receive queue and writable flag: the asyncio behaviour uvicorn
relies on."""

from __future__ import annotations

import asyncio

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
