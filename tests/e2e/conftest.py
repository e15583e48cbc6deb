"""Browser tests: the real web client in Debian's Chromium, driven by Playwright.

One ``parley up`` (embedded default: SQLite, in-process store) and one Chromium serve the whole
session; each participant is a fresh browser context (its own cookies and fake camera). Chromium
runs with fake media devices and, as the whole suite, inside a loopback-only network namespace,
with loopback allowed for WebRTC so every packet stays on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Browser

from tests.support import netns
from tests.support.browser import (
    ARTIFACTS,
    CHROMIUM,
    NO_MDNS,
    SPOKEN,
    ServerDidNotStart,
    chromium,
    parley_up,
    person_factory,
)
from tests.support.janus import VETH, ensure_veth, require_janus

SFU_RTP_PORTS = "30000-30199"
"""The SFU server's Janus: apart from the test Janus' ranges (20000 + 200 k)."""


def _no_namespace_no_browser() -> None:
    if netns.session_problem is not None:
        pytest.skip(
            f"browser tests need a loopback-only network namespace: {netns.session_problem}"
        )
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: run scripts/bootstrap.sh --test (apt chromium)")


@pytest.fixture(scope="session")
def web_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``parley up`` on a free port with a temporary data directory, for the whole session:
    rooms peer to peer (the SFU has its own server, :func:`sfu_url`)."""
    _no_namespace_no_browser()
    try:
        with parley_up(tmp_path_factory.mktemp("web"), PARLEY_SFU_MODE="never") as url:
            yield url
    except ServerDidNotStart as exc:
        pytest.fail(f"parley up did not start:\n{exc}")


@pytest.fixture(scope="session")
def sfu_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the SFU server keeps its data (its Janus configuration in ``data/janus``)."""
    return tmp_path_factory.mktemp("sfu")


@pytest.fixture(scope="session")
def sfu_url(sfu_data: Path) -> Iterator[str]:
    """``parley up`` with its own Janus (``PARLEY_SFU_MODE=auto``), ICE on veth ``v0``
    (127.0.0.2: Janus ignores loopback interfaces), RTP ports apart from the test Janus'."""
    _no_namespace_no_browser()
    require_janus()
    ensure_veth()
    try:
        with parley_up(
            sfu_data,
            PARLEY_SFU_MODE="auto",
            PARLEY_JANUS_ICE_INTERFACES=VETH,
            PARLEY_JANUS_RTP_PORTS=SFU_RTP_PORTS,
        ) as url:
            yield url
    except ServerDidNotStart as exc:
        pytest.fail(f"parley up did not start:\n{exc}")


@pytest_asyncio.fixture(scope="session")
async def sfu_browser(sfu_url: str) -> AsyncIterator[Browser]:
    """A Chromium that shows its real addresses to Janus (no mDNS candidates)."""
    async with chromium(NO_MDNS) as launched:
        yield launched


@pytest_asyncio.fixture
async def sfu_people(sfu_browser: Browser, sfu_url: str) -> AsyncIterator[object]:
    """People on the SFU server."""
    async with person_factory(sfu_browser, sfu_url) as make:
        yield make


@pytest_asyncio.fixture(scope="session")
async def browser(web_url: str) -> AsyncIterator[Browser]:
    async with chromium() as launched:
        yield launched


@pytest_asyncio.fixture(scope="session")
async def browser_speaking(
    web_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Browser]:
    """A Chromium whose fake microphone says :data:`SPOKEN` (synthesized with flite)."""
    wav = tmp_path_factory.mktemp("speech") / "spoken.wav"
    flite = await asyncio.create_subprocess_exec(
        "flite", "-voice", "rms", "-t", SPOKEN, "-o", str(wav)
    )
    assert await flite.wait() == 0
    async with chromium(f"--use-file-for-fake-audio-capture={wav}") as launched:
        yield launched


@pytest_asyncio.fixture
async def people(browser: Browser, web_url: str) -> AsyncIterator[object]:
    """A factory of people (browser contexts), all closed after the test."""
    async with person_factory(browser, web_url) as make:
        yield make


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
