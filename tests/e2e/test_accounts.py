"""Signing up, signing in and staying signed in, in a real browser."""

from __future__ import annotations

from playwright.async_api import expect

from tests.support.browser import ADMIN


async def test_sign_up_create_a_meeting_and_reload_keeps_the_session(people) -> None:
    ada = await people()
    await ada.sign_up("Ada Lovelace")
    page = ada.page
    await page.get_by_text("Schedule a meeting").click()
    await page.get_by_label("Title").fill("Design review")
    await page.get_by_label("Date and time", exact=False).fill("2031-05-04T10:30")
    await page.get_by_role("button", name="Schedule", exact=True).click()
    upcoming = page.locator("[data-list=scheduled]")
    await upcoming.get_by_text("Design review").wait_for()
    await page.reload()
    await page.get_by_role("heading", name="Hello, Ada Lovelace").wait_for()
    await upcoming.get_by_text("Design review").wait_for()


async def test_wrong_password_is_explained_in_words(people) -> None:
    bob = await people()
    await bob.sign_up()
    await bob.page.get_by_role("button", name="Sign out").click()
    await bob.page.get_by_role("heading", name="Sign in to Parley").wait_for()
    await bob.page.get_by_label("Username or email").fill(bob.username)
    await bob.page.get_by_label("Password").fill("not-the-password")
    await bob.page.get_by_role("button", name="Sign in").click()
    await bob.page.get_by_role("alert").filter(has_text="Wrong username or password").wait_for()


async def test_profile_changes_the_display_name_everywhere(people) -> None:
    eve = await people()
    await eve.sign_up("Eve Early")
    await eve.goto("/profile")
    await eve.page.get_by_label("Display name").fill("Eve Later")
    await eve.page.get_by_role("button", name="Save").click()
    await eve.page.get_by_text("Profile saved.").wait_for()
    await eve.goto("/")
    await eve.page.get_by_role("heading", name="Hello, Eve Later").wait_for()


async def test_the_admin_finds_and_disables_a_user(people) -> None:
    victim = await people()
    await victim.sign_up("Vic Tim")
    admin = await people()
    await admin.sign_in(ADMIN)
    await admin.page.get_by_role("link", name="Admin").click()
    await admin.page.locator("#platform-stats").get_by_text("Meetings").first.wait_for()
    await admin.page.get_by_label("Search users").fill(victim.username)
    await admin.page.get_by_role("button", name="Search").click()
    row = admin.page.locator(f'tr[data-user="{victim.username}"]')
    await row.get_by_role("button", name="Disable").click()
    await expect(row).to_contain_text("disabled")
    await expect(admin.page.locator("#users tbody tr")).to_have_count(1)


async def test_a_signed_out_visitor_is_sent_to_sign_in_and_back(people) -> None:
    visitor = await people()
    await visitor.goto("/profile")
    await visitor.page.get_by_role("heading", name="Sign in to Parley").wait_for()
    assert "next=%2Fprofile" in visitor.page.url
    await visitor.page.get_by_role("link", name="Create an account").click()
    await visitor.page.get_by_label("Your name").fill("Newt")
    name = f"newt{id(visitor) % 100000}"
    await visitor.page.get_by_label("Username").fill(name)
    await visitor.page.get_by_label("Email").fill(f"{name}@example.org")
    await visitor.page.get_by_label("Password").fill("tangerine-Sky-42")
    await visitor.page.get_by_role("button", name="Sign up").click()
    await visitor.page.get_by_role("heading", name="Your profile").wait_for()


async def test_the_dashboard_joins_by_code_and_downloads_the_invitation(people) -> None:
    host = await people()
    await host.sign_up("Iris Invite")
    meeting = await host.new_meeting()
    await host.page.reload()
    row = host.page.locator(f'[data-meeting-code="{meeting["code"]}"]')
    async with host.page.expect_download() as download_info:
        await row.get_by_role("button", name="Calendar file (.ics) for", exact=False).click()
    download = await download_info.value
    assert download.suggested_filename == f"meeting-{meeting['code']}.ics"
    assert "BEGIN:VCALENDAR" in (await download.path()).read_text()

    await host.page.get_by_label("Meeting code or link").fill(f"{host.base}/m/{meeting['code']}")
    await host.page.get_by_role("button", name="Join", exact=True).click()
    await host.page.locator("#join").wait_for()
    assert host.page.url.endswith(f"/m/{meeting['code']}")
