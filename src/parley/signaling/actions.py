"""What a participant in the room can do with a frame: relay to a peer, chat, react, raise a
hand, change media; and, for hosts and cohosts, the moderation frames.

Each frame here has passed :mod:`parley.signaling.reading` and the lobby gate. The meeting's
settings are checked where they govern something (``allow_chat``, ``allow_screen_share``,
``allow_self_unmute`` through the peer's ``held``); the moderation itself is
:mod:`parley.signaling.moderation`'s, shared with meeting-service's commands.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable

from parley.core.rtc_client import RtcUnavailable
from parley.signaling import frames, moderation, service
from parley.signaling.errors import ModerationError
from parley.signaling.hub import RELAY_LATENCY
from parley.signaling.participant import Participant
from parley.signaling.schemas import (
    AllowUnmute,
    Chat,
    EveryoneCommand,
    Hand,
    Inbound,
    Lock,
    MediaState,
    PeerCommand,
    Reaction,
    RecordingState,
    Relay,
    RoleChange,
    SfuFrame,
    SfuJoin,
    SfuLayer,
    SfuPublish,
    SfuSubscribeAnswer,
    StopVideo,
)


async def dispatch(p: Participant, frame: Inbound) -> None:
    """Act on one frame from a participant in the room."""
    if isinstance(frame, Relay):
        await relay(p, frame)
    elif isinstance(frame, Chat):
        await chat(p, frame)
    elif isinstance(frame, Reaction):
        await p.hub.deliver(p.meeting_id, frames.reaction(p.peer_id, frame.emoji))
    elif isinstance(frame, Hand):
        # When it went up orders the hosts' hand queue (the earliest first).
        await p.update_self(hand=frame.raised, hand_at=time.time() if frame.raised else None)
    elif isinstance(frame, MediaState):
        await media_state(p, frame)
    elif isinstance(frame, SfuJoin | SfuPublish | SfuSubscribeAnswer | SfuLayer):
        await sfu(p, frame)  # a session hands these to its own queue first (media_frames)
    elif not await p.may_moderate():
        p.send(frames.error("forbidden", "Only the host or a cohost can do this."))
    else:
        await host_command(p, frame)


# ---- everyone -------------------------------------------------------------------------------


async def relay(p: Participant, frame: Relay) -> None:
    """An offer, answer, candidate or renegotiation, to the one peer it names."""
    started = time.perf_counter()
    peers = await p.state.peers(p.meeting_id)
    if frame.to not in peers or frame.to == p.peer_id:
        p.send(frames.error("unknown-peer", f"No peer {frame.to!r} in this room."))
        return
    out = frames.relayed(frame.type, p.peer_id, frame.sdp, frame.candidate)
    await p.hub.deliver(p.meeting_id, out, to=[frame.to], peers=peers)
    elapsed = time.perf_counter() - started
    RELAY_LATENCY.observe(elapsed)
    p.hub.relay_ms.append(elapsed * 1000)


async def chat(p: Participant, frame: Chat) -> None:
    """A chat line: stored (in the next batch) and delivered at once, to everyone or, with
    ``to``, to its two ends."""
    peers, live = await p.state.live(p.meeting_id)
    if not await p.allowed("allow_chat", live):
        p.send(frames.error("forbidden", "Chat is off in this meeting."))
        return
    recipient = None
    if frame.to is not None:
        recipient = peers.get(frame.to)
        if recipient is None or frame.to == p.peer_id:
            p.send(frames.error("unknown-peer", f"No peer {frame.to!r} in this room."))
            return
    message = service.new_chat(p.meeting_id, p.peer, frame.text, recipient)
    p.app.state.chat_log.add(message)
    to = [p.peer_id, recipient["id"]] if recipient else None
    await p.hub.deliver(p.meeting_id, frames.chat(message), to=to, peers=peers)


HELD_WORDS = {
    "audio": "A host muted you. You can unmute when a host allows it.",
    "video": "A host turned off your camera. You can start it when a host allows it.",
}


async def media_state(p: Participant, frame: MediaState) -> None:
    peers, live = await p.state.live(p.meeting_id)
    if frame.screen and not await p.allowed("allow_screen_share", live):
        p.send(frames.error("forbidden", "Screen sharing is off in this meeting."))
        return
    current = peers.get(p.peer_id, p.peer)  # as hosts on any node left it (held, media)
    changes: dict[str, object] = {}
    held: list[frames.MediaKind] = list(current.get("held") or [])
    if held and not moderation.may_hold(current, live):
        changes["held"] = held = []  # made cohost, or self-unmute allowed again meanwhile
    for kind in held:
        if getattr(frame, kind):
            # Held by a host: refused whole; the SFU keeps it stopped.
            p.send(frames.error("forbidden", HELD_WORDS[kind]))
            return
    before = current.get("media", {})
    media: frames.MediaState = {"audio": frame.audio, "video": frame.video, "screen": frame.screen}
    await p.update_self(media=media, **changes)
    for kind in ("audio", "video"):
        if media[kind] and not before.get(kind, True):
            # Turning it on oneself lifts a host's mute or stop-video at the SFU too (allowed:
            # self-unmute is on, or a host lifted the hold).
            await p.plane.moderate(p.meeting_id, p.peer_id, kind, False)


async def sfu(p: Participant, frame: SfuFrame) -> None:
    """An SFU frame, handed to media-service's rtc; a failure puts the room back in mesh."""
    name = str(p.peer.get("display_name", ""))
    try:
        if isinstance(frame, SfuPublish):
            body = {
                "display_name": name,
                "sdp": frame.sdp.model_dump(),
                "screen_mid": frame.screen_mid,
            }
            answer = await p.plane.request(p.meeting_id, p.peer, "publish", body)
            p.send(frames.sfu_answer(answer["sdp"]))
            await _reapply_holds(p)
        elif isinstance(frame, SfuJoin):
            await p.plane.request(p.meeting_id, p.peer, "join", {"display_name": name})
        elif isinstance(frame, SfuSubscribeAnswer):
            body = {"sdp": frame.sdp.model_dump()}
            await p.plane.request(p.meeting_id, p.peer, "subscriber-answer", body)
        else:
            body = {"peer": frame.peer, "layer": frame.layer}
            await p.plane.request(p.meeting_id, p.peer, "layer", body)
    except RtcUnavailable as exc:
        p.send(frames.error("sfu-unavailable", f"The media server could not do it: {exc}"))
        if isinstance(frame, SfuPublish | SfuJoin):
            await p.plane.fall_back(p.meeting_id, str(exc))


# ---- hosts and cohosts ----------------------------------------------------------------------


async def host_command(p: Participant, frame: Inbound) -> None:
    """A moderation frame from someone who may moderate (checked by the caller)."""
    if isinstance(frame, PeerCommand):
        await peer_command(p, frame)
    elif isinstance(frame, StopVideo):
        await _moderation(
            p, moderation.stop_media(p.app, p.meeting_id, frame.peer, "video", p.peer_id)
        )
    elif isinstance(frame, AllowUnmute):
        await _moderation(
            p, moderation.allow_unmute(p.app, p.meeting_id, frame.peer, frame.kinds, p.peer_id)
        )
    elif isinstance(frame, RoleChange):
        await _moderation(p, moderation.set_role(p.app, p.meeting_id, frame.peer, frame.role))
    elif isinstance(frame, Lock):
        await p.state.set_room(p.meeting_id, locked=frame.locked)
        await p.hub.deliver(p.meeting_id, frames.room_updated(locked=frame.locked))
    elif isinstance(frame, EveryoneCommand):
        await everyone_command(p, frame)
    elif isinstance(frame, RecordingState):
        # Everyone is told that they are being recorded (and when it stops).
        await p.state.set_room(p.meeting_id, recording=frame.active)
        await p.hub.deliver(p.meeting_id, frames.room_updated(recording=frame.active))
    else:  # end
        p.gone = True
        await moderation.end(p.app, p.meeting_id)


async def peer_command(p: Participant, frame: PeerCommand) -> None:
    if frame.type == "mute":
        # Told, and enforced at the SFU: a client that ignores the frame is silent all the same.
        await _moderation(
            p, moderation.stop_media(p.app, p.meeting_id, frame.peer, "audio", p.peer_id)
        )
        return
    act = {
        "remove": moderation.remove,
        "admit": moderation.admit,
        "deny": moderation.deny,
        "lower-hand": moderation.lower_hand,
    }
    await _moderation(p, act[frame.type](p.app, p.meeting_id, frame.peer))


async def everyone_command(p: Participant, frame: EveryoneCommand) -> None:
    if frame.type == "mute-all":
        await moderation.mute_all(p.app, p.meeting_id, p.peer_id)
    elif frame.type == "lower-hands":
        await moderation.lower_hands(p.app, p.meeting_id)
    else:
        await moderation.admit_all(p.app, p.meeting_id)


async def _moderation(p: Participant, action: Awaitable[None]) -> None:
    try:
        await action
    except ModerationError as exc:
        p.send(frames.error(exc.code, exc.message))


async def _reapply_holds(p: Participant) -> None:
    """A held peer publishing anew (the room just went through the SFU, or the media server
    restarted): what a host holds stopped is stopped at the SFU again."""
    current = await p.state.peer(p.meeting_id, p.peer_id)
    for kind in (current or {}).get("held") or []:
        await p.plane.moderate(p.meeting_id, p.peer_id, kind, True)
