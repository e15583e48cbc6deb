"""Frames a client may send, validated before anything acts on them.

Server-to-client frames are built in :mod:`parley.signaling.frames`; the whole
protocol is written down in ``docs/signaling.md``.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter

from parley.core.text import MultiLineText

MAX_TEXT = 4000
REACTIONS = ("👍", "👏", "😂", "😮", "❤️", "🎉", "🤔", "👎")


class Frame(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Auth(Frame):
    type: Literal["auth"]
    token: str = Field(max_length=4096)


class Resume(Frame):
    type: Literal["resume"]
    resume_token: str = Field(max_length=200)


class Relay(Frame):
    type: Literal["offer", "answer", "candidate", "renegotiate"]
    to: str = Field(max_length=64)
    sdp: Any = None
    candidate: Any = None


class Chat(Frame):
    type: Literal["chat"]
    # NUL and other control characters (newlines and tabs aside) are refused with an error
    # frame: PostgreSQL cannot store NUL, and such a line must never reach the batch writer.
    text: Annotated[MultiLineText, StringConstraints(min_length=1, max_length=MAX_TEXT)]
    to: str | None = Field(default=None, max_length=64)


class Reaction(Frame):
    type: Literal["reaction"]
    emoji: Literal[REACTIONS]  # type: ignore[valid-type]


class Hand(Frame):
    type: Literal["hand"]
    raised: bool


class MediaState(Frame):
    type: Literal["media-state"]
    audio: bool
    video: bool
    screen: bool = False


class PeerCommand(Frame):
    type: Literal["mute", "remove", "admit", "deny", "lower-hand"]
    peer: str = Field(max_length=64)


class RoleChange(Frame):
    type: Literal["role"]
    peer: str = Field(max_length=64)
    role: Literal["cohost", "participant"]


class RecordingState(Frame):
    type: Literal["recording"]
    active: bool


class Lock(Frame):
    type: Literal["lock"]
    locked: bool


class Simple(Frame):
    type: Literal["end", "ping"]


class EveryoneCommand(Frame):
    """A host's command for the whole room: mute everyone but hosts and cohosts, lower every
    raised hand, admit everyone waiting in the lobby."""

    type: Literal["mute-all", "lower-hands", "admit-all"]


class StopVideo(Frame):
    """A host's "stop video": the peer's camera is stopped at the SFU and its client told."""

    type: Literal["stop-video"]
    peer: str = Field(max_length=64)


def _both() -> list[Literal["audio", "video"]]:
    return ["audio", "video"]


class AllowUnmute(Frame):
    """A host lets a held peer turn its microphone or camera (or both) on again."""

    type: Literal["allow-unmute"]
    peer: str = Field(max_length=64)
    kinds: list[Literal["audio", "video"]] = Field(
        default_factory=_both, min_length=1, max_length=2
    )


# ---- the SFU (see parley.signaling.plane) -----------------------------------------------------

MAX_SDP = 64 * 1024


class Description(BaseModel):
    model_config = ConfigDict(extra="ignore")
    type: Literal["offer", "answer"]
    sdp: str = Field(max_length=MAX_SDP)


class SfuJoin(Frame):
    """Receive through the SFU without sending anything (no camera or microphone)."""

    type: Literal["sfu-join"]


class SfuPublish(Frame):
    type: Literal["sfu-publish"]
    sdp: Description
    screen_mid: str | None = Field(default=None, max_length=16)


class SfuSubscribeAnswer(Frame):
    type: Literal["sfu-subscribe-answer"]
    sdp: Description


class SfuLayer(Frame):
    type: Literal["sfu-layer"]
    peer: str = Field(max_length=64)
    layer: Literal["high", "medium", "low", "paused"]


SfuFrame = SfuJoin | SfuPublish | SfuSubscribeAnswer | SfuLayer
"""The frames handed to the media server (:mod:`parley.signaling.media_frames`)."""

Inbound = Annotated[
    Auth
    | Resume
    | Relay
    | Chat
    | Reaction
    | Hand
    | MediaState
    | PeerCommand
    | RoleChange
    | RecordingState
    | Lock
    | Simple
    | EveryoneCommand
    | SfuJoin
    | SfuPublish
    | SfuSubscribeAnswer
    | SfuLayer
    | StopVideo
    | AllowUnmute,
    Field(discriminator="type"),
]
inbound = TypeAdapter(Inbound)
KNOWN_TYPES = {
    "auth",
    "resume",
    "offer",
    "answer",
    "candidate",
    "renegotiate",
    "chat",
    "reaction",
    "hand",
    "media-state",
    "mute",
    "remove",
    "admit",
    "deny",
    "role",
    "recording",
    "lock",
    "end",
    "ping",
    "sfu-join",
    "sfu-publish",
    "sfu-subscribe-answer",
    "sfu-layer",
    "stop-video",
    "allow-unmute",
    "lower-hand",
    "mute-all",
    "lower-hands",
    "admit-all",
}


class MessageOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    sender_id: uuid.UUID
    sender_name: str
    recipient_id: uuid.UUID | None
    text: str
    created_at: datetime


class MessagePage(BaseModel):
    items: list[MessageOut]
    has_more: bool


class NodeStats(BaseModel):
    node: str
    connections: int
    rooms: int
    messages_in_per_s: float
    messages_out_per_s: float
    relay_latency_ms_p50: float | None
    updated_at: float


class StatsOut(BaseModel):
    nodes: list[NodeStats]
