"""Waiting for media to flow in the browser tests: bounded waits on what the room page shows
(frames decoded and audio bytes received per tile, from its ``getStats`` samples)."""

from __future__ import annotations

import asyncio

from tests.support.browser import Person

ROUNDS = 150  # bounded waits: 150 x 0.2 s


async def wait_until(check, last: object = None, rounds: int = ROUNDS) -> None:  # type: ignore[no-untyped-def]
    """Until ``check()`` is true (bounded); ``last`` is shown when it never was."""
    for _ in range(rounds):
        if await check():
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"never true: {check.__name__} ({last!r})")


async def self_id(person: Person) -> str:
    """The participant id of the person's own tile."""
    value = await person.page.locator(".tile.self").get_attribute("data-peer-id")
    assert value, "the self tile names no participant"
    return value


async def mode(person: Person) -> str | None:
    return await person.page.locator("[data-state=room]").get_attribute("data-media-mode")


async def frames_from(person: Person, names: tuple[str, ...]) -> dict[str, int]:
    return {name: await person.stat(name, "frames-decoded") for name in names}


async def frames_keep_growing(cast: dict[Person, tuple[str, ...]]) -> None:
    """Every page decodes more frames of every other person than a moment ago."""
    before = {person: await frames_from(person, names) for person, names in cast.items()}

    async def all_grew() -> bool:
        for person, names in cast.items():
            now = await frames_from(person, names)
            if any(now[name] <= before[person][name] for name in names):
                return False
        return True

    await wait_until(all_grew)


async def audio_keeps_growing(cast: dict[Person, tuple[str, ...]]) -> None:
    """Every page receives more audio of every other person than a moment ago."""
    before = {p: {n: await p.stat(n, "audio-bytes") for n in names} for p, names in cast.items()}

    async def all_grew() -> bool:
        for person, names in cast.items():
            for name in names:
                if await person.stat(name, "audio-bytes") <= before[person][name]:
                    return False
        return True

    await wait_until(all_grew)
