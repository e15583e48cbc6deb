"""The join page's connection check ("Check connection"), in a real Chromium against a real
coturn: which ways this browser gets media out (directly over UDP, only through the relay over
UDP, only over TCP/TLS, or not at all), said in plain words.

Everything runs in the session's loopback-only namespace, so UDP always leaves "directly" here:
the relay is seen as the fallback. The verdicts the network here cannot produce (relay only,
TCP only) are checked through the page's own classifier, the module the check runs on.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, Route, expect

from tests.support.browser import Person, ServerDidNotStart, parley_up, person_factory
from tests.support.coturn import Coturn, CoturnMissing, coturn, free_port

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
    await expect(status).to_contain_text("Your browser can reach the media server directly (UDP).")
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
    """The session's plain server lists no STUN or TURN server."""
    person = await people()
    await open_join_page(person)
    assert await check(person.page) == "untested"
    await expect(person.page.locator(RESULT)).to_contain_text("Nothing to check against")


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
