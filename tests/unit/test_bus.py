"""The pub/sub bus of one process."""

from __future__ import annotations

import asyncio

from parley.core.bus import Bus
from parley.core.kv import create_kv


async def test_two_subscribers_of_one_channel_both_get_each_message() -> None:
    kv = create_kv(None)
    bus = Bus(kv)
    first: list[str] = []
    second: list[str] = []
    bus.subscribe("parley:test:gone", first.append)
    bus.subscribe("parley:test:gone", second.append)
    await bus.start()
    try:
        assert bus.in_step
        await bus.publish("parley:test:gone", "u1 disabled")
        for _ in range(200):
            if first and second:
                break
            await asyncio.sleep(0.05)
        assert first == ["u1 disabled"]
        assert second == ["u1 disabled"]
    finally:
        await bus.stop()
        await kv.aclose()
