"""The join page's connection check ("Check connection"), in a real Chromium against a real
coturn and the SFU server's real Janus: whether this browser reaches the media server (directly
over UDP, only through the relay over UDP, only over TCP/TLS, or not at all), and which ways
the STUN/TURN servers let media out, said in plain words.

Everything runs in the session's loopback-only namespace, so UDP always leaves "directly" here:
the relay is seen as the fallback. The verdicts the network here cannot produce (relay only,
TCP only) are checked through the page's own classifier, the module the check runs on.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, Route, expect

from parley.rtc.probe import PROBE_ROOM
from tests.support.browser import Person, ServerDidNotStart, parley_up, person_factory
from tests.support.coturn import Coturn, CoturnMissing, coturn, free_port
from tests.support.janus import room_participants

RESULT = "#connection-result"


@pytest.fixture(scope="module")
def turn_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Coturn]:
    try:
        with coturn(tmp_path_factory.mktemp("coturn-web")) as server:
            yield server
    except CoturnMissing as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="module")
def turn_url(
    web_url: str, turn_server: Coturn, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """``parley up`` handing out TURN REST credentials for :func:`turn_server` (rooms peer to
    peer: the check needs no Janus). ``web_url`` first: it is the namespace's guard."""
    try:
        with parley_up(
            tmp_path_factory.mktemp("web-turn"),
            PARLEY_SFU_MODE="never",
            PARLEY_TURN_URLS=f"{turn_server.url},turn:127.0.0.1:{turn_server.port}?transport=tcp",
            PARLEY_TURN_SECRET=turn_server.secret,
        ) as url:
            yield url
    except ServerDidNotStart as exc:
        pytest.fail(f"parley up did not start:\n{exc}")


@pytest_asyncio.fixture
async def turn_people(browser: Browser, turn_url: str) -> AsyncIterator[object]:
    async with person_factory(browser, turn_url) as make:
        yield make


async def camera_on(page: Page) -> None:
    """The join page's camera runs: the browser then shows its own addresses (127.0.0.1) as
    host candidates instead of mDNS names, as it does for anyone who allowed the camera."""
    await page.locator("#join").wait_for()
    await page.wait_for_function("() => document.querySelector('video.preview')?.srcObject")


async def open_join_page(person: Person) -> str:
    """Sign up, make a meeting, open its join page; returns the meeting's code."""
    await person.sign_up("Cora Check")
    meeting = await person.new_meeting(settings={"allow_guests": True})
    await person.goto(f"/m/{meeting['code']}")
    await camera_on(person.page)
    return str(meeting["code"])


async def check(page: Page) -> str:
    """Click "Check connection" and wait for its verdict; returns the verdict."""
    button = page.get_by_role("button", name="Check connection")
    await button.click()
    result = page.locator(f"{RESULT}[data-verdict]")
    await result.wait_for(timeout=15_000)
    await expect(button).to_be_enabled()
    return str(await result.get_attribute("data-verdict"))


async def test_a_signed_in_person_sees_direct_udp_with_the_relay_over_udp_as_fallback(
    turn_people,
) -> None:
    person = await turn_people()
    await open_join_page(person)
    page = person.page
    status = page.locator(RESULT)
    assert await check(page) == "direct", await status.inner_text()
    await expect(status).to_have_attribute(
        "role", "status"
    )  # a live region: read out when it changes
    # Real credentials: coturn allocated a relay over UDP and over TCP.
    result = page.locator(RESULT)
    assert await result.get_attribute("data-relay") == "udp tcp"
    # This server has no Janus (rooms peer to peer): the gathering is all the check has.
    assert await result.get_attribute("data-media") == "unavailable"
    await expect(status).to_contain_text(
        "Your network lets UDP out: the media server should be reachable directly."
    )
    await expect(status).to_contain_text("The media server itself cannot be checked here")
    await expect(status).to_contain_text("the relay answered too, over UDP and TCP")
    await expect(status).to_contain_text("2 relay (TURN) addresses over UDP, TCP")


async def test_a_guest_checks_before_joining_without_relay_credentials(turn_people) -> None:
    host = await turn_people()
    code = await open_join_page(host)
    guest = await turn_people()
    await guest.goto(f"/m/{code}")
    page = guest.page
    await camera_on(page)
    # The guest's relay credentials are placeholders: coturn answers them with 401 over UDP and
    # over TCP (reached, nothing allocated). No NAT here, so no reflexive address apart from
    # the host's own: what is proven is the relay.
    assert await check(page) == "relay-udp"
    result = page.locator(RESULT)
    await expect(result).to_contain_text(
        "Only through the relay over UDP (TURN): calls will work, with a little more delay."
    )
    assert "udp" in str(await result.get_attribute("data-relay")).split()


async def test_unreachable_servers_mean_no_route(turn_people, turn_server: Coturn) -> None:
    person = await turn_people()
    await open_join_page(person)
    page = person.page
    dead = free_port()  # nothing listens there: every STUN and TURN request goes unanswered
    servers = (
        f'[{{"urls": ["stun:127.0.0.1:{dead}"]}}, {{"urls": ["turn:127.0.0.1:{dead}?transport=udp",'
        f' "turn:127.0.0.1:{dead}?transport=tcp"], "username": "1:x", "credential": "x"}}]'
    )

    async def unreachable(route: Route) -> None:
        await route.fulfill(status=200, content_type="application/json", body=servers)

    await page.route("**/api/v1/media/ice-servers", unreachable)
    assert await check(page) == "none"
    status = page.locator(RESULT)
    await expect(status).to_contain_text("No route to the media server")
    await expect(status).to_contain_text("calls with three or more people will fail here")
    await expect(status).to_contain_text("TURN over TLS on port 443")
    # The button works again: with the servers back, a second check finds the way out.
    await page.unroute("**/api/v1/media/ice-servers")
    assert await check(page) == "direct"
    await expect(status).not_to_contain_text("No route")


async def test_no_servers_configured_says_there_is_nothing_to_check(people) -> None:
    """The session's plain server lists no STUN or TURN server and has no media server."""
    person = await people()
    await open_join_page(person)
    assert await check(person.page) == "untested"
    result = person.page.locator(RESULT)
    await expect(result).to_contain_text("Nothing to check against")
    assert await result.get_attribute("data-media") == "unavailable"
    await expect(result).to_contain_text("The media server itself cannot be checked here")


# ---- the media server itself (the SFU server's Janus) ------------------------------------------


async def _probes_left(sfu_data: Path, deadline_s: float = 5.0) -> list[str]:
    """The probe room's feeds once the page's DELETE went through (or the deadline passed)."""
    conf = sfu_data / "data" / "janus"
    end = time.monotonic() + deadline_s
    while True:
        left = await room_participants(conf, PROBE_ROOM)
        if not left or time.monotonic() > end:
            return left
        await asyncio.sleep(0.2)


async def test_on_the_sfu_server_the_check_reaches_the_media_server_directly(
    sfu_people, sfu_data: Path
) -> None:
    person = await sfu_people()
    await open_join_page(person)
    page = person.page
    probes: list[str] = []
    page.on(
        "request",
        lambda request: (
            probes.append(request.method)
            if request.url.endswith("/api/v1/media/connection-check")
            or "/api/v1/media/connection-check/" in request.url
            else None
        ),
    )

    assert await check(page) == "direct"

    result = page.locator(RESULT)
    assert await result.get_attribute("data-media") == "reached"
    assert await result.get_attribute("data-path") == "direct"
    await expect(result).to_contain_text("Your browser reached the media server directly (UDP).")
    # The STUN/TURN findings stay, as the line below (this server lists none).
    await expect(result.locator(".connection-servers")).to_contain_text(
        "STUN/TURN: Nothing to check against"
    )
    # One probe was enough (no relay-only try), and the page deleted it.
    assert probes == ["POST", "DELETE"], probes
    assert await _probes_left(sfu_data) == []


async def test_media_ports_out_of_reach_mean_no_route_to_the_media_server(
    sfu_people, sfu_data: Path
) -> None:
    """The media server answers, but its candidates lead nowhere (as behind a firewall that
    drops UDP to its media ports): ICE never connects, and the page says so."""
    person = await sfu_people()
    await open_join_page(person)
    page = person.page
    dead = free_port()

    def nowhere(sdp: str) -> str:
        return re.sub(r"(a=candidate:\S+ \d \S+ \d+ \S+ )\d+", rf"\g<1>{dead}", sdp)

    async def firewalled(route: Route) -> None:
        # Both ways cut: the page's candidates and the media server's lead to a closed port
        # (else either side would find the other through a peer-reflexive candidate).
        offer = json.loads(route.request.post_data or "{}")
        offer["sdp"] = nowhere(offer["sdp"])
        response = await route.fetch(post_data=json.dumps(offer))
        body = await response.json()
        body["answer"]["sdp"] = nowhere(body["answer"]["sdp"])
        await route.fulfill(response=response, body=json.dumps(body))

    await page.route("**/api/v1/media/connection-check", firewalled)

    assert await check(page) == "none"

    result = page.locator(RESULT)
    assert await result.get_attribute("data-media") == "unreachable"
    await expect(result).to_contain_text("No route to the media server")
    # No TURN server here: the relay could not be tried, and the page says why.
    await expect(result).to_contain_text("The relay (TURN) could not be tried")
    assert await _probes_left(sfu_data) == []


async def test_the_check_is_usable_on_a_phone(turn_people) -> None:
    person = await turn_people()
    await person.page.set_viewport_size({"width": 375, "height": 740})
    await open_join_page(person)
    page = person.page
    button = page.get_by_role("button", name="Check connection")
    await button.focus()
    await page.keyboard.press("Enter")
    await page.locator(f"{RESULT}[data-verdict]").wait_for(timeout=15_000)
    widths = await page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1], f"the page scrolls sideways at 375 px: {widths}"
    box = await page.locator(RESULT).bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 375


CASES = [
    # (what the gathering saw, the verdict, the relay protocol it rests on)
    ({"srflx": 1, "relays": ["udp"]}, "direct", None),
    ({"relays": ["udp", "tcp"]}, "relay-udp", "udp"),
    ({"refused": ["udp"]}, "relay-udp", "udp"),
    ({"relays": ["tcp"]}, "relay-tcp", "tcp"),
    ({"relays": ["tcp", "tls"]}, "relay-tcp", "tls"),
    ({}, "none", None),
]


async def test_the_classifier_orders_direct_then_relay_udp_then_tcp_tls(people) -> None:
    person = await people()
    await person.goto("/")
    results = await person.page.evaluate(
        """async (cases) => {
            const c = await import('/static/js/connectivity.js');
            const base = {stunServers: 1, turnServers: ['udp', 'tcp', 'tls'], host: 1, srflx: 0,
                          relays: [], refused: [], timedOut: false};
            return {
              verdicts: cases.map(([seen]) => {
                const result = c.classify({...base, ...seen});
                return [result.verdict, result.via, c.describe(result).headline];
              }),
              untested: c.classify({...base, stunServers: 0, turnServers: []}).verdict,
              transports: ['turn:a:3478', 'turn:a:3478?transport=tcp', 'turns:a:443?transport=tcp',
                           'TURN:a?transport=udp'].map(c.transportOf),
              urls: c.serverUrls([{urls: 'stun:s:3478'}, {urls: ['turn:t:3478', 'turns:t:443']}]),
            };
        }""",
        CASES,
    )
    for (seen, verdict, via), (got, got_via, headline) in zip(
        CASES, results["verdicts"], strict=True
    ):
        assert (got, got_via) == (verdict, via), (seen, headline)
    headlines = [headline for _, _, headline in results["verdicts"]]
    assert headlines[1] == (
        "Only through the relay over UDP (TURN): calls will work, with a little more delay."
    )
    assert (
        headlines[3]
        == "Only through the relay over TCP: calls will work; video may be lower quality."
    )
    assert (
        headlines[4]
        == "Only through the relay over TLS: calls will work; video may be lower quality."
    )
    assert results["untested"] == "untested"
    assert results["transports"] == ["udp", "tcp", "tls", "udp"]
    assert results["urls"] == {"stun": ["stun:s:3478"], "turn": ["turn:t:3478", "turns:t:443"]}
