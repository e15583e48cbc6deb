"""One client's standing on this node: who the connection is, where it is, and its way out.

:class:`Participant` is what the steps of a connection share (entering in
:mod:`~parley.signaling.entry`, acting in :mod:`~parley.signaling.actions` and
:mod:`~parley.signaling.moderation`, the frame loop in :mod:`~parley.signaling.session`): those
modules take it as an argument instead of being methods of one class that held them all.
"""

from __future__ import annotations

import contextlib
from typing import Any, NoReturn

from fastapi import FastAPI
from starlette.websockets import WebSocket

from parley.signaling import frames, presence
from parley.signaling.entering import effective_settings
from parley.signaling.frames import MODERATORS, Frame
from parley.signaling.hub import Connection, Hub
from parley.signaling.plane import MediaPlane, plane_of
from parley.signaling.state import RoomState


class Closed(Exception):
    """Stop serving this connection (it was closed on purpose)."""


class Participant:
    # Slots: one of these lives as long as its connection, mostly idle (see docs/signaling.md).
    __slots__ = (
        "app",
        "connection",
        "gone",
        "hub",
        "in_lobby",
        "in_room",
        "meeting_id",
        "peer",
        "room_settings",
        "settings",
        "state",
        "websocket",
    )

    def __init__(self, app: FastAPI, websocket: WebSocket) -> None:
        self.app = app
        self.websocket = websocket
        self.hub: Hub = app.state.signaling
        self.state: RoomState = self.hub.state
        self.settings = app.state.settings
        self.connection: Connection | None = None
        self.meeting_id = ""
        self.peer: dict[str, Any] = {}
        self.room_settings: dict[str, Any] = {}
        self.in_lobby = False
        self.in_room = False
        self.gone = False  # left, removed, denied or ended: no grace period

    @property
    def peer_id(self) -> str:
        return str(self.peer.get("id", ""))

    @property
    def plane(self) -> MediaPlane:
        plane = plane_of(self.app)
        if plane is None:
            raise Closed  # signaling is stopping on this node
        return plane

    @property
    def is_moderator(self) -> bool:
        return self.peer.get("role") in MODERATORS

    async def close(self, code: int, reason: str) -> NoReturn:
        """Close the socket with this code and stop serving it."""
        with contextlib.suppress(Exception):
            await self.websocket.close(code, reason)
        raise Closed

    async def attach(self) -> None:
        """This node holds the participant's connection from now on."""
        await self.state.hold_room(self.hub.node_id, self.meeting_id)
        user_id = self.peer.get("user_id")
        self.connection = Connection(
            self.websocket, self.meeting_id, self.peer_id, str(user_id) if user_id else None
        )
        self.hub.attach(self.connection)

    def send(self, frame: Frame) -> None:
        if self.connection is not None:
            self.connection.send(frame)

    async def to_moderators(self, frame: Frame) -> None:
        await presence.to_moderators(self.hub, self.meeting_id, frame)

    async def may_moderate(self) -> bool:
        """Read the role afresh: a host may have made us cohost (or taken it back) meanwhile."""
        current = await self.state.peer(self.meeting_id, self.peer_id)
        if current is not None:
            self.peer = current
        return self.is_moderator

    async def allowed(self, setting: str, live: dict[str, Any] | None) -> bool:
        """Whether the meeting's settings (``live``: as changed during the meeting, else the
        ticket's) let this participant do what ``setting`` governs; hosts and cohosts may."""
        if effective_settings(live, self.room_settings).get(setting, True):
            return True
        return await self.may_moderate()

    async def update_self(self, **changes: Any) -> None:
        """Change this participant in the room state; everyone (us too) gets ``peer-updated``."""
        peer = await self.state.update_peer(self.meeting_id, self.peer_id, **changes)
        if peer is None:
            return
        self.peer = peer
        await self.hub.deliver(self.meeting_id, frames.peer_updated(peer))
