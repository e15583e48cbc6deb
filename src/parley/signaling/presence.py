"""Who stays in a room, and how people stop being in it when they did not say goodbye.

- A participant who leaves (closed normally, or never came back within the resume window) is
  taken out of the room state, the room is told (``peer-left``), meeting-service is told
  (``left``), and when it was the user's last connection, their chat history stops there.
  When it was the last host or cohost, the longest-present signed-in participant becomes
  cohost (``moderation.appoint_cohost``; the meeting's ``auto_cohost`` setting, on by default).
  Someone leaving for a breakout room (``breakouts.is_away``) does neither: they are coming
  back.
- A signaling node keeps a heartbeat key in the key-value store. When one dies without cleaning
  up, its peers would otherwise stay ``connected: true`` for ever: any surviving node that sees
  the heartbeat gone claims the node (exactly one does) and reaps its peers as if they had left.
- A user disabled or deleted by users-service (``USER_GONE_CHANNEL``) loses every connection at
  once, on every node: each node closes its own.
"""

from __future__ import annotations

import asyncio

import structlog
from fastapi import FastAPI

from parley.core.contracts import user_gone_key
from parley.signaling import breakouts, frames, moderation, service
from parley.signaling.errors import CLOSE_UNAUTHENTICATED, ModerationError
from parley.signaling.frames import MODERATORS, Frame
from parley.signaling.hub import Hub
from parley.signaling.plane import plane_of

log = structlog.get_logger("parley.signaling")
GONE_CLOSE = CLOSE_UNAUTHENTICATED
"""The account cannot be used any more: like a token that stopped being valid."""


async def to_moderators(hub: Hub, meeting_id: str, frame: Frame) -> None:
    peers = await hub.state.peers(meeting_id)
    moderators = [pid for pid, p in peers.items() if p["role"] in MODERATORS]
    await hub.deliver(meeting_id, frame, to=moderators, peers=peers)


async def leave_now(
    app: FastAPI, hub: Hub, meeting_id: str, peer_id: str, *, dropped: bool = False
) -> bool:
    """The participant is gone: out of the room, peers told, meeting-service told, and their
    history cut here if no other connection of theirs is in the room. False if not there.

    ``dropped``: lost on the way (resume window over, node dead) rather than left for good;
    meeting-service keeps their rejoin credential, so the page may come back by itself."""
    peer = await hub.state.drop_peer(meeting_id, peer_id)
    if peer is None:
        return False
    user_id = peer.get("user_id")
    peers = await hub.state.peers(meeting_id)
    if user_id and not any(p.get("user_id") == user_id for p in peers.values()):
        # Before anyone hears of it: what is said after ``peer-left`` is after ``left_at``.
        async with app.state.db.sessionmaker() as session:
            await service.member_left(session, meeting_id, str(user_id))
    await hub.deliver(meeting_id, frames.peer_left(peer_id), peers=peers)
    # Gone to a breakout room: not leaving the meeting (no cohost appointed, rejoin kept).
    moving = breakouts.is_away(peer)
    why = {"why": "breakout"} if moving else {"why": "dropped"} if dropped else {}
    await service.tell_meetings(hub.state.kv, "left", meeting_id, peer_id, **why)
    plane = plane_of(app)
    if plane is not None:
        await plane.left(meeting_id, peer_id)
    if peer["role"] in MODERATORS and not moving:
        try:
            await moderation.appoint_cohost(app, meeting_id, peer)
        except ModerationError:
            log.info("auto_cohost_skipped", meeting=meeting_id)
    return True


async def end_expired_sessions(app: FastAPI, hub: Hub) -> int:
    """Dropped connections whose resume window ran out leave (any node may do it)."""
    gone = 0
    for meeting_id, peer_id in await hub.state.due_leaves():
        peer = await hub.state.peer(meeting_id, peer_id)
        if peer is not None and not peer.get("connected", True):
            gone += await leave_now(app, hub, meeting_id, peer_id, dropped=True)
    return gone


async def reap_dead_nodes(app: FastAPI, hub: Hub) -> int:
    """Peers held by nodes whose heartbeat lapsed leave the room; returns how many.

    Peers already disconnected (waiting to resume) are left to their resume window, and a peer
    that resumed on a living node names that node, so neither is touched."""
    reaped = 0
    for node_id, meeting_ids in await hub.state.claim_dead_nodes(hub.node_id):
        log.warning("signaling_node_gone", node=node_id, rooms=len(meeting_ids))
        for meeting_id in meeting_ids:
            peers = await hub.state.peers(meeting_id)
            held = [
                pid
                for pid, peer in peers.items()
                if peer.get("node") == node_id and peer.get("connected", True)
            ]
            for peer_id in held:
                reaped += await leave_now(app, hub, meeting_id, peer_id, dropped=True)
            for peer_id, waiting in (await hub.state.lobby(meeting_id)).items():
                if waiting.get("node") != node_id:
                    continue
                if await hub.state.leave_lobby(meeting_id, peer_id) is not None:
                    await to_moderators(hub, meeting_id, frames.lobby_left(peer_id))
    return reaped


async def expel_user(app: FastAPI, hub: Hub, user_id: str, what: str) -> int:
    """Close every connection this node holds for the user (disabled or deleted): out of the
    room or lobby at once, no resume. Returns how many."""
    expelled = 0
    for connection in [c for c in hub.local.values() if c.user_id == user_id]:
        connection.close(GONE_CLOSE, f"account {what}")
        meeting_id, peer_id = connection.meeting_id, connection.peer_id
        if await hub.state.leave_lobby(meeting_id, peer_id) is not None:
            await to_moderators(hub, meeting_id, frames.lobby_left(peer_id))
        else:
            await leave_now(app, hub, meeting_id, peer_id)
        expelled += 1
    if expelled:
        log.info("user_connections_closed", user_id=user_id, why=what, connections=expelled)
    return expelled


async def is_gone(app: FastAPI, user_id: str | None) -> str | None:
    """``disabled`` / ``deleted`` while users-service says the account cannot be used."""
    if not user_id:
        return None
    value = await app.state.kv.get(user_gone_key(user_id))
    return str(value) if value else None


class GoneUsers:
    """The node's subscription to users-service's "this account is gone" messages.

    Pub/sub drops messages while the bus is disconnected: after every (re)subscription the
    users of this node's connections are checked against the keys users-service keeps."""

    def __init__(self, app: FastAPI, hub: Hub) -> None:
        self.app = app
        self.hub = hub
        self._tasks: set[asyncio.Task[int]] = set()

    def on_message(self, data: str) -> None:
        user_id, _, what = data.strip().partition(" ")
        if what not in ("disabled", "deleted") or not user_id:
            return
        task = asyncio.create_task(self._expel(user_id, what))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _expel(self, user_id: str, what: str) -> int:
        try:
            return await expel_user(self.app, self.hub, user_id, what)
        except Exception:
            log.exception("expel_user_failed", user_id=user_id)
            return 0

    async def resync(self) -> None:
        users = sorted({c.user_id for c in self.hub.local.values() if c.user_id})
        for user_id in users:
            what = await is_gone(self.app, user_id)
            if what:
                await self._expel(user_id, what)
