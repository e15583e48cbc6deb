"""A 375 px phone: Join is visible without scrolling, the top bar fits one row, a room while
someone presents keeps its controls in view. Screenshots in test-artifacts/ to look at."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import Page, expect

from tests.support.browser import gathered

PHONE = {"width": 375, "height": 740}


async def in_view_unscrolled(page: Page, selector: str) -> None:
    box = await page.locator(selector).bounding_box()
    assert box is not None, f"{selector} is not shown"
    assert await page.evaluate("window.scrollY") == 0
    assert box["y"] >= 0 and box["y"] + box["height"] <= PHONE["height"], box
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box


async def test_the_join_page_shows_join_without_scrolling(people, artifacts: Path) -> None:
    _, meeting, _ = await gathered(people)
    guest = await people()
    await guest.page.set_viewport_size(PHONE)
    await guest.goto(f"/m/{meeting['code']}")
    await guest.page.locator("#join").wait_for()
    await in_view_unscrolled(guest.page, "#join")
    assert await guest.page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    await guest.page.screenshot(path=str(artifacts / "join-page-375px.png"))


async def test_the_dashboards_top_bar_fits_one_row(people, artifacts: Path) -> None:
    host = await people()
    await host.page.set_viewport_size(PHONE)
    await host.sign_up("Hana Host")
    bar = host.page.locator("#topbar")
    parts = bar.locator(".brand, nav > :visible")
    tops = set()
    for part in await parts.all():
        box = await part.bounding_box()
        assert box is not None
        tops.add(round(box["y"] + box["height"] / 2))
    assert max(tops) - min(tops) <= 4, f"the top bar wraps: centres at {sorted(tops)}"
    assert await host.page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    await host.page.screenshot(path=str(artifacts / "dashboard-375px.png"), full_page=True)


async def test_a_room_while_presenting_keeps_its_controls_in_view(people, artifacts: Path) -> None:
    host, _, (ben,) = await gathered(people, "Ben")
    await host.page.get_by_role("button", name="Share screen").click()
    await expect(ben.page.locator("#stage")).to_be_visible()
    await ben.page.set_viewport_size(PHONE)
    await in_view_unscrolled(ben.page, "#control-mic")
    await in_view_unscrolled(ben.page, "#leave")
    stage = await ben.page.locator("#stage").bounding_box()
    controls = await ben.page.locator("#meeting-controls").bounding_box()
    assert stage and controls and stage["y"] + stage["height"] <= controls["y"] + 1
    assert await ben.page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    await ben.page.screenshot(path=str(artifacts / "meeting-room-presenting-375px.png"))
