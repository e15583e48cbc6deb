"""A poll in the browser (issue 18): the host launches one with live results from the editor,
every participant gets the pop-up card, votes, and sees the bars move; closing reaches everyone.
One participant is on a 375 px wide phone screen."""

from __future__ import annotations

from playwright.async_api import Page, expect

from tests.support.browser import Person, gathered


def _popup(page: Page):  # type: ignore[no-untyped-def]
    return page.get_by_role("region", name="Poll")


async def _shows(person: Person, counts: list[int], words: list[str]) -> None:
    """The pop-up's bars carry these counts, and say them in words."""
    rows = _popup(person.page).locator(".poll-results li")
    for index, (count, text) in enumerate(zip(counts, words, strict=True)):
        row = rows.nth(index)
        await expect(row).to_have_attribute("data-count", str(count))
        await expect(row).to_contain_text(text)


async def test_a_live_poll_is_seen_voted_and_counted_by_everyone(people) -> None:  # type: ignore[no-untyped-def]
    host, meeting, guests = await gathered(people, "Gina", "Gus")
    gina, gus = guests
    await gus.page.set_viewport_size({"width": 375, "height": 740})
    page = host.page
    await page.get_by_role("button", name="Polls").click()
    await page.get_by_label("Question").fill("Where do we eat?")
    await page.get_by_label("Option 1", exact=True).fill("Pizza")
    await page.get_by_label("Option 2", exact=True).fill("Sushi")
    await page.get_by_role("button", name="Add option").click()
    await page.get_by_label("Option 3", exact=True).fill("Salad")
    await page.get_by_role("button", name="Remove option 3").click()
    await expect(page.get_by_label("Option 3", exact=True)).to_have_count(0)
    await page.get_by_label("Show results to everyone while open").check()
    await page.get_by_role("button", name="Launch poll").click()

    everyone = [host, gina, gus]
    for person in everyone:
        card = _popup(person.page)
        await expect(card.get_by_role("heading", name="Where do we eat?")).to_be_visible()
        await _shows(person, [0, 0], ["0 votes · 0%", "0 votes · 0%"])
    await _popup(gina.page).get_by_role("radio", name="Pizza").check()
    await _popup(gina.page).get_by_role("button", name="Vote").click()
    await _popup(gus.page).get_by_role("radio", name="Sushi").check()
    await _popup(gus.page).get_by_role("button", name="Vote").click()
    await _popup(page).get_by_role("radio", name="Sushi").check()
    await _popup(page).get_by_role("button", name="Vote").click()
    for person in everyone:
        await _shows(person, [1, 2], ["1 vote · 33%", "2 votes · 67%"])
        await expect(_popup(person.page)).to_contain_text("3 people voted")

    # Gina changes her mind; everyone's bars follow.
    await _popup(gina.page).get_by_role("radio", name="Sushi").check()
    await _popup(gina.page).get_by_role("button", name="Change vote").click()
    for person in everyone:
        await _shows(person, [0, 3], ["0 votes · 0%", "3 votes · 100%"])

    # On the phone, the card and its button fit the screen.
    box = await _popup(gus.page).bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 375, box
    vote = await _popup(gus.page).get_by_role("button", name="Change vote").bounding_box()
    assert vote is not None and vote["x"] + vote["width"] <= 375, vote

    await _popup(page).get_by_role("button", name="Close poll “Where do we eat?”").click()
    for person in everyone:
        await expect(_popup(person.page).locator(".poll-card")).to_have_attribute(
            "data-status", "closed"
        )
        await expect(_popup(person.page).get_by_role("button", name="Vote")).to_have_count(0)
    csv = "Download the results of “Where do we eat?” as CSV"
    await expect(_popup(page).get_by_role("button", name=csv)).to_be_visible()
    await expect(_popup(gina.page).get_by_role("button", name=csv)).to_have_count(0)

    # After the meeting, its page lists the poll with its results (and the CSV for the host).
    await page.evaluate(
        """async (id) => {
            const { session } = await import('/static/js/session.js');
            await session.api.request(`/api/v1/meetings/${id}/end`, {method: "POST"});
        }""",
        meeting["id"],
    )
    await host.goto(f"/m/{meeting['code']}")
    past = page.get_by_role("region", name="Polls")
    await expect(past.get_by_role("heading", name="Where do we eat?")).to_be_visible()
    await expect(past.locator(".poll-results li").nth(1)).to_contain_text("3 votes · 100%")
    await expect(past.get_by_role("button", name=csv)).to_be_visible()
