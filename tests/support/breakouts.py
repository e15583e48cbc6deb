"""Steps the breakout-room tests share: setting rooms up over REST, and following a
``breakout-move`` (or a room's ticket) into the room with a real socket."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.signaling import Client, Site, open_client


def breakouts_url(meeting: dict[str, Any], what: str = "") -> str:
    return f"/api/v1/meetings/{meeting['id']}/breakouts" + (f"/{what}" if what else "")


async def set_up(
    site: Site, meeting: dict[str, Any], host: dict[str, str], **body: Any
) -> dict[str, Any]:
    """``POST .../breakouts`` (201 expected); the session."""
    body.setdefault("rooms", [{"name": "Red"}, {"name": "Blue"}])
    response = await site.http.post(breakouts_url(meeting), json=body, headers=host)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def call(
    site: Site,
    meeting: dict[str, Any],
    what: str,
    who: dict[str, str] | None = None,
    *,
    guest: dict[str, Any] | None = None,
    **body: Any,
) -> httpx.Response:
    """``POST .../breakouts/<what>`` as a user (``who``) or a guest (their participant row;
    the site's client holds their cookie)."""
    params = {"participant_id": guest["id"]} if guest else None
    return await site.http.post(
        breakouts_url(meeting, what), json=body or None, headers=who or {}, params=params
    )


async def open_rooms(site: Site, meeting: dict[str, Any], host: dict[str, str]) -> dict[str, Any]:
    response = await call(site, meeting, "open", host)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def enter_with(site: Site, joined: dict[str, Any]) -> tuple[Client, dict[str, Any]]:
    """Connect with a join answer (a room's ticket, or the way back) and wait for the welcome."""
    client = await open_client(site.base, joined["signaling"]["token"])
    welcome = await client.expect("welcome")
    assert welcome["self"]["id"] == joined["participant"]["id"]
    return client, welcome


async def follow_move(site: Site, client: Client) -> tuple[Client, dict[str, Any], dict[str, Any]]:
    """The ``breakout-move`` this client got, followed as the web client does: leave the main
    room, enter the breakout room. Returns (the room's client, the move, the welcome)."""
    move = await client.expect("breakout-move")
    await client.close()
    room_client, welcome = await enter_with(site, move["joined"])
    return room_client, move, welcome
