"""Every frame the server sends, built in one place.

The shapes are the protocol (``docs/signaling.md``) and the web client's typedefs
(``web/static/js/protocol.js``): :class:`Peer` here is ``Peer`` there, field for field, so a
change to what the others see of a participant is made once and checked by mypy wherever a
frame carries it. Frames a client sends are validated in :mod:`parley.signaling.schemas`.

Builders only shape data; reading the room (peers, lobby, chat history) is the callers' job.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal, NotRequired, TypedDict

from parley.signaling.errors import ErrorCode
from parley.signaling.models import ChatMessage

Frame = dict[str, Any]
"""An outgoing frame, as the hub serialises it."""

StoredPeer = Mapping[str, Any]
"""A participant as the room state keeps them: :class:`Peer`'s fields and the server's own
(``user_id``, ``node``, ``settings``, ``resume``), which never leave the server."""

Role = Literal["host", "cohost", "participant", "guest"]
MediaKind = Literal["audio", "video"]
"""What a host can stop at the SFU (and hold off until allowed)."""
MODERATORS: tuple[Role, ...] = ("host", "cohost")
"""Roles that may moderate a room (and hear about its lobby)."""


class MediaState(TypedDict):
    """``MediaState`` in ``protocol.js``: what a participant sends."""

    audio: bool
    video: bool
    screen: bool


class Peer(TypedDict):
    """``Peer`` in ``protocol.js``: what the others see of a participant."""

    id: str
    display_name: str
    role: Role
    media: MediaState
    hand: bool
    hand_at: NotRequired[float | None]
    connected: NotRequired[bool]
    held: NotRequired[list[MediaKind]]
    avatar: NotRequired[str]


class SelfInfo(TypedDict):
    """The welcome's ``self``: who the server took this connection for."""

    id: str
    display_name: str
    role: Role
    held: NotRequired[list[MediaKind]]
    avatar: NotRequired[str]


class RoomInfo(TypedDict):
    """``RoomInfo`` in ``protocol.js``: the room as the welcome describes it."""

    meeting_id: str
    settings: dict[str, Any]
    recording: bool
    locked: bool
    media: Literal["mesh", "sfu"]


def public(peer: StoredPeer) -> Peer:
    """What the others see of a peer (the server's own fields stay behind)."""
    shown: Peer = {
        "id": peer["id"],
        "display_name": peer["display_name"],
        "role": peer["role"],
        "media": peer["media"],
        "hand": peer["hand"],
        "hand_at": peer.get("hand_at"),
        "connected": peer.get("connected", True),
        "held": list(peer.get("held") or []),
    }
    if peer.get("avatar"):
        shown["avatar"] = peer["avatar"]
    return shown


def publics(peers: Iterable[StoredPeer]) -> list[Peer]:
    return [public(p) for p in peers]


# ---- entry ----------------------------------------------------------------------------------


def welcome(
    peer: StoredPeer,
    others: list[Peer],
    room: RoomInfo,
    chat_history: list[Frame],
    ice_servers: list[dict[str, Any]],
    resume_token: str,
    lobby: list[Peer] | None,
) -> Frame:
    """On entering the room, after admission and after a resume; ``lobby`` for moderators."""
    self_info: SelfInfo = {
        "id": peer["id"],
        "display_name": peer["display_name"],
        "role": peer["role"],
    }
    if peer.get("held"):
        self_info["held"] = list(peer["held"])
    if peer.get("avatar"):
        self_info["avatar"] = peer["avatar"]
    frame: Frame = {
        "type": "welcome",
        "self": self_info,
        "peers": others,
        "room": room,
        "chat_history": chat_history,
        "ice_servers": ice_servers,
        "resume_token": resume_token,
    }
    if lobby is not None:
        frame["lobby"] = lobby
    return frame


def lobby_wait() -> Frame:
    return {"type": "lobby-wait"}


# ---- the room -------------------------------------------------------------------------------


def peer_joined(peer: StoredPeer) -> Frame:
    return {"type": "peer-joined", "peer": public(peer)}


def peer_updated(peer: StoredPeer, *, reconnected: bool = False) -> Frame:
    frame: Frame = {"type": "peer-updated", "peer": public(peer)}
    if reconnected:
        frame["reconnected"] = True
    return frame


def peer_left(peer_id: str, reason: Literal["removed"] | None = None) -> Frame:
    frame: Frame = {"type": "peer-left", "peer": peer_id}
    if reason is not None:
        frame["reason"] = reason
    return frame


def relayed(
    kind: Literal["offer", "answer", "candidate", "renegotiate"],
    sender: str,
    sdp: Any = None,
    candidate: Any = None,
) -> Frame:
    """An offer, answer, candidate or renegotiation on its way to one peer, ``from`` added."""
    frame: Frame = {"type": kind, "from": sender}
    if sdp is not None:
        frame["sdp"] = sdp
    if candidate is not None:
        frame["candidate"] = candidate
    return frame


def chat(message: ChatMessage) -> Frame:
    """A chat message (live, or in the welcome's history); ``to`` when private."""
    frame: Frame = {
        "type": "chat",
        "id": str(message.id),
        "from": str(message.sender_id),
        "from_name": message.sender_name,
        "text": message.text,
        "ts": message.created_at.isoformat(),
    }
    if message.recipient_id is not None:
        frame["to"] = str(message.recipient_id)
    return frame


def reaction(sender: str, emoji: str) -> Frame:
    return {"type": "reaction", "from": sender, "emoji": emoji}


def room_updated(*, locked: bool | None = None, recording: bool | None = None) -> Frame:
    """The room's lock or recording flag changed (only the one that changed is sent)."""
    frame: Frame = {"type": "room-updated"}
    if locked is not None:
        frame["locked"] = locked
    if recording is not None:
        frame["recording"] = recording
    return frame


def settings(meeting_settings: dict[str, Any]) -> Frame:
    """The meeting's settings as a host just changed them (all of them)."""
    return {"type": "settings", "settings": meeting_settings}


def media_mode(mode: Literal["mesh", "sfu"]) -> Frame:
    """The room switched media plane: peer to peer, or through the SFU."""
    return {"type": "media-mode", "mode": mode}


def sfu_answer(sdp: dict[str, Any]) -> Frame:
    """The SFU's answer to this participant's publishing offer."""
    return {"type": "sfu-answer", "sdp": sdp}


def pong() -> Frame:
    return {"type": "pong"}


def error(code: ErrorCode, message: str) -> Frame:
    return {"type": "error", "code": code, "message": message}


# ---- moderation -----------------------------------------------------------------------------


def lobby_request(peer: StoredPeer) -> Frame:
    """To moderators: someone knocks."""
    return {"type": "lobby-request", "participant": public(peer)}


def lobby_left(peer_id: str) -> Frame:
    """To moderators: someone stopped waiting (gave up, was denied, or their node died)."""
    return {"type": "lobby-left", "peer": peer_id}


def lobby(waiting: Iterable[StoredPeer]) -> Frame:
    """To a new cohost: who is waiting now."""
    return {"type": "lobby", "lobby": publics(waiting)}


def mute(sender: str, *, held: bool = False) -> Frame:
    """To the peer a host muted; ``held``: it may not unmute itself until a host allows it."""
    return {"type": "mute", "from": sender, "held": held}


def stop_video(sender: str, *, held: bool = False) -> Frame:
    """To the peer whose camera a host stopped; ``held`` as for :func:`mute`."""
    return {"type": "stop-video", "from": sender, "held": held}


def unmute_allowed(sender: str | None, kinds: list[MediaKind]) -> Frame:
    """To a held peer: it may turn these on again (``sender`` ``None``: the meeting's settings
    now allow self-unmute)."""
    frame: Frame = {"type": "unmute-allowed", "kinds": kinds}
    if sender is not None:
        frame["from"] = sender
    return frame


def removed() -> Frame:
    return {"type": "removed"}


def denied() -> Frame:
    return {"type": "denied"}


def meeting_ended() -> Frame:
    return {"type": "meeting-ended"}


# ---- polls (meeting-service launches them; the room is told) --------------------------------


class PollInfo(TypedDict):
    """``PollInfo`` in ``protocol.js``: a poll as everyone may see it (no counts, no voters)."""

    id: str
    question: str
    options: list[str]
    multiple: bool
    anonymous: bool
    live_results: bool
    status: Literal["open", "closed"]
    revision: int


class PollCounts(TypedDict):
    """``PollCounts`` in ``protocol.js``: votes per option and how many voted, never who."""

    poll_id: str
    results: list[int]
    voters: int
    revision: int


def poll_opened(poll: PollInfo) -> Frame:
    """To everyone in the room: a host launched a poll."""
    return {"type": "poll-opened", "poll": poll}


def poll_results(counts: PollCounts) -> Frame:
    """The counts after a vote: to everyone with live results, else to moderators only."""
    return {"type": "poll-results", **counts}


def poll_closed(counts: PollCounts) -> Frame:
    """To everyone: the poll is closed, with its final counts."""
    return {"type": "poll-closed", **counts}


# ---- breakout rooms (meeting-service decides; the rooms are told) ---------------------------

BREAKOUT_FRAMES: dict[str, frozenset[str]] = {
    "breakout-move": frozenset({"room", "joined", "ends_at", "allow_return"}),
    "breakout-return": frozenset(),
    "breakout-closing": frozenset({"closes_at", "seconds"}),
    "breakout-broadcast": frozenset({"text", "from"}),
    "breakout-help": frozenset({"room", "from"}),
    "breakouts-updated": frozenset({"state"}),
}
"""Every breakout frame meeting-service may have delivered, with the keys each carries (others
are dropped): the command stream cannot be used to send any other frame."""

PERSONAL_FRAMES = frozenset({"breakout-move"})
"""Frames that carry a ticket: only ever to one participant's own connection."""


def breakout(content: Mapping[str, Any]) -> Frame | None:
    """A breakout frame as meeting-service built it, keeping only its own keys (``docs/
    signaling.md``): ``breakout-move`` ``{room: {id, name, index, meeting_id}, joined, ends_at,
    allow_return}`` (``joined``: the answer of a join, for the person's row in that room),
    ``breakout-return`` ``{}``, ``breakout-closing`` ``{closes_at, seconds}``,
    ``breakout-broadcast`` ``{text, from}``, ``breakout-help`` ``{room: {id, name}, from}``,
    ``breakouts-updated`` ``{state}``. ``None`` for any other type."""
    kind = content.get("type")
    keys = BREAKOUT_FRAMES.get(kind) if isinstance(kind, str) else None
    if keys is None:
        return None
    return {"type": kind, **{k: v for k, v in content.items() if k in keys}}
