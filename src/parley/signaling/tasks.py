"""signaling-service background work: the node's hub, its heartbeat, expired resume windows,
dead nodes' peers, accounts that stop counting, statistics."""

from __future__ import annotations

import asyncio
import json
import time

import structlog
from fastapi import FastAPI

from parley.core import streams
from parley.core.contracts import RTC_EVENTS_CHANNEL, SIGNALING_COMMANDS, USER_GONE_CHANNEL
from parley.core.tasks import stopping
from parley.signaling import moderation, service
from parley.signaling.errors import CLOSE_SHUTTING_DOWN, CLOSE_TAKEN_FOR_GONE, ModerationError
from parley.signaling.hub import Hub
from parley.signaling.plane import MediaPlane
from parley.signaling.presence import GoneUsers, end_expired_sessions, reap_dead_nodes
from parley.signaling.state import RoomState

log = structlog.get_logger("parley.signaling")
NODES_KEY = "sig:nodes"
GROUP = "signaling-service"
STALE_AFTER_S = 30.0
TICK_S = 1.0
STATS_EVERY_S = 2.0
HEARTBEAT_EVERY_S = 1.0
PRUNE_ROOMS_EVERY_S = 60.0


def heartbeat_ttl_s(ping_interval_s: float) -> float:
    """How long a silent node counts as alive: as long as a silent connection does (two ping
    intervals), and never under 5 s, so that a busy event loop is not taken for a dead node."""
    return max(5.0, 2 * ping_interval_s)


async def run_signaling(app: FastAPI) -> None:
    """Sets up this node's hub, then ends dropped sessions whose resume window has run out and
    reports the node's figures for ``GET /api/v1/signaling/stats``."""
    hub = Hub(RoomState(app.state.kv), app.state.bus)
    chat_log = service.ChatLog(app.state.db.sessionmaker)
    app.state.chat_log = chat_log
    await hub.state.heartbeat(
        hub.node_id, heartbeat_ttl_s(app.state.settings.signaling_ping_interval_s)
    )
    app.state.signaling = hub
    plane = app.state.media_plane = MediaPlane(app, hub)
    writer = asyncio.create_task(chat_log.run(), name="chat_log")
    await hub.start()
    gone = GoneUsers(app, hub)
    await app.state.bus.add_subscription(USER_GONE_CHANNEL, gone.on_message, gone.resync)
    await app.state.bus.add_subscription(RTC_EVENTS_CHANNEL, plane.on_event)
    hub.heartbeat = asyncio.create_task(keep_alive(app, hub), name="signaling_heartbeat")
    commands = asyncio.create_task(apply_meeting_commands(app), name="signaling_commands")
    nodes = asyncio.create_task(plane.watch_nodes(), name="media_node_watch")
    last = (time.monotonic(), 0, 0)
    next_stats = 0.0
    try:
        while True:
            try:
                await end_expired_sessions(app, hub)
                await reap_dead_nodes(app, hub)
                now = time.monotonic()
                if now >= next_stats:
                    elapsed = max(now - last[0], 1e-6)
                    figures = hub.stats()
                    figures["messages_in_per_s"] = round((hub.messages_in - last[1]) / elapsed, 1)
                    figures["messages_out_per_s"] = round((hub.messages_out - last[2]) / elapsed, 1)
                    await app.state.kv.hset(NODES_KEY, hub.node_id, json.dumps(figures))
                    last = (now, hub.messages_in, hub.messages_out)
                    next_stats = now + STATS_EVERY_S
            except Exception:
                log.exception("signaling_tick_failed")
                if stopping():
                    raise asyncio.CancelledError from None
            await asyncio.sleep(TICK_S)
    finally:
        background = [writer, commands, nodes, hub.heartbeat]
        for task in background:
            task.cancel()
        await asyncio.wait(background, timeout=5)
        app.state.signaling = None
        app.state.media_plane = None
        await plane.close()
        for connection in list(hub.local.values()):
            connection.close(CLOSE_SHUTTING_DOWN, "server shutting down")
        # The connections closed above resume on other nodes (or leave when their window
        # runs out): a clean stop leaves nothing for a reaper.
        await app.state.kv.hdel(NODES_KEY, hub.node_id)
        await hub.state.node_stopped(hub.node_id)


async def keep_alive(app: FastAPI, hub: Hub) -> None:
    """Keep this node's heartbeat key fresh, and the list of meetings where it holds
    connections short. Should the heartbeat ever lapse (a stalled node), other nodes may have
    reaped its peers: connections whose peer is no longer in the room are closed (1012), so
    their clients come back properly instead of lingering unseen."""
    ttl = heartbeat_ttl_s(app.state.settings.signaling_ping_interval_s)
    next_prune = time.monotonic() + PRUNE_ROOMS_EVERY_S
    while True:
        try:
            if not await hub.state.heartbeat(hub.node_id, ttl):
                log.warning("signaling_heartbeat_lapsed", node=hub.node_id)
                await _close_reaped(hub)
            if time.monotonic() >= next_prune:
                held = await hub.state.node_rooms(hub.node_id)
                await hub.state.release_rooms(hub.node_id, [m for m in held if m not in hub.rooms])
                next_prune = time.monotonic() + PRUNE_ROOMS_EVERY_S
        except Exception:
            log.exception("signaling_heartbeat_failed")
            if stopping():
                raise asyncio.CancelledError from None
        await asyncio.sleep(HEARTBEAT_EVERY_S)


async def _close_reaped(hub: Hub) -> None:
    for connection in list(hub.local.values()):
        meeting_id, peer_id = connection.meeting_id, connection.peer_id
        await hub.state.hold_room(hub.node_id, meeting_id)
        if await hub.state.peer(meeting_id, peer_id) is None and (
            peer_id not in await hub.state.lobby(meeting_id)
        ):
            connection.close(CLOSE_TAKEN_FOR_GONE, "this node was taken for gone; join again")


async def apply_meeting_commands(app: FastAPI) -> None:
    """What a host did through meeting-service's REST API (remove, admit, deny, role, end)
    reaches the live room: commands on a Redis stream, read as a consumer group so that one
    node applies each, whichever node holds the people concerned."""
    await streams.consume(
        app.state.kv,
        SIGNALING_COMMANDS,
        GROUP,
        app.state.signaling.node_id,
        lambda fields: moderation.apply(app, fields),
        expected=(ModerationError,),
    )
