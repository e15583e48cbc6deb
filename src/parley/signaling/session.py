"""One client's WebSocket from accept to close: entry, then each frame in turn, then leaving.

The steps live in their own modules: getting in (:mod:`~parley.signaling.entry`), checking a
frame (:mod:`~parley.signaling.reading`), acting on it (:mod:`~parley.signaling.actions`). This
module holds the loop that strings them together and what a closed socket leaves behind. The
protocol is written down in ``docs/signaling.md``.
"""

from __future__ import annotations

import structlog
from fastapi import FastAPI
from starlette.websockets import WebSocket, WebSocketDisconnect

from parley.signaling import actions, entry, frames, presence
from parley.signaling.errors import CLOSE_LEFT, CLOSE_POLICY
from parley.signaling.hub import MESSAGES_IN
from parley.signaling.media_frames import SFU_FRAMES, MediaFrames
from parley.signaling.participant import Closed, Participant
from parley.signaling.reading import RateLimit, Refused, rate_limited, read

log = structlog.get_logger("parley.signaling")


class SignalingSession(Participant):
    __slots__ = ("media_frames", "rate")

    def __init__(self, app: FastAPI, websocket: WebSocket) -> None:
        super().__init__(app, websocket)
        self.rate = RateLimit()
        self.media_frames = MediaFrames(lambda frame: actions.sfu(self, frame))

    async def run(self) -> None:
        await self.websocket.accept()
        close_code = CLOSE_LEFT
        try:
            await entry.authenticate(self)
            while True:
                message = await self.websocket.receive()
                if message["type"] == "websocket.disconnect":
                    close_code = int(message.get("code") or CLOSE_LEFT)
                    break
                await self._on_frame(message.get("text"))
        except WebSocketDisconnect as exc:
            close_code = exc.code
        except Closed:
            pass
        finally:
            await self._on_disconnect(close_code)

    # ---- frames ---------------------------------------------------------------------------

    async def _on_frame(self, text: str | None) -> None:
        MESSAGES_IN.inc()
        self.hub.messages_in += 1
        if not self.rate.allow():
            if self.rate.abused:
                await self.close(CLOSE_POLICY, "rate limit exceeded")
            if self.rate.warn:
                self.send(rate_limited())
            return
        try:
            frame = read(text)
        except Refused as refused:
            self.send(refused.frame)
            return
        if frame.type == "ping":
            self.send(frames.pong())
            return
        if frame.type in ("auth", "resume"):
            self.send(frames.error("invalid-message", "Already authenticated."))
            return
        if self.in_lobby and not await self._admitted_meanwhile():
            self.send(frames.error("in-lobby", "Wait until a host lets you in."))
            return
        if isinstance(frame, SFU_FRAMES):
            # They wait on the media server: apart, so that pings and leaving never wait.
            if not self.media_frames.put(frame):
                self.send(rate_limited())
            return
        await actions.dispatch(self, frame)

    async def _admitted_meanwhile(self) -> bool:
        """A host on any node may have admitted us; the room state says so."""
        peer = await self.state.peer(self.meeting_id, self.peer_id)
        if peer is None:
            return False
        self.peer, self.in_lobby, self.in_room = peer, False, True
        return True

    # ---- leaving --------------------------------------------------------------------------

    async def _on_disconnect(self, code: int) -> None:
        """Closed normally (1000): out of the room at once. Otherwise the peer stays, shown
        disconnected, for the resume window; a lobby waiter leaves the lobby either way."""
        self.media_frames.close()
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
                    await self.to_moderators(frames.lobby_left(self.peer_id))
                return
            if not self.in_room:
                return
            peer = await self.state.peer(self.meeting_id, self.peer_id)
            if peer is None or peer.get("node") != self.hub.node_id:
                return  # removed, ended, or resumed on another node
            if code == CLOSE_LEFT and not self.gone:
                await presence.leave_now(self.app, self.hub, self.meeting_id, self.peer_id)
            else:
                grace = self.settings.signaling_resume_grace_s
                await self.state.update_peer(self.meeting_id, self.peer_id, connected=False)
                await self.state.schedule_leave(self.meeting_id, self.peer_id, grace)
                if peer.get("resume"):
                    await self.state.resume_window(str(peer["resume"]), grace)
        except Exception:
            log.exception("disconnect_cleanup_failed", peer=self.peer_id)
