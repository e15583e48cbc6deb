"""Recording in the browser: MediaRecorder streams the room over tus; the file is processed
and shows up, playable, on the Recordings page of the people who were there."""

from __future__ import annotations

import asyncio

from playwright.async_api import expect

from tests.support.browser import Person, gathered


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
    await host.page.locator("#leave-only").click()  # a host is asked: Leave or End for all
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
    ready = False
    for _ in range(50):  # the browser reads the stored file's header
        ready = await video.evaluate("v => v.readyState >= 1 && !v.error")
        if ready:
            break
        await asyncio.sleep(0.2)
    assert ready
    await expect(item).to_contain_text("0:0")  # probed: about 6 seconds, shown as m:ss


async def test_a_recording_is_transcribed_and_summarized_on_its_page(
    browser_speaking, web_url: str, tmp_path
) -> None:
    """The host's fake microphone speaks (flite); the recording's page shows the transcript."""
    context = await browser_speaking.new_context(permissions=["camera", "microphone"])
    context.set_default_timeout(15_000)
    host = Person(context, await context.new_page(), web_url)
    try:
        await host.sign_up("Tess Talker")
        meeting = await host.new_meeting()
        await host.enter(meeting["code"])
        await host.page.locator("#control-record").click()
        await asyncio.sleep(9)  # the spoken sentence plays (and loops) meanwhile
        await host.page.locator("#control-record").click()
        await host.page.get_by_text("Recording saved", exact=False).wait_for(timeout=30_000)
        await host.page.locator("#leave").click()
        await host.page.locator("#leave-only").click()  # a host is asked: Leave or End for all
        transcript = host.page.locator("#recordings .transcript").first
        for _ in range(60):  # probe, then the AI batch job: bounded wait
            await host.goto("/recordings")
            await host.page.locator("#recordings li").first.wait_for()
            await asyncio.sleep(1)
            if await transcript.count():
                break
        text = (await transcript.inner_text()).lower()
        assert any(word in text for word in ("meeting", "budget", "tomorrow", "review"))
    finally:
        await context.close()
