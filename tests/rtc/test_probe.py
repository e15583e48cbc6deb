"""``/api/v1/media/connection-check`` against the session's real Janus: an offer is answered
from a probe room nobody can subscribe to, probes expire or are deleted, and the endpoint is
bounded (per address, per node, in size) and says plainly when there is no media server.

The offer here is written by hand (valid SDP Janus answers; no DTLS follows): the browser test
(``tests/e2e/test_connection_check.py``) connects a real Chromium through it."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from parley.config import Settings
from parley.rtc.janus import JanusError, JanusSession
from parley.rtc.probe import PROBE_ROOM, Probes
from parley.rtc.process import JanusProcess
from parley.rtc.runtime import sfu_rooms
from tests.support.api import JWT_SECRET, client_for, running_app
from tests.support.problems import assert_problem

CHECK = "/api/v1/media/connection-check"


def offer_sdp() -> str:
    """An audio-only, send-only offer such as a page makes for the check."""
    fingerprint = ":".join(f"{b:02X}" for b in secrets.token_bytes(32))
    lines = [
        "v=0",
        f"o=- {secrets.randbelow(2**62)} 2 IN IP4 127.0.0.1",
        "s=-",
        "t=0 0",
        "a=group:BUNDLE 0",
        "a=msid-semantic: WMS",
        "m=audio 9 UDP/TLS/RTP/SAVPF 111",
        "c=IN IP4 0.0.0.0",
        "a=rtcp:9 IN IP4 0.0.0.0",
        f"a=ice-ufrag:{secrets.token_hex(2)}",
        f"a=ice-pwd:{secrets.token_hex(12)}",
        f"a=fingerprint:sha-256 {fingerprint}",
        "a=setup:actpass",
        "a=mid:0",
        "a=sendonly",
        "a=rtcp-mux",
        "a=rtpmap:111 opus/48000/2",
        "a=fmtp:111 minptime=10;useinbandfec=1",
        "a=candidate:1 1 udp 2122260223 127.0.0.2 40000 typ host",
    ]
    return "\r\n".join(lines) + "\r\n"


def _settings(tmp_path: Path, janus: JanusProcess | None = None) -> Settings:
    extra = {}
    if janus is not None:
        extra = {
            "janus_url": janus.url,
            "janus_api_secret": SecretStr(janus.cfg.api_secret),
            "janus_admin_key": SecretStr(janus.cfg.admin_key),
            "sfu_mode": "auto",
        }
    return Settings(env="test", data_dir=tmp_path / "data", jwt_secret=JWT_SECRET, **extra)


@pytest.fixture
async def app(tmp_path: Path, janus: JanusProcess) -> AsyncIterator[FastAPI]:
    async with running_app(_settings(tmp_path, janus)) as made:
        yield made


def _probes(app: FastAPI) -> Probes:
    probes: Probes = app.state.connection_probes
    return probes


async def _janus(janus: JanusProcess) -> tuple[JanusSession, int]:
    session = JanusSession(janus.url, janus.cfg.api_secret)
    await session.create()
    return session, await session.attach()


async def _in_probe_room(janus: JanusProcess) -> list[str]:
    session, handle = await _janus(janus)
    try:
        reply = await session.message(handle, {"request": "listparticipants", "room": PROBE_ROOM})
        return sorted(str(p["id"]) for p in reply.data.get("participants", []))
    finally:
        await session.destroy()


async def test_an_offer_is_answered_by_the_media_server(app: FastAPI, janus: JanusProcess) -> None:
    async with client_for(app) as client:
        answer = await client.post(CHECK, json={"type": "offer", "sdp": offer_sdp()})

        assert answer.status_code == 201, answer.text
        body = answer.json()
        assert body["answer"]["type"] == "answer"
        sdp = body["answer"]["sdp"]
        assert sdp.startswith("v=0") and "m=audio" in sdp and "a=recvonly" in sdp
        # Janus does half-trickle: its own candidates (on 127.0.0.2 here) are in the answer.
        assert "typ host" in sdp and "127.0.0.2" in sdp
        assert body["expires_in_s"] == 15
        assert await _in_probe_room(janus) == [body["id"]]

        gone = await client.delete(f"{CHECK}/{body['id']}")

        assert gone.status_code == 204
        assert await _in_probe_room(janus) == []
        again = await client.delete(f"{CHECK}/{body['id']}")
        assert again.status_code == 204  # idempotent: an expired probe is no error


async def test_the_probe_room_is_hidden_and_nobody_can_subscribe(
    app: FastAPI, janus: JanusProcess
) -> None:
    async with client_for(app) as client:
        opened = (await client.post(CHECK, json={"type": "offer", "sdp": offer_sdp()})).json()
    session, handle = await _janus(janus)
    try:
        listed = await session.message(handle, {"request": "list"})
        assert PROBE_ROOM not in [str(room["room"]) for room in listed.data["list"]]
        subscribe = {
            "request": "join",
            "ptype": "subscriber",
            "room": PROBE_ROOM,
            "streams": [{"feed": opened["id"]}],
        }
        # Without the pin (never handed out): refused.
        with pytest.raises(JanusError) as no_pin:
            await session.message(handle, subscribe)
        assert no_pin.value.code in (429, 433), no_pin.value  # missing / wrong pin
        # Even with the pin, a subscriber needs a publisher's private_id (require_pvtid).
        pin = sfu_rooms(app)._derive(PROBE_ROOM, "probe-pin")  # type: ignore[union-attr]
        with pytest.raises(JanusError):
            await session.message(handle, {**subscribe, "pin": pin})
        # ... as the room says of itself (only the admin key lists private rooms).
        rooms = await session.message(handle, {"request": "list", "admin_key": janus.cfg.admin_key})
        [room] = [room for room in rooms.data["list"] if str(room["room"]) == PROBE_ROOM]
        assert room["pin_required"] is True
        assert room["require_pvtid"] is True
        # Nor can anyone publish into it without the pin.
        publisher = {"request": "join", "ptype": "publisher", "room": PROBE_ROOM, "id": "intruder"}
        with pytest.raises(JanusError):
            await session.message(handle, publisher)
    finally:
        await session.destroy()


async def test_probes_expire_by_themselves(app: FastAPI, janus: JanusProcess) -> None:
    async with client_for(app) as client:
        first = await client.post(CHECK, json={"type": "offer", "sdp": offer_sdp()})
        assert first.status_code == 201
        probes = _probes(app)
        probes.ttl_s = 0.5
        second = (await client.post(CHECK, json={"type": "offer", "sdp": offer_sdp()})).json()
        assert second["expires_in_s"] == 0.5
        assert second["id"] in await _in_probe_room(janus)

        await asyncio.sleep(1.0)

        assert second["id"] not in await _in_probe_room(janus)
        assert second["id"] not in probes.open_now
        assert first.json()["id"] in probes.open_now  # still within its 15 s


async def test_an_address_gets_a_few_probes_a_minute(app: FastAPI) -> None:
    async with client_for(app, "10.1.2.3") as client:
        made = []
        for _ in range(6):
            made.append(await client.post(CHECK, json={"type": "offer", "sdp": offer_sdp()}))
        assert [answer.status_code for answer in made] == [201] * 6

        refused = await client.post(CHECK, json={"type": "offer", "sdp": offer_sdp()})

        assert_problem(refused, 429, "connection-check-rate-limited")
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
    async with client_for(app, "10.1.2.4") as other:  # another address has its own share
        answer = await other.post(CHECK, json={"type": "offer", "sdp": offer_sdp()})
        assert answer.status_code == 201


async def test_a_node_holds_at_most_its_capacity_of_probes(
    app: FastAPI, janus: JanusProcess
) -> None:
    async with client_for(app, "10.2.0.1") as client:
        assert (await client.post(CHECK, json={"type": "offer", "sdp": offer_sdp()})).is_success
        probes = _probes(app)
        probes.capacity = 2
        assert (await client.post(CHECK, json={"type": "offer", "sdp": offer_sdp()})).is_success

        full = await client.post(CHECK, json={"type": "offer", "sdp": offer_sdp()})

        assert_problem(full, 503, "connection-check-busy")
        assert full.headers["Retry-After"] == "15"
        # One closed: room again.
        await client.delete(f"{CHECK}/{next(iter(probes.open_now))}")
        assert (await client.post(CHECK, json={"type": "offer", "sdp": offer_sdp()})).is_success


async def test_without_a_media_server_the_check_says_so(tmp_path: Path) -> None:
    async with running_app(_settings(tmp_path)) as app, client_for(app) as client:
        answer = await client.post(CHECK, json={"type": "offer", "sdp": offer_sdp()})

        assert_problem(answer, 503, "sfu-unavailable")
        assert "no media server" in answer.json()["detail"]
        assert_problem(
            await client.delete(f"{CHECK}/{'0' * 8}-0000-4000-8000-{'0' * 12}"),
            503,
            "sfu-unavailable",
        )


async def test_offers_are_bounded_in_size_and_shape(app: FastAPI) -> None:
    async with client_for(app, "10.3.0.1") as client:
        big = offer_sdp() + "a=x-padding:" + "x" * 20_000 + "\r\n"
        assert_problem(await client.post(CHECK, json={"type": "offer", "sdp": big}), 422)
        huge = {"type": "offer", "sdp": "v=0\r\n" + "x" * (2 * 1024 * 1024)}
        assert_problem(await client.post(CHECK, json=huge), 413)
        answer = {"type": "answer", "sdp": offer_sdp()}
        assert_problem(await client.post(CHECK, json=answer), 422)
        not_sdp = {"type": "offer", "sdp": "hello, this is no SDP"}
        assert_problem(await client.post(CHECK, json=not_sdp), 422)
    async with client_for(app, "10.3.0.2") as client:
        # Shaped like SDP, but nothing Janus can answer: refused in words, not a 500.
        broken = offer_sdp().replace("a=fingerprint", "a=x-no-fingerprint")
        assert_problem(
            await client.post(CHECK, json={"type": "offer", "sdp": broken}), 422, "offer-refused"
        )


async def test_the_endpoint_is_in_the_public_openapi(app: FastAPI) -> None:
    async with client_for(app) as client:
        paths = (await client.get("/openapi.json")).json()["paths"]

        assert "post" in paths[CHECK]
        assert "delete" in paths[CHECK + "/{probe_id}"]
