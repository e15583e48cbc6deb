"""The join page, as the people who open a meeting's link see it."""

from __future__ import annotations

from playwright.async_api import expect


async def test_the_host_of_a_locked_meeting_is_not_asked_for_its_password_or_to_wait(
    people,
) -> None:
    host = await people()
    await host.sign_up("Hana Host")
    meeting = await host.new_meeting(password="pw-secret-1", settings={"waiting_room": True})
    await host.goto(f"/m/{meeting['code']}")
    page = host.page
    join = page.locator("#join")
    await expect(join).to_have_text("Join")
    await expect(page.get_by_label("Meeting password")).to_have_count(0)
    await join.click()
    await host.in_room()
