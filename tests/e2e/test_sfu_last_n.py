"""Large rooms forward only the last speakers' cameras: with the threshold lowered to two
publishers and N to one (``PARLEY_SFU_LAST_N_ABOVE=2``, ``PARLEY_SFU_LAST_N=1``), three people
through a real Janus each receive exactly one other camera, and everyone's audio."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio
from playwright.async_api import Browser

from tests.support.browser import NO_MDNS, chromium, gathered, parley_up, person_factory
from tests.support.janus import VETH, ensure_veth, require_janus
from tests.support.media_flow import audio_keeps_growing, frames_from, mode, wait_until


@pytest.fixture(scope="module")
def last_n_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    require_janus()
    ensure_veth()
    with parley_up(
        tmp_path_factory.mktemp("last-n"),
        PARLEY_SFU_MODE="always",
        PARLEY_SFU_LAST_N_ABOVE="2",
        PARLEY_SFU_LAST_N="1",
        PARLEY_JANUS_ICE_INTERFACES=VETH,
        PARLEY_JANUS_RTP_PORTS="30500-30599",
    ) as url:
        yield url


@pytest_asyncio.fixture(scope="module")
async def last_n_browser(last_n_url: str) -> AsyncIterator[Browser]:
    async with chromium(NO_MDNS) as launched:
        yield launched


@pytest_asyncio.fixture
async def last_n_people(last_n_browser: Browser, last_n_url: str) -> AsyncIterator[object]:
    async with person_factory(last_n_browser, last_n_url) as make:
        yield make


async def test_each_page_receives_one_other_camera_and_everyones_audio(last_n_people) -> None:
    host, _, (ben, cy) = await gathered(last_n_people, "Ben", "Cy")
    cast = {host: ("Ben", "Cy"), ben: ("Hana Host", "Cy"), cy: ("Hana Host", "Ben")}

    async def on_the_sfu() -> bool:
        return all([await mode(p) == "sfu" for p in cast])

    await wait_until(on_the_sfu)
    await audio_keeps_growing(cast)

    seen: list[dict[str, int]] = []

    async def one_camera_each() -> bool:
        """At every page, over two seconds, exactly one remote camera decodes new frames."""
        before = {p: await frames_from(p, names) for p, names in cast.items()}
        await asyncio.sleep(2)
        seen.clear()
        for person, names in cast.items():
            now = await frames_from(person, names)
            seen.append({n: now[n] - before[person][n] for n in names})
        return all(sum(grew > 0 for grew in counts.values()) == 1 for counts in seen)

    await wait_until(one_camera_each, last=seen, rounds=20)
