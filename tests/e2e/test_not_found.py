"""Addresses that lead nowhere, as a person in a browser meets them."""

from __future__ import annotations

from playwright.async_api import expect


async def test_an_unknown_address_shows_the_apps_page_not_found_with_a_way_home(
    people,
) -> None:
    visitor = await people()
    await visitor.goto("/no-such-page")
    page = visitor.page
    await expect(page).to_have_title("Page not found · Parley")
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    main = page.get_by_role("main")
    await expect(main.get_by_role("heading", name="Page not found")).to_be_visible()
    await main.get_by_role("link", name="Go to your meetings").click()
    await page.get_by_role("heading", name="Sign in to Parley").wait_for()
