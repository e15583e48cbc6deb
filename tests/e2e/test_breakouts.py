"""Breakout rooms in the browser: the host splits the room, each room sees and hears only its
own people, hosts are told when someone needs help and visit, a message reaches every room,
and closing brings everyone back to the main room."""

from __future__ import annotations

import asyncio
import re

from playwright.async_api import Page, expect

from tests.support.axe import described, violations, with_axe
from tests.support.browser import Person, gathered

GUESTS = ("Ann", "Ben", "Cy", "Di")


async def assert_clean(page: Page, what: str) -> None:
    found = await violations(page)
    assert not found, f"{what}: {len(found)} kinds of violation\n{described(found)}"


async def _split(host: Person, rooms: int = 2, assign: str = "Automatically") -> None:
    """The host creates the rooms and opens them from the Breakout rooms panel."""
    await host.page.get_by_role("button", name="Breakout rooms").click()
    panel = host.page.get_by_role("complementary", name="Breakout rooms")
    await panel.get_by_label("Number of rooms").fill(str(rooms))
    await panel.get_by_label("Assign people").select_option(label=assign)
    await panel.get_by_role("button", name="Create rooms").click()
    await expect(panel.get_by_role("heading", name="Room 1")).to_be_visible()


async def _open(host: Person) -> None:
    panel = host.page.get_by_role("complementary", name="Breakout rooms")
    await panel.get_by_role("button", name="Open rooms").click()
    await expect(panel.get_by_role("button", name="Close rooms")).to_be_visible()


async def _room_of(person: Person) -> str:
    bar = person.page.get_by_role("region", name="Breakout room")
    await expect(bar).to_be_visible(timeout=15_000)
    return (await bar.locator(".breakout-name").inner_text()).strip()


async def _media_flows(person: Person, name: str) -> None:
    """Video frames and audio bytes from ``name`` keep arriving at ``person``'s page."""
    # Generous bounds: a move is a new room (a new socket, new links) while four other pages
    # encode and decode on the same two cores.
    tile = person.tile(name)
    await expect(tile).to_have_count(1, timeout=45_000)
    for key in ("frames-decoded", "audio-bytes"):
        for _ in range(300):  # bounded: 300 x 0.2 s
            if await person.stat(name, key) > 0:
                break
            await asyncio.sleep(0.2)
        else:
            raise AssertionError(f"no {key} from {name} at {await person.page.title()}")


async def test_two_auto_rooms_see_and_hear_only_their_pair_then_all_come_back(people) -> None:
    host, _, guests = await gathered(people, *GUESTS)
    await _split(host)
    panel = host.page.get_by_role("complementary", name="Breakout rooms")
    for index in (1, 2):
        people_in = panel.get_by_role("list", name=f"People in Room {index}")
        await expect(people_in.get_by_role("listitem")).to_have_count(2)  # spread evenly
    await _open(host)

    rooms: dict[str, list[tuple[Person, str]]] = {}
    for guest, name in zip(guests, GUESTS, strict=True):
        rooms.setdefault(await _room_of(guest), []).append((guest, name))
    assert sorted(rooms) == ["Room 1", "Room 2"]
    for pair in rooms.values():
        assert len(pair) == 2
        (a, a_name), (b, b_name) = pair
        await _media_flows(a, b_name)
        await _media_flows(b, a_name)
        for person in (a, b):
            await expect(person.page.locator(".tile:not(.self)")).to_have_count(1)
    await expect(host.page.locator(".tile:not(.self)")).to_have_count(0)  # the main room

    await panel.get_by_role("button", name="Close now").click()
    for person in (host, *guests):
        await expect(person.page.get_by_role("region", name="Breakout room")).to_be_hidden(
            timeout=20_000
        )
        await expect(person.page.locator(".tile:not(.self)")).to_have_count(4, timeout=20_000)
    for guest, name in zip(guests, GUESTS, strict=True):
        await _media_flows(host, name)
        await expect(guest.tile("Hana Host")).to_have_count(1)


async def test_a_message_reaches_every_room_and_a_call_for_help_brings_the_host(people) -> None:
    host, _, guests = await gathered(people, "Ann", "Ben")
    await _split(host)
    await _open(host)
    for guest in guests:
        await _room_of(guest)
    panel = host.page.get_by_role("complementary", name="Breakout rooms")
    await panel.get_by_role("textbox", name="Message to every room").fill("Five minutes left")
    await panel.get_by_role("button", name="Send to all rooms").click()
    for guest in guests:
        bar = guest.page.get_by_role("region", name="Breakout room")
        await expect(bar).to_contain_text("Five minutes left")

    ann = guests[0]
    ann_room = await _room_of(ann)
    await ann.page.get_by_role("button", name="Ask for help").click()
    notice = host.page.get_by_role("region", name="Asking for help")
    await expect(notice).to_contain_text(f"Ann asks for help in {ann_room}")
    await notice.get_by_role("button", name=f"Join {ann_room}").click()
    assert await _room_of(host) == ann_room
    await expect(host.tile("Ann")).to_have_count(1, timeout=20_000)
    await expect(ann.tile("Hana Host")).to_have_count(1, timeout=20_000)

    await host.page.get_by_role("button", name="Return to main room").click()
    await expect(host.page.get_by_role("region", name="Breakout room")).to_be_hidden(timeout=20_000)
    await expect(ann.tile("Hana Host")).to_have_count(0, timeout=20_000)


async def test_participants_choose_their_room_when_the_host_lets_them(people) -> None:
    host, _, (ann,) = await gathered(people, "Ann")
    await _split(host, assign="Participants choose")
    await _open(host)
    chooser = ann.page.get_by_role("region", name="Choose a breakout room")
    await expect(chooser).to_be_visible(timeout=15_000)
    await chooser.get_by_role("button", name="Join Room 2").click()
    assert await _room_of(ann) == "Room 2"
    await expect(host.tile("Ann")).to_have_count(0, timeout=20_000)


async def test_rooms_show_time_left_and_closing_counts_down_for_everyone(people) -> None:
    host = await with_axe(await people())  # axe-core in their pages from the start
    await host.sign_up("Hana Host")
    meeting = await host.new_meeting()
    await host.enter(meeting["code"])
    ann = await with_axe(await people())
    await ann.enter(meeting["code"], name="Ann")
    ben = await people()
    await ben.enter(meeting["code"], name="Ben")
    await host.page.get_by_role("button", name="Breakout rooms").click()
    panel = host.page.get_by_role("complementary", name="Breakout rooms")
    await assert_clean(host.page, "the room, the Breakout rooms panel")
    await panel.get_by_label("Time limit (minutes, optional)").fill("5")
    await panel.get_by_role("button", name="Create rooms").click()
    await expect(panel.get_by_role("combobox", name="Room for Ann")).to_be_visible()
    await assert_clean(host.page, "the room, breakout rooms set up")
    await _open(host)
    await _room_of(ann)
    await expect(ann.page.locator("#breakout-time")).to_have_text(re.compile(r"^[45]:\d\d left$"))
    await assert_clean(ann.page, "a breakout room")

    await panel.get_by_role("button", name="Close rooms").click()
    for person in (ann, ben):
        countdown = person.page.get_by_role("status").filter(has_text="Breakout rooms close in")
        await expect(countdown).to_contain_text("you will be back in the main room")
    await expect(ann.page.get_by_role("button", name="Return to main room")).to_be_visible()
    await assert_clean(ann.page, "a breakout room, closing")
    await ann.page.get_by_role("button", name="Return to main room").click()  # before the end
    await expect(host.tile("Ann")).to_have_count(1, timeout=20_000)
    await expect(ann.page.get_by_role("region", name="Breakout room")).to_be_hidden()
