"""One client's WebSocket: authentication, the lobby, the room, and every frame it sends.

The protocol is written down in ``docs/signaling.md``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import Awaitable
from typing import Any, NoReturn

import jwt
import structlog
from fastapi import FastAPI
from pydantic import ValidationError
from starlette.websockets import WebSocket, WebSocketDisconnect

from parley.core.ice import ice_servers
from parley.signaling import moderation, presence, service
from parley.signaling.hub import MESSAGES_IN, RELAY_LATENCY, Connection, Hub
from parley.signaling.moderation import public
from parley.signaling.schemas import (
    KNOWN_TYPES,
    Chat,
    Hand,
    Lock,
    MediaState,
    PeerCommand,
    Reaction,
    RecordingState,
    Relay,
    RoleChange,
    inbound,
)
from parley.signaling.state import RoomState

log = structlog.get_logger("parley.signaling")

SIGNALING_AUDIENCE = "signaling"
AUTH_TIMEOUT_S = 5.0
MAX_FRAME_BYTES = 64 * 1024
RATE_PER_S = 50.0
BURST = 100.0
ABUSE_LIMIT = 200  # over-limit frames in a row before the connection is closed (1008)
MODERATORS = presence.MODERATORS


class Closed(Exception):
    """Stop serving this connection (it was closed on purpose)."""


def error(code: str, message: str) -> dict[str, Any]:
    return {"type": "error", "code": code, "message": message}


def effective_settings(live: dict[str, Any] | None, fallback: dict[str, Any]) -> dict[str, Any]:
    """The meeting's settings as published during the meeting, else the ticket's copy."""
    return live if live is not None else fallback


class SignalingSession:
    # Slots: one of these lives as long as its connection, mostly idle (see docs/signaling.md).
    __slots__ = (
        "app",
        "connection",
        "gone",
        "hub",
        "in_lobby",
        "in_room",
        "last_refill",
        "meeting_id",
        "over_limit",
        "peer",
        "room_settings",
        "settings",
        "state",
        "tokens",
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
        self.tokens = BURST
        self.last_refill = time.monotonic()
        self.over_limit = 0

    @property
    def peer_id(self) -> str:
        return str(self.peer.get("id", ""))

    @property
    def is_moderator(self) -> bool:
        return self.peer.get("role") in MODERATORS

    async def run(self) -> None:
        await self.websocket.accept()
        close_code = 1000
        try:
            await self._authenticate()
            while True:
                message = await self.websocket.receive()
                if message["type"] == "websocket.disconnect":
                    close_code = int(message.get("code") or 1000)
                    break
                await self._on_frame(message.get("text"), message.get("bytes"))
        except WebSocketDisconnect as exc:
            close_code = exc.code
        except Closed:
            pass
        finally:
            await self._on_disconnect(close_code)

    # --- entry -----------------------------------------------------------------------------

    async def _close(self, code: int, reason: str) -> NoReturn:
        with contextlib.suppress(Exception):
            await self.websocket.close(code, reason)
        raise Closed

    async def _authenticate(self) -> None:
        # Old clients put the ticket in the URL (where access logs see it); the web client
        # sends it in the first frame.
        token = self.websocket.query_params.get("token")
        if token:
            await self._enter(token)
            return
        try:
            raw = await asyncio.wait_for(self.websocket.receive_text(), AUTH_TIMEOUT_S)
            first = json.loads(raw)
        except TimeoutError:
            await self._close(4401, "authentication timed out")
        except (ValueError, KeyError, RuntimeError, RecursionError):
            await self._close(4401, "the first frame must be auth or resume")
        if isinstance(first, dict) and first.get("type") == "auth":
            await self._enter(str(first.get("token", "")))
        elif isinstance(first, dict) and first.get("type") == "resume":
            await self._resume(str(first.get("resume_token", "")))
        else:
            await self._close(4401, "the first frame must be auth or resume")

    async def _enter(self, token: str) -> None:
        try:
            claims = self.app.state.signer.verify(token, SIGNALING_AUDIENCE)
        except jwt.ExpiredSignatureError:
            await self._close(4401, "token expired")
        except jwt.InvalidTokenError:
            await self._close(4401, "invalid token")
        if not await self.state.spend_ticket(str(claims["jti"]), float(claims["exp"])):
            await self._close(4401, "this ticket was used already; join again")
        self.meeting_id = str(claims["mid"])
        user_id = claims.get("uid")
        self.room_settings = dict(claims.get("settings") or {})
        self.peer = {
            "id": str(claims["sub"]),
            "user_id": user_id,
            "display_name": str(claims.get("name") or "Participant"),
            "role": str(claims.get("role") or "participant"),
            "media": {"audio": False, "video": False, "screen": False},
            "hand": False,
            "node": self.hub.node_id,
            "connected": True,
            "settings": self.room_settings,
        }
        room = await self.state.room(self.meeting_id)
        if room["ended"]:
            await self._close(4410, "the meeting has ended")
        if await self.state.is_removed(self.meeting_id, self.peer_id, user_id):
            await self._close(4403, "removed from this meeting")
        gone = await presence.is_gone(self.app, user_id)
        if gone:
            await self._close(presence.GONE_CLOSE, f"account {gone}")
        await self._attach()
        waits = claims.get("status") == "waiting" or (room["locked"] and not self.is_moderator)
        if waits:
            await self._wait_in_lobby()
        else:
            await self._join_room()

    async def _attach(self) -> None:
        await self.state.hold_room(self.hub.node_id, self.meeting_id)
        user_id = self.peer.get("user_id")
        self.connection = Connection(
            self.websocket, self.meeting_id, self.peer_id, str(user_id) if user_id else None
        )
        self.hub.attach(self.connection)

    def send(self, frame: dict[str, Any]) -> None:
        if self.connection is not None:
            self.connection.send(frame)

    async def _wait_in_lobby(self) -> None:
        self.in_lobby = True
        await self.state.wait_in_lobby(self.meeting_id, self.peer)
        self.send({"type": "lobby-wait"})
        await self._to_moderators({"type": "lobby-request", "participant": public(self.peer)})

    async def _to_moderators(self, frame: dict[str, Any]) -> None:
        await presence.to_moderators(self.hub, self.meeting_id, frame)

    async def _welcome(self, resume_token: str) -> dict[str, Any]:
        return await build_welcome(self.app, self.meeting_id, self.peer, resume_token)

    async def _join_room(self) -> None:
        self.in_lobby = False
        self.in_room = True
        token = await self.state.enter_room(self.meeting_id, self.peer)
        await entered(self.app, self.meeting_id, self.peer)
        self.send(await self._welcome(token))
        await self.hub.deliver(
            self.meeting_id,
            {"type": "peer-joined", "peer": public(self.peer)},
            exclude=self.peer_id,
        )

    async def _resume(self, token: str) -> None:
        target = await self.state.resume_target(token)
        if target is None:
            await self._close(4401, "unknown resume token")
        self.meeting_id, peer_id = target
        peer = await self.state.peer(self.meeting_id, peer_id)
        if peer is None:
            await self._close(4401, "the session has expired; join again")
        if (await self.state.room(self.meeting_id))["ended"]:
            await self._close(4410, "the meeting has ended")
        gone = await presence.is_gone(self.app, peer.get("user_id"))
        if gone:
            await self._close(presence.GONE_CLOSE, f"account {gone}")
        await self.state.cancel_leave(self.meeting_id, peer_id)
        self.peer = (
            await self.state.update_peer(
                self.meeting_id, peer_id, node=self.hub.node_id, connected=True
            )
            or peer
        )
        self.room_settings = dict(self.peer.get("settings") or {})
        self.in_room = True
        await self.state.resumed(token)
        await self._attach()
        self.send(await self._welcome(token))
        await self.hub.deliver(
            self.meeting_id,
            {"type": "peer-updated", "peer": public(self.peer), "reconnected": True},
            exclude=self.peer_id,
        )

    # --- frames ----------------------------------------------------------------------------

    def _allow(self) -> bool:
        now = time.monotonic()
        self.tokens = min(BURST, self.tokens + (now - self.last_refill) * RATE_PER_S)
        self.last_refill = now
        if self.tokens >= 1:
            self.tokens -= 1
            self.over_limit = 0
            return True
        self.over_limit += 1
        return False

    async def _on_frame(self, text: str | None, data: bytes | None) -> None:
        MESSAGES_IN.inc()
        self.hub.messages_in += 1
        if not self._allow():
            if self.over_limit > ABUSE_LIMIT:
                await self._close(1008, "rate limit exceeded")
            if self.over_limit == 1 or self.over_limit % 50 == 0:
                self.send(error("rate-limited", "Slow down: at most 50 messages per second."))
            return
        if text is None:
            self.send(error("invalid-json", "Frames are JSON text, not binary."))
            return
        if len(text) > MAX_FRAME_BYTES or len(text.encode()) > MAX_FRAME_BYTES:
            self.send(error("too-large", "Frames are limited to 64 KiB."))
            return
        try:
            raw = json.loads(text)
        except (ValueError, RecursionError):  # RecursionError: nested too deeply to parse
            self.send(error("invalid-json", "The frame is not valid JSON."))
            return
        kind = raw.get("type") if isinstance(raw, dict) else None
        if not isinstance(kind, str) or kind not in KNOWN_TYPES:
            shown = repr(kind) if kind is None or isinstance(kind, str) else "(not a string)"
            self.send(error("unknown-type", f"Unknown message type {shown[:80]}."))
            return
        try:
            frame = inbound.validate_python(raw)
        except RecursionError:
            self.send(error("invalid-message", f"Invalid {kind}: nested too deeply."))
            return
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc'][1:])}: {e['msg']}" for e in exc.errors()[:3]
            )
            code = (
                "too-long"
                if any(e["type"] in ("string_too_long", "too_long") for e in exc.errors())
                else "invalid-message"
            )
            self.send(error(code, f"Invalid {kind}: {problems}"))
            return
        if kind == "ping":
            self.send({"type": "pong"})
            return
        if kind in ("auth", "resume"):
            self.send(error("invalid-message", "Already authenticated."))
            return
        if self.in_lobby and not await self._admitted_meanwhile():
            self.send(error("in-lobby", "Wait until a host lets you in."))
            return
        await self._dispatch(frame)

    async def _admitted_meanwhile(self) -> bool:
        """A host on any node may have admitted us; the room state says so."""
        peer = await self.state.peer(self.meeting_id, self.peer_id)
        if peer is None:
            return False
        self.peer, self.in_lobby, self.in_room = peer, False, True
        return True

    async def _dispatch(self, frame: Any) -> None:
        if isinstance(frame, Relay):
            await self._relay(frame)
        elif isinstance(frame, Chat):
            await self._chat(frame)
        elif isinstance(frame, Reaction):
            await self.hub.deliver(
                self.meeting_id, {"type": "reaction", "from": self.peer_id, "emoji": frame.emoji}
            )
        elif isinstance(frame, Hand):
            await self._update_self(hand=frame.raised)
        elif isinstance(frame, MediaState):
            if frame.screen and not await self._allowed(
                "allow_screen_share", (await self.state.live(self.meeting_id))[1]
            ):
                self.send(error("forbidden", "Screen sharing is off in this meeting."))
                return
            media = {"audio": frame.audio, "video": frame.video, "screen": frame.screen}
            await self._update_self(media=media)
        elif not await self._may_moderate():
            self.send(error("forbidden", "Only the host or a cohost can do this."))
        elif isinstance(frame, PeerCommand):
            await self._moderate(frame)
        elif isinstance(frame, RoleChange):
            await self._set_role(frame)
        elif isinstance(frame, Lock):
            await self.state.set_room(self.meeting_id, locked=frame.locked)
            await self.hub.deliver(
                self.meeting_id, {"type": "room-updated", "locked": frame.locked}
            )
        elif isinstance(frame, RecordingState):
            # Everyone is told that they are being recorded (and when it stops).
            await self.state.set_room(self.meeting_id, recording=frame.active)
            await self.hub.deliver(
                self.meeting_id, {"type": "room-updated", "recording": frame.active}
            )
        else:  # end
            await self._end()

    async def _relay(self, frame: Relay) -> None:
        started = time.perf_counter()
        peers = await self.state.peers(self.meeting_id)
        if frame.to not in peers or frame.to == self.peer_id:
            self.send(error("unknown-peer", f"No peer {frame.to!r} in this room."))
            return
        out: dict[str, Any] = {"type": frame.type, "from": self.peer_id}
        if frame.sdp is not None:
            out["sdp"] = frame.sdp
        if frame.candidate is not None:
            out["candidate"] = frame.candidate
        await self.hub.deliver(self.meeting_id, out, to=[frame.to], peers=peers)
        elapsed = time.perf_counter() - started
        RELAY_LATENCY.observe(elapsed)
        self.hub.relay_ms.append(elapsed * 1000)

    async def _allowed(self, setting: str, live: dict[str, Any] | None) -> bool:
        """Whether the meeting's settings (``live``: as changed during the meeting, else the
        ticket's) let this participant do what ``setting`` governs; hosts and cohosts may."""
        if effective_settings(live, self.room_settings).get(setting, True):
            return True
        return await self._may_moderate()

    async def _chat(self, frame: Chat) -> None:
        peers, live = await self.state.live(self.meeting_id)
        if not await self._allowed("allow_chat", live):
            self.send(error("forbidden", "Chat is off in this meeting."))
            return
        recipient = None
        if frame.to is not None:
            recipient = peers.get(frame.to)
            if recipient is None or frame.to == self.peer_id:
                self.send(error("unknown-peer", f"No peer {frame.to!r} in this room."))
                return
        message = service.new_chat(self.meeting_id, self.peer, frame.text, recipient)
        self.app.state.chat_log.add(message)
        to = [self.peer_id, recipient["id"]] if recipient else None
        await self.hub.deliver(self.meeting_id, service.chat_frame(message), to=to, peers=peers)

    async def _update_self(self, **changes: Any) -> None:
        peer = await self.state.update_peer(self.meeting_id, self.peer_id, **changes)
        if peer is None:
            return
        self.peer = peer
        await self.hub.deliver(self.meeting_id, {"type": "peer-updated", "peer": public(peer)})

    async def _may_moderate(self) -> bool:
        """Read the role afresh: a host may have made us cohost (or taken it back) meanwhile."""
        current = await self.state.peer(self.meeting_id, self.peer_id)
        if current is not None:
            self.peer = current
        return self.is_moderator

    async def _set_role(self, frame: RoleChange) -> None:
        await self._moderation(
            moderation.set_role(self.app, self.meeting_id, frame.peer, frame.role)
        )

    async def _moderation(self, action: Awaitable[None]) -> None:
        try:
            await action
        except moderation.ModerationError as exc:
            self.send(error(exc.code, exc.message))

    async def _moderate(self, frame: PeerCommand) -> None:
        if frame.type == "mute":
            peers = await self.state.peers(self.meeting_id)
            if frame.peer not in peers:
                self.send(error("unknown-peer", f"No peer {frame.peer!r} in this room."))
                return
            await self.hub.deliver(
                self.meeting_id,
                {"type": "mute", "from": self.peer_id},
                to=[frame.peer],
                peers=peers,
            )
            return
        act = {"remove": moderation.remove, "admit": moderation.admit, "deny": moderation.deny}
        await self._moderation(act[frame.type](self.app, self.meeting_id, frame.peer))

    async def _end(self) -> None:
        self.gone = True
        await moderation.end(self.app, self.meeting_id)

    # --- leaving ---------------------------------------------------------------------------

    async def _on_disconnect(self, code: int) -> None:
        connection = self.connection
        if connection is None:
            return
        connection.stop()
        self.hub.detach(connection)
        if self.hub.local.get(self.peer_id) is not None:
            return  # replaced by a newer connection of the same participant
        try:
            if self.in_lobby:
                if await self.state.leave_lobby(self.meeting_id, self.peer_id) is not None:
                    await self._to_moderators({"type": "lobby-left", "peer": self.peer_id})
                return
            if not self.in_room:
                return
            peer = await self.state.peer(self.meeting_id, self.peer_id)
            if peer is None or peer.get("node") != self.hub.node_id:
                return  # removed, ended, or resumed on another node
            if code == 1000 and not self.gone:
                await presence.leave_now(self.app, self.hub, self.meeting_id, self.peer_id)
            else:
                grace = self.settings.signaling_resume_grace_s
                await self.state.update_peer(self.meeting_id, self.peer_id, connected=False)
                await self.state.schedule_leave(self.meeting_id, self.peer_id, grace)
                if peer.get("resume"):
                    await self.state.resume_window(str(peer["resume"]), grace)
        except Exception:
            log.exception("disconnect_cleanup_failed", peer=self.peer_id)


async def entered(app: FastAPI, meeting_id: str, peer: dict[str, Any]) -> None:
    """A participant's socket is in the room (straight in, or admitted from the lobby): the
    user reads the room's chat history from now on, and meeting-service learns that the
    participant really connected (a join whose socket never comes is released)."""
    async with app.state.db.sessionmaker() as session:
        await service.member_entered(session, meeting_id, peer.get("user_id"))
    await service.tell_meetings(app.state.kv, "connected", meeting_id, str(peer["id"]))


def _uuid(value: Any) -> uuid.UUID | None:
    return uuid.UUID(str(value)) if value else None


async def build_welcome(
    app: FastAPI, meeting_id: str, peer: dict[str, Any], resume_token: str
) -> dict[str, Any]:
    """What a participant learns on entering the room (also after admission or a resume)."""
    state: RoomState = app.state.signaling.state
    peers, live = await state.live(meeting_id)
    room = await state.room(meeting_id)
    await app.state.chat_log.flush()
    async with app.state.db.sessionmaker() as session:
        messages, _ = await service.history(
            session,
            uuid.UUID(meeting_id),
            participant_id=_uuid(peer["id"]),
            user_id=_uuid(peer.get("user_id")),
        )
    frame: dict[str, Any] = {
        "type": "welcome",
        "self": {k: peer[k] for k in ("id", "display_name", "role")},
        "peers": [public(p) for pid, p in peers.items() if pid != peer["id"]],
        "room": {
            "meeting_id": meeting_id,
            "settings": effective_settings(live, peer.get("settings") or {}),
            "recording": room["recording"],
            "locked": room["locked"],
        },
        "chat_history": [service.chat_frame(m) for m in messages],
        "ice_servers": ice_servers(app.state.settings, str(peer.get("user_id") or peer["id"])),
        "resume_token": resume_token,
    }
    if peer["role"] in MODERATORS:
        lobby = await state.lobby(meeting_id)
        frame["lobby"] = [public(p) for p in lobby.values()]
    return frame
