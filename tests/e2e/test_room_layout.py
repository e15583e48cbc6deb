"""How the room is laid out and driven by keyboard and on a phone: grid, speaker view and
pinning, hiding one's own view, Escape closing what is open, one row of controls at 375 px."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.async_api import Page, expect

from tests.support.browser import gathered


async def area(page: Page, selector: str) -> float:
    box = await page.locator(selector).bounding_box()
    assert box is not None, f"{selector} is not shown"
    return box["width"] * box["height"]


async def test_pinning_someone_shows_them_large_and_the_others_in_a_strip(people) -> None:
    host, _, _ = await gathered(people, "Ben", "Cy")
    page = host.page
    await expect(page.locator("#grid")).to_have_attribute("data-layout", "grid")
    await page.locator('.tile[data-peer-name="Cy"]').hover()
    await page.get_by_role("button", name="Pin Cy").click()
    pin = page.get_by_role("button", name="Pin Cy")
    await expect(pin).to_have_attribute("aria-pressed", "true")
    await expect(page.locator("#grid")).to_have_attribute("data-layout", "speaker")
    await expect(host.tile("Cy")).to_have_class(re.compile(r"\bfeatured\b"))
    assert await area(page, '.tile[data-peer-name="Cy"]') > 3 * await area(
        page, '.tile[data-peer-name="Ben"]'
    )
    await pin.click()
    await expect(page.locator("#grid")).to_have_attribute("data-layout", "grid")


async def test_the_speaker_view_shows_one_other_person_large(people) -> None:
    host, _, _ = await gathered(people, "Ben", "Cy")
    await host.page.get_by_label("Layout").select_option("speaker")
    await expect(host.page.locator("#grid")).to_have_attribute("data-layout", "speaker")
    featured = host.page.locator(".tile.featured")
    await expect(featured).to_have_count(1)
    await expect(host.page.locator(".tile.self.featured")).to_have_count(0)


async def test_ones_own_view_can_be_hidden_and_shown_again(people) -> None:
    host, _, _ = await gathered(people, "Ben")
    await host.page.get_by_role("button", name="Hide self view").click()
    await expect(host.page.locator(".tile.self")).to_be_hidden()
    await expect(host.tile("Ben")).to_be_visible()
    await host.page.get_by_role("button", name="Show self view").click()
    await expect(host.page.locator(".tile.self")).to_be_visible()


async def test_escape_closes_panels_and_the_picker_and_focus_goes_back(people) -> None:
    host, _, _ = await gathered(people)
    page = host.page
    chat = page.locator("#control-chat")
    await chat.click()
    await expect(page.get_by_role("complementary", name="Chat")).to_be_visible()
    await page.keyboard.press("Escape")
    await expect(page.get_by_role("complementary", name="Chat")).to_be_hidden()
    await expect(chat).to_be_focused()

    await page.locator("#control-people").click()
    panel = page.get_by_role("complementary", name="Participants")
    await expect(panel.get_by_role("heading", name="Participants")).to_be_focused()
    await page.keyboard.press("Escape")
    await expect(panel).to_be_hidden()
    await expect(page.locator("#control-people")).to_be_focused()

    await page.locator("#control-react").click()
    await expect(page.get_by_role("menu")).to_be_visible()
    await page.keyboard.press("Escape")
    await expect(page.get_by_role("menu")).to_be_hidden()
    await expect(page.locator("#control-react")).to_be_focused()


async def test_on_a_phone_the_controls_are_one_row_with_the_rest_under_more(
    people, artifacts: Path
) -> None:
    host, _, _ = await gathered(people, "Ben", "Cy")
    page = host.page
    await page.set_viewport_size({"width": 375, "height": 740})
    bar = page.get_by_role("toolbar", name="Meeting controls")
    buttons = bar.locator(":scope > button:visible")
    tops = {round((await b.bounding_box() or {"y": -1})["y"]) for b in await buttons.all()}
    assert len(tops) == 1, f"the controls take {len(tops)} rows"
    assert await page.evaluate("document.documentElement.scrollWidth") <= 375
    await expect(page.get_by_role("button", name="Share screen")).to_be_hidden()
    await page.get_by_role("button", name="More").click()
    await expect(page.get_by_role("button", name="More")).to_have_attribute("aria-expanded", "true")
    await expect(page.get_by_role("button", name="Share screen")).to_be_visible()

    grid = await page.locator("#grid").bounding_box()
    controls = await bar.bounding_box()
    assert grid and controls and grid["y"] + grid["height"] <= controls["y"] + 1
    await page.locator("#control-react").click()
    picker = await page.get_by_role("menu").bounding_box()
    assert picker and picker["x"] >= 0 and picker["x"] + picker["width"] <= 375
    assert picker["y"] >= 0
    await page.screenshot(path=str(artifacts / "meeting-room-375px-more.png"))
