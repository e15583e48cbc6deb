"""Someone whose camera and microphone are blocked joins, sees and hears everyone, and starts
sending later without leaving the meeting (peer to peer and through the SFU).

The browser's own permission prompt is answered "allow" by the test flags
(``--use-fake-ui-for-media-stream``), so "blocked" is the browser's answer made by the page:
``getUserMedia`` refuses with ``NotAllowedError`` (what a denied prompt gives) until the test
grants the devices."""

from __future__ import annotations

from playwright.async_api import expect

from tests.support.browser import Person, gathered
from tests.support.media_flow import audio_keeps_growing, frames_keep_growing, mode, wait_until

BLOCKED_DEVICES = """
(() => {
  const asked = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  window.__devicesBlocked = true;
  navigator.mediaDevices.getUserMedia = (constraints) => window.__devicesBlocked
    ? Promise.reject(new DOMException("Permission denied", "NotAllowedError"))
    : asked(constraints);
})();
"""


async def blocked(people, meeting: dict, name: str) -> Person:
    person = await people()
    await person.context.add_init_script(BLOCKED_DEVICES)
    await person.enter(meeting["code"], name=name)
    return person


async def grant(person: Person) -> None:
    await person.page.evaluate("window.__devicesBlocked = false")


async def test_without_devices_one_sees_and_hears_everyone_and_unmutes_later(people) -> None:
    host, meeting, (ben,) = await gathered(people, "Ben")
    dee = await blocked(people, meeting, "Dee")
    await frames_keep_growing({dee: ("Hana Host", "Ben")})
    await audio_keeps_growing({dee: ("Hana Host", "Ben")})
    # Dee sends nothing: her tile shows her name, not a wait that never ends.
    await expect(host.tile("Dee")).to_have_attribute("data-video", "false")
    await expect(host.tile("Dee").locator(".tile-status")).to_be_hidden()

    await grant(dee)
    await dee.page.get_by_role("button", name="Unmute (m)").click()
    await expect(host.tile("Dee")).to_have_attribute("data-audio", "true")
    await audio_keeps_growing({host: ("Dee",), ben: ("Dee",)})
    # The camera the browser granted with it stays off until asked for.
    await expect(host.tile("Dee")).to_have_attribute("data-video", "false")
    await dee.page.get_by_role("button", name="Start camera (v)").click()
    await frames_keep_growing({host: ("Dee",), ben: ("Dee",)})


async def test_a_blocked_unmute_says_why_and_works_once_allowed(people) -> None:
    host, meeting, _ = await gathered(people)
    dee = await blocked(people, meeting, "Dee")
    await dee.page.get_by_role("button", name="Unmute (m)").click()
    await expect(dee.page.get_by_text("blocked", exact=False).first).to_be_visible()
    await grant(dee)
    await dee.page.get_by_role("button", name="Unmute (m)").click()
    await expect(dee.page.get_by_role("button", name="Mute (m)")).to_be_visible()
    await expect(host.tile("Dee")).to_have_attribute("data-audio", "true")


async def test_without_devices_one_receives_through_the_sfu_and_publishes_later(
    sfu_people,
) -> None:
    host, meeting, (ben,) = await gathered(sfu_people, "Ben")
    dee = await blocked(sfu_people, meeting, "Dee")

    async def on_the_sfu() -> bool:
        return all([await mode(p) == "sfu" for p in (host, ben, dee)])

    await wait_until(on_the_sfu)
    await frames_keep_growing({dee: ("Hana Host", "Ben")})
    await grant(dee)
    await dee.page.get_by_role("button", name="Start camera (v)").click()
    await frames_keep_growing({host: ("Dee",), ben: ("Dee",)})
