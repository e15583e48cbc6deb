"""How a connection gets in: the ticket (or a resume token), the checks, then lobby or room.

The first frame must be ``auth`` (a signaling ticket from meeting-service, spent on use) or
``resume`` (the token a ``welcome`` gave, good while connected and for the resume window after a
drop). Whatever fails closes the socket with the code ``docs/signaling.md`` gives for it.

A ticket for a participant who is still in the room (a reloaded page, or a rejoin after a drop
the room has not noticed yet) replaces that entry at once: the old connection is closed (4409)
wherever it is, the others see the old peer leave and the new one join, and nobody waits out
the resume window in front of a frozen tile.
"""

from __future__ import annotations

import asyncio
import json
import re

import jwt

from parley.core.contracts import AVATAR_VERSION_CLAIM, SIGNALING_AUDIENCE, avatar_path
from parley.signaling import frames, presence
from parley.signaling.entering import entered, welcome
from parley.signaling.errors import (
    CLOSE_ENDED,
    CLOSE_REPLACED,
    CLOSE_SHUT_OUT,
    CLOSE_UNAUTHENTICATED,
)
from parley.signaling.frames import StoredPeer
from parley.signaling.participant import Participant

AUTH_TIMEOUT_S = 5.0


async def authenticate(p: Participant) -> None:
    """Read the opening frame and enter with it, or close the socket."""
    # Old clients put the ticket in the URL (where access logs see it); the web client
    # sends it in the first frame.
    token = p.websocket.query_params.get("token")
    if token:
        await enter(p, token)
        return
    try:
        raw = await asyncio.wait_for(p.websocket.receive_text(), AUTH_TIMEOUT_S)
        first = json.loads(raw)
    except TimeoutError:
        await p.close(CLOSE_UNAUTHENTICATED, "authentication timed out")
    except (ValueError, KeyError, RuntimeError, RecursionError):
        await p.close(CLOSE_UNAUTHENTICATED, "the first frame must be auth or resume")
    if isinstance(first, dict) and first.get("type") == "auth":
        await enter(p, str(first.get("token", "")))
    elif isinstance(first, dict) and first.get("type") == "resume":
        await resume(p, str(first.get("resume_token", "")))
    else:
        await p.close(CLOSE_UNAUTHENTICATED, "the first frame must be auth or resume")


async def enter(p: Participant, token: str) -> None:
    """A new entry with a ticket: into the lobby (held, or the room is locked) or the room."""
    try:
        claims = p.app.state.signer.verify(token, SIGNALING_AUDIENCE)
    except jwt.ExpiredSignatureError:
        await p.close(CLOSE_UNAUTHENTICATED, "token expired")
    except jwt.InvalidTokenError:
        await p.close(CLOSE_UNAUTHENTICATED, "invalid token")
    if not await p.state.spend_ticket(str(claims["jti"]), float(claims["exp"])):
        await p.close(CLOSE_UNAUTHENTICATED, "this ticket was used already; join again")
    p.meeting_id = str(claims["mid"])
    user_id = claims.get("uid")
    p.room_settings = dict(claims.get("settings") or {})
    p.peer = {
        "id": str(claims["sub"]),
        "user_id": user_id,
        "display_name": str(claims.get("name") or "Participant"),
        "role": str(claims.get("role") or "participant"),
        "media": {"audio": False, "video": False, "screen": False},
        "hand": False,
        "node": p.hub.node_id,
        "connected": True,
        "settings": p.room_settings,
    }
    avatar = _avatar(user_id, claims.get(AVATAR_VERSION_CLAIM))
    if avatar:
        p.peer["avatar"] = avatar
    room = await p.state.room(p.meeting_id)
    if room["ended"]:
        await p.close(CLOSE_ENDED, "the meeting has ended")
    if await p.state.is_removed(p.meeting_id, p.peer_id, user_id):
        await p.close(CLOSE_SHUT_OUT, "removed from this meeting")
    gone = await presence.is_gone(p.app, user_id)
    if gone:
        await p.close(presence.GONE_CLOSE, f"account {gone}")
    # The same participant still in the room: this entry takes its place.
    previous = await p.state.peer(p.meeting_id, p.peer_id)
    await p.attach()
    # Someone coming back (``rejoin``: admitted before) is not held by the lock.
    locked_out = room["locked"] and not p.is_moderator and not claims.get("rejoin")
    if previous is None and (claims.get("status") == "waiting" or locked_out):
        await wait_in_lobby(p)
    else:
        await join_room(p, previous)


_AVATAR_VERSION = re.compile(r"[0-9a-f]{8,64}")
_USER_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _avatar(user_id: object, version: object) -> str | None:
    """The picture the others see while this participant's camera is off: user-service's path
    for a signed-in user's avatar, from the ticket's (signed) user id and version. Both are
    checked for shape anyway, so nothing but that path can ever reach another page's ``<img>``."""
    if not isinstance(user_id, str) or not isinstance(version, str):
        return None
    if not _USER_ID.fullmatch(user_id) or not _AVATAR_VERSION.fullmatch(version):
        return None
    return avatar_path(user_id, version)


async def wait_in_lobby(p: Participant) -> None:
    p.in_lobby = True
    await p.state.wait_in_lobby(p.meeting_id, p.peer)
    p.send(frames.lobby_wait())
    await p.to_moderators(frames.lobby_request(p.peer))


async def join_room(p: Participant, previous: StoredPeer | None = None) -> None:
    p.in_lobby = False
    p.in_room = True
    if previous is not None:
        await p.state.cancel_leave(p.meeting_id, p.peer_id)
    token = await p.state.enter_room(p.meeting_id, p.peer)
    if previous is not None:
        await _replace(p, previous)
    await entered(p.app, p.meeting_id, p.peer)
    await p.plane.rebalance(p.meeting_id, exclude=p.peer_id)
    p.send(await welcome(p.app, p.meeting_id, p.peer, token))
    await p.hub.deliver(p.meeting_id, frames.peer_joined(p.peer), exclude=p.peer_id)


async def _replace(p: Participant, previous: StoredPeer) -> None:
    """The participant's new entry (already in the room state) takes the place of the old one:
    its resume token stops working, its connection is closed (on this node ``attach`` did it),
    its media at the SFU goes (the room's size, and so its plane, stays as it is), and the
    others see it leave before the new entry joins."""
    meeting_id, peer_id = p.meeting_id, p.peer_id
    if previous.get("resume"):
        await p.state.forget_resume(str(previous["resume"]))
    node = previous.get("node")
    if node and node != p.hub.node_id and previous.get("connected", True):
        await p.hub.deliver(
            meeting_id,
            frames.pong(),
            to=[peer_id],
            peers={peer_id: dict(previous)},
            close=(CLOSE_REPLACED, "replaced by a newer connection"),
        )
    await p.plane.left(meeting_id, peer_id)
    await p.hub.deliver(meeting_id, frames.peer_left(peer_id), exclude=peer_id)


async def resume(p: Participant, token: str) -> None:
    """Back after a dropped connection, within the resume window: the same peer, connected
    again on this node; the others get ``peer-updated`` with ``reconnected``."""
    target = await p.state.resume_target(token)
    if target is None:
        await p.close(CLOSE_UNAUTHENTICATED, "unknown resume token")
    p.meeting_id, peer_id = target
    peer = await p.state.peer(p.meeting_id, peer_id)
    if peer is None:
        await p.close(CLOSE_UNAUTHENTICATED, "the session has expired; join again")
    if (await p.state.room(p.meeting_id))["ended"]:
        await p.close(CLOSE_ENDED, "the meeting has ended")
    gone = await presence.is_gone(p.app, peer.get("user_id"))
    if gone:
        await p.close(presence.GONE_CLOSE, f"account {gone}")
    await p.state.cancel_leave(p.meeting_id, peer_id)
    p.peer = (
        await p.state.update_peer(p.meeting_id, peer_id, node=p.hub.node_id, connected=True) or peer
    )
    p.room_settings = dict(p.peer.get("settings") or {})
    p.in_room = True
    await p.state.resumed(token)
    await p.attach()
    p.send(await welcome(p.app, p.meeting_id, p.peer, token))
    await p.hub.deliver(
        p.meeting_id, frames.peer_updated(p.peer, reconnected=True), exclude=p.peer_id
    )
