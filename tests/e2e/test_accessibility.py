"""axe-core finds no accessibility violation on any page, nor in any state of the room (chat
open, participants open, locked, hand raised, lobby notice, the lobby itself, phone width)."""

from __future__ import annotations

from playwright.async_api import Page, expect

from tests.support.axe import described, violations, with_axe
from tests.support.browser import ADMIN, Person, gathered


async def assert_clean(page: Page, what: str) -> None:
    found = await violations(page)
    assert not found, f"{what}: {len(found)} kinds of violation\n{described(found)}"


async def checked(people) -> Person:  # type: ignore[no-untyped-def]
    return await with_axe(await people())


async def test_the_pages_before_signing_in(people) -> None:
    visitor = await checked(people)
    for path, heading in (("/signin", "Sign in"), ("/signup", "Create your account")):
        await visitor.goto(path)
        await visitor.page.get_by_role("heading", level=1).first.wait_for()
        await assert_clean(visitor.page, f"{path} ({heading})")
    await visitor.goto("/no/such/page")
    await visitor.page.get_by_role("heading", name="Page not found").wait_for()
    await assert_clean(visitor.page, "the app's not-found page")
    await visitor.page.goto(visitor.base + "/no-such-page-at-all")
    await assert_clean(visitor.page, "the server's not-found page")


async def test_the_signed_in_pages(people) -> None:
    ada = await checked(people)
    await ada.sign_in(ADMIN)
    await assert_clean(ada.page, "the dashboard")
    for path in ("/profile", "/recordings", "/admin"):
        await ada.goto(path)
        await ada.page.get_by_role("heading", level=1).first.wait_for()
        await ada.page.wait_for_load_state("networkidle")
        await assert_clean(ada.page, path)


async def test_the_dashboard_with_meetings_and_the_edit_form(people) -> None:
    host = await checked(people)
    await host.sign_up("Hana Host")
    page = host.page
    await page.get_by_text("Schedule a meeting").click()
    form = page.get_by_role("form", name="Schedule a meeting")
    await form.get_by_label("Title").fill("Budget review")
    await form.get_by_label("Date and time", exact=False).fill("2031-05-04T10:30")
    await form.get_by_role("button", name="Schedule", exact=True).click()
    await page.locator("[data-list=scheduled] [data-meeting-code]").first.wait_for()
    await host.new_meeting()
    await host.goto("/")
    await page.locator("[data-meeting-code]").first.wait_for()
    await assert_clean(page, "the dashboard with meetings (copy link, .ics, edit)")
    await page.get_by_role("button", name="Edit Budget review").click()
    await assert_clean(page, "the dashboard with the edit form open")


async def test_the_join_page_and_the_lobby(people) -> None:
    _, meeting, _ = await gathered(people, settings={"waiting_room": True})
    kim = await checked(people)
    await kim.goto(f"/m/{meeting['code']}")
    await kim.page.locator("#join").wait_for()
    await assert_clean(kim.page, "the join page")
    await kim.page.get_by_label("Your name").fill("Kim")
    await kim.page.locator("#join").click()
    await kim.page.get_by_role("heading", name="Waiting for the host").wait_for()
    await assert_clean(kim.page, "the lobby")


async def test_every_state_of_the_room(people) -> None:
    host = await checked(people)
    await host.sign_up("Hana Host")
    meeting = await host.new_meeting()
    await host.enter(meeting["code"])
    ben = await people()
    await ben.enter(meeting["code"], name="Ben")
    page = host.page
    await expect(host.tile("Ben")).to_have_count(1)
    await assert_clean(page, "the room")

    await page.locator("#control-chat").click()
    await page.get_by_role("textbox", name="Message").fill("hello")
    await page.keyboard.press("Enter")
    await expect(page.locator(".chat-log li")).to_have_count(1)
    await assert_clean(page, "the room, chat open with a message")

    await page.locator("#control-people").click()
    await page.get_by_role("button", name="Lock meeting").click()
    await expect(page.get_by_role("button", name="Unlock meeting")).to_be_visible()
    await page.get_by_role("button", name="Raise hand").click()
    await ben.page.get_by_role("button", name="Raise hand").click()
    await expect(page.get_by_role("region", name="Raised hands")).to_be_visible()
    await assert_clean(page, "the room, participants open, locked, hands raised")

    kim = await people()
    await kim.join(meeting["code"], name="Kim")  # the room is locked: Kim waits
    await expect(page.get_by_role("region", name="Waiting to join")).to_be_visible()
    await assert_clean(page, "the room with someone in the lobby")

    await page.set_viewport_size({"width": 375, "height": 740})
    await page.keyboard.press("Escape")
    await page.get_by_role("button", name="More").click()
    await assert_clean(page, "the room at 375 px, More open")
    await page.locator("#control-react").click()
    await assert_clean(page, "the room at 375 px, reactions open")
