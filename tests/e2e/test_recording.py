"""Recording in the browser: MediaRecorder streams the room over tus; the file is processed
and shows up, playable, on the Recordings page of the people who were there."""

from __future__ import annotations

import asyncio

from playwright.async_api import expect

from tests.e2e.conftest import gathered


async def test_a_recording_made_in_the_room_is_playable_from_the_recordings_page(people) -> None:
    host, _, (guest,) = await gathered(people, "Rita")
    await expect(host.tile("Rita")).to_have_count(1)

    await host.page.locator("#control-record").click()
    await expect(guest.page.locator("#recording-badge")).to_be_visible()
    await asyncio.sleep(5)  # some seconds of meeting: the recorder sends a chunk every 2 s
    await host.page.locator("#control-record").click()
    await host.page.get_by_text("Recording saved", exact=False).wait_for(timeout=30_000)
    await expect(guest.page.locator("#recording-badge")).to_be_hidden()

    await host.page.locator("#leave").click()
    await host.page.get_by_role("link", name="Back to your meetings").click()
    page = host.page
    for _ in range(40):  # processing (probe, thumbnail) runs in the background: bounded wait
        await page.goto(f"{host.base}/recordings")
        item = page.locator("#recordings li.recording").first
        await item.wait_for()
        if await item.get_attribute("data-status") == "ready":
            break
        await asyncio.sleep(0.5)
    assert await item.get_attribute("data-status") == "ready"
    await expect(item.locator("img.thumbnail")).to_be_visible()
    await item.get_by_role("button", name="Play").click()
    video = item.locator("video")
    await expect(video).to_be_visible()
    duration = 0.0
    for _ in range(50):
        duration = await video.evaluate("v => (v.readyState >= 1 ? v.duration : 0)")
        if duration:
            break
        await asyncio.sleep(0.2)
    assert 2 < duration < 60  # finite: the stored file knows its length
    await expect(item).to_contain_text("0:0")  # about 6 seconds, shown as m:ss
