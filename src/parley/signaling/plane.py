"""Which media plane a room uses, and the SFU frames relayed to media-service's rtc API.

Two people talk peer to peer; from the third on (``PARLEY_SFU_MODE=auto``) the room goes
through the SFU, and back to peer to peer when two remain: everyone in the room is told
(``media-mode``) and switches live, without rejoining. ``always`` and ``never`` force one plane;
without an SFU (none configured, or it stopped answering) rooms stay in mesh, and the log says
why once.

In an SFU room each client publishes and subscribes by exchanging SDP with the server
(``sfu-join``, ``sfu-publish`` → ``sfu-answer``, ``sfu-offer`` → ``sfu-subscribe-answer``,
``sfu-layer``); this module hands those to rtc and passes rtc's frames (``RTC_EVENTS_CHANNEL``)
to the connections this node holds. The client starts its side itself, once its room is up, so
no offer can reach a page that is not listening yet. With several media nodes, each participant
is on one of them (:mod:`parley.signaling.placement`) and every call goes to that node.
"""

from __future__ import annotations

import asyncio
import json
import time
import weakref
from typing import Any, Literal

import structlog
from fastapi import FastAPI

from parley.core.rtc_client import RtcUnavailable
from parley.signaling import frames
from parley.signaling.hub import Hub
from parley.signaling.nodes import LOCAL, MediaNodes
from parley.signaling.placement import WATCH_EVERY_S, Placement

log = structlog.get_logger("parley.signaling.plane")

Mode = Literal["mesh", "sfu"]
SFU_FROM = 3
"""In auto mode, how many people in a room make it go through the SFU."""
AVAILABILITY_TTL_S = 15.0
"""How long an answer to "is there an SFU?" is trusted before asking media-service again."""


def plane_of(app: FastAPI) -> MediaPlane | None:
    """The node's media plane (``None`` before signaling started or after it stopped)."""
    plane: MediaPlane | None = getattr(app.state, "media_plane", None)
    return plane


class MediaPlane:
    """This node's view of the SFU: whether there is one, and the calls to it."""

    def __init__(self, app: FastAPI, hub: Hub) -> None:
        settings = app.state.settings
        self.hub = hub
        self.setting: Literal["auto", "always", "never"] = settings.sfu_mode
        self.nodes: MediaNodes | None = None
        self.placement: Placement | None = None
        if self.setting != "never":
            self.nodes = MediaNodes(app)
            self.placement = Placement(app.state.kv, self.nodes)
        self._available = False
        self._checked_at = -AVAILABILITY_TTL_S
        self._said: str | None = None
        self._calls: weakref.WeakValueDictionary[tuple[str, str], asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )

    def _turn(self, meeting_id: str, peer_id: str) -> asyncio.Lock:
        """One call at a time per participant: taking someone out of the SFU waits for the
        call of theirs still running (their publish must not land after they left)."""
        key = (meeting_id, peer_id)
        lock = self._calls.get(key)
        if lock is None:
            lock = self._calls[key] = asyncio.Lock()
        return lock

    async def close(self) -> None:
        if self.nodes is not None:
            await self.nodes.close()

    # ---- which plane ------------------------------------------------------------------------

    async def sfu_available(self) -> bool:
        if self.nodes is None:
            self._say("sfu_mode=never")
            return False
        if await self.nodes.usable():
            self._say("")
            return True
        now = time.monotonic()
        if now - self._checked_at < AVAILABILITY_TTL_S:
            return self._available
        try:
            status = await self.nodes.local.call("GET", "/status")
            self._available = bool(status and status.get("available"))
            why = "" if self._available else "media-service's SFU does not answer"
        except RtcUnavailable as exc:
            self._available, why = False, str(exc)
        self._checked_at = now
        self._say(why)
        return self._available

    def _say(self, why: str) -> None:
        """Log when the SFU comes or goes (once per change, not per room)."""
        if why == self._said:
            return
        self._said = why
        if why:
            log.warning("sfu_off", why=why, rooms="peer-to-peer mesh")
        else:
            log.info("sfu_on", mode=self.setting)

    async def rebalance(self, meeting_id: str, exclude: str | None = None) -> Mode:
        """Put the room on the plane its size calls for; tell everyone (but ``exclude``, who
        learns it from the welcome) when it changes."""
        state = self.hub.state
        peers = await state.peers(meeting_id)
        current: Mode = await state.media_mode(meeting_id)
        wants_sfu = self.setting == "always" or (self.setting == "auto" and len(peers) >= SFU_FROM)
        if (
            current == "sfu"
            and self.setting != "never"
            and (await state.room(meeting_id))["recording"]
        ):
            wants_sfu = True  # the SFU records the room (rtc/recording.py): it stays there
        want: Mode = "sfu" if wants_sfu and await self.sfu_available() else "mesh"
        if not peers or want == current:
            return current
        await state.set_media_mode(meeting_id, want)
        log.info("media_mode", meeting_id=meeting_id, mode=want, people=len(peers))
        await self.hub.deliver(meeting_id, frames.media_mode(want), exclude=exclude, peers=peers)
        if want == "mesh":
            await self.ended(meeting_id)
        return want

    async def fall_back(self, meeting_id: str, why: str) -> None:
        """The SFU failed this room: back to peer to peer for everyone."""
        log.warning("sfu_failed", meeting_id=meeting_id, why=why)
        self._available, self._checked_at = False, time.monotonic()
        state = self.hub.state
        if await state.media_mode(meeting_id) == "sfu":
            await state.set_media_mode(meeting_id, "mesh")
            await self.hub.deliver(meeting_id, frames.media_mode("mesh"))

    # ---- what happens in the room -----------------------------------------------------------

    async def left(self, meeting_id: str, peer_id: str, *, kicked: bool = False) -> None:
        """Someone left (or was removed): nothing of theirs is forwarded any more."""
        if self.placement is not None and await self.hub.state.media_mode(meeting_id) == "sfu":
            async with self._turn(meeting_id, peer_id):
                node = await self.placement.left(meeting_id, peer_id) or LOCAL
                path = f"/meetings/{meeting_id}/participants/{peer_id}"
                await self._quietly(node, "DELETE", path + ("?kick=true" if kicked else ""))
        await self.rebalance(meeting_id)

    async def ended(self, meeting_id: str) -> None:
        """The meeting ended or left the SFU: its rooms on every node it used go."""
        if self.placement is not None:
            for node in await self.placement.clear(meeting_id):
                await self._quietly(node, "DELETE", f"/meetings/{meeting_id}")

    async def moderate(
        self, meeting_id: str, peer_id: str, kind: Literal["audio", "video"], muted: bool
    ) -> None:
        """Stop (or let through) a participant's audio or video at the SFU."""
        if self.placement is not None and await self.hub.state.media_mode(meeting_id) == "sfu":
            node = await self.placement.node_of(meeting_id, peer_id) or LOCAL
            path = f"/meetings/{meeting_id}/participants/{peer_id}/moderate"
            await self._quietly(node, "POST", path, {"kind": kind, "muted": muted})

    async def request(
        self, meeting_id: str, peer: dict[str, Any], action: str, body: dict[str, Any]
    ) -> Any:
        """A participant's SFU frame, as rtc's ``action`` on the participant's media node;
        ``RtcUnavailable`` when it failed. A node that fails a join or a publish is left out
        for a while and the participant tried once on another."""
        if self.placement is None or self.nodes is None:
            raise RtcUnavailable("this room is not on the SFU")
        if await self.hub.state.media_mode(meeting_id) != "sfu":
            raise RtcUnavailable("this room is not on the SFU")
        peer_id = str(peer["id"])
        async with self._turn(meeting_id, peer_id):
            return await self._request(meeting_id, peer_id, peer, action, body)

    async def _request(
        self, meeting_id: str, peer_id: str, peer: dict[str, Any], action: str, body: dict[str, Any]
    ) -> Any:
        assert self.placement is not None and self.nodes is not None
        path = f"/meetings/{meeting_id}/participants/{peer_id}/{action}"
        entering = action in ("join", "publish")
        for attempt in (1, 2):
            node = await self.placement.place(meeting_id, peer_id)
            try:
                answer = await (await self.nodes.client(node)).call("POST", path, body)
            except RtcUnavailable:
                if not entering or node == LOCAL or attempt == 2:
                    raise
                self.nodes.suspect(node)
                continue
            if action == "publish":
                name = str(peer.get("display_name", ""))
                streams = answer.get("streams", [])
                await self.placement.published(meeting_id, peer_id, node, name, streams)
            return answer
        raise RtcUnavailable("no media node took the participant")  # not reached

    async def _quietly(self, node: str, method: str, path: str, body: Any = None) -> None:
        """A call whose failure changes nothing for the room (the SFU is gone anyway)."""
        if self.nodes is None:
            return
        try:
            await (await self.nodes.client(node)).call(method, path, body)
        except RtcUnavailable as exc:
            log.info("sfu_call_failed", node=node, path=path, error=str(exc))

    # ---- media nodes that die ---------------------------------------------------------------

    async def watch_nodes(self) -> None:
        """Background: people on a media node that left the registry publish again, and are
        placed on a live node as they do."""
        if self.placement is None or self.nodes is None or self.nodes.etcd is None:
            return
        while True:
            await asyncio.sleep(WATCH_EVERY_S)
            try:
                for node in await self.placement.gone_nodes():
                    moved = await self.placement.evacuate(node)
                    for meeting_id, people in moved.items():
                        await self.hub.deliver(meeting_id, {"type": "sfu-restart"}, to=people)
            except Exception:
                log.exception("media_node_watch_failed")

    # ---- rtc's frames -----------------------------------------------------------------------

    def on_event(self, data: str) -> None:
        """A frame from rtc for participants: delivered to those connected here."""
        try:
            message = json.loads(data)
            self.hub.deliver_here([str(p) for p in message["to"]], message["frame"])
        except (ValueError, KeyError, TypeError):
            log.warning("bad_rtc_event", data=data[:200])
