"""signaling-service background work: the node's hub, expired resume windows, statistics."""

from __future__ import annotations

import asyncio
import json
import time

import structlog
from fastapi import FastAPI

from parley.core import streams
from parley.core.tasks import stopping
from parley.signaling import moderation, service
from parley.signaling.hub import Hub
from parley.signaling.session import end_expired_sessions
from parley.signaling.state import RoomState

log = structlog.get_logger("parley.signaling")
NODES_KEY = "sig:nodes"
COMMANDS = "parley:signaling:commands"
GROUP = "signaling-service"
STALE_AFTER_S = 30.0
TICK_S = 1.0
STATS_EVERY_S = 2.0


async def run_signaling(app: FastAPI) -> None:
    """Sets up this node's hub, then ends dropped sessions whose resume window has run out and
    reports the node's figures for ``GET /api/v1/signaling/stats``."""
    hub = Hub(RoomState(app.state.kv), app.state.bus)
    chat_log = service.ChatLog(app.state.db.sessionmaker)
    app.state.chat_log = chat_log
    app.state.signaling = hub
    writer = asyncio.create_task(chat_log.run(), name="chat_log")
    await hub.start()
    commands = asyncio.create_task(apply_meeting_commands(app), name="signaling_commands")
    last = (time.monotonic(), 0, 0)
    next_stats = 0.0
    try:
        while True:
            try:
                await end_expired_sessions(hub)
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
        writer.cancel()
        commands.cancel()
        await asyncio.wait([writer, commands], timeout=5)
        app.state.signaling = None
        for connection in list(hub.local.values()):
            connection.close(1001, "server shutting down")
        await app.state.kv.hdel(NODES_KEY, hub.node_id)


async def apply_meeting_commands(app: FastAPI) -> None:
    """What a host did through meeting-service's REST API (remove, admit, deny, role, end)
    reaches the live room: commands on a Redis stream, read as a consumer group so that one
    node applies each, whichever node holds the people concerned."""
    await streams.consume(
        app.state.kv,
        COMMANDS,
        GROUP,
        app.state.signaling.node_id,
        lambda fields: moderation.apply(app, fields),
        expected=(moderation.ModerationError,),
    )
