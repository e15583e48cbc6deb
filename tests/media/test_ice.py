"""ICE servers with TURN REST credentials, checked against a real coturn (Debian ``coturn``)
started on 127.0.0.1: issued credentials allocate a relay; expired or forged ones do not."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

import aioice.stun
import aioice.turn
import pytest
from pydantic import SecretStr

from parley.config import Settings
from parley.core.ice import check_servers, ice_servers, turn_credentials
from tests.support.api import Api
from tests.support.coturn import Coturn, CoturnMissing
from tests.support.coturn import coturn as coturn_server
from tests.support.media_env import MediaEnv, People


@pytest.fixture(scope="session")
def coturn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Coturn]:
    try:
        with coturn_server(tmp_path_factory.mktemp("coturn")) as server:
            yield server
    except CoturnMissing as exc:
        pytest.fail(str(exc))


async def allocate(server: Coturn, username: str, password: str) -> tuple[str, int]:
    """A TURN allocation (aioice's client); returns the relayed address."""
    transport, _ = await aioice.turn.create_turn_endpoint(
        asyncio.DatagramProtocol,
        server_addr=("127.0.0.1", server.port),
        username=username,
        password=password,
        lifetime=60,
    )
    try:
        relayed: tuple[str, int] = transport.get_extra_info("sockname")
        return relayed
    finally:
        transport.close()


def test_credentials_follow_the_turn_rest_convention() -> None:
    username, credential = turn_credentials("secret", "user-1", 3600, now=1_000_000)
    assert username == "1003600:user-1"
    # base64(HMAC-SHA1("secret", "1003600:user-1")), as coturn's use-auth-secret computes it
    import base64
    import hashlib
    import hmac

    expected = base64.b64encode(
        hmac.new(b"secret", b"1003600:user-1", hashlib.sha1).digest()
    ).decode()
    assert credential == expected


@contextlib.contextmanager
def turn_configured(media_env: MediaEnv, coturn: Coturn) -> Iterator[None]:
    """The running app hands out credentials for this coturn, for the duration of the block."""
    settings: Settings = media_env.app.state.settings
    settings.turn_urls, settings.turn_secret = [coturn.url], SecretStr(coturn.secret)
    try:
        yield
    finally:
        settings.turn_urls, settings.turn_secret = [], None


def test_without_turn_configured_only_the_static_servers_are_given() -> None:
    settings = Settings(ice_servers=[{"urls": "stun:stun.example.org"}])
    assert ice_servers(settings, "u") == [{"urls": "stun:stun.example.org"}]


async def test_issued_credentials_allocate_a_relay_on_coturn(
    coturn: Coturn, media_env: MediaEnv, media_api: Api, people: People
) -> None:
    with turn_configured(media_env, coturn):
        response = await media_api.http.get(
            "/api/v1/media/ice-servers", headers=people.owner.headers
        )
    assert response.status_code == 200
    turn = next(s for s in response.json() if s.get("username"))
    assert turn["urls"] == [coturn.url]
    assert turn["username"].endswith(f":{people.owner.id}")
    relayed = await allocate(coturn, turn["username"], turn["credential"])
    assert relayed[0] == "127.0.0.1"


async def test_expired_credentials_are_refused_by_coturn(coturn: Coturn) -> None:
    username, credential = turn_credentials(coturn.secret, "user-1", ttl_s=-60)
    with pytest.raises(aioice.stun.TransactionFailed) as failure:
        await allocate(coturn, username, credential)
    assert failure.value.response.attributes["ERROR-CODE"][0] == 401


async def test_forged_credentials_are_refused_by_coturn(coturn: Coturn) -> None:
    username, credential = turn_credentials("not-the-secret", "user-1", ttl_s=600)
    with pytest.raises(aioice.stun.TransactionFailed) as failure:
        await allocate(coturn, username, credential)
    assert failure.value.response.attributes["ERROR-CODE"][0] == 401


async def test_the_meeting_join_response_carries_ice_servers(
    media_env: MediaEnv, media_api: Api, people: People, coturn: Coturn
) -> None:
    with turn_configured(media_env, coturn):
        meeting = await media_api.http.post(
            "/api/v1/meetings", json={"title": "ICE"}, headers=people.host.headers
        )
        joined = await media_api.http.post(
            f"/api/v1/meetings/{meeting.json()['id']}/join", json={}, headers=people.host.headers
        )
    assert joined.status_code == 200, joined.text
    servers = joined.json()["ice_servers"]
    turn = next(s for s in servers if s.get("username"))
    assert turn["username"].endswith(f":{people.host.id}")
    await allocate(coturn, turn["username"], turn["credential"])


async def test_anyone_gets_the_addresses_to_check_and_no_relay(
    media_env: MediaEnv, media_api: Api, coturn: Coturn
) -> None:
    """The join page's connection check before joining: the same TURN address, a username
    coturn refuses (the browser sees 401: reached, nothing relayed)."""
    with turn_configured(media_env, coturn):
        response = await media_api.http.get("/api/v1/media/ice-servers/check")
    assert response.status_code == 200, response.text
    turn = next(s for s in response.json() if s.get("username"))
    assert turn["urls"] == [coturn.url]
    with pytest.raises(aioice.stun.TransactionFailed) as failure:
        await allocate(coturn, turn["username"], turn["credential"])
    assert failure.value.response.attributes["ERROR-CODE"][0] == 401


def test_static_turn_credentials_are_not_given_to_anyone() -> None:
    settings = Settings(
        ice_servers=[
            {"urls": "stun:stun.example.org"},
            {"urls": ["turns:turn.example.org:443"], "username": "u", "credential": "static"},
        ]
    )
    assert check_servers(settings) == [
        {"urls": ["stun:stun.example.org"]},
        {
            "urls": ["turns:turn.example.org:443"],
            "username": "connection-check",
            "credential": "connection-check",
        },
    ]
