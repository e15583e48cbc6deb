"""A host's mute and stop-video in real browsers: the person is told, cannot turn it on again
while held (the meeting does not allow self-unmute), and can once a host allows it; through
the SFU, a stopped camera stops reaching the others even if its client ignores the frame."""

from __future__ import annotations

import asyncio

from playwright.async_api import expect

from tests.support.browser import gathered
from tests.support.media_flow import mode, wait_until

HOLD = {"settings": {"allow_self_unmute": False}}


async def test_a_held_person_sees_why_and_unmutes_once_a_host_allows_it(people) -> None:
    host, _, (mo,) = await gathered(people, "Mo", **HOLD)
    await mo.page.set_viewport_size({"width": 375, "height": 700})
    mic = mo.page.locator("#control-mic")
    await expect(mic).to_have_attribute("data-on", "true")

    await host.page.locator("#control-people").click()
    row = host.page.locator("#people li", has_text="Mo")
    await row.get_by_role("button", name="Mute", exact=True).click()
    await mo.page.locator(".toast", has_text="when a host allows it").first.wait_for()
    await expect(mic).to_have_attribute("data-on", "false")
    await expect(mic).to_have_attribute("aria-disabled", "true")
    await expect(mic).to_have_accessible_description(
        "A host muted you. You can unmute when a host allows it."
    )
    await expect(host.tile("Mo")).to_have_attribute("data-audio", "false")
    await expect(row).to_contain_text("muted by a host")

    await mic.focus()  # aria-disabled keeps it focusable: a press says why, and stays muted
    await mo.page.keyboard.press("Enter")
    await mo.page.get_by_role("alert").filter(has_text="when a host allows it").wait_for()
    await mo.page.keyboard.press("m")
    await asyncio.sleep(0.3)
    await expect(mic).to_have_attribute("data-on", "false")
    await expect(host.tile("Mo")).to_have_attribute("data-audio", "false")

    await row.get_by_role("button", name="Allow to unmute").click()
    await mo.page.locator(".toast", has_text="allowed you to unmute").wait_for()
    await expect(mic).not_to_have_attribute("aria-disabled", "true")
    await mic.click()
    await expect(mic).to_have_attribute("data-on", "true")
    await expect(host.tile("Mo")).to_have_attribute("data-audio", "true")


async def test_stop_video_turns_the_camera_off_and_self_start_works_by_default(people) -> None:
    host, _, (vi,) = await gathered(people, "Vi")
    cam = vi.page.locator("#control-cam")
    await expect(cam).to_have_attribute("data-on", "true")
    await host.page.locator("#control-people").click()
    row = host.page.locator("#people li", has_text="Vi")
    await row.get_by_role("button", name="Stop video").click()
    await vi.page.locator(".toast", has_text="A host turned off your camera").wait_for()
    await expect(cam).to_have_attribute("data-on", "false")
    await expect(host.tile("Vi")).to_have_attribute("data-video", "false")
    await expect(cam).not_to_have_attribute("aria-disabled", "true")
    await cam.click()
    await expect(cam).to_have_attribute("data-on", "true")
    await expect(host.tile("Vi")).to_have_attribute("data-video", "true")


async def test_a_hosts_stop_video_stops_the_camera_at_the_sfu_even_if_the_client_ignores_it(
    sfu_people,
) -> None:
    host, _, (ben, zed) = await gathered(sfu_people, "Ben", "Zed", **HOLD)

    async def on_the_sfu() -> bool:
        return all([await mode(p) == "sfu" for p in (host, ben, zed)])

    await wait_until(on_the_sfu)

    async def sees_zed() -> bool:
        first = await ben.stat("Zed", "frames-decoded")
        await asyncio.sleep(0.5)
        return await ben.stat("Zed", "frames-decoded") > first > 0

    await wait_until(sees_zed)
    # Zed's client is made to ignore the frame: its camera track stays on.
    await zed.page.evaluate(
        """() => {
            Object.defineProperty(MediaStreamTrack.prototype, 'enabled', {
                configurable: true, get() { return true; }, set(_) {},
            });
        }"""
    )

    await host.page.locator("#control-people").click()
    row = host.page.locator("#people li", has_text="Zed")
    await row.get_by_role("button", name="Stop video").click()
    await expect(row.get_by_role("button", name="Allow camera")).to_be_visible()
    await asyncio.sleep(1.5)  # the stop reaches the SFU; what was on its way arrives

    first = await ben.stat("Zed", "frames-decoded")
    await asyncio.sleep(2)
    assert await ben.stat("Zed", "frames-decoded") == first
