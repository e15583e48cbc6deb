"""Hosts at work in a real browser: waiting room, removal, muting, ending the meeting."""

from __future__ import annotations

from playwright.async_api import expect

from tests.support.browser import gathered


async def test_a_guest_with_the_password_waits_until_the_host_admits_them(people) -> None:
    host, meeting, _ = await gathered(
        people, password="open-sesame", settings={"waiting_room": True}
    )
    guest = await people()

    await guest.join(meeting["code"], name="Gina", password="wrong")
    await guest.page.get_by_role("alert").filter(has_text="password is wrong").wait_for()
    await guest.page.get_by_label("Meeting password").fill("open-sesame")
    await guest.page.locator("#join").click()
    await guest.page.get_by_role("heading", name="Waiting for the host").wait_for()

    await host.page.locator("#control-people").click()
    waiting = host.page.locator("#lobby li", has_text="Gina")
    await waiting.get_by_role("button", name="Admit").click()
    await guest.in_room()
    await expect(guest.tile("Hana Host")).to_have_count(1)
    await expect(host.tile("Gina")).to_have_count(1)


async def test_a_removed_guest_cannot_come_back(people) -> None:
    host, meeting, (guest,) = await gathered(people, "Rex")

    host.page.on("dialog", lambda dialog: dialog.accept())
    await host.page.locator("#control-people").click()
    await (
        host.page.locator("#people li", has_text="Rex").get_by_role("button", name="Remove").click()
    )
    await guest.page.get_by_role("heading", name="You were removed").wait_for()
    await expect(host.tile("Rex")).to_have_count(0)

    await guest.join(meeting["code"], name="Rex")
    await guest.page.get_by_role("alert").filter(has_text="removed").wait_for()
    await expect(guest.page.locator("[data-state=room]")).to_have_count(0)


async def test_the_host_mutes_a_participant_then_ends_the_meeting_for_all(people) -> None:
    host, meeting, (guest,) = await gathered(people, "Mo")
    await expect(guest.page.locator("#control-mic")).to_have_attribute("data-on", "true")

    await host.page.locator("#control-people").click()
    await host.page.locator("#people li", has_text="Mo").get_by_role("button", name="Mute").click()
    await expect(guest.page.locator("#control-mic")).to_have_attribute("data-on", "false")
    await expect(host.tile("Mo")).to_have_attribute("data-audio", "false")

    host.page.on("dialog", lambda dialog: dialog.accept())
    await host.page.locator("#end-for-all").click()
    await guest.page.get_by_role("heading", name="The meeting has ended").wait_for()
    await host.page.get_by_role("heading", name="The meeting has ended").wait_for()
    await guest.goto(f"/m/{meeting['code']}")
    await guest.page.get_by_role("heading", name="This meeting has ended").wait_for()
