"""Inviting people from inside the room (issue 16, item 2): the Invite dialog copies the link and
an invitation (link, code, a password hint, never the password); the link leads a guest to the
meeting's join page; the host of a fresh instant meeting is greeted by "Your meeting is ready"
(once, and never a guest); the dashboard's instant meeting takes a password and a waiting room.
One run is on a 375 px wide phone screen."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from playwright.async_api import Locator, Page, ViewportSize, expect

from tests.support.browser import Person, gathered

People = Callable[[], Awaitable[Person]]
PHONE: ViewportSize = {"width": 375, "height": 740}


async def _clipboard(page: Page) -> str:
    return str(await page.evaluate("navigator.clipboard.readText()"))


def _dialog(page: Page) -> Locator:
    return page.get_by_role("dialog", name="Invite people")


def _ready(page: Page) -> Locator:
    return page.get_by_role("region", name="Your meeting is ready")


async def _fits(locator: Locator) -> None:
    box = await locator.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 375, box


async def _start_instant(host: Person, *, password: str = "", waiting_room: bool = False) -> str:
    """Start an instant meeting from the dashboard and go in; returns its code."""
    page = host.page
    if password or waiting_room:
        await page.get_by_text("Options: password, waiting room").click()
        if password:
            await page.get_by_label("Password for this meeting (optional)").fill(password)
        if waiting_room:
            await page.get_by_label("Waiting room (I admit people)").check()
    await page.get_by_role("button", name="Start an instant meeting").click()
    await page.wait_for_url("**/m/*")
    await page.locator("#join").click()
    await host.in_room()
    return page.url.rsplit("/m/", 1)[1]


async def test_the_host_copies_an_invitation_with_link_and_code_but_not_the_password(
    people: People,
) -> None:
    host, meeting, _ = await gathered(people, password="pw-secret-9")
    page = host.page
    link = f"{host.base}/m/{meeting['code']}"
    invite = page.get_by_role("button", name="Invite", exact=True)
    await invite.click()
    dialog = _dialog(page)
    await expect(dialog).to_be_visible()
    await expect(invite).to_have_attribute("aria-expanded", "true")
    await expect(dialog.get_by_label("Meeting link")).to_have_value(link)
    await expect(dialog).to_contain_text(meeting["code"])
    # Not on a fresh instant meeting from the dashboard: no "ready" card.
    await expect(_ready(page)).to_have_count(0)

    await dialog.get_by_role("button", name="Copy invitation").click()
    await expect(dialog.get_by_role("status")).to_have_text("Invitation copied")
    text = await _clipboard(page)
    assert meeting["title"] in text, text
    assert link in text and f"Meeting code: {meeting['code']}" in text, text
    assert "Password: ask the host" in text, text
    assert "pw-secret-9" not in text, text

    await dialog.get_by_role("button", name="Copy link").click()
    await expect(dialog.get_by_role("status")).to_have_text("Link copied")
    assert await _clipboard(page) == link

    await page.keyboard.press("Escape")
    await expect(dialog).to_be_hidden()
    await expect(invite).to_be_focused()
    await expect(invite).to_have_attribute("aria-expanded", "false")

    # The copied link leads a guest to the meeting's join page, which asks for the password.
    guest = await people()
    await guest.page.goto(link)
    await expect(guest.page.get_by_role("heading", name=meeting["title"])).to_be_visible()
    await expect(guest.page.get_by_label("Meeting password")).to_be_visible()
    await expect(guest.page.locator("#join")).to_have_text("Join")


async def test_a_meeting_without_password_invites_without_a_password_hint(people: People) -> None:
    host, meeting, _ = await gathered(people)
    page = host.page
    await page.get_by_role("button", name="Invite", exact=True).click()
    await _dialog(page).get_by_role("button", name="Copy invitation").click()
    await expect(_dialog(page).get_by_role("status")).to_have_text("Invitation copied")
    text = await _clipboard(page)
    assert meeting["code"] in text and "Password" not in text, text


async def test_the_host_of_a_new_instant_meeting_is_told_it_is_ready_once(people: People) -> None:
    host = await people()
    await host.sign_up("Hana Host")
    code = await _start_instant(host)
    page = host.page
    link = f"{host.base}/m/{code}"
    card = _ready(page)
    await expect(card).to_be_visible()
    await expect(card.get_by_label("Meeting link")).to_have_value(link)
    await expect(card).to_contain_text(code)
    await card.get_by_role("button", name="Copy link").click()
    await expect(card.get_by_role("status")).to_have_text("Link copied")
    assert await _clipboard(page) == link

    # A guest who comes in never sees it.
    guest = await people()
    await guest.enter(code, name="Gus")
    await expect(host.tile("Gus")).to_be_visible()
    await expect(guest.page.get_by_role("button", name="Invite", exact=True)).to_be_visible()
    await expect(_ready(guest.page)).to_have_count(0)

    await card.get_by_role("button", name="Dismiss").click()
    await expect(card).to_have_count(0)
    await expect(page.get_by_role("button", name="Invite", exact=True)).to_be_focused()

    # Shown once: back in the room after a reload, no card.
    await page.reload()
    await page.locator("[data-state=room], #join").first.wait_for()
    if await page.locator("#join").count():
        await page.locator("#join").click()
    await host.in_room()
    await expect(page.get_by_role("button", name="Invite", exact=True)).to_be_visible()
    await expect(_ready(page)).to_have_count(0)


async def test_on_a_phone_an_instant_meeting_gets_a_password_a_waiting_room_and_an_invite(
    people: People, artifacts: Path
) -> None:
    host = await people()
    await host.sign_up("Hana Host")
    page = host.page
    await page.set_viewport_size(PHONE)
    code = await _start_instant(host, password="pw-phone-7", waiting_room=True)
    created = await page.evaluate(
        """async (code) => {
            const { session } = await import('/static/js/session.js');
            return session.api.request('/api/v1/meetings/by-code/' + code);
        }""",
        code,
    )
    assert created["has_password"] is True and created["waiting_room"] is True, created

    card = _ready(page)
    await expect(card).to_be_visible()
    await _fits(card)
    await _fits(card.get_by_role("button", name="Copy invitation"))
    await page.screenshot(path=str(artifacts / "invite-ready-375.png"))
    await card.get_by_role("button", name="Dismiss").click()

    # On a phone Invite is one of the controls under More.
    await page.get_by_role("button", name="More").click()
    invite = page.get_by_role("button", name="Invite", exact=True)
    await invite.click()
    dialog = _dialog(page)
    await expect(dialog).to_be_visible()
    await _fits(dialog)
    for name in ("Copy link", "Copy invitation"):
        await _fits(dialog.get_by_role("button", name=name))
    await dialog.get_by_role("button", name="Copy invitation").click()
    await expect(dialog.get_by_role("status")).to_have_text("Invitation copied")
    await page.screenshot(path=str(artifacts / "invite-dialog-375.png"))
    text = await _clipboard(page)
    assert f"{host.base}/m/{code}" in text and "Password: ask the host" in text, text
    assert "pw-phone-7" not in text, text
    await page.keyboard.press("Escape")
    await expect(dialog).to_be_hidden()
    await expect(invite).to_be_focused()

    # Someone opening the link is asked for the password and to wait for the host.
    guest = await people()
    await guest.page.set_viewport_size(PHONE)
    await guest.goto(f"/m/{code}")
    await expect(guest.page.get_by_label("Meeting password")).to_be_visible()
    await expect(guest.page.locator("#join")).to_have_text("Ask to join")
