"""Editing a scheduled meeting from the dashboard, in a real browser: the Edit button opens a form
prefilled with the meeting's values (the time in the browser's zone); Save sends what changed and
the list shows it; a time that has passed is refused next to the time field; Cancel and Escape
close the form; a password is replaced or removed, never shown back."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from playwright.async_api import Locator, expect

from tests.support.browser import Person

People = Callable[[], Awaitable[Person]]
PASSED = "This start time has already passed. Pick a time from now on."


async def _scheduled(person: Person, title: str, *, password: str = "") -> tuple[Locator, dict]:
    """Schedule a meeting with the dashboard's form: its row in Upcoming and the API's view."""
    page = person.page
    await page.get_by_text("Schedule a meeting").click()
    form = page.get_by_role("form", name="Schedule a meeting")
    await form.get_by_label("Title").fill(title)
    await form.get_by_label("Date and time", exact=False).fill("2031-05-04T10:30")
    if password:
        await form.get_by_label("Password (optional)").fill(password)
    await form.get_by_role("button", name="Schedule", exact=True).click()
    row = page.locator("[data-list=scheduled] [data-meeting-code]").filter(has_text=title)
    await row.wait_for()
    code = await row.get_attribute("data-meeting-code")
    listed = await page.evaluate(
        """async () => {
            const { session } = await import('/static/js/session.js');
            return session.api.request('/api/v1/meetings', {query: {status: 'scheduled'}});
        }"""
    )
    (meeting,) = [m for m in listed["items"] if m["code"] == code]
    return page.locator(f'[data-list=scheduled] [data-meeting-code="{code}"]'), meeting


async def _fetched(person: Person, meeting_id: str) -> dict:
    return await person.page.evaluate(
        """async (id) => {
            const { session } = await import('/static/js/session.js');
            return session.api.request(`/api/v1/meetings/${id}`);
        }""",
        meeting_id,
    )


async def _in_utc(person: Person, local: str) -> datetime:
    """A ``datetime-local`` value, read in the browser's time zone, as an aware datetime."""
    iso = await person.page.evaluate("(value) => new Date(value).toISOString()", local)
    return datetime.fromisoformat(iso)


async def _shown(person: Person, local: str) -> str:
    """How the dashboard writes that moment (the browser's locale and zone)."""
    return str(
        await person.page.evaluate(
            """(value) => new Date(value).toLocaleString(
                undefined, {dateStyle: 'medium', timeStyle: 'short'})""",
            local,
        )
    )


async def test_a_host_edits_title_time_duration_waiting_room_and_guests(people: People) -> None:
    ada = await people()
    await ada.sign_up()
    row, meeting = await _scheduled(ada, "Budget review")
    await row.get_by_role("button", name="Edit Budget review").click()
    form = ada.page.get_by_role("form", name="Edit Budget review")
    await expect(form.get_by_label("Title")).to_have_value("Budget review")
    when = form.get_by_label("Date and time", exact=False)
    await expect(when).to_have_value("2031-05-04T10:30")
    await expect(form.get_by_label("Duration (minutes)")).to_have_value("60")
    await expect(form.get_by_label("Waiting room: I admit people")).not_to_be_checked()
    await expect(form.get_by_label("Guests without an account may join")).to_be_checked()

    await form.get_by_label("Title").fill("Budget review, take two")
    await when.fill("2031-06-07T14:45")
    await form.get_by_label("Duration (minutes)").fill("90")
    await form.get_by_label("Waiting room: I admit people").check()
    await form.get_by_label("Guests without an account may join").uncheck()
    await form.get_by_role("button", name="Save").click()

    await expect(form).to_have_count(0)
    await expect(row).to_contain_text("Budget review, take two")
    await expect(row).to_contain_text(f"{await _shown(ada, '2031-06-07T14:45')} · 90 min")
    await expect(row).to_contain_text("waiting room")
    await expect(row).to_contain_text("no guests")
    await expect(row.get_by_role("button", name="Edit Budget review, take two")).to_be_focused()
    changed = await _fetched(ada, meeting["id"])
    assert changed["title"] == "Budget review, take two"
    assert datetime.fromisoformat(changed["start_time"]) == await _in_utc(ada, "2031-06-07T14:45")
    assert changed["duration_minutes"] == 90
    assert changed["settings"]["waiting_room"] is True
    assert changed["settings"]["allow_guests"] is False
    assert changed["has_password"] is False


async def test_a_past_start_time_is_refused_next_to_the_field_and_changes_nothing(
    people: People,
) -> None:
    ada = await people()
    await ada.sign_up()
    row, meeting = await _scheduled(ada, "Planning")
    await row.get_by_role("button", name="Edit Planning").click()
    form = ada.page.get_by_role("form", name="Edit Planning")
    await form.get_by_label("Title").fill("Planning, renamed")
    when = form.get_by_label("Date and time", exact=False)
    await when.fill("2020-05-04T10:30")
    await form.get_by_role("button", name="Save").click()

    await expect(when).to_have_accessible_description(PASSED)
    await expect(when).to_have_attribute("aria-invalid", "true")
    await expect(when).to_be_focused()
    assert await _fetched(ada, meeting["id"]) == meeting
    await expect(row.locator(".meeting-info strong")).to_have_text("Planning")


async def test_cancel_and_escape_close_the_form_unsaved_and_focus_the_edit_button(
    people: People,
) -> None:
    ada = await people()
    await ada.sign_up()
    row, meeting = await _scheduled(ada, "Standup")
    edit = row.get_by_role("button", name="Edit Standup")
    form = ada.page.get_by_role("form", name="Edit Standup")
    await edit.click()
    await expect(edit).to_have_attribute("aria-expanded", "true")
    await form.get_by_label("Title").fill("Not saved")
    await form.get_by_role("button", name="Cancel").click()
    await expect(form).to_have_count(0)
    await expect(edit).to_be_focused()
    await expect(edit).to_have_attribute("aria-expanded", "false")

    await edit.click()
    await expect(form.get_by_label("Title")).to_have_value("Standup")
    await form.get_by_label("Duration (minutes)").fill("15")
    await form.get_by_label("Duration (minutes)").press("Escape")
    await expect(form).to_have_count(0)
    await expect(edit).to_be_focused()
    assert await _fetched(ada, meeting["id"]) == meeting


async def test_a_password_is_removed_or_set_and_never_shown_back(people: People) -> None:
    ada = await people()
    await ada.sign_up()
    row, meeting = await _scheduled(ada, "Board", password="board-secret-1")
    assert meeting["has_password"] is True
    edit = row.get_by_role("button", name="Edit Board")
    form = ada.page.get_by_role("form", name="Edit Board")
    await edit.click()
    await expect(form.get_by_text("This meeting has a password.")).to_be_visible()
    await expect(form.get_by_label("New password", exact=False)).to_have_value("")
    await form.get_by_label("Remove the password").check()
    await form.get_by_role("button", name="Save").click()
    await expect(form).to_have_count(0)
    await expect(row).not_to_contain_text("password")
    assert (await _fetched(ada, meeting["id"]))["has_password"] is False

    await edit.click()
    await expect(form.get_by_text("This meeting has a password.")).to_have_count(0)
    await form.get_by_label("Password (optional)").fill("another-secret-2")
    await form.get_by_role("button", name="Save").click()
    await expect(form).to_have_count(0)
    await expect(row).to_contain_text("password")
    changed = await _fetched(ada, meeting["id"])
    assert changed["has_password"] is True
    assert "another-secret-2" not in str(changed)
