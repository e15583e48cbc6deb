"""A signed-in participant's avatar, for the others to show while their camera is off."""

from __future__ import annotations

from typing import Any

import jwt

from parley.core.contracts import AVATAR_VERSION_CLAIM, SIGNALING_AUDIENCE
from tests.support.api import unique
from tests.support.images import image_bytes
from tests.support.signaling import Site, open_client


async def _with_avatar(site: Site, name: str) -> dict[str, str]:
    """A user who uploaded an avatar, then signed in again (their token carries it)."""
    headers = await site.user(name)
    upload = await site.http.put("/api/v1/users/me/avatar", content=image_bytes(), headers=headers)
    assert upload.status_code == 200, upload.text
    return await site.user(name)


async def _seen_by_host(site: Site, who: dict[str, str] | None) -> dict[str, Any]:
    host = await site.user(unique("host"))
    meeting = await site.meeting(host)
    host_client, _ = await site.enter(meeting, host)
    client, _ = await site.enter(meeting, who, name="Visitor")
    joined = await host_client.expect("peer-joined")
    await client.close()
    await host_client.close()
    peer: dict[str, Any] = joined["peer"]
    return peer


async def test_the_others_get_the_avatar_path_of_a_signed_in_user_who_has_one(site: Site) -> None:
    kim = await _with_avatar(site, unique("kim"))
    peer = await _seen_by_host(site, kim)
    user_id = await site.user_id(kim)
    assert peer["avatar"].startswith(f"/api/v1/users/{user_id}/avatar?v=")
    picture = await site.http.get(peer["avatar"])
    assert picture.status_code == 200
    assert picture.headers["content-type"] == "image/webp"


async def test_a_versioned_avatar_address_is_cached_for_long(site: Site) -> None:
    kim = await _with_avatar(site, unique("kim"))
    peer = await _seen_by_host(site, kim)
    picture = await site.http.get(peer["avatar"])
    assert picture.headers["cache-control"] == "public, max-age=86400"


async def test_a_new_avatar_gets_a_new_address(site: Site) -> None:
    name = unique("kim")
    first = await _seen_by_host(site, await _with_avatar(site, name))
    second = await _seen_by_host(site, await _with_avatar(site, name))
    assert first["avatar"] != second["avatar"]


async def test_the_welcome_tells_the_user_their_own_avatar(site: Site) -> None:
    kim = await _with_avatar(site, unique("kim"))
    host = await site.user(unique("host"))
    meeting = await site.meeting(host)
    ticket = await site.ticket(meeting, kim)
    client = await open_client(site.base, ticket["signaling"]["token"])
    welcome = await client.expect("welcome")
    await client.close()
    assert welcome["self"]["avatar"].startswith("/api/v1/users/")


async def test_a_user_without_an_avatar_has_none(site: Site) -> None:
    peer = await _seen_by_host(site, await site.user(unique("lee")))
    assert "avatar" not in peer


async def test_a_guest_has_none(site: Site) -> None:
    peer = await _seen_by_host(site, None)
    assert "avatar" not in peer


async def test_a_ticket_whose_avatar_is_not_a_version_shows_none(site: Site) -> None:
    """Only Parley's own avatar path can reach the others' pages, whatever a ticket says."""
    assert site.app is not None
    host = await site.user(unique("host"))
    meeting = await site.meeting(host)
    host_client, _ = await site.enter(meeting, host)
    lee = await site.user(unique("lee"))
    claims = jwt.decode(
        (await site.ticket(meeting, lee))["signaling"]["token"], options={"verify_signature": False}
    )
    claims[AVATAR_VERSION_CLAIM] = "../../../evil?x="
    for key in ("aud", "iat", "exp", "jti"):
        claims.pop(key)
    forged = site.app.state.signer.issue(claims, SIGNALING_AUDIENCE, 60)
    client = await open_client(site.base, forged)
    joined = await host_client.expect("peer-joined")
    await client.close()
    await host_client.close()
    assert "avatar" not in joined["peer"]
