"""The host leaves (issue 16, item 5) in a real browser: Leave asks a host "Leave" or "End for
all"; when the host leaves, the signed-in participant present the longest becomes cohost and is
told; a guest who arrives before the host is told that the host has not joined yet."""

from __future__ import annotations

from playwright.async_api import expect

from tests.support.browser import gathered


async def test_the_host_leaves_and_the_signed_in_participant_becomes_cohost(people) -> None:
    host, meeting, (guest,) = await gathered(people, "Gina")
    alice = await people()
    await alice.sign_up("Alice Ames")
    await alice.enter(meeting["code"])
    await expect(host.tile("Alice Ames")).to_have_count(1)

    await host.page.locator("#leave").click()
    dialog = host.page.get_by_role("dialog", name="Leave the meeting?")
    await expect(dialog).to_be_visible()
    await expect(dialog.get_by_role("button", name="Leave", exact=True)).to_be_focused()
    await expect(dialog.get_by_role("button", name="End for all")).to_be_visible()
    await host.page.keyboard.press("Escape")
    await expect(dialog).to_be_hidden()
    await expect(host.page.locator("#leave")).to_be_focused()
    await expect(host.page.locator("[data-state=room]")).to_have_count(1)  # still in

    await host.page.locator("#leave").click()
    await dialog.get_by_role("button", name="Leave", exact=True).click()
    await host.page.get_by_role("heading", name="You left the meeting").wait_for()

    await alice.page.locator(".toast", has_text="You are now a cohost").wait_for()
    await expect(alice.page.locator("#control-record")).to_be_visible()  # a moderator's tool
    await expect(guest.tile("Hana Host")).to_have_count(0)
    await expect(guest.page.locator("#host-absent")).to_have_text("")  # a cohost is here

    # A participant who is no moderator leaves at once, without the question.
    await guest.page.locator("#leave").click()
    await guest.page.get_by_role("heading", name="You left the meeting").wait_for()


async def test_a_guest_who_arrives_before_the_host_is_told(people) -> None:
    host = await people()
    await host.sign_up("Hana Host")
    meeting = await host.new_meeting()
    guest = await people()
    await guest.enter(meeting["code"], name="Early Ed")
    notice = guest.page.locator("#host-absent")
    await expect(notice).to_have_attribute("role", "status")
    await expect(notice).to_have_text("The host has not joined yet")

    await host.enter(meeting["code"])
    await expect(guest.tile("Hana Host")).to_have_count(1)
    await expect(notice).to_have_text("")
    await expect(host.page.locator("#host-absent")).to_have_text("")
