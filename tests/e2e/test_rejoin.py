"""Sessions that survive a reload (issue 16, item 4) in the real web client: a reload mid-meeting
is back in the room as the same participant without the join form, the others never see two
tiles of them, and the private chat is still there with one's own lines as "You"."""

from __future__ import annotations

import asyncio

from playwright.async_api import expect

from tests.support.browser import Person, gathered

ROUNDS = 150  # bounded waits: 150 x 0.2 s

# Before any page script: remembers whether the join form was ever shown on this page.
WATCH_JOIN_FORM = """
new MutationObserver(() => {
  if (document.getElementById("join-form")) window.__sawJoinForm = true;
}).observe(document, {childList: true, subtree: true});
"""

# On the page that watches: the most tiles of one name it ever showed at once.
COUNT_TILES = """(name) => {
  window.__most = 0;
  const count = () => {
    const n = document.querySelectorAll(`.tile[data-peer-name="${name}"]`).length;
    window.__most = Math.max(window.__most, n);
  };
  count();
  new MutationObserver(count).observe(document.body, {childList: true, subtree: true});
}"""


async def wait_until(check, rounds: int = ROUNDS) -> None:
    for _ in range(rounds):
        if await check():
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"never true: {check.__name__}")


async def _say_privately(person: Person, to: str, text: str) -> None:
    await person.page.locator("#control-chat").click()
    await person.page.locator("#chat-to").select_option(label=f"{to} (private)")
    await person.page.locator("#chat-text").fill(text)
    await person.page.locator("#chat-text").press("Enter")
    await expect(person.page.locator("#chat-log")).to_contain_text(text)


async def _reload_back_in_the_room(person: Person) -> None:
    await person.page.add_init_script(WATCH_JOIN_FORM)
    await person.page.reload()
    await person.in_room()
    assert not await person.page.evaluate("window.__sawJoinForm === true"), "the join form showed"


async def _own_private_line(person: Person, text: str) -> None:
    """The line is there after the reload, private, and shown as the person's own."""
    await person.page.locator("#control-chat").click()
    line = person.page.locator("#chat-log li", has_text=text)
    await expect(line).to_have_count(1)
    await expect(line).to_have_attribute("data-private", "true")
    await expect(line).to_have_class("mine")
    assert (await line.locator(".from").inner_text()).startswith("You")


async def _media_both_ways(a: Person, a_name: str, b: Person, b_name: str) -> None:
    async def flowing() -> bool:
        return (
            await a.stat(b_name, "frames-decoded") > 0
            and await b.stat(a_name, "frames-decoded") > 0
        )

    await wait_until(flowing)


async def test_a_guest_reloads_and_is_back_as_one_tile_with_their_chat(people) -> None:
    host, _, (gus,) = await gathered(people, "Gus Guest")
    await expect(host.tile("Gus Guest")).to_have_count(1)
    gus_id = await host.tile("Gus Guest").get_attribute("data-peer-id")
    await _say_privately(gus, "Hana Host", "Only for the host, from Gus")
    await expect(host.page.locator("#chat-log")).to_contain_text("Only for the host, from Gus")
    await host.page.evaluate(COUNT_TILES, "Gus Guest")

    await _reload_back_in_the_room(gus)

    # Exactly one tile at the host, the same participant, and it never was two.
    await expect(host.tile("Gus Guest")).to_have_count(1)
    assert await host.tile("Gus Guest").get_attribute("data-peer-id") == gus_id
    await _media_both_ways(host, "Hana Host", gus, "Gus Guest")
    await asyncio.sleep(2)  # the old connection's resume window would have shown a ghost by now
    await expect(host.tile("Gus Guest")).to_have_count(1)
    assert await host.page.evaluate("window.__most") == 1
    assert await host.remote_names() == ["Gus Guest"]
    await _own_private_line(gus, "Only for the host, from Gus")
    # Gus is really back: what they say now reaches the host as before.
    await gus.page.locator("#chat-to").select_option(label="Everyone")
    await gus.page.locator("#chat-text").fill("back after a reload")
    await gus.page.locator("#chat-text").press("Enter")
    await expect(host.page.locator("#chat-log")).to_contain_text("back after a reload")


async def test_the_host_reloads_likewise(people) -> None:
    host, _, (ben,) = await gathered(people, "Ben")
    await expect(ben.tile("Hana Host")).to_have_count(1)
    host_id = await ben.tile("Hana Host").get_attribute("data-peer-id")
    await _say_privately(host, "Ben", "Only for Ben, from the host")
    await expect(ben.page.locator("#chat-log")).to_contain_text("Only for Ben, from the host")
    await ben.page.evaluate(COUNT_TILES, "Hana Host")

    await _reload_back_in_the_room(host)

    await expect(ben.tile("Hana Host")).to_have_count(1)
    assert await ben.tile("Hana Host").get_attribute("data-peer-id") == host_id
    await _media_both_ways(host, "Hana Host", ben, "Ben")
    assert await ben.page.evaluate("window.__most") == 1
    await _own_private_line(host, "Only for Ben, from the host")
    # Still the host: the host's tools are there.
    await expect(host.page.locator("#control-record")).to_be_visible()


async def test_after_a_drop_longer_than_the_resume_window_the_page_rejoins_by_itself(
    people,
) -> None:
    host, _, (ben,) = await gathered(people, "Ben")
    await expect(host.tile("Ben")).to_have_count(1)
    ben_id = await host.tile("Ben").get_attribute("data-peer-id")
    await _media_both_ways(host, "Hana Host", ben, "Ben")

    await ben.context.set_offline(True)
    await expect(ben.page.locator(".banner")).to_be_visible(timeout=20_000)
    await asyncio.sleep(40)  # well past the 30 s resume window
    await host.page.evaluate(COUNT_TILES, "Ben")
    await ben.context.set_offline(False)

    await expect(ben.page.locator(".banner")).to_be_hidden(timeout=30_000)
    await expect(ben.page.locator("[data-state=room]")).to_be_visible()
    await expect(host.tile("Ben")).to_have_count(1, timeout=30_000)
    assert await host.tile("Ben").get_attribute("data-peer-id") == ben_id  # same participant
    await _media_both_ways(host, "Hana Host", ben, "Ben")
    assert await host.page.evaluate("window.__most") == 1
    await ben.page.locator("#control-chat").click()
    await ben.page.locator("#chat-text").fill("back by myself")
    await ben.page.locator("#chat-text").press("Enter")
    await expect(host.page.locator("#chat-log")).to_contain_text("back by myself")
