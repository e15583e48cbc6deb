"""The media plane through the SFU (Janus), with real Chromium pages: peer to peer for two,
through the SFU from the third person on and back, simulcast, moderation at the server."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

from playwright.async_api import expect

from tests.support.browser import gathered
from tests.support.janus import room_participants
from tests.support.media_flow import (
    audio_keeps_growing,
    frames_keep_growing,
    mode,
    self_id,
    wait_until,
)


async def test_a_third_person_moves_the_room_to_the_sfu_and_a_leaver_brings_it_back(
    sfu_people,
) -> None:
    host, meeting, (ben,) = await gathered(sfu_people, "Ben")

    async def peer_to_peer() -> bool:
        return await mode(host) == "mesh" and await host.stat("Ben", "frames-decoded") > 0

    await wait_until(peer_to_peer)

    cy = await sfu_people()
    await cy.enter(meeting["code"], name="Cy")
    cast = {host: ("Ben", "Cy"), ben: ("Hana Host", "Cy"), cy: ("Hana Host", "Ben")}

    async def everyone_on_the_sfu() -> bool:
        return all([await mode(person) == "sfu" for person in cast])

    await wait_until(everyone_on_the_sfu)
    await frames_keep_growing(cast)

    await cy.page.locator("#leave").click()
    await expect(host.tile("Cy")).to_have_count(0)

    async def back_to_peer_to_peer() -> bool:
        return await mode(host) == "mesh" and await mode(ben) == "mesh"

    await wait_until(back_to_peer_to_peer)
    await frames_keep_growing({host: ("Ben",), ben: ("Hana Host",)})


async def test_six_through_the_sfu_each_sends_one_camera_in_three_layers_and_a_leaver_goes(
    sfu_people,
) -> None:
    host, meeting, present = await gathered(sfu_people, "Ben", "Cy", "Di", "Ed")

    async def on_the_sfu() -> bool:
        return all([await mode(p) == "sfu" for p in (host, *present)])

    await wait_until(on_the_sfu)
    fay = await sfu_people()  # a late joiner, seen by all
    await fay.enter(meeting["code"], name="Fay")
    room = [host, *present, fay]
    names = ["Hana Host", "Ben", "Cy", "Di", "Ed", "Fay"]
    others = {p: tuple(n for n in names if n != names[i]) for i, p in enumerate(room)}
    await frames_keep_growing(others)  # five remote videos decoded at every page
    await audio_keeps_growing(others)
    for person in room:  # one encoder per page, whatever the room's size
        own = person.page.locator(".tile.self")
        await expect(own).to_have_attribute("data-outbound-video-streams", "1")
        await expect(own).to_have_attribute("data-outbound-encodings", "3")

    ben = present[0]
    await ben.page.locator("#leave").click()
    for person in room:
        if person is not ben:
            await expect(person.tile("Ben")).to_have_count(0, timeout=2_000)
    await frames_keep_growing({host: ("Cy", "Fay"), fay: ("Hana Host", "Ed")})


async def test_a_removed_participant_is_cut_off_at_the_sfu(sfu_people, sfu_data: Path) -> None:
    # Four people, so that three stay on the SFU after the removal.
    host, meeting, (ben, cy, rex) = await gathered(sfu_people, "Ben", "Cy", "Rex")
    janus_conf = sfu_data / "data" / "janus"
    host_id, ben_id, cy_id, rex_id = [await self_id(p) for p in (host, ben, cy, rex)]

    async def on_the_sfu() -> bool:
        return all([await mode(p) == "sfu" for p in (host, ben, cy, rex)])

    await wait_until(on_the_sfu)
    await frames_keep_growing({host: ("Rex",), rex: ("Hana Host", "Ben")})
    everyone = sorted([host_id, ben_id, cy_id, rex_id])
    assert await room_participants(janus_conf, meeting["id"]) == everyone

    host.page.on("dialog", lambda dialog: dialog.accept())
    await host.page.locator("#control-people").click()
    await (
        host.page.locator("#people li", has_text="Rex").get_by_role("button", name="Remove").click()
    )
    await rex.page.get_by_role("heading", name="You were removed").wait_for()

    # The SFU itself has Rex no more: nothing is forwarded to or from Rex's feed.
    seen: list[list[str]] = []

    async def rex_out_of_the_sfu_room() -> bool:
        seen.append(await room_participants(janus_conf, meeting["id"]))
        return seen[-1] == sorted([host_id, ben_id, cy_id])

    await wait_until(rex_out_of_the_sfu_room, seen)
    await expect(host.tile("Rex")).to_have_count(0)
    await expect(ben.tile("Rex")).to_have_count(0)


async def test_a_hosts_mute_silences_at_the_sfu_even_if_the_client_ignores_it(
    sfu_people,
) -> None:
    host, _, (ben, zed) = await gathered(sfu_people, "Ben", "Zed")

    async def on_the_sfu() -> bool:
        return all([await mode(p) == "sfu" for p in (host, ben, zed)])

    await wait_until(on_the_sfu)

    async def hears_zed() -> bool:
        first = await ben.stat("Zed", "audio-bytes")
        await asyncio.sleep(0.5)
        return await ben.stat("Zed", "audio-bytes") > first > 0

    await wait_until(hears_zed)
    # Zed's client is made to ignore the mute: its microphone track stays on.
    await zed.page.evaluate(
        """() => {
            Object.defineProperty(MediaStreamTrack.prototype, 'enabled', {
                configurable: true, get() { return true; }, set(_) {},
            });
        }"""
    )

    await host.page.locator("#control-people").click()
    await host.page.locator("#people li", has_text="Zed").get_by_role("button", name="Mute").click()
    await asyncio.sleep(1.5)  # the mute reaches the SFU; what was on its way arrives

    first = await ben.stat("Zed", "audio-bytes")
    await asyncio.sleep(2)
    assert await ben.stat("Zed", "audio-bytes") == first


async def test_a_large_tile_gets_a_larger_simulcast_layer_than_a_small_one(
    sfu_people,
) -> None:
    host, meeting, (ben, cy) = await gathered(sfu_people, "Ben", "Cy")
    phone = await sfu_people()
    await phone.page.set_viewport_size({"width": 375, "height": 700})
    await phone.enter(meeting["code"], name="Pia")
    await host.page.set_viewport_size({"width": 1600, "height": 1000})

    async def on_the_sfu() -> bool:
        return all([await mode(p) == "sfu" for p in (host, ben, cy, phone)])

    await wait_until(on_the_sfu)
    await frames_keep_growing({host: ("Ben",), phone: ("Ben",)})
    widths: list[tuple[int, int]] = []

    async def layers_differ() -> bool:
        large = await host.stat("Ben", "frame-width")
        small = await phone.stat("Ben", "frame-width")
        widths.append((large, small))
        return 0 < small < large

    await wait_until(layers_differ, widths)


async def test_after_janus_dies_media_flows_again_at_every_page(sfu_people, sfu_data: Path) -> None:
    host, _, (ben, cy) = await gathered(sfu_people, "Ben", "Cy")
    cast = {host: ("Ben", "Cy"), ben: ("Hana Host", "Cy"), cy: ("Hana Host", "Ben")}

    async def on_the_sfu() -> bool:
        return all([await mode(p) == "sfu" for p in cast])

    await wait_until(on_the_sfu)
    await frames_keep_growing(cast)
    pid = int((sfu_data / "data" / "janus" / "janus.pid").read_text())

    killed = time.monotonic()
    os.kill(pid, signal.SIGKILL)  # parley up's supervisor starts it again

    await asyncio.sleep(1)
    await frames_keep_growing(cast)
    print(f"media flowing again at every page {time.monotonic() - killed:.1f} s after the kill")
