"""Moderation of a room, whoever asks: a host's frame on the WebSocket, or meeting-service
relaying what a host did over its REST API (the ``parley:signaling:commands`` stream).

Each action changes the shared room state once and tells the people concerned through the hub,
whichever node holds their connections. ``tell`` says whether meeting-service must be told (it
already knows when the action came from it).

Meeting-service also publishes ``settings`` when a host changes the meeting's settings during
the meeting: the live room takes them at once (and enforces them, see ``actions.py``); and
``poll`` events (launched, counts, closed), delivered by ``polls.py``; and breakout rooms'
``frame`` and ``breakout-away`` commands (``breakouts.py``).

When the last host or cohost leaves the room, the longest-present signed-in participant still
in it becomes cohost (``appoint_cohost``), unless the meeting's ``auto_cohost`` is off: a room
is never without a moderator while someone could be one.

A host's mute or stop-video is enforced at the SFU (``moderate``), not only asked of the
client. With the meeting's ``allow_self_unmute`` off it also *holds*: the peer's ``held`` lists
what it may not turn on again (``actions.media_state`` refuses it) until a host allows it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from typing import Any

from fastapi import FastAPI

from parley.signaling import breakouts, frames, polls, service
from parley.signaling.entering import effective_settings, entered, welcome
from parley.signaling.errors import CLOSE_LEFT, CLOSE_SHUT_OUT, ModerationError
from parley.signaling.frames import MODERATORS, MediaKind, StoredPeer
from parley.signaling.hub import Hub
from parley.signaling.plane import plane_of

PROMOTION_LOCK_S = 10.0
"""How long one node may hold a room's promotion lock (it lets go as soon as it is done)."""
PROMOTION_WAIT_S = 3.0
"""How long a node waits for another's promotion to finish before it looks again itself."""


def _hub(app: FastAPI) -> Hub:
    hub: Hub | None = app.state.signaling
    if hub is None:
        raise ModerationError("unavailable", "Signaling is not running on this node.")
    return hub


async def remove(
    app: FastAPI,
    meeting_id: str,
    target_id: str,
    *,
    tell: bool = True,
    user_id: str | None = None,
) -> None:
    hub = _hub(app)
    state = hub.state
    peers = await state.peers(meeting_id)
    target = peers.get(target_id)
    lobby = None if target else await state.leave_lobby(meeting_id, target_id)
    target = target or lobby
    if target is None:
        if not tell:
            # Removed through meeting-service while not connected: a ticket it still holds
            # must not let it in, and the room's history is closed to them.
            await state.mark_removed(meeting_id, target_id, user_id)
            await _shut_out(app, meeting_id, user_id, "removed")
        raise ModerationError("unknown-peer", f"No peer {target_id!r} in this room.")
    if target["role"] == "host":
        raise ModerationError("forbidden", "The host cannot be removed.")
    await state.mark_removed(meeting_id, target_id, target.get("user_id"))
    await state.drop_peer(meeting_id, target_id)
    await _shut_out(app, meeting_id, target.get("user_id"), "removed")
    await hub.deliver(
        meeting_id,
        frames.removed(),
        to=[target_id],
        peers={target_id: target},
        close=(CLOSE_SHUT_OUT, "removed"),
    )
    if lobby is None:
        await hub.deliver(meeting_id, frames.peer_left(target_id, "removed"), exclude=target_id)
        plane = plane_of(app)
        if plane is not None:
            # Kicked at the SFU too: not one packet more, either way.
            await plane.left(meeting_id, target_id, kicked=True)
    if tell:
        await service.tell_meetings(state.kv, "remove", meeting_id, target_id)


async def admit(app: FastAPI, meeting_id: str, target_id: str, *, tell: bool = True) -> None:
    hub = _hub(app)
    state = hub.state
    waiting = await state.leave_lobby(meeting_id, target_id)
    if waiting is None:
        raise ModerationError("unknown-peer", f"No one called {target_id!r} is waiting.")
    token = await state.enter_room(meeting_id, waiting)
    await entered(app, meeting_id, waiting)
    plane = plane_of(app)
    if plane is not None:
        await plane.rebalance(meeting_id, exclude=target_id)
    # Built here for the admitted peer and sent to whichever node holds its connection.
    greeting = await welcome(app, meeting_id, waiting, token)
    peers = await state.peers(meeting_id)
    await hub.deliver(meeting_id, greeting, to=[target_id], peers=peers)
    await hub.deliver(meeting_id, frames.peer_joined(waiting), exclude=target_id, peers=peers)
    if tell:
        await service.tell_meetings(state.kv, "admit", meeting_id, target_id)


async def deny(app: FastAPI, meeting_id: str, target_id: str, *, tell: bool = True) -> None:
    hub = _hub(app)
    waiting = await hub.state.leave_lobby(meeting_id, target_id)
    if waiting is None:
        raise ModerationError("unknown-peer", f"No one called {target_id!r} is waiting.")
    await _shut_out(app, meeting_id, waiting.get("user_id"), "denied")
    await hub.deliver(
        meeting_id,
        frames.denied(),
        to=[target_id],
        peers={target_id: waiting},
        close=(CLOSE_SHUT_OUT, "denied"),
    )
    # Every host and cohost (not only the one who denied) stops showing them as waiting.
    peers = await hub.state.peers(meeting_id)
    moderators = [pid for pid, peer in peers.items() if peer["role"] in MODERATORS]
    await hub.deliver(meeting_id, frames.lobby_left(target_id), to=moderators, peers=peers)
    if tell:
        await service.tell_meetings(hub.state.kv, "deny", meeting_id, target_id)


async def set_role(
    app: FastAPI, meeting_id: str, target_id: str, role: str, *, tell: bool = True
) -> None:
    hub = _hub(app)
    state = hub.state
    target = await state.peer(meeting_id, target_id)
    if target is None:
        raise ModerationError("unknown-peer", f"No peer {target_id!r} in this room.")
    if target["role"] == "host":
        raise ModerationError("forbidden", "The host's role cannot change.")
    if not target.get("user_id"):
        raise ModerationError("forbidden", "Guests cannot be made cohosts.")
    peer = await state.update_peer(meeting_id, target_id, role=role)
    if peer is None:
        return
    await hub.deliver(meeting_id, frames.peer_updated(peer))
    if role == "cohost":
        lobby = await state.lobby(meeting_id)
        await hub.deliver(meeting_id, frames.lobby(lobby.values()), to=[target_id])
    if tell:
        await service.tell_meetings(state.kv, "role", meeting_id, target_id, role=role)


async def end(app: FastAPI, meeting_id: str, *, tell: bool = True) -> None:
    hub = _hub(app)
    state = hub.state
    await state.set_room(meeting_id, ended=True)
    peers = await state.peers(meeting_id)
    lobby = await state.lobby(meeting_id)
    everyone = {**peers, **lobby}
    await hub.deliver(
        meeting_id,
        frames.meeting_ended(),
        to=list(everyone),
        peers=everyone,
        close=(CLOSE_LEFT, "meeting ended"),
    )
    plane = plane_of(app)
    if plane is not None:
        await plane.ended(meeting_id)
    if tell:
        await service.tell_meetings(state.kv, "end", meeting_id)


async def appoint_cohost(app: FastAPI, meeting_id: str, left: StoredPeer) -> str | None:
    """A host or cohost (``left``) has left the room. If nobody who moderates is in it any
    more and the meeting's ``auto_cohost`` is on, the longest-present signed-in participant
    (never a guest) becomes cohost the way a host's ``role`` frame makes one: everyone gets
    ``peer-updated``, the new cohost the lobby, meeting-service records it. Returns who.

    Nodes that handle leaves of the same room at the same time take turns under a lock in the
    room state, and each looks again once it holds it: exactly one promotes."""
    if left.get("role") not in MODERATORS:
        return None
    hub = _hub(app)
    state = hub.state
    holder = f"{hub.node_id}:{secrets.token_hex(8)}"
    loop = asyncio.get_running_loop()
    deadline = loop.time() + PROMOTION_WAIT_S
    while not await state.claim_promotion(meeting_id, holder, PROMOTION_LOCK_S):
        if loop.time() > deadline:
            return None  # the other node's turn is taking too long: it sees the room too
        await asyncio.sleep(0.02)
    try:
        if (await state.room(meeting_id))["ended"]:
            return None
        peers, live = await state.live(meeting_id)
        if any(p["role"] in MODERATORS for p in peers.values()):
            return None
        settings = effective_settings(live, left.get("settings") or {})
        if settings.get("auto_cohost", True) is False:
            return None
        signed_in = [
            pid
            for pid in await state.longest_present(meeting_id)
            if pid in peers and peers[pid].get("user_id") and peers[pid]["role"] != "guest"
        ]
        # Someone whose connection is up hears of it at once; a dropped one only if nobody is.
        signed_in.sort(key=lambda pid: not peers[pid].get("connected", True))
        if not signed_in:
            return None
        chosen = signed_in[0]
        await set_role(app, meeting_id, chosen, "cohost")
        return chosen
    finally:
        await state.release_promotion(meeting_id, holder)


def may_hold(peer: StoredPeer, live: dict[str, Any] | None) -> bool:
    """Whether a host's mute or stop-video holds this peer: the meeting does not allow
    self-unmute, and the peer is no host or cohost (who could lift it themselves)."""
    settings = effective_settings(live, peer.get("settings") or {})
    return settings.get("allow_self_unmute", True) is False and peer["role"] not in MODERATORS


async def stop_media(
    app: FastAPI, meeting_id: str, target_id: str, kind: MediaKind, by: str
) -> None:
    """A host's ``mute`` (audio) or ``stop-video`` (video): the peer is told and its media
    stopped at the SFU. When the meeting does not allow self-unmute, the peer is held: its
    ``held`` and ``media`` say so to everyone, and turning it on again is refused."""
    hub = _hub(app)
    state = hub.state
    peers, live = await state.live(meeting_id)
    target = peers.get(target_id)
    if target is None:
        raise ModerationError("unknown-peer", f"No peer {target_id!r} in this room.")
    hold = may_hold(target, live)
    if hold:
        held = sorted({*target.get("held", []), kind})
        media = {**target.get("media", {}), kind: False}
        peer = await state.update_peer(meeting_id, target_id, held=held, media=media)
        if peer is not None:
            await hub.deliver(meeting_id, frames.peer_updated(peer))
    told = frames.mute(by, held=hold) if kind == "audio" else frames.stop_video(by, held=hold)
    await hub.deliver(meeting_id, told, to=[target_id], peers=peers)
    plane = plane_of(app)
    if plane is not None:
        # Enforced at the SFU as well: a client that ignores the frame is stopped all the same.
        await plane.moderate(meeting_id, target_id, kind, True)


async def allow_unmute(
    app: FastAPI, meeting_id: str, target_id: str, kinds: list[MediaKind], by: str | None
) -> None:
    """Lift a hold: the peer may turn these on again itself (which lifts the SFU's mute, see
    ``actions.media_state``); it is told with ``unmute-allowed``. Nothing held, nothing done."""
    hub = _hub(app)
    state = hub.state
    target = await state.peer(meeting_id, target_id)
    if target is None:
        raise ModerationError("unknown-peer", f"No peer {target_id!r} in this room.")
    held: list[MediaKind] = list(target.get("held") or [])
    lifted = [k for k in held if k in kinds]
    if not lifted:
        return
    peer = await state.update_peer(meeting_id, target_id, held=[k for k in held if k not in kinds])
    if peer is None:
        return
    await hub.deliver(meeting_id, frames.peer_updated(peer))
    await hub.deliver(meeting_id, frames.unmute_allowed(by, lifted), to=[target_id])


async def lower_hand(app: FastAPI, meeting_id: str, target_id: str) -> None:
    """A host lowers someone's raised hand (everyone sees it go down). Not raised: nothing."""
    hub = _hub(app)
    target = await hub.state.peer(meeting_id, target_id)
    if target is None:
        raise ModerationError("unknown-peer", f"No peer {target_id!r} in this room.")
    if not target.get("hand"):
        return
    peer = await hub.state.update_peer(meeting_id, target_id, hand=False, hand_at=None)
    if peer is not None:
        await hub.deliver(meeting_id, frames.peer_updated(peer))


async def lower_hands(app: FastAPI, meeting_id: str) -> int:
    """Every raised hand goes down; returns how many."""
    peers = await _hub(app).state.peers(meeting_id)
    raised = [peer_id for peer_id, peer in peers.items() if peer.get("hand")]
    for peer_id in raised:
        with contextlib.suppress(ModerationError):  # left meanwhile
            await lower_hand(app, meeting_id, peer_id)
    return len(raised)


async def mute_all(app: FastAPI, meeting_id: str, by: str) -> int:
    """A host's "mute all": everyone but hosts and cohosts whose microphone is on is muted, as
    by ``mute`` (told, stopped at the SFU, held where self-unmute is off). Returns how many."""
    peers = await _hub(app).state.peers(meeting_id)
    targets = [
        peer_id
        for peer_id, peer in peers.items()
        if peer["role"] not in MODERATORS and peer.get("media", {}).get("audio")
    ]
    for peer_id in targets:
        with contextlib.suppress(ModerationError):
            await stop_media(app, meeting_id, peer_id, "audio", by)
    return len(targets)


async def admit_all(app: FastAPI, meeting_id: str) -> int:
    """Everyone waiting in the lobby comes in; returns how many."""
    waiting = await _hub(app).state.lobby(meeting_id)
    admitted = 0
    for peer_id in waiting:
        with contextlib.suppress(ModerationError):  # gone, or admitted by another host
            await admit(app, meeting_id, peer_id)
            admitted += 1
    return admitted


async def _shut_out(app: FastAPI, meeting_id: str, user_id: str | None, how: str) -> None:
    async with app.state.db.sessionmaker() as session:
        await service.member_shut_out(session, meeting_id, user_id, how)


async def change_settings(app: FastAPI, meeting_id: str, raw: str) -> None:
    """The meeting's settings as meeting-service now has them (JSON, all of them): kept in the
    room state, where chat and screen sharing are checked, and sent to everyone in the room.
    When they allow self-unmute (again), every hold is lifted."""
    try:
        settings = json.loads(raw)
    except ValueError:
        settings = None
    if not isinstance(settings, dict):
        raise ModerationError("invalid-message", "settings must be a JSON object")
    hub = _hub(app)
    await hub.state.set_settings(meeting_id, settings)
    await hub.deliver(meeting_id, frames.settings(settings))
    if settings.get("allow_self_unmute", True) is not False:
        # Self-unmute allowed again: nobody stays held.
        for peer_id, peer in list((await hub.state.peers(meeting_id)).items()):
            if peer.get("held"):
                with contextlib.suppress(ModerationError):  # gone meanwhile
                    await allow_unmute(app, meeting_id, peer_id, ["audio", "video"], None)


async def apply(app: FastAPI, fields: dict[str, Any]) -> None:
    """One command from meeting-service (``cmd``, ``meeting_id``, ``participant_id``, ``role``,
    ``settings``)."""
    command = fields.get("cmd")
    meeting_id = str(fields.get("meeting_id") or "")
    target = str(fields.get("participant_id") or "")
    if command == "end":
        await end(app, meeting_id, tell=False)
    elif command == "remove":
        await remove(app, meeting_id, target, tell=False, user_id=fields.get("user_id") or None)
    elif command == "admit":
        await admit(app, meeting_id, target, tell=False)
    elif command == "deny":
        await deny(app, meeting_id, target, tell=False)
    elif command == "role" and fields.get("role") in ("cohost", "participant"):
        await set_role(app, meeting_id, target, str(fields["role"]), tell=False)
    elif command == "settings":
        await change_settings(app, meeting_id, str(fields.get("settings") or ""))
    elif command == "poll":
        await polls.deliver(app, fields)
    elif command == "frame":
        await breakouts.deliver(app, fields)
    elif command == "breakout-away":
        await breakouts.mark_away(app, meeting_id, target)
