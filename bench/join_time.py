"""Join time in the browser: from clicking "Join" to the first remote video frame.

Headless Debian Chromium with fake camera/microphone, ``parley up`` (embedded default) on
loopback, everything inside a loopback-only network namespace. For rooms of 2 and 4 people,
the last person to join is timed 10 times (a fresh browser context each time): the time to the
first remote frame and to frames from everyone. Also the bytes a first page load transfers
(sign-in page and meeting page, uncompressed) and whether any request left the server's origin.

Targets: median ≤ 1.0 s (2 people) and ≤ 2.0 s (4 people); first load ≤ 200 KB, no external
requests. Usage: python bench/join_time.py [--runs 10]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import uuid
from pathlib import Path

import httpx
from playwright.async_api import Browser, BrowserContext, async_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import service
from tests.support import netns
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS

PASSWORD = "tangerine-Sky-42"

MEASURE = """async (others) => {
  const t0 = performance.now();
  document.querySelector('#join').click();
  let first = null;
  return await new Promise((resolve, reject) => {
    const check = () => {
      const ready = [...document.querySelectorAll('.tile:not(.self) video')]
        .filter(v => v.videoWidth > 0 && v.readyState >= 2).length;
      const now = performance.now() - t0;
      if (ready > 0 && first === null) first = now;
      if (ready >= others) return resolve([first, now]);
      if (now > 30000) return reject(new Error('remote frames missing after 30 s'));
      setTimeout(check, 5);
    };
    check();
  });
}"""


def host_meeting(base: str) -> tuple[str, str]:
    """A host account and a meeting; returns (access token, meeting code)."""
    name = f"bench{uuid.uuid4().hex[:8]}"
    with httpx.Client(base_url=base) as http:
        http.post(
            "/api/v1/auth/register",
            json={
                "username": name,
                "email": f"{name}@example.org",
                "password": PASSWORD,
                "display_name": "Bench Host",
            },
        ).raise_for_status()
        login = http.post("/api/v1/auth/login", json={"username": name, "password": PASSWORD})
        token = login.raise_for_status().json()["access_token"]
        meeting = http.post(
            "/api/v1/meetings",
            json={"title": "Join time", "settings": {"max_participants": 50}},
            headers={"Authorization": f"Bearer {token}"},
        )
        return token, meeting.raise_for_status().json()["code"]


async def guest_context(browser: Browser) -> BrowserContext:
    return await browser.new_context(
        permissions=["camera", "microphone"], viewport={"width": 1000, "height": 700}
    )


async def join_as_guest(context: BrowserContext, base: str, code: str, name: str):  # type: ignore[no-untyped-def]
    page = await context.new_page()
    await page.goto(f"{base}/m/{code}")
    await page.get_by_label("Your name").fill(name)
    # The preview must be up (devices listed) before the click is timed.
    await page.wait_for_function("document.querySelector('#camera')?.options.length > 0")
    return page


async def room_of(browser: Browser, base: str, size: int, runs: int) -> dict[str, float]:
    _, code = host_meeting(base)
    present: list[BrowserContext] = []
    for number in range(size - 1):
        context = await guest_context(browser)
        present.append(context)
        page = await join_as_guest(context, base, code, f"Present {number + 1}")
        await page.locator("#join").click()
        await page.locator("[data-state=room]").wait_for()
    first, everyone = [], []
    for run in range(runs):
        context = await guest_context(browser)
        page = await join_as_guest(context, base, code, f"Timed {run + 1}")
        first_ms, all_ms = await page.evaluate(MEASURE, size - 1)
        first.append(first_ms)
        everyone.append(all_ms)
        print(
            f"  {size} people, run {run + 1}: first remote frame {first_ms:.0f} ms,"
            f" all {size - 1} remote videos {all_ms:.0f} ms",
            flush=True,
        )
        await page.locator("#leave").click()
        await context.close()
    for context in present:
        await context.close()
    median = statistics.median(first)
    print(
        f"{size} people: first remote frame median of {runs}: {median:.0f} ms"
        f" (min {min(first):.0f}, max {max(first):.0f});"
        f" all remote videos median {statistics.median(everyone):.0f} ms",
        flush=True,
    )
    return {"first_ms": median, "all_ms": statistics.median(everyone)}


async def first_load(browser: Browser, base: str, path: str) -> tuple[int, list[str]]:
    context = await guest_context(browser)
    page = await context.new_page()
    sizes: list[int] = []
    outside: list[str] = []

    async def count(response) -> None:  # type: ignore[no-untyped-def]
        if not response.url.startswith(base):
            outside.append(response.url)
        with contextlib.suppress(Exception):
            sizes.append(len(await response.body()))

    page.on("response", lambda r: asyncio.ensure_future(count(r)))
    await page.goto(base + path, wait_until="networkidle")
    await asyncio.sleep(0.5)
    await context.close()
    return sum(sizes), outside


async def main(runs: int) -> None:
    # Not pinned: the browsers need both cores as much as the server does.
    with service("up", {"PARLEY_ENV": "test", "PARLEY_LOG_LEVEL": "warning"}, pin=False) as base:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
            _, code = host_meeting(base)
            for label, path in (("sign-in page", "/signin"), ("meeting page", f"/m/{code}")):
                size, outside = await first_load(browser, base, path)
                print(
                    f"first load of the {label}: {size / 1024:.1f} KiB uncompressed,"
                    f" requests to other hosts: {len(outside)}",
                    flush=True,
                )
            await room_of(browser, base, 2, runs)
            await room_of(browser, base, 4, runs)
            await browser.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    problem = netns.isolate()
    if problem:
        sys.exit(f"needs a loopback-only network namespace: {problem}")
    asyncio.run(main(args.runs))
