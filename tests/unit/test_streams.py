"""core/streams.consume: entries whose handling failed are read again and retried, in order."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from redis.asyncio import Redis

from parley.core import streams
from parley.core.kv import create_kv

STREAM = "parley:test:commands"
GROUP = "test"


class Gone(Exception):
    """The command no longer applies (an ``expected`` error)."""


@pytest.fixture(autouse=True)
def quick(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(streams, "RETRY_S", 0.05)
    monkeypatch.setattr(streams, "POLL_S", 0.01)


@contextlib.asynccontextmanager
async def consuming(
    kv: Redis, handle: Callable[[dict[str, Any]], Any], consumer: str = "c1"
) -> AsyncIterator[None]:
    task = asyncio.create_task(
        streams.consume(kv, STREAM, GROUP, consumer, handle, expected=(Gone,))
    )
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def until(check: Callable[[], bool]) -> None:
    for _ in range(400):
        if check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached")


async def pending_count(kv: Redis) -> int:
    summary: Any = await kv.xpending(STREAM, GROUP)
    return int(summary["pending"])


async def until_all_acknowledged(kv: Redis) -> None:
    for _ in range(400):
        if await pending_count(kv) == 0:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{await pending_count(kv)} entries still pending")


async def test_a_failed_entry_is_retried_before_newer_ones() -> None:
    kv = create_kv(None)
    seen: list[str] = []
    failures = {"a": 2}

    async def handle(fields: dict[str, Any]) -> None:
        seen.append(fields["n"])
        if failures.get(fields["n"], 0) > 0:
            failures[fields["n"]] -= 1
            raise RuntimeError("transient")

    for n in ("a", "b"):
        await kv.xadd(STREAM, {"n": n})
    async with consuming(kv, handle):
        await until(lambda: seen.count("b") == 1)
        await kv.xadd(STREAM, {"n": "c"})
        await until(lambda: "c" in seen)
        assert seen == ["a", "a", "a", "b", "c"]
        await until_all_acknowledged(kv)
    await kv.aclose()


async def test_an_entry_that_keeps_failing_is_dropped_after_the_attempts() -> None:
    kv = create_kv(None)
    seen: list[str] = []

    async def handle(fields: dict[str, Any]) -> None:
        seen.append(fields["n"])
        if fields["n"] == "bad":
            raise RuntimeError("always")
        if fields["n"] == "stale":
            raise Gone("no longer applies")

    for n in ("bad", "stale", "good"):
        await kv.xadd(STREAM, {"n": n})
    async with consuming(kv, handle):
        await until(lambda: "good" in seen)
        assert seen == ["bad"] * streams.MAX_ATTEMPTS + ["stale", "good"]
        await until_all_acknowledged(kv)
    await kv.aclose()


async def test_entries_left_pending_by_an_earlier_run_are_handled_at_start() -> None:
    kv = create_kv(None)
    await kv.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
    await kv.xadd(STREAM, {"n": "left"})
    # An earlier run of this consumer read it and stopped before acknowledging it.
    await kv.xreadgroup(GROUP, "c1", {STREAM: ">"}, count=10)
    assert await pending_count(kv) == 1
    seen: list[str] = []

    async def handle(fields: dict[str, Any]) -> None:
        seen.append(fields["n"])

    async with consuming(kv, handle):
        await until(lambda: seen == ["left"])
        await until_all_acknowledged(kv)
    await kv.aclose()
