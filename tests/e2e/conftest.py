"""Browser tests: the real web client in Debian's Chromium, driven by Playwright.

One ``parley up`` (embedded default: SQLite, in-process store) and one Chromium serve the whole
session; each participant is a fresh browser context (its own cookies and fake camera). Chromium
runs with fake media devices and, as the whole suite, inside a loopback-only network namespace,
with loopback allowed for WebRTC so every packet stays on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import Browser, BrowserContext, async_playwright

from tests.support import netns
from tests.support.api import JWT_SECRET, PASSWORD
from tests.support.browser import (
    ADMIN,
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    SPOKEN,
    Person,
    free_port,
)


@pytest.fixture(scope="session")
def web_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``parley up`` on a free port with a temporary data directory, for the whole session."""
    if netns.session_problem is not None:
        pytest.skip(
            f"browser tests need a loopback-only network namespace: {netns.session_problem}"
        )
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: run scripts/bootstrap.sh --test (apt chromium)")
    data = tmp_path_factory.mktemp("web")
    port = free_port()
    env = {
        **os.environ,
        "PARLEY_ENV": "test",
        "JWT_SECRET": JWT_SECRET,
        "PARLEY_LOG_LEVEL": "warning",
        "PARLEY_CODE_LOOKUP_LIMIT": "10000",
    }
    log = (data / "server.log").open("wb")
    command = [sys.executable, "-m", "parley.cli", "up", "--port", str(port)]
    process = subprocess.Popen(
        [*command, "--data-dir", str(data / "data")], env=env, stdout=log, stderr=log
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/health/ready", timeout=1).status_code == 200:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                log.flush()
                pytest.fail(
                    "parley up did not start:\n" + (data / "server.log").read_text()[-3000:]
                )
            time.sleep(0.2)
        # The first account is the admin: made here so that it is always this one.
        httpx.post(
            f"{url}/api/v1/auth/register",
            json={
                "username": ADMIN,
                "email": f"{ADMIN}@example.org",
                "password": PASSWORD,
                "display_name": "Ada Admin",
            },
        ).raise_for_status()
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest_asyncio.fixture(scope="session")
async def browser(web_url: str) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        await chromium.close()


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
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[*CHROMIUM_ARGS, f"--use-file-for-fake-audio-capture={wav}"],
        )
        yield chromium
        await chromium.close()


@pytest_asyncio.fixture
async def people(browser: Browser, web_url: str) -> AsyncIterator[object]:
    """A factory of people (browser contexts), all closed after the test."""
    contexts: list[BrowserContext] = []
    made: list[Person] = []

    async def make() -> Person:
        context = await browser.new_context(
            permissions=["camera", "microphone", "clipboard-read", "clipboard-write"],
            viewport={"width": 1100, "height": 750},
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = await context.new_page()
        person = Person(context, page, web_url)
        made.append(person)
        return person

    yield make
    for number, person in enumerate(made):  # shown by pytest when the test failed
        print(f"--- browser {number} ({person.username or 'guest'}) at {person.page.url}")
        print("\n".join(person.log[-40:]))
    for context in contexts:
        await context.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
