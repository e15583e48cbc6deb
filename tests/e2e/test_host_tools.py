"""The host can't miss the lobby or a raised hand: a lasting notice with Admit / Deny / Admit
all and a count on Participants; a hand queue in the order hands went up, lowered one by one
or all at once; mute all (but hosts)."""

from __future__ import annotations

from playwright.async_api import expect

from tests.support.browser import gathered


async def test_knockers_get_a_lasting_notice_and_admit_all_lets_them_in(people) -> None:
    host, meeting, _ = await gathered(people, settings={"waiting_room": True})
    knockers = []
    for name in ("Kim", "Lou"):
        knocker = await people()
        await knocker.join(meeting["code"], name=name)
        await knocker.page.get_by_role("heading", name="Waiting for the host").wait_for()
        knockers.append(knocker)
    notice = host.page.get_by_role("region", name="Waiting to join")
    await expect(notice).to_contain_text("Kim wants to join")
    await expect(notice).to_contain_text("Lou wants to join")
    await expect(notice.get_by_role("button", name="Admit Kim")).to_be_visible()
    await expect(notice.get_by_role("button", name="Deny Lou")).to_be_visible()
    await expect(host.page.locator("#control-people #lobby-count")).to_have_text("2")
    await host.page.wait_for_timeout(6_000)  # longer than any toast: the notice stays
    await expect(notice).to_be_visible()

    await notice.get_by_role("button", name="Admit all (2)").click()
    for knocker in knockers:
        await knocker.in_room()
    await expect(notice).to_be_hidden()
    await expect(host.page.locator("#lobby-count")).to_be_hidden()


async def test_one_knocker_is_admitted_or_denied_from_the_notice(people) -> None:
    host, meeting, _ = await gathered(people, settings={"waiting_room": True})
    kim = await people()
    await kim.join(meeting["code"], name="Kim")
    notice = host.page.get_by_role("region", name="Waiting to join")
    await expect(notice.get_by_role("button", name="Admit all", exact=False)).to_have_count(0)
    await notice.get_by_role("button", name="Deny Kim").click()
    await expect(kim.page.get_by_role("heading", name="You were not let in")).to_be_visible()
    await expect(notice).to_be_hidden()


async def test_raised_hands_queue_in_order_and_hosts_lower_them(people) -> None:
    host, _, (ben, cy, di) = await gathered(people, "Ben", "Cy", "Di")
    for person in (cy, ben):
        await person.page.get_by_role("button", name="Raise hand").click()
        await expect(host.tile(await name_of(person))).to_have_attribute("data-hand", "true")
    await expect(host.page.get_by_text("Ben raised their hand.")).to_be_visible()
    await host.page.locator("#control-people").click()
    queue = host.page.get_by_role("region", name="Raised hands")
    await expect(queue.locator(".hand-name")).to_have_text(["Cy", "Ben"])  # as they went up

    await queue.get_by_role("button", name="Lower hand for Cy").click()
    await expect(cy.page.get_by_role("button", name="Raise hand")).to_be_visible()
    await expect(queue.locator(".hand-name")).to_have_text(["Ben"])
    await di.page.get_by_role("button", name="Raise hand").click()
    await expect(queue.get_by_role("listitem")).to_have_count(2)
    await queue.get_by_role("button", name="Lower all hands").click()
    await expect(queue).to_be_hidden()
    for person in (ben, di):
        await expect(person.page.get_by_role("button", name="Raise hand")).to_be_visible()


async def test_mute_all_mutes_everyone_but_the_hosts(people) -> None:
    host, _, (ben, cy) = await gathered(people, "Ben", "Cy")
    await host.page.locator("#control-people").click()
    await host.page.get_by_role("button", name="Mute all").click()
    for name in ("Ben", "Cy"):
        await expect(host.tile(name)).to_have_attribute("data-audio", "false")
    for person in (ben, cy):
        await expect(person.page.locator("#control-mic")).to_have_attribute("data-on", "false")
    await expect(host.page.locator("#control-mic")).to_have_attribute("data-on", "true")


async def name_of(person) -> str:  # type: ignore[no-untyped-def]
    value = await person.page.locator(".tile.self").get_attribute("data-peer-name")
    assert value
    return value
