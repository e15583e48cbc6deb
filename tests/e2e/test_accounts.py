"""Signing up, signing in and staying signed in, in a real browser."""

from __future__ import annotations


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
