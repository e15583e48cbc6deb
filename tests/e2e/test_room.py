"""The meeting room over real WebRTC: media, mesh, chat, screen share, moderation."""

from __future__ import annotations

import asyncio
import re
import subprocess
from pathlib import Path

from playwright.async_api import expect

from tests.support.browser import gathered

ROUNDS = 100  # bounded waits: 100 x 0.2 s


async def wait_until(check, rounds: int = ROUNDS) -> None:
    for _ in range(rounds):
        if await check():
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"never true: {check.__name__}")


async def test_two_participants_receive_each_others_video_and_audio(people) -> None:
    host, _, (guest,) = await gathered(people, "Gus Guest")

    async def video_both_ways() -> bool:
        return (
            await host.stat("Gus Guest", "frames-decoded") > 0
            and await guest.stat("Hana Host", "frames-decoded") > 0
        )

    await wait_until(video_both_ways)
    first = await guest.stat("Hana Host", "audio-bytes")

    async def audio_grows() -> bool:
        return (
            await guest.stat("Hana Host", "audio-bytes") > first
            and await host.stat("Gus Guest", "audio-bytes") > 0
        )

    await wait_until(audio_grows)


async def test_three_participants_form_a_mesh_and_a_leaver_s_tile_goes(
    people, artifacts: Path
) -> None:
    host, _, (ben, cy) = await gathered(people, "Ben", "Cy")

    async def everyone_sees_two_videos() -> bool:
        for person, others in (
            (host, ("Ben", "Cy")),
            (ben, ("Hana Host", "Cy")),
            (cy, ("Hana Host", "Ben")),
        ):
            for name in others:
                if await person.stat(name, "frames-decoded") == 0:
                    return False
        return True

    await wait_until(everyone_sees_two_videos)
    assert sorted(await host.remote_names()) == ["Ben", "Cy"]
    await asyncio.sleep(1)  # let a few more frames paint before the picture is taken
    await host.page.screenshot(path=str(artifacts / "meeting-room-three-participants.png"))

    await cy.page.locator("#leave").click()
    await cy.page.get_by_role("heading", name="You left the meeting").wait_for()
    await expect(host.tile("Cy")).to_have_count(0)
    await expect(ben.tile("Cy")).to_have_count(0)
    assert await host.remote_names() == ["Ben"]


async def test_chat_public_and_private_reach_the_right_people(people) -> None:
    host, _, (ben, cy) = await gathered(people, "Ben", "Cy")
    await expect(host.page.locator(".tile:not(.self)")).to_have_count(2)

    await ben.page.locator("#control-chat").click()
    await ben.page.locator("#chat-text").fill("Hello everyone")
    await ben.page.locator("#chat-text").press("Enter")
    for person in (host, cy):
        await expect(person.page.locator("#control-chat .badge")).to_have_text("1")
        await expect(person.page.locator("#chat-log")).to_contain_text("Hello everyone")

    await ben.page.locator("#chat-to").select_option(label="Hana Host (private)")
    await ben.page.locator("#chat-text").fill("Just for the host")
    await ben.page.locator("#chat-text").press("Enter")
    await expect(host.page.locator("#chat-log li[data-private=true]")).to_contain_text(
        "Just for the host"
    )
    await expect(ben.page.locator("#chat-log")).to_contain_text("Just for the host")
    await cy.page.locator("#control-chat").click()  # Cy reads the chat: only the public line
    await expect(cy.page.locator("#chat-log li")).to_have_count(1)
    await asyncio.sleep(0.5)
    await expect(cy.page.locator("#chat-log")).not_to_contain_text("Just for the host")


async def test_a_shared_screen_appears_large_at_the_others(people) -> None:
    host, _, (ben,) = await gathered(people, "Ben")
    await expect(host.page.locator(".tile:not(.self)")).to_have_count(1)

    await host.page.locator("#control-screen").click()
    stage = ben.page.locator("#stage")
    await expect(stage).to_be_visible()
    await expect(ben.page.locator(".stage-label")).to_have_text("Hana Host is presenting")

    async def screen_frames() -> bool:
        return await ben.page.eval_on_selector(
            "#stage-video", "v => v.videoWidth > 0 && v.readyState >= 2"
        )

    await wait_until(screen_frames)
    await host.page.locator("#control-screen").click()
    await expect(stage).to_be_hidden()


async def test_after_a_network_drop_the_client_resumes_its_place(people) -> None:
    host, _, (ben,) = await gathered(people, "Ben")
    await expect(host.tile("Ben")).to_have_count(1)

    await ben.context.set_offline(True)
    await expect(ben.page.locator(".banner")).to_be_visible(timeout=20_000)
    ben_id = await host.tile("Ben").get_attribute("data-peer-id")
    await ben.context.set_offline(False)
    await expect(ben.page.locator(".banner")).to_be_hidden(timeout=20_000)
    await expect(host.tile("Ben")).not_to_have_class(re.compile(r"\baway\b"))
    assert await host.tile("Ben").get_attribute("data-peer-id") == ben_id  # same participant

    await ben.page.locator("#control-chat").click()
    await ben.page.locator("#chat-text").fill("back again")
    await ben.page.locator("#chat-text").press("Enter")
    await expect(host.page.locator("#chat-log")).to_contain_text("back again")
    assert await host.remote_names() == ["Ben"]


async def test_keyboard_shortcuts_hand_and_reactions_are_seen_by_the_others(people) -> None:
    host, _, (ben,) = await gathered(people, "Ben")
    await expect(host.tile("Ben")).to_have_attribute("data-audio", "true")

    await ben.page.locator("#grid").click()
    await ben.page.keyboard.press("m")
    await ben.page.keyboard.press("v")
    await expect(ben.page.locator("#control-mic")).to_have_attribute("data-on", "false")
    await expect(host.tile("Ben")).to_have_attribute("data-audio", "false")
    await expect(host.tile("Ben")).to_have_attribute("data-video", "false")

    await ben.page.locator("#control-hand").click()
    await expect(host.tile("Ben")).to_have_attribute("data-hand", "true")
    await ben.page.locator("#control-react").click()
    await ben.page.get_by_role("menuitem", name="React: Celebrate").click()
    await expect(host.tile("Ben").get_by_role("img", name="Reaction: Celebrate")).to_be_visible()


async def test_status_icons_are_drawn_without_any_emoji_font(people) -> None:
    host, _, (ben,) = await gathered(people, "Ben")
    await ben.page.locator("#grid").click()
    await ben.page.keyboard.press("m")
    await ben.page.locator("#control-hand").click()
    tile = host.tile("Ben")
    for name in ("Microphone off", "Hand raised"):
        status = tile.get_by_role("img", name=name)
        await expect(status).to_be_visible()
        assert await status.evaluate("e => e.tagName") == "svg"
    await expect(tile.locator(".indicators")).to_have_text("")  # no characters to draw
    await expect(tile.get_by_role("img", name=re.compile(r"^Connection"))).to_have_count(1)
    await host.page.locator("#control-react").click()
    picker = host.page.get_by_role("menu")
    # Without an emoji font (this machine kind has none) the reactions say what they are.
    face = "👍" if emoji_font_installed() else "Thumbs up"
    await expect(picker.get_by_role("menuitem", name="React: Thumbs up")).to_have_text(face)


def emoji_font_installed() -> bool:
    listed = subprocess.run(["fc-list"], capture_output=True, text=True, check=False)
    return "emoji" in listed.stdout.lower()


async def test_the_room_fits_a_375_pixel_phone(people, artifacts: Path) -> None:
    host, _, _ = await gathered(people)
    await host.page.set_viewport_size({"width": 375, "height": 740})
    await host.page.locator("#control-chat").click()
    width = await host.page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375
    await host.page.screenshot(path=str(artifacts / "meeting-room-375px.png"))
