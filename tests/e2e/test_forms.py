"""Forms and their errors, in a real browser: defaults that stay, and mistakes explained in
plain words next to the field they are about."""

from __future__ import annotations

from playwright.async_api import expect

from tests.support.browser import PASSWORD


async def test_the_schedule_form_keeps_its_defaults_for_a_second_meeting(people) -> None:
    ada = await people()
    await ada.sign_up()
    page = ada.page
    await page.get_by_text("Schedule a meeting").click()
    form = page.get_by_role("form", name="Schedule a meeting")
    upcoming = page.locator("[data-list=scheduled]")
    meetings = (("First review", "2031-05-04T10:30"), ("Second review", "2031-05-05T10:30"))
    for title, start in meetings:
        await form.get_by_label("Title").fill(title)
        await form.get_by_label("Date and time", exact=False).fill(start)
        await form.get_by_role("button", name="Schedule", exact=True).click()
        await upcoming.get_by_text(title).wait_for()
        await expect(form.get_by_label("Duration (minutes)")).to_have_value("60")
    await expect(upcoming.locator("[data-meeting-code]")).to_have_count(2)


async def test_a_wrong_current_password_is_called_the_current_password(people) -> None:
    cam = await people()
    await cam.sign_up()
    await cam.goto("/profile")
    form = cam.page.get_by_role("form", name="Password")
    await form.get_by_label("Current password").fill(f"not-{PASSWORD}")
    await form.get_by_label("New password", exact=False).fill("another-Sky-43")
    await form.get_by_role("button", name="Change password").click()
    current = form.get_by_label("Current password")
    await expect(current).to_have_accessible_description("The current password is wrong.")
    await expect(current).to_be_focused()


async def test_a_start_time_that_has_passed_is_refused_next_to_the_field(people) -> None:
    ada = await people()
    await ada.sign_up()
    page = ada.page
    await page.get_by_text("Schedule a meeting").click()
    form = page.get_by_role("form", name="Schedule a meeting")
    await form.get_by_label("Title").fill("Yesterday's review")
    when = form.get_by_label("Date and time", exact=False)
    await when.fill("2020-05-04T10:30")
    await form.get_by_role("button", name="Schedule", exact=True).click()
    await expect(when).to_have_accessible_description(
        "This start time has already passed. Pick a time from now on."
    )
    await expect(when).to_have_attribute("aria-invalid", "true")
    await when.fill("2031-05-04T10:30")
    await form.get_by_role("button", name="Schedule", exact=True).click()
    await page.locator("[data-list=scheduled]").get_by_text("Yesterday's review").wait_for()
    await expect(when).not_to_have_attribute("aria-invalid", "true")


async def test_sign_up_mistakes_are_told_next_to_each_field_in_plain_words(people) -> None:
    newt = await people()
    await newt.goto("/signup")
    page = newt.page
    await page.get_by_label("Your name").fill("Newt")
    await page.get_by_label("Username").fill("newt scamander")
    await page.get_by_label("Email").fill("newt-at-example.org")
    await page.get_by_label("Password").fill("short")
    await page.get_by_role("button", name="Sign up").click()
    username = page.get_by_label("Username")
    await expect(username).to_have_accessible_description(
        "Use only letters, digits, dots, dashes and underscores (no spaces)."
    )
    await expect(page.get_by_label("Email")).to_have_accessible_description(
        "Enter an email address like name@example.org."
    )
    await expect(page.get_by_label("Password")).to_have_accessible_description(
        "Use at least 8 characters."
    )
    await expect(page.get_by_label("Your name")).to_have_accessible_description("")
    await expect(username).to_be_focused()
    await expect(page.get_by_role("alert")).to_be_hidden()
