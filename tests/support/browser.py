"""The browser tests' helpers: where Chromium is and how it runs, and a person who uses the UI."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import httpx
from playwright.async_api import Browser, BrowserContext, Locator, Page, async_playwright

from tests.support.api import JWT_SECRET, PASSWORD, unique

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--allow-loopback-in-peer-connection",
    "--autoplay-policy=no-user-gesture-required",
    "--auto-select-desktop-capture-source=Entire screen",
    "--enable-usermedia-screen-capturing",
]
NO_MDNS = "--disable-features=WebRtcHideLocalIpsWithMdns"
SFU_CHROMIUM_ARGS = [*CHROMIUM_ARGS, NO_MDNS]
"""Janus drops ``.local`` (mDNS) candidates: Chromium must show its real (127.x) addresses."""
ADMIN = "siteadmin"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


SPOKEN = "Let us review the budget in the meeting tomorrow morning."


class Person:
    """One person in their own browser context, with helpers that use the UI as they would."""

    def __init__(self, context: BrowserContext, page: Page, base: str) -> None:
        self.context = context
        self.page = page
        self.base = base
        self.username = ""
        self.log: list[str] = []
        page.on("console", lambda m: self.log.append(f"console.{m.type}: {m.text}"))
        page.on("pageerror", lambda e: self.log.append(f"pageerror: {e}"))

    async def goto(self, path: str) -> None:
        await self.page.goto(self.base + path)

    async def sign_up(self, name: str | None = None) -> None:
        self.username = unique("web")
        await self.goto("/signup")
        page = self.page
        await page.get_by_label("Your name").fill(name or self.username.title())
        await page.get_by_label("Username").fill(self.username)
        await page.get_by_label("Email").fill(f"{self.username}@example.org")
        await page.get_by_label("Password").fill(PASSWORD)
        await page.get_by_role("button", name="Sign up").click()
        await page.get_by_role("heading", name="Hello,", exact=False).wait_for()

    async def sign_in(self, username: str, password: str = PASSWORD) -> None:
        self.username = username
        await self.goto("/signin")
        await self.page.get_by_label("Username or email").fill(username)
        await self.page.get_by_label("Password").fill(password)
        await self.page.get_by_role("button", name="Sign in").click()
        await self.page.get_by_role("heading", name="Hello,", exact=False).wait_for()

    async def new_meeting(self, **settings: object) -> dict:
        """Create a meeting through the API as this (signed-in) person."""
        return await self.page.evaluate(
            """async (settings) => {
                const { session } = await import('/static/js/session.js');
                return session.api.request('/api/v1/meetings', {json: settings});
            }""",
            {"title": unique("Meeting "), **settings},
        )

    async def join(
        self, code: str, *, name: str | None = None, password: str | None = None
    ) -> None:
        await self.goto(f"/m/{code}")
        page = self.page
        await page.locator("#join").wait_for()
        if name is not None:
            await page.get_by_label("Your name").fill(name)
        if password is not None:
            await page.get_by_label("Meeting password").fill(password)
        await page.locator("#join").click()

    async def in_room(self) -> None:
        await self.page.locator("[data-state=room]").wait_for()

    async def enter(self, code: str, name: str | None = None) -> None:
        """Join and wait to be in the room."""
        await self.join(code, name=name)
        await self.in_room()

    def tile(self, name: str) -> Locator:
        return self.page.locator(f'.tile[data-peer-name="{name}"]')

    async def remote_names(self) -> list[str]:
        return await self.page.eval_on_selector_all(
            ".tile:not(.self)", "tiles => tiles.map(t => t.dataset.peerName)"
        )

    async def stat(self, name: str, key: str) -> int:
        value = await self.tile(name).get_attribute(f"data-{key}")
        return int(value or 0)


async def gathered(
    people: Callable[[], Awaitable[Person]], *names: str, **meeting: object
) -> tuple[Person, dict, list[Person]]:
    """A host ("Hana Host") with a new meeting, in its room, then one guest per name."""
    host = await people()
    await host.sign_up("Hana Host")
    created = await host.new_meeting(**meeting)
    await host.enter(created["code"])
    guests = []
    for name in names:
        guest = await people()
        await guest.enter(created["code"], name=name)
        guests.append(guest)
    return host, created, guests


class ServerDidNotStart(RuntimeError):
    """``parley up`` exited or did not answer; the message holds its log's tail."""


@contextlib.contextmanager
def parley_up(data: Path, **env: str) -> Iterator[str]:
    """``parley up`` on a free port with ``data`` as its data directory, its output in
    ``data/server.log``; yields its base URL, with the admin account made. ``env``: more
    settings (``PARLEY_SFU_MODE``...)."""
    port = free_port()
    environment = {
        **os.environ,
        "PARLEY_ENV": "test",
        "JWT_SECRET": JWT_SECRET,
        "PARLEY_LOG_LEVEL": "warning",
        "PARLEY_CODE_LOOKUP_LIMIT": "10000",
        **env,
    }
    log_path = data / "server.log"
    log = log_path.open("wb")
    command = [sys.executable, "-m", "parley.cli", "up", "--port", str(port)]
    process = subprocess.Popen(
        [*command, "--data-dir", str(data / "data")], env=environment, stdout=log, stderr=log
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
                raise ServerDidNotStart(log_path.read_text()[-3000:])
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


@contextlib.asynccontextmanager
async def chromium(*args: str) -> AsyncIterator[Browser]:
    """Debian's Chromium, headless, with the tests' flags and ``args``."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=[*CHROMIUM_ARGS, *args]
        )
        yield browser
        await browser.close()


@contextlib.asynccontextmanager
async def person_factory(
    browser: Browser, url: str
) -> AsyncIterator[Callable[[], Awaitable[Person]]]:
    """A factory of people (browser contexts) on ``url``, all closed at the end; their
    console logs are printed (pytest shows them when the test failed)."""
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
        person = Person(context, page, url)
        made.append(person)
        return person

    try:
        yield make
    finally:
        for number, person in enumerate(made):
            print(f"--- browser {number} ({person.username or 'guest'}) at {person.page.url}")
            print("\n".join(person.log[-40:]))
        for context in contexts:
            await context.close()
