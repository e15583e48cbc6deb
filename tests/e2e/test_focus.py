"""Where the focus goes, and what it looks like, as a keyboard user meets the pages."""

from __future__ import annotations

from playwright.async_api import expect


async def test_a_fresh_load_draws_no_outline_around_the_page(people) -> None:
    visitor = await people()
    await visitor.sign_up()
    page = visitor.page
    await page.reload()
    await page.get_by_role("heading", name="Hello,", exact=False).wait_for()
    main = page.locator("#main")
    await expect(main).to_be_focused()
    assert await main.evaluate("m => getComputedStyle(m).outlineStyle") == "none"
