"""Who is in the room, as the tiles and the Participants panel show it: a camera-off tile shows
the person's avatar when they have one, a peer whose media never arrives is said to be
connecting and then not to connect, and from eleven people on the panel has a search.

The people who never send media are plain signaling clients (no browser): the room sees them
as it sees anyone, and the test controls exactly what they announce."""

from __future__ import annotations

from playwright.async_api import expect

from tests.support.browser import gathered
from tests.support.images import image_bytes
from tests.support.signaling import Client, Site, open_client


async def _bot(site: Site, meeting: dict, name: str) -> Client:
    ticket = await site.ticket(meeting, None, name)
    client = await open_client(site.base, ticket["signaling"]["token"])
    await client.expect("welcome")
    return client


async def test_a_camera_off_tile_shows_the_avatar_of_who_has_one(people, tmp_path) -> None:
    host, meeting, _ = await gathered(people)
    kim = await people()
    await kim.sign_up("Kim")
    await kim.goto("/profile")
    picture = tmp_path / "kim.png"
    picture.write_bytes(image_bytes("PNG", (300, 300)))
    await kim.page.get_by_label("Image (PNG, JPEG or WebP, up to 5 MB)").set_input_files(picture)
    await kim.page.get_by_role("button", name="Upload").click()
    await expect(kim.page.get_by_text("Avatar updated.")).to_be_visible()
    await kim.enter(meeting["code"])

    tile = host.tile("Kim")
    await expect(tile.locator(".tile-avatar")).to_be_hidden()  # the camera is on
    await kim.page.locator("#control-cam").click()
    await expect(tile).to_have_attribute("data-video", "false")
    avatar = tile.locator(".tile-avatar")
    await expect(avatar).to_be_visible()
    assert await avatar.evaluate("img => img.complete && img.naturalWidth") == 256
    await expect(host.tile("Hana Host").locator(".tile-avatar")).to_be_hidden()  # has none


async def test_a_peer_whose_media_never_arrives_is_connecting_then_cannot_connect(
    people, web_url: str
) -> None:
    host, meeting, _ = await gathered(people)
    site = Site(web_url)
    silent = await _bot(site, meeting, "Sam")
    try:
        await silent.send({"type": "media-state", "audio": True, "video": True})
        tile = host.tile("Sam")
        status = tile.locator(".tile-status")
        await expect(status).to_have_text("Connecting…", timeout=10_000)
        await expect(status).to_have_text("Can't connect — check your network", timeout=25_000)
        await expect(tile).to_have_attribute("data-arrival", "failed")
    finally:
        await silent.close()
        await site.aclose()


async def test_a_peer_who_sends_nothing_is_not_said_to_be_connecting(people, web_url: str) -> None:
    host, meeting, _ = await gathered(people)
    site = Site(web_url)
    quiet = await _bot(site, meeting, "Quinn")
    try:
        tile = host.tile("Quinn")
        await expect(tile).to_be_visible()
        await host.page.wait_for_timeout(4_000)  # past the "Connecting…" delay
        await expect(tile.locator(".tile-status")).to_be_hidden()
    finally:
        await quiet.close()
        await site.aclose()


async def test_from_eleven_people_the_participants_panel_finds_by_name(
    people, web_url: str
) -> None:
    host, meeting, _ = await gathered(people)
    site = Site(web_url)
    names = [f"Guest {n}" for n in range(1, 10)] + ["Zoe Quill"]
    bots = [await _bot(site, meeting, name) for name in names[:-1]]
    try:
        await host.page.locator("#control-people").click()
        panel = host.page.locator("#people")
        search = host.page.get_by_role("searchbox", name="Find a participant")
        await expect(panel.get_by_role("listitem")).to_have_count(10)
        await expect(search).to_be_hidden()  # ten people: no search yet

        bots.append(await _bot(site, meeting, names[-1]))
        await expect(search).to_be_visible()
        await search.fill("quill")
        await expect(panel.get_by_role("listitem")).to_have_count(1)
        await expect(panel.get_by_role("listitem")).to_contain_text("Zoe Quill")
        await search.fill("")
        await expect(panel.get_by_role("listitem")).to_have_count(11)
    finally:
        for bot in bots:
            await bot.close()
        await site.aclose()
